// Wilson intervals and Fisher's exact test against published and hand-computed values.
#include "scalpel/analysis/eval_stats.hpp"

#include <array>
#include <cmath>
#include <cstdint>

#include <doctest/doctest.h>

namespace ut_eval_stats_test {  // one namespace per file: unity builds put several test files in one TU

namespace an = scalpel::analysis;

namespace {
/// Relative closeness (p-values span many orders of magnitude).
bool rel_close(double got, double want, double tol = 1e-9) {
  return std::fabs(got - want) <= tol * std::fabs(want) + 1e-300;
}
}  // namespace

TEST_CASE("wilson: textbook values") {
  // 0/10: the upper bound is z²/(n + z²) = 3.8415/13.8415.
  auto ci = an::wilson_interval(0, 10);
  CHECK(ci.lo == 0.0);
  CHECK(ci.hi == doctest::Approx(0.2775327998628892).epsilon(1e-12));
  ci = an::wilson_interval(10, 10);
  CHECK(ci.lo == doctest::Approx(0.7224672001371107).epsilon(1e-12));
  CHECK(ci.hi == 1.0);
  // Symmetric around 1/2.
  ci = an::wilson_interval(5, 10);
  CHECK(ci.lo == doctest::Approx(0.236593090512564).epsilon(1e-12));
  CHECK(ci.hi == doctest::Approx(0.7634069094874361).epsilon(1e-12));
  // Newcombe (1998), Table I example: 81/263 -> [0.2553, 0.3662].
  ci = an::wilson_interval(81, 263);
  CHECK(ci.lo == doctest::Approx(0.2552885198782742).epsilon(1e-12));
  CHECK(ci.hi == doctest::Approx(0.36620957698280004).epsilon(1e-12));
  // The study's E2B numbers: 46/384 and 12/384 loops.
  ci = an::wilson_interval(46, 384);
  CHECK(ci.lo == doctest::Approx(0.09102214372834819).epsilon(1e-12));
  CHECK(ci.hi == doctest::Approx(0.15609289939292703).epsilon(1e-12));
  ci = an::wilson_interval(1, 20);
  CHECK(ci.lo == doctest::Approx(0.008881448800795402).epsilon(1e-12));
  CHECK(ci.hi == doctest::Approx(0.23613119344674205).epsilon(1e-12));
}

TEST_CASE("wilson: edge cases and bad input") {
  const auto none = an::wilson_interval(0, 0);
  CHECK(none.lo == 0.0);
  CHECK(none.hi == 1.0);
  // A wider z gives a wider interval; the interval always contains the estimate.
  for (std::uint64_t k = 0; k <= 12; ++k) {
    const auto a = an::wilson_interval(k, 12), b = an::wilson_interval(k, 12, 2.5758293035489);
    const double p = static_cast<double>(k) / 12.0;
    CHECK(a.lo <= p);
    CHECK(a.hi >= p);
    CHECK(b.lo <= a.lo);
    CHECK(b.hi >= a.hi);
    CHECK(a.lo >= 0.0);
    CHECK(a.hi <= 1.0);
  }
  CHECK_THROWS_AS(an::wilson_interval(3, 2), scalpel::error);
  CHECK_THROWS_AS(an::wilson_interval(1, 2, -1.0), scalpel::error);
  CHECK_THROWS_AS(an::wilson_interval(1, 2, NAN), scalpel::error);
}

TEST_CASE("fisher: published examples") {
  // Fisher's lady tasting tea: [[3, 1], [1, 3]]; R fisher.test: two-sided p = 0.4857, greater 0.2429.
  auto r = an::fisher_exact(3, 1, 1, 3);
  CHECK(rel_close(r.p_two_sided, 0.4857142857142857));
  CHECK(rel_close(r.p_greater, 0.24285714285714285));
  CHECK(rel_close(r.p_less, 0.9857142857142858));
  // Wikipedia's "Fisher's exact test" example: [[1, 9], [11, 3]], two-sided p = 0.002759.
  r = an::fisher_exact(1, 9, 11, 3);
  CHECK(rel_close(r.p_two_sided, 0.0027594561852200836));
  CHECK(rel_close(r.p_less, 0.0013797280926100418));
  // SciPy's fisher_exact documentation table [[6, 2], [1, 4]]: two-sided p = 0.10256...
  r = an::fisher_exact(6, 2, 1, 4);
  CHECK(rel_close(r.p_two_sided, 0.10256410256410256));
  CHECK(rel_close(r.p_greater, 0.08624708624708624));
}

TEST_CASE("fisher: hand-computed hypergeometric sums") {
  // Exact fractions computed independently with Python's fractions module (sum of C(r1,x)C(r2,c1-x)/C(n,c1)).
  struct row {
    std::uint64_t a, b, c, d;
    double two, less, greater;
  };
  const row rows[] = {
      {0, 10, 10, 0, 1.082508822446903e-05, 5.412544112234515e-06, 1.0},  // 2 / C(20, 10)
      {8, 0, 0, 8, 0.0001554001554001554, 1.0, 7.77000777000777e-05},     // 2 / C(16, 8): loop rate 1 -> 0
      {6, 0, 0, 6, 0.0021645021645021645, 1.0, 0.0010822510822510823},    // 2 / C(12, 6)
      {7, 3, 2, 8, 0.06977851869492736, 0.9972612526792093, 0.03488925934746368},
      {12, 5, 3, 17, 0.0008751073460654154, 0.9999502428384761, 0.0008030858154183589},
      {46, 338, 12, 372, 3.679804671605372e-06, 0.9999995869383103, 1.839902335802686e-06},  // E2B 46/384 vs 12/384
      {128, 0, 0, 128, 3.467010376606319e-76, 1.0, 1.7335051883031595e-76},                  // 2 / C(256, 128)
  };
  for (const auto& t : rows) {
    CAPTURE(t.a);
    CAPTURE(t.c);
    const auto r = an::fisher_exact(t.a, t.b, t.c, t.d);
    CHECK(rel_close(r.p_two_sided, t.two, 1e-8));
    CHECK(rel_close(r.p_less, t.less, 1e-8));
    CHECK(rel_close(r.p_greater, t.greater, 1e-8));
  }
}

TEST_CASE("fisher: symmetry and degenerate tables") {
  // Swapping rows, or columns, keeps the two-sided p; transposing too.
  for (const auto& [a, b, c, d] : {std::array<std::uint64_t, 4>{3, 7, 9, 2}, {0, 5, 4, 1}, {10, 10, 3, 17}}) {
    const double p = an::fisher_exact(a, b, c, d).p_two_sided;
    CHECK(rel_close(an::fisher_exact(c, d, a, b).p_two_sided, p, 1e-9));
    CHECK(rel_close(an::fisher_exact(b, a, d, c).p_two_sided, p, 1e-9));
    CHECK(rel_close(an::fisher_exact(a, c, b, d).p_two_sided, p, 1e-9));
    CHECK(an::fisher_exact(a, b, c, d).p_less + an::fisher_exact(a, b, c, d).p_greater >= 1.0 - 1e-12);
  }
  // No variation in a margin: nothing to test.
  CHECK(an::fisher_exact(0, 0, 0, 0).p_two_sided == 1.0);
  CHECK(an::fisher_exact(5, 0, 5, 0).p_two_sided == 1.0);
  CHECK(an::fisher_exact(5, 5, 0, 0).p_two_sided == 1.0);
  // Identical rows: p = 1.
  CHECK(an::fisher_exact(4, 6, 4, 6).p_two_sided == doctest::Approx(1.0));
  CHECK(an::log_factorials(5).back() == doctest::Approx(std::log(120.0)));
}

}  // namespace ut_eval_stats_test
