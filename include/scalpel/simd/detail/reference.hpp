#pragma once
// IWYU pragma: private, include "scalpel/simd/ops.hpp"
/// @file
/// @brief Scalar reference kernels: the definition of what every optimised kernel computes. Tests compare
/// the fast paths against these; `SCALPEL_REFERENCE_KERNELS=1` makes the public entry points use them.

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <type_traits>

#include "scalpel/config.hpp"
#include "scalpel/tensor/dtype.hpp"
#include "scalpel/tensor/matrix_ref.hpp"

SCALPEL_BEGIN_NAMESPACE
namespace simd::reference {

/// sum_i w[i] * x[i] for one stored row (f32 accumulation in index order).
template <dtype D>
inline float dot_row(const storage_t<const D>* w, const float* x, std::size_t n) noexcept {
  float acc = 0.0f;
  if constexpr (std::is_same_v<std::remove_const_t<D>, q8_0>) {
    for (std::size_t b = 0; b < n / 32; ++b) {
      float s = 0.0f;
      for (std::size_t i = 0; i < 32; ++i) s += static_cast<float>(w[b].qs[i]) * x[b * 32 + i];
      acc += to_f32(w[b].d) * s;
    }
  } else {
    for (std::size_t i = 0; i < n; ++i) acc += to_f32(w[i]) * x[i];
  }
  return acc;
}

/// y[t, r] = sum_k W[r, k] * x[t, k] for t < n_tok, r < rows.
inline void matmul(const matrix_ref& w, const float* x, std::size_t n_tok, std::size_t ldx, float* y,
                   std::size_t ldy) noexcept {
  w.visit([&](const auto& v) {
    using D = typename std::decay_t<decltype(v)>::value_dtype;
    const std::size_t rows = v.extent(0), cols = v.extent(1);
    for (std::size_t t = 0; t < n_tok; ++t)
      for (std::size_t r = 0; r < rows; ++r) y[t * ldy + r] = dot_row<D>(v.row(r).data_handle(), x + t * ldx, cols);
  });
}

/// out = x / sqrt(mean(x^2) + eps) * w  (w == nullptr: no weight).
inline void rmsnorm(const float* x, const float* w, float eps, std::size_t n, float* out) noexcept {
  double ss = 0.0;
  for (std::size_t i = 0; i < n; ++i) ss += static_cast<double>(x[i]) * static_cast<double>(x[i]);
  const float inv = 1.0f / std::sqrt(static_cast<float>(ss / static_cast<double>(n)) + eps);
  for (std::size_t i = 0; i < n; ++i) out[i] = w ? x[i] * inv * w[i] : x[i] * inv;
}

/// gelu_pytorch_tanh: 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))), evaluated in double in the
/// equivalent form x / (1 + exp(-2 sqrt(2/pi) (x + 0.044715 x^3))) and rounded once. (1 + tanh(u) =
/// 2 / (1 + exp(-2u)); the literal form cancels for negative x, in f32 from x < -3 and in f64 from x < -6.)
inline float gelu_tanh(float x) noexcept {
  const double xd = static_cast<double>(x);
  constexpr double k = 0.7978845608028654;  // sqrt(2/pi)
  const double u = k * (xd + 0.044715 * xd * xd * xd);
  return static_cast<float>(xd / (1.0 + std::exp(-2.0 * u)));
}

/// In-place x[i] = cap * tanh(x[i] / cap) (final-logit soft-capping), in double, rounded once.
inline void softcap(float* x, std::size_t n, float cap) noexcept {
  const double c = static_cast<double>(cap);
  for (std::size_t i = 0; i < n; ++i) x[i] = static_cast<float>(c * std::tanh(static_cast<double>(x[i]) / c));
}

/// In-place softmax over n values.
inline void softmax(float* x, std::size_t n) noexcept {
  float m = -INFINITY;
  for (std::size_t i = 0; i < n; ++i) m = x[i] > m ? x[i] : m;
  float s = 0.0f;
  for (std::size_t i = 0; i < n; ++i) {
    x[i] = std::exp(x[i] - m);
    s += x[i];
  }
  const float inv = 1.0f / s;
  for (std::size_t i = 0; i < n; ++i) x[i] *= inv;
}

/// NeoX (half-split) rotation of one head vector x[0..d): pairs (i, i + d/2) for i < n_rot rotate by
/// angle pos * inv_freq[i]; the other pairs are unchanged.
inline void rope_neox(float* x, std::size_t d, std::size_t n_rot, const float* inv_freq, std::size_t pos) noexcept {
  const std::size_t half = d / 2;
  for (std::size_t i = 0; i < n_rot; ++i) {
    const float ang = static_cast<float>(pos) * inv_freq[i];
    const float c = std::cos(ang), s = std::sin(ang);
    const float a = x[i], b = x[i + half];
    x[i] = a * c - b * s;
    x[i + half] = b * c + a * s;
  }
}

/// cos/sin of the angles pos * inv_freq[i] (angle rounded to f32 first), i < n_rot.
inline void rope_cos_sin(std::size_t pos, const float* inv_freq, std::size_t n_rot, float* cos, float* sin) noexcept {
  for (std::size_t i = 0; i < n_rot; ++i) {
    const float ang = static_cast<float>(pos) * inv_freq[i];
    cos[i] = std::cos(ang);
    sin[i] = std::sin(ang);
  }
}

/// rope_neox with precomputed cos/sin (one head).
inline void rope_neox_apply(float* x, std::size_t d, std::size_t n_rot, const float* cos, const float* sin) noexcept {
  const std::size_t half = d / 2;
  for (std::size_t i = 0; i < n_rot; ++i) {
    const float a = x[i], b = x[i + half];
    x[i] = a * cos[i] - b * sin[i];
    x[i + half] = b * cos[i] + a * sin[i];
  }
}

/// Indices of the k largest values, largest first, ties to the lower index, NaN below every number.
/// Insertion into a sorted list of k: O(n k), fine for the router (n = 128, k = 8).
inline void top_k(const float* x, std::size_t n, std::size_t k, std::uint32_t* idx, float* val) noexcept {
  if (k > n) k = n;
  if (k == 0) return;
  // `before(a, b)`: value a ranks before value b (NaN last; equal values keep index order by insertion).
  const auto before = [](float a, float b) { return !std::isnan(a) && (std::isnan(b) || a > b); };
  std::size_t m = 0;  // filled entries
  for (std::size_t i = 0; i < n; ++i) {
    const float v = x[i];
    if (m == k && !before(v, x[idx[k - 1]])) continue;
    std::size_t p = m < k ? m++ : k - 1;
    while (p > 0 && before(v, x[idx[p - 1]])) {
      idx[p] = idx[p - 1];
      --p;
    }
    idx[p] = static_cast<std::uint32_t>(i);
  }
  if (val != nullptr)
    for (std::size_t j = 0; j < k; ++j) val[j] = x[idx[j]];
}

/// Q8_0 quantisation of one 32-value block exactly as ggml's `quantize_row_q8_0_ref`:
/// amax = max |x|; d = amax / 127 (f32); id = d != 0 ? 1 / d : 0; q_i = roundf(x_i * id) (half away from
/// zero); the block stores d rounded to binary16 (round to nearest even). @pre every x_i is finite.
inline q8_0_block quantize_q8_0_block(const float* x) noexcept {
  float amax = 0.0f;
  for (std::size_t i = 0; i < 32; ++i) amax = std::fabs(x[i]) > amax ? std::fabs(x[i]) : amax;
  const float d = amax / 127.0f;
  const float id = d != 0.0f ? 1.0f / d : 0.0f;
  q8_0_block b{};
  b.d = to_f16(d);
  for (std::size_t i = 0; i < 32; ++i) b.qs[i] = static_cast<std::int8_t>(std::round(x[i] * id));
  return b;
}

}  // namespace simd::reference
SCALPEL_END_NAMESPACE
