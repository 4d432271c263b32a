#pragma once
/// @file
/// @brief Element-wise and row kernels used by the forward pass, all f32: RMSNorm (one row or many),
/// GELU-tanh and GeGLU, softmax, RoPE (NeoX half-split; default and proportional via n_rot), final-logit
/// soft-capping, top-k for the MoE router, and vector helpers.
///
/// Vectorised with xsimd for `xsimd::default_arch` (the consumer's `-m` flags); the scalar definitions are
/// in `simd/detail/reference.hpp` (`SCALPEL_REFERENCE_KERNELS=1` routes these entry points to them).
/// Accuracy against the references is tested per op (tests/simd/ops_test.cpp): GELU is evaluated in double
/// (within 1 ulp of the exact formula), soft-capping within 3 ulp, the reductions within their f32 bounds.

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <type_traits>

#include "scalpel/config.hpp"
#include "scalpel/simd/detail/diagnostics.hpp"
#include "scalpel/simd/detail/ops_kernel.hpp"
#include "scalpel/simd/detail/reference.hpp"

#ifndef SCALPEL_REFERENCE_KERNELS
#define SCALPEL_REFERENCE_KERNELS 0
#endif

SCALPEL_SIMD_DIAGNOSTICS_PUSH
SCALPEL_BEGIN_NAMESPACE
namespace simd {

namespace detail {
/// True when the public entry points must use the scalar references.
inline constexpr bool use_reference =
    SCALPEL_REFERENCE_KERNELS || std::is_same_v<xsimd::default_arch, xsimd::unavailable>;
}  // namespace detail

/// out[i] = x[i] / sqrt(mean(x^2) + eps) * w[i]; `w == nullptr` for a weightless norm. out may alias x.
inline void rmsnorm(const float* x, const float* w, float eps, std::size_t n, float* out) noexcept {
  if constexpr (detail::use_reference) {
    reference::rmsnorm(x, w, eps, n, out);
  } else {
    detail::rmsnorm_kernel{}(xsimd::default_arch{}, x, w, eps, n, out);
  }
}

/// RMSNorm of `rows` rows of n floats: row r is x + r * ldx, written to out + r * ldo (per-head q/k/v
/// norms, prefill blocks). out may alias x when ldo == ldx.
inline void rmsnorm_rows(const float* x, std::size_t ldx, const float* w, float eps, std::size_t n, std::size_t rows,
                         float* out, std::size_t ldo) noexcept {
  for (std::size_t r = 0; r < rows; ++r) rmsnorm(x + r * ldx, w, eps, n, out + r * ldo);
}

/// gelu_pytorch_tanh of one value (scalar; the definition).
inline float gelu_tanh(float x) noexcept { return reference::gelu_tanh(x); }

/// out[i] = gelu_tanh(x[i]). out may alias x.
inline void gelu_tanh(const float* x, std::size_t n, float* out) noexcept {
  if constexpr (detail::use_reference) {
    for (std::size_t i = 0; i < n; ++i) out[i] = reference::gelu_tanh(x[i]);
  } else {
    detail::gelu_kernel{}(xsimd::default_arch{}, x, n, out);
  }
}

/// out[i] = gelu_tanh(gate[i]) * up[i]. out may alias gate or up.
inline void geglu(const float* gate, const float* up, std::size_t n, float* out) noexcept {
  if constexpr (detail::use_reference) {
    for (std::size_t i = 0; i < n; ++i) out[i] = reference::gelu_tanh(gate[i]) * up[i];
  } else {
    detail::geglu_kernel{}(xsimd::default_arch{}, gate, up, n, out);
  }
}

/// In-place softmax over n values.
inline void softmax(float* x, std::size_t n) noexcept {
  if constexpr (detail::use_reference) {
    reference::softmax(x, n);
  } else {
    detail::softmax_kernel{}(xsimd::default_arch{}, x, n);
  }
}

/// In-place final-logit soft-capping: x[i] = cap * tanh(x[i] / cap).
inline void softcap(float* x, std::size_t n, float cap) noexcept {
  if constexpr (detail::use_reference) {
    reference::softcap(x, n, cap);
  } else {
    detail::softcap_kernel{}(xsimd::default_arch{}, x, n, cap);
  }
}

/// cos[i] = cos(pos * inv_freq[i]), sin[i] = sin(pos * inv_freq[i]) for i < n_rot, the angle rounded to
/// f32 first (as HF computes it). Compute once per position, apply to every head of every layer of
/// that rope type.
inline void rope_cos_sin(std::size_t pos, const float* inv_freq, std::size_t n_rot, float* cos, float* sin) noexcept {
  reference::rope_cos_sin(pos, inv_freq, n_rot, cos, sin);
}

/// In-place NeoX rotation of n_heads head vectors x + h * stride (d floats each) with precomputed cos/sin
/// (rope_cos_sin): pairs (i, i + d/2) for i < n_rot rotate, the rest are unchanged. n_rot = d/2 is the
/// default rope; n_rot < d/2 is Gemma 4's proportional rope (full-attention layers).
inline void rope_neox_apply(float* x, std::size_t n_heads, std::size_t stride, std::size_t d, std::size_t n_rot,
                            const float* cos, const float* sin) noexcept {
  if constexpr (detail::use_reference) {
    for (std::size_t h = 0; h < n_heads; ++h) reference::rope_neox_apply(x + h * stride, d, n_rot, cos, sin);
  } else {
    detail::rope_kernel{}(xsimd::default_arch{}, x, n_heads, stride, d, n_rot, cos, sin);
  }
}

/// In-place NeoX rotation of one head vector (see reference::rope_neox).
inline void rope_neox(float* x, std::size_t d, std::size_t n_rot, const float* inv_freq, std::size_t pos) noexcept {
  constexpr std::size_t chunk = 64;
  float c[chunk], s[chunk];
  const std::size_t half = d / 2;
  for (std::size_t i0 = 0; i0 < n_rot; i0 += chunk) {
    const std::size_t m = n_rot - i0 < chunk ? n_rot - i0 : chunk;
    rope_cos_sin(pos, inv_freq + i0, m, c, s);
    // The pairs (i0 + i, i0 + i + half) of x are the pairs (i, i + half) of x + i0 (same half offset).
    if constexpr (detail::use_reference) {
      for (std::size_t i = 0; i < m; ++i) {
        const float a = x[i0 + i], b = x[i0 + i + half];
        x[i0 + i] = a * c[i] - b * s[i];
        x[i0 + i + half] = b * c[i] + a * s[i];
      }
    } else {
      detail::rope_kernel{}(xsimd::default_arch{}, x + i0, 1, 0, d, m, c, s);
    }
  }
}

/// Indices of the k largest of x[0..n) into idx[0..k), largest first; equal values keep the lower index
/// first; NaN ranks below every number. val (optional) receives the values. @pre k <= n.
inline void top_k(const float* x, std::size_t n, std::size_t k, std::uint32_t* idx, float* val = nullptr) noexcept {
  reference::top_k(x, n, k, idx, val);
}

/// y[i] += x[i]
inline void add(float* y, const float* x, std::size_t n) noexcept {
  if constexpr (detail::use_reference) {
    for (std::size_t i = 0; i < n; ++i) y[i] += x[i];
  } else {
    detail::map2<xsimd::default_arch>(y, x, n, y, [](auto a, auto b) { return a + b; });
  }
}
/// y[i] *= a
inline void scale(float* y, float a, std::size_t n) noexcept {
  if constexpr (detail::use_reference) {
    for (std::size_t i = 0; i < n; ++i) y[i] *= a;
  } else {
    const detail::fbatch<xsimd::default_arch> va(a);
    detail::map1<xsimd::default_arch>(y, n, y, [&](auto v) { return v * va; });
  }
}
/// y[i] += a * x[i] (one fused multiply-add where the architecture has FMA)
inline void axpy(float* y, float a, const float* x, std::size_t n) noexcept {
  if constexpr (detail::use_reference) {
    for (std::size_t i = 0; i < n; ++i) y[i] = std::fma(a, x[i], y[i]);
  } else {
    const detail::fbatch<xsimd::default_arch> va(a);
    detail::map2<xsimd::default_arch>(y, x, n, y,
                                      [&](auto yy, auto xx) { return detail::fmadd<xsimd::default_arch>(va, xx, yy); });
  }
}
/// sum_i a[i] * b[i] (f32, 4 lane accumulators, fixed order; fused multiply-adds where available)
inline float dot(const float* a, const float* b, std::size_t n) noexcept {
  if constexpr (detail::use_reference) {
    float s = 0.0f;
    for (std::size_t i = 0; i < n; ++i) s = std::fma(a[i], b[i], s);
    return s;
  } else {
    return detail::dot_kernel{}(xsimd::default_arch{}, a, b, n);
  }
}

}  // namespace simd
SCALPEL_END_NAMESPACE
SCALPEL_SIMD_DIAGNOSTICS_POP
