#pragma once
/// @file
/// @brief Q8_0 quantisation (f32 or bf16 rows -> GGUF Q8_0 blocks) and dequantisation.
///
/// Block format (GGUF / ggml `block_q8_0`, 34 bytes): binary16 scale d, then 32 int8 quants; value_i = d * q_i.
/// The quantiser reproduces ggml's `quantize_row_q8_0_ref` bit for bit (so files written by scalpel match
/// llama.cpp's own conversion of the same f32 values):
///   amax = max_i |x_i|;  d = amax / 127 (f32);  id = d != 0 ? 1/d : 0;  q_i = roundf(x_i * id);  store f16(d).
/// Note q_i uses the f32 reciprocal of the *unrounded* d (not x_i / f16(d)), and roundf rounds halves away
/// from zero. Vectorised with xsimd for `xsimd::default_arch`; the scalar definition is
/// `reference::quantize_q8_0_block`.

#include <cfloat>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <type_traits>

#include "scalpel/config.hpp"
#include "scalpel/core/error.hpp"
#include "scalpel/simd/detail/arch.hpp"
#include "scalpel/simd/detail/diagnostics.hpp"
#include "scalpel/simd/detail/reference.hpp"
#include "scalpel/tensor/dtype.hpp"

SCALPEL_SIMD_DIAGNOSTICS_PUSH
SCALPEL_BEGIN_NAMESPACE
namespace simd {

namespace detail {

/// Quantise one block of 32 finite floats; returns false (block untouched) if a value is not finite.
template <class Arch>
inline bool quantize_block(const float* x, q8_0_block& out) noexcept {
  constexpr std::size_t L = lanes<Arch>;
  constexpr std::size_t G = 32 / L;
  fbatch<Arch> v[G];
  fbatch<Arch> amax(0.0f);
  auto finite = fbatch<Arch>(0.0f) == fbatch<Arch>(0.0f);
  const fbatch<Arch> big(FLT_MAX);
  for (std::size_t g = 0; g < G; ++g) {
    v[g] = fbatch<Arch>::load_unaligned(x + g * L);
    const fbatch<Arch> a = xsimd::abs(v[g]);
    finite = finite && (a <= big);  // false for Inf and NaN
    amax = xsimd::max(amax, a);
  }
  if (!xsimd::all(finite)) return false;
  const float m = reduce_max<Arch>(amax);
  const float d = m / 127.0f;
  const float id = d != 0.0f ? 1.0f / d : 0.0f;
  out.d = to_f16(d);
  const fbatch<Arch> vid(id);
  alignas(64) std::int32_t q[32];
  for (std::size_t g = 0; g < G; ++g)
    xsimd::batch_cast<std::int32_t>(xsimd::round(v[g] * vid)).store_aligned(q + g * L);
  for (std::size_t i = 0; i < 32; ++i) out.qs[i] = static_cast<std::int8_t>(q[i]);
  return true;
}

[[noreturn]] inline void quantize_fail_size(std::size_t n) {
  fail(errc::invalid_argument,
       "quantize_q8_0: " + std::to_string(n) + " values is not a whole number of 32-value Q8_0 blocks");
}
[[noreturn]] inline void quantize_fail_value(std::size_t block) {
  fail(errc::numeric, "quantize_q8_0: block " + std::to_string(block) + " (values " + std::to_string(block * 32) +
                          ".." + std::to_string(block * 32 + 31) +
                          ") holds a non-finite value; Q8_0 cannot represent it");
}

}  // namespace detail

namespace detail {
/// One block with the default architecture (scalar reference where xsimd has none).
inline bool quantize_one(const float* x, q8_0_block& out) noexcept {
  if constexpr (std::is_same_v<xsimd::default_arch, xsimd::unavailable>) {
    for (std::size_t i = 0; i < 32; ++i)
      if (!std::isfinite(x[i])) return false;
    out = reference::quantize_q8_0_block(x);
    return true;
  } else {
    return quantize_block<xsimd::default_arch>(x, out);
  }
}
}  // namespace detail

/// Quantise n floats (n % 32 == 0) into n / 32 Q8_0 blocks.
/// Throws `scalpel::error` (invalid_argument) if n is not a multiple of 32, (numeric) on Inf/NaN input.
inline void quantize_q8_0(const float* x, std::size_t n, q8_0_block* out) {
  if (n % 32 != 0) detail::quantize_fail_size(n);
  for (std::size_t b = 0; b < n / 32; ++b)
    if (!detail::quantize_one(x + b * 32, out[b])) detail::quantize_fail_value(b);
}

/// Quantise n bf16 values (n % 32 == 0) into n / 32 Q8_0 blocks (widened exactly to f32 first, so the
/// result equals quantize_q8_0 of the f32 values). Same errors as the f32 overload.
inline void quantize_q8_0(const bf16_bits* x, std::size_t n, q8_0_block* out) {
  if (n % 32 != 0) detail::quantize_fail_size(n);
  float tmp[32];
  for (std::size_t b = 0; b < n / 32; ++b) {
    for (std::size_t i = 0; i < 32; ++i) tmp[i] = to_f32(x[b * 32 + i]);
    if (!detail::quantize_one(tmp, out[b])) detail::quantize_fail_value(b);
  }
}

/// out[i] = d * q_i for n values (n % 32 == 0) of Q8_0 blocks. Exact (the product fits an f32).
inline void dequantize_q8_0(const q8_0_block* in, std::size_t n, float* out) {
  if (n % 32 != 0) detail::quantize_fail_size(n);
  for (std::size_t b = 0; b < n / 32; ++b) {
    const float d = to_f32(in[b].d);
    for (std::size_t i = 0; i < 32; ++i) out[b * 32 + i] = d * static_cast<float>(in[b].qs[i]);
  }
}

}  // namespace simd
SCALPEL_END_NAMESPACE
SCALPEL_SIMD_DIAGNOSTICS_POP
