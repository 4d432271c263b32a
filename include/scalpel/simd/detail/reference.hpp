#pragma once
// IWYU pragma: private, include "scalpel/simd/ops.hpp"
/// @file
/// @brief Scalar reference kernels: the definition of what every optimised kernel computes. Tests compare
/// the fast paths against these; `SCALPEL_REFERENCE_KERNELS=1` makes the public entry points use them.

#include <cmath>
#include <cstddef>
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

/// gelu_pytorch_tanh: 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))).
inline float gelu_tanh(float x) noexcept {
  constexpr float k = 0.7978845608028654f;  // sqrt(2/pi)
  return 0.5f * x * (1.0f + std::tanh(k * (x + 0.044715f * x * x * x)));
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

}  // namespace simd::reference
SCALPEL_END_NAMESPACE
