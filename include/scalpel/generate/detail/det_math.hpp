#pragma once
// IWYU pragma: private, include "scalpel/generate/sampler.hpp"
/// @file
/// @brief Reproducible `exp` and `log` in double precision for the sampler.
///
/// Why not `std::exp`/`std::log`: libm implementations differ in the last bit between platforms, and a compiler
/// may fuse `a * b + c` into an FMA in one build and not in another (g++ does so by default with -march=native).
/// Either would let the same seed pick a different token on another machine when the uniform draw lands next to a
/// cumulative-probability boundary. These functions use only operations IEEE 754 rounds exactly (add, multiply,
/// divide, `std::fma`, `std::ldexp`, `std::frexp`, `std::nearbyint` in the default rounding mode), every multiply-add
/// is an explicit `std::fma`, and the coefficients are exact rationals folded at compile time, so the result is
/// bit-identical everywhere (binary64, round-to-nearest, no `-ffast-math`). Accuracy is within a few ulp, far below
/// sampling noise.

#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>

#include "scalpel/config.hpp"

SCALPEL_BEGIN_NAMESPACE
namespace gen::detail {

/// ln 2 split for Cody-Waite reduction: `ln2_hi` has 36 significant bits, so `k * ln2_hi` is exact for |k| < 2^17.
inline constexpr double ln2_hi = 0x1.62e42fefa0000p-1;
inline constexpr double ln2_lo = 0x1.cf79abc9e3b3ap-40;
inline constexpr double log2e = 0x1.71547652b82fep0;

/// e^x, reproducible. exp(-inf) = 0, exp(+inf) = +inf, NaN -> NaN; underflows to 0 below about -745.
inline double exp_det(double x) noexcept {
  if (std::isnan(x)) return x;
  if (x > 709.782712893384) return std::numeric_limits<double>::infinity();
  if (x < -745.2) return 0.0;
  // x = k ln2 + r, |r| <= ln2/2 (plus rounding), then e^x = 2^k e^r.
  const double k = std::nearbyint(x * log2e);  // any nearby integer works; this one is a single instruction
  double r = std::fma(-k, ln2_hi, x);
  r = std::fma(-k, ln2_lo, r);
  // Taylor series of e^r to degree 13: the truncation error |r|^14/14! < 5e-18 for |r| < 0.35.
  constexpr double c[] = {1.0,
                          1.0,
                          1.0 / 2.0,
                          1.0 / 6.0,
                          1.0 / 24.0,
                          1.0 / 120.0,
                          1.0 / 720.0,
                          1.0 / 5040.0,
                          1.0 / 40320.0,
                          1.0 / 362880.0,
                          1.0 / 3628800.0,
                          1.0 / 39916800.0,
                          1.0 / 479001600.0,
                          1.0 / 6227020800.0};
  double y = c[13];
  for (int i = 12; i >= 0; --i) y = std::fma(y, r, c[i]);
  const int ki = static_cast<int>(k);
  if (ki >= -1022 && ki <= 1023) {  // 2^k is a normal double: build it directly (exact, like ldexp)
    return y * std::bit_cast<double>(static_cast<std::uint64_t>(ki + 1023) << 52);
  }
  return std::ldexp(y, ki);
}

/// ln x, reproducible. log(0) = -inf, log(+inf) = +inf, log(x < 0) and log(NaN) = NaN.
inline double log_det(double x) noexcept {
  if (std::isnan(x) || x < 0.0) return std::numeric_limits<double>::quiet_NaN();
  if (x == 0.0) return -std::numeric_limits<double>::infinity();
  if (std::isinf(x)) return x;
  int e = 0;
  double m = std::frexp(x, &e);    // x = m 2^e, m in [0.5, 1)
  if (m < 0x1.6a09e667f3bcdp-1) {  // sqrt(1/2): move m into [sqrt(1/2), sqrt(2))
    m *= 2.0;
    e -= 1;
  }
  // ln m = 2 atanh(s) = 2 (s + s^3/3 + s^5/5 + ...), s = (m - 1) / (m + 1), |s| <= 0.1716, s^2 <= 0.0295.
  const double s = (m - 1.0) / (m + 1.0);
  const double z = s * s;
  // Terms to s^25: the first omitted term is below 2 * 0.1716 * 0.0295^12 / 27 < 1e-19.
  double q = 1.0 / 25.0;
  for (int n = 23; n >= 1; n -= 2) q = std::fma(q, z, 1.0 / static_cast<double>(n));
  const double ln_m = (2.0 * s) * q;
  const double de = static_cast<double>(e);
  return std::fma(de, ln2_hi, std::fma(de, ln2_lo, ln_m));
}

}  // namespace gen::detail
SCALPEL_END_NAMESPACE
