#pragma once
/// @file
/// @brief Statistics for loop-rate evaluations: the Wilson score interval of a proportion (k loops in n
/// generations) and Fisher's exact test on a 2×2 table (base vs edited × loop vs no loop), computed from
/// log-factorials so that tables with thousands of generations neither overflow nor lose precision.

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "scalpel/config.hpp"
#include "scalpel/core/error.hpp"

SCALPEL_BEGIN_NAMESPACE
namespace analysis {

/// The two-sided 95% normal quantile, Φ⁻¹(0.975).
inline constexpr double z95 = 1.959963984540054;

/// A closed interval [lo, hi] inside [0, 1].
struct proportion_interval {
  double lo = 0.0;
  double hi = 1.0;
};

/// Wilson score interval for `successes` out of `trials` at normal quantile `z` (default: 95%).
///
/// centre = (p̂ + z²/2n) / (1 + z²/n), half width = z / (1 + z²/n) · √(p̂(1 − p̂)/n + z²/4n²).
/// Unlike the Wald interval it stays inside [0, 1] and is informative at 0/n and n/n (0 loops in 10 runs:
/// [0, 0.278]), which is where edited models land. `trials == 0` gives [0, 1] (nothing is known).
/// @throws scalpel::error (invalid_argument) when successes > trials or z is not a positive finite number.
inline proportion_interval wilson_interval(std::uint64_t successes, std::uint64_t trials, double z = z95) {
  if (successes > trials) {
    fail(errc::invalid_argument,
         "wilson_interval: " + std::to_string(successes) + " successes out of " + std::to_string(trials) + " trials");
  }
  if (!(std::isfinite(z) && z > 0.0)) fail(errc::invalid_argument, "wilson_interval: z must be positive and finite");
  if (trials == 0) return {0.0, 1.0};
  const double n = static_cast<double>(trials);
  const double p = static_cast<double>(successes) / n;
  const double z2 = z * z;
  const double den = 1.0 + z2 / n;
  const double centre = (p + z2 / (2.0 * n)) / den;
  const double half = z / den * std::sqrt(p * (1.0 - p) / n + z2 / (4.0 * n * n));
  proportion_interval r{std::max(0.0, centre - half), std::min(1.0, centre + half)};
  if (successes == 0) r.lo = 0.0;  // exact at the edges (the formula gives 0 / 1 up to rounding)
  if (successes == trials) r.hi = 1.0;
  return r;
}

/// ln(k!) for k = 0..n, by summing logarithms (exact to rounding; no Stirling approximation).
inline std::vector<double> log_factorials(std::uint64_t n) {
  std::vector<double> lf(static_cast<std::size_t>(n) + 1, 0.0);
  for (std::size_t k = 2; k < lf.size(); ++k) lf[k] = lf[k - 1] + std::log(static_cast<double>(k));
  return lf;
}

/// Result of Fisher's exact test on the table [[a, b], [c, d]].
struct fisher_result {
  double p_two_sided = 1.0;  ///< sum of P(table) over tables at most as likely as the observed one
  double p_less = 1.0;       ///< P(X ≤ a): the first row has fewer column-1 counts than expected
  double p_greater = 1.0;    ///< P(X ≥ a)
};

/// Fisher's exact test for the 2×2 table
/// ```
///            loop   no loop
///   base       a       b
///   edited     c       d
/// ```
/// With all margins fixed, the top-left count X follows the hypergeometric distribution
/// P(X = x) = C(a+b, x) · C(c+d, a+c−x) / C(n, a+c), evaluated in log space from log-factorials. The two-sided
/// p-value sums P(x) over every x with P(x) ≤ P(a)·(1 + 10⁻⁷) (R's `fisher.test` convention, which keeps
/// tables that tie with the observed one despite rounding). Cost O(n) for the log-factorial table.
/// A table with an empty row or column gives p = 1.
inline fisher_result fisher_exact(std::uint64_t a, std::uint64_t b, std::uint64_t c, std::uint64_t d) {
  constexpr std::uint64_t max_total = std::uint64_t{1} << 32;
  if (a > max_total || b > max_total || c > max_total || d > max_total || a + b + c + d > max_total) {
    fail(errc::invalid_argument, "fisher_exact: table counts above 2^32 are not supported");
  }
  const std::uint64_t r1 = a + b, r2 = c + d, c1 = a + c, n = r1 + r2;
  const std::vector<double> lf = log_factorials(n);
  const auto L = [&](std::uint64_t k) { return lf[static_cast<std::size_t>(k)]; };
  const double log_denominator = L(n) - L(r1) - L(r2) - L(c1) - L(n - c1);
  // log P(X = x): x in the top-left cell, the other cells follow from the margins.
  const auto log_p = [&](std::uint64_t x) {
    return -log_denominator - L(x) - L(r1 - x) - L(c1 - x) - L(r2 - (c1 - x));
  };
  const std::uint64_t lo = c1 > r2 ? c1 - r2 : 0;
  const std::uint64_t hi = std::min(r1, c1);
  const double observed = log_p(a);
  const double tie = observed + std::log1p(1e-7);
  double two = 0.0, less = 0.0, greater = 0.0, total = 0.0;
  for (std::uint64_t x = lo; x <= hi; ++x) {
    const double lp = log_p(x);
    const double p = std::exp(lp);
    total += p;
    if (lp <= tie) two += p;
    if (x <= a) less += p;
    if (x >= a) greater += p;
  }
  // The probabilities sum to 1 up to rounding; dividing by their sum makes a one-table support exactly 1.
  return {std::min(1.0, two / total), std::min(1.0, less / total), std::min(1.0, greater / total)};
}

}  // namespace analysis
SCALPEL_END_NAMESPACE
