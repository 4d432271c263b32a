#pragma once
/// @file
/// @brief Element-wise and row kernels used by the forward pass: RMSNorm, GELU-tanh / GeGLU, softmax,
/// RoPE (NeoX half-split, default and proportional), vector helpers. All f32.

#include <cmath>
#include <cstddef>

#include "scalpel/config.hpp"
#include "scalpel/simd/detail/reference.hpp"

SCALPEL_BEGIN_NAMESPACE
namespace simd {

/// out[i] = x[i] / sqrt(mean(x^2) + eps) * w[i]; `w == nullptr` for a weightless norm. out may alias x.
inline void rmsnorm(const float* x, const float* w, float eps, std::size_t n, float* out) noexcept {
  reference::rmsnorm(x, w, eps, n, out);
}

/// gelu_pytorch_tanh of one value.
inline float gelu_tanh(float x) noexcept { return reference::gelu_tanh(x); }

/// out[i] = gelu_tanh(gate[i]) * up[i]. out may alias gate or up.
inline void geglu(const float* gate, const float* up, std::size_t n, float* out) noexcept {
  for (std::size_t i = 0; i < n; ++i) out[i] = reference::gelu_tanh(gate[i]) * up[i];
}

/// In-place softmax.
inline void softmax(float* x, std::size_t n) noexcept { reference::softmax(x, n); }

/// In-place NeoX rotation of one head vector (see reference::rope_neox).
inline void rope_neox(float* x, std::size_t d, std::size_t n_rot, const float* inv_freq, std::size_t pos) noexcept {
  reference::rope_neox(x, d, n_rot, inv_freq, pos);
}

/// y[i] += x[i]
inline void add(float* y, const float* x, std::size_t n) noexcept {
  for (std::size_t i = 0; i < n; ++i) y[i] += x[i];
}
/// y[i] *= a
inline void scale(float* y, float a, std::size_t n) noexcept {
  for (std::size_t i = 0; i < n; ++i) y[i] *= a;
}
/// y[i] += a * x[i]
inline void axpy(float* y, float a, const float* x, std::size_t n) noexcept {
  for (std::size_t i = 0; i < n; ++i) y[i] += a * x[i];
}
/// sum_i a[i] * b[i]
inline float dot(const float* a, const float* b, std::size_t n) noexcept {
  float s = 0.0f;
  for (std::size_t i = 0; i < n; ++i) s += a[i] * b[i];
  return s;
}

}  // namespace simd
SCALPEL_END_NAMESPACE
