#include "scalpel/generate/rng.hpp"

#include <array>
#include <cmath>
#include <cstdint>
#include <limits>

#include <doctest/doctest.h>

#include "scalpel/generate/detail/det_math.hpp"

namespace ut_rng_test {  // one namespace per file: unity builds put several test files in one TU

using namespace scalpel;

namespace {
constexpr double inf = std::numeric_limits<double>::infinity();
const double qnan = std::numeric_limits<double>::quiet_NaN();
}  // namespace

TEST_CASE("rng: SplitMix64 from state 0 gives the published first outputs") {
  std::uint64_t s = 0;
  CHECK(gen::splitmix64_next(s) == 0xE220A8397B1DCDAFull);  // the widely quoted first SplitMix64 output for seed 0
  CHECK(gen::splitmix64_next(s) == 0x6E789E6AA1B965F4ull);
  CHECK(gen::splitmix64_next(s) == 0x06C45D188009454Full);
}

TEST_CASE("rng: xoshiro256** seeding and outputs match an independent implementation") {
  // Vectors from a separate Python implementation of the spec in docs/sampling.md.
  SUBCASE("seed 0") {
    gen::rng r(0);
    CHECK(r.state() == std::array<std::uint64_t, 4>{0xe220a8397b1dcdafull, 0x6e789e6aa1b965f4ull, 0x06c45d188009454full,
                                                    0xf88bb8a8724c81ecull});
    CHECK(r.next() == 0x99ec5f36cb75f2b4ull);
    CHECK(r.next() == 0xbf6e1f784956452aull);
    CHECK(r.next() == 0x1a5f849d4933e6e0ull);
    CHECK(r.next() == 0x6aa594f1262d2d2cull);
  }
  SUBCASE("seed 42") {
    gen::rng r(42);
    CHECK(r.next() == 0x15780b2e0c2ec716ull);
    CHECK(r.next() == 0x6104d9866d113a7eull);
    CHECK(r.next() == 0xae17533239e499a1ull);
    CHECK(r.next() == 0xecb8ad4703b360a1ull);
  }
  SUBCASE("seed 2^64 - 1") {
    gen::rng r(~0ull);
    CHECK(r.next() == 0x8f5520d52a7ead08ull);
    CHECK(r.next() == 0xc476a018caa1802dull);
  }
  SUBCASE("uniform doubles, seed 12345") {
    gen::rng r(12345);
    CHECK(r.uniform() == 0x1.7cd46c6e82c1ap-1);
    CHECK(r.uniform() == 0x1.0a555031bd344p-3);
    CHECK(r.uniform() == 0x1.ed3a2dbd32a9ap-1);
  }
}

TEST_CASE("rng: constexpr, copy forks the stream, reseed restarts it, the default seed is fixed") {
  static_assert(gen::rng(0).state()[0] == 0xe220a8397b1dcdafull);
  gen::rng a(7);
  a.next();
  gen::rng b = a;
  for (int i = 0; i < 10; ++i) CHECK(a.next() == b.next());
  a.reseed(7);
  gen::rng c(7);
  CHECK(a == c);
  CHECK(a.seed() == 7);
  CHECK(gen::rng{} == gen::rng(gen::rng::default_seed));
  CHECK(gen::rng(1).next() != gen::rng(2).next());
}

TEST_CASE("rng: uniform() stays in 0 <= u < 1 and fills ten bins evenly (fixed seed)") {
  gen::rng r(2024);
  std::array<int, 10> bins{};
  constexpr int n = 100000;
  double lo = 1.0, hi = 0.0;
  for (int i = 0; i < n; ++i) {
    const double u = r.uniform();
    REQUIRE(u >= 0.0);
    REQUIRE(u < 1.0);
    lo = std::min(lo, u);
    hi = std::max(hi, u);
    ++bins[static_cast<std::size_t>(u * 10.0)];
  }
  double chi2 = 0.0;
  for (const int b : bins) chi2 += (b - n / 10.0) * (b - n / 10.0) / (n / 10.0);
  CHECK(chi2 < 30.0);  // df = 9: p = 0.001 at 27.9
  CHECK(lo < 1e-3);
  CHECK(hi > 1.0 - 1e-3);
}

TEST_CASE("det_math: exp_det and log_det agree with libm to a few ulp and handle special values") {
  using gen::detail::exp_det;
  using gen::detail::log_det;
  auto ulps = [](double a, double b) {
    if (a == b) return 0.0;
    return std::fabs(a - b) / (std::nextafter(std::fabs(b), inf) - std::fabs(b));
  };
  gen::rng r(3);
  double worst_exp = 0.0, worst_log = 0.0;
  for (int i = 0; i < 200000; ++i) {
    const double x = -740.0 + 1440.0 * r.uniform();
    worst_exp = std::max(worst_exp, ulps(exp_det(x), std::exp(x)));
    const double y = std::ldexp(0.5 + r.uniform(), static_cast<int>(r.next() % 2000) - 1000);
    worst_log = std::max(worst_log, ulps(log_det(y), std::log(y)));
  }
  for (int i = 0; i < 20000; ++i) {  // the softmax range, densely
    const double x = -50.0 * r.uniform();
    worst_exp = std::max(worst_exp, ulps(exp_det(x), std::exp(x)));
    const double y = r.uniform();
    if (y > 0.0) worst_log = std::max(worst_log, ulps(log_det(y), std::log(y)));
  }
  CHECK(worst_exp <= 4.0);
  CHECK(worst_log <= 4.0);
  CHECK(exp_det(0.0) == 1.0);
  CHECK(exp_det(-inf) == 0.0);
  CHECK(exp_det(-800.0) == 0.0);
  CHECK(std::isinf(exp_det(800.0)));
  CHECK(std::isnan(exp_det(qnan)));
  CHECK(log_det(1.0) == 0.0);
  CHECK(log_det(0.0) == -inf);
  CHECK(std::isnan(log_det(-1.0)));
  CHECK(log_det(inf) == inf);
  CHECK(std::fabs(log_det(std::exp(1.0)) - 1.0) < 1e-15);
  CHECK(std::fabs(log_det(4.9406564584124654e-324) - std::log(4.9406564584124654e-324)) < 1e-12);
}

}  // namespace ut_rng_test
