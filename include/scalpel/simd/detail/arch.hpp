#pragma once
// IWYU pragma: private, include "scalpel/simd/matmul.hpp"
/// @file
/// @brief Per-architecture primitives the kernels are written with: widening loads (f32, bf16, f16, int8 ->
/// f32 lanes), the fixed-order lane reduction, and f32 <-> f64 lane splits. Everything is a template on the
/// xsimd architecture tag `Arch` (ODR rule, house style §3.5): a TU built with `-mavx512bw` and one built
/// with `-mavx2` instantiate *different* functions, never two bodies of one inline function.
///
/// Raw intrinsics appear only under `if constexpr` on the architecture family, inside these templates:
/// - `avx512` family (`xsimd::avx512f` and derived, e.g. `xsimd::avx512bw`): 16 f32 lanes;
///   bf16 = zero-extend + shift, f16 = `vcvtph2ps` (AVX-512F), int8 = `vpmovsxbd` + `vcvtdq2ps`.
/// - `avx2` family (`xsimd::avx2`, `xsimd::fma3<xsimd::avx2>`): 8 lanes; f16 is converted in integer
///   arithmetic (F16C is not part of xsimd's avx2 arch, and an `#ifdef __F16C__` here would be an ODR hazard).
/// - anything else (sse2 .. sse4.2, neon): scalar conversion into a lane buffer, then an aligned load.

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <type_traits>

#include <xsimd/xsimd.hpp>

#include "scalpel/config.hpp"
#include "scalpel/simd/detail/diagnostics.hpp"
#include "scalpel/tensor/dtype.hpp"

#if defined(__x86_64__) || defined(_M_X64) || defined(__i386__)
#include <immintrin.h>
#define SCALPEL_SIMD_X86 1
#else
#define SCALPEL_SIMD_X86 0
#endif

SCALPEL_SIMD_DIAGNOSTICS_PUSH
SCALPEL_BEGIN_NAMESPACE
namespace simd::detail {

template <class Arch>
using fbatch = xsimd::batch<float, Arch>;
template <class Arch>
using dbatch = xsimd::batch<double, Arch>;

#if SCALPEL_SIMD_X86
template <class Arch>
inline constexpr bool is_avx512 = std::is_base_of_v<xsimd::avx512f, Arch>;
template <class Arch>
inline constexpr bool is_avx2 = std::is_base_of_v<xsimd::avx2, Arch> && !is_avx512<Arch>;
#else
template <class Arch>
inline constexpr bool is_avx512 = false;
template <class Arch>
inline constexpr bool is_avx2 = false;
#endif

/// Whether the architecture guarantees fused multiply-add instructions.
#if SCALPEL_SIMD_X86
template <class Arch>
inline constexpr bool has_fma = is_avx512<Arch> || std::is_base_of_v<xsimd::fma3<xsimd::avx2>, Arch>;
#else
template <class Arch>
inline constexpr bool has_fma = true;
#endif

/// f32 lanes of one register.
template <class Arch>
inline constexpr std::size_t lanes = fbatch<Arch>::size;

/// a * b + c. With one rounding (an explicit FMA instruction) where the architecture has FMA, whatever the
/// optimisation level or -ffp-contract setting (xsimd 8.1's AVX-512 `fma` is a plain `a * b + c` that the
/// compiler may or may not contract); elsewhere xsimd's emulation.
template <class Arch>
SCALPEL_INLINE fbatch<Arch> fmadd(const fbatch<Arch>& a, const fbatch<Arch>& b, const fbatch<Arch>& c) noexcept {
#if SCALPEL_SIMD_X86
  if constexpr (is_avx512<Arch>) {
    return _mm512_fmadd_ps(a, b, c);
  } else if constexpr (has_fma<Arch>) {
    return _mm256_fmadd_ps(a, b, c);
  } else
#endif
  {
    return xsimd::fma(a, b, c);
  }
}

// ---- widening loads: L stored values -> L f32 lanes (exact) -------------------------------------------

/// L floats (unaligned).
template <class Arch>
SCALPEL_INLINE fbatch<Arch> load_f32(const float* p) noexcept {
  return fbatch<Arch>::load_unaligned(p);
}

/// L bf16 values widened to f32 (a shift: exact).
template <class Arch>
SCALPEL_INLINE fbatch<Arch> load_bf16(const bf16_bits* p) noexcept {
#if SCALPEL_SIMD_X86
  if constexpr (is_avx512<Arch>) {
    const __m256i h = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
  } else if constexpr (is_avx2<Arch>) {
    const __m128i h = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
  } else
#endif
  {
    alignas(64) float tmp[lanes<Arch>];
    for (std::size_t i = 0; i < lanes<Arch>; ++i) tmp[i] = to_f32(p[i]);
    return fbatch<Arch>::load_aligned(tmp);
  }
}

/// L binary16 values widened to f32 (exact, subnormals/Inf/NaN included).
template <class Arch>
SCALPEL_INLINE fbatch<Arch> load_f16(const f16_bits* p) noexcept {
#if SCALPEL_SIMD_X86
  if constexpr (is_avx512<Arch>) {
    return _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
  } else if constexpr (is_avx2<Arch>) {
    // Integer conversion: place exponent+mantissa at the f32 position and rescale by 2^112 (exact for
    // normals and subnormals); exponent 31 (Inf/NaN) maps to 255; then restore the sign.
    const __m256i h = _mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
    const __m256i em = _mm256_slli_epi32(_mm256_and_si256(h, _mm256_set1_epi32(0x7fff)), 13);
    const __m256i sign = _mm256_slli_epi32(_mm256_and_si256(h, _mm256_set1_epi32(0x8000)), 16);
    const __m256 scaled = _mm256_mul_ps(_mm256_castsi256_ps(em), _mm256_castsi256_ps(_mm256_set1_epi32(0x77800000)));
    const __m256i is_special = _mm256_cmpgt_epi32(em, _mm256_set1_epi32(0x0f7fffff));
    const __m256i special = _mm256_or_si256(em, _mm256_set1_epi32(0x7f800000));
    const __m256i mag = _mm256_blendv_epi8(_mm256_castps_si256(scaled), special, is_special);
    return _mm256_castsi256_ps(_mm256_or_si256(mag, sign));
  } else
#endif
  {
    alignas(64) float tmp[lanes<Arch>];
    for (std::size_t i = 0; i < lanes<Arch>; ++i) tmp[i] = to_f32(p[i]);
    return fbatch<Arch>::load_aligned(tmp);
  }
}

/// L int8 values converted to f32 (exact).
template <class Arch>
SCALPEL_INLINE fbatch<Arch> load_i8(const std::int8_t* p) noexcept {
#if SCALPEL_SIMD_X86
  if constexpr (is_avx512<Arch>) {
    return _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p))));
  } else if constexpr (is_avx2<Arch>) {
    return _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p))));
  } else
#endif
  {
    alignas(64) float tmp[lanes<Arch>];
    for (std::size_t i = 0; i < lanes<Arch>; ++i) tmp[i] = static_cast<float>(p[i]);
    return fbatch<Arch>::load_aligned(tmp);
  }
}

/// A binary16 scalar broadcast to all lanes as f32.
template <class Arch>
SCALPEL_INLINE fbatch<Arch> broadcast_f16(f16_bits h) noexcept {
#if SCALPEL_SIMD_X86
  if constexpr (is_avx512<Arch>) {
    return _mm512_cvtph_ps(_mm256_set1_epi16(static_cast<short>(h.bits)));
  } else
#endif
  {
    return fbatch<Arch>(to_f32(h));
  }
}

// ---- the fixed-order lane reduction -----------------------------------------------------------------

/// The canonical reduction tree of one register (what every kernel's horizontal sum means):
/// for w = L/2, L/4, ..., 1: v[i] = v[i] + v[i + w] (i < w); the result is v[0]. Scalar definition, used by
/// the generic path and by tests to check the intrinsic versions below bit for bit.
template <std::size_t L>
inline float reduce_tree(float* v) noexcept {
  for (std::size_t w = L / 2; w >= 1; w /= 2)
    for (std::size_t i = 0; i < w; ++i) v[i] = v[i] + v[i + w];
  return v[0];
}

/// out[j] = reduce_tree(v_j) for four registers at once (same tree, so bit-identical to reducing each
/// register alone; about 3 instructions per register instead of about 8).
template <class Arch>
SCALPEL_INLINE void reduce4(const fbatch<Arch>& a, const fbatch<Arch>& b, const fbatch<Arch>& c, const fbatch<Arch>& d,
                            float* out) noexcept {
#if SCALPEL_SIMD_X86
  if constexpr (is_avx512<Arch>) {
    const __m512 va = a, vb = b, vc = c, vd = d;
    // 16 -> 8 lanes: [a_lo + a_hi | b_lo + b_hi]
    const __m512 ab = _mm512_add_ps(_mm512_shuffle_f32x4(va, vb, 0x44), _mm512_shuffle_f32x4(va, vb, 0xee));
    const __m512 cd = _mm512_add_ps(_mm512_shuffle_f32x4(vc, vd, 0x44), _mm512_shuffle_f32x4(vc, vd, 0xee));
    // 8 -> 4 lanes: one 128-bit quarter per register
    const __m512 s = _mm512_add_ps(_mm512_shuffle_f32x4(ab, cd, 0x88), _mm512_shuffle_f32x4(ab, cd, 0xdd));
    // 4 -> 2 -> 1 inside each quarter
    const __m512 t = _mm512_add_ps(s, _mm512_permute_ps(s, 0x4e));
    const __m512 u = _mm512_add_ps(t, _mm512_permute_ps(t, 0xb1));
    const __m512 r = _mm512_permutexvar_ps(_mm512_set_epi32(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 12, 8, 4, 0), u);
    _mm_storeu_ps(out, _mm512_castps512_ps128(r));
    return;
  } else if constexpr (is_avx2<Arch>) {
    const __m256 va = a, vb = b, vc = c, vd = d;
    // 8 -> 4 lanes: [a_lo + a_hi | b_lo + b_hi]
    const __m256 ab = _mm256_add_ps(_mm256_permute2f128_ps(va, vb, 0x20), _mm256_permute2f128_ps(va, vb, 0x31));
    const __m256 cd = _mm256_add_ps(_mm256_permute2f128_ps(vc, vd, 0x20), _mm256_permute2f128_ps(vc, vd, 0x31));
    // 4 -> 2 lanes: [a0+a2, a1+a3, c0+c2, c1+c3 | b.., d..]
    const __m256 s = _mm256_add_ps(_mm256_shuffle_ps(ab, cd, 0x44), _mm256_shuffle_ps(ab, cd, 0xee));
    // 2 -> 1: results in lanes 0 (a), 2 (c), 4 (b), 6 (d)
    const __m256 u = _mm256_add_ps(s, _mm256_permute_ps(s, 0xb1));
    const __m128 lo = _mm256_castps256_ps128(u), hi = _mm256_extractf128_ps(u, 1);
    _mm_storeu_ps(out, _mm_movelh_ps(_mm_unpacklo_ps(lo, hi), _mm_unpackhi_ps(lo, hi)));
    return;
  } else
#endif
  {
    constexpr std::size_t L = lanes<Arch>;
    alignas(64) float t[4][L];
    a.store_aligned(t[0]);
    b.store_aligned(t[1]);
    c.store_aligned(t[2]);
    d.store_aligned(t[3]);
    for (std::size_t j = 0; j < 4; ++j) out[j] = reduce_tree<L>(t[j]);
  }
}

/// reduce_tree of one register.
template <class Arch>
SCALPEL_INLINE float reduce1(const fbatch<Arch>& a) noexcept {
  const fbatch<Arch> z(0.0f);
  float out[4];
  reduce4<Arch>(a, z, z, z, out);
  return out[0];
}

/// Largest lane (NaN lanes are skipped unless lane 0 is NaN).
template <class Arch>
SCALPEL_INLINE float reduce_max(const fbatch<Arch>& v) noexcept {
  alignas(64) float t[lanes<Arch>];
  v.store_aligned(t);
  float m = t[0];
  for (std::size_t i = 1; i < lanes<Arch>; ++i) m = t[i] > m ? t[i] : m;
  return m;
}

// ---- f32 <-> f64 lane splits (for the accurate GELU) --------------------------------------------------

/// Double lanes: a float register of L lanes splits into two double registers of L/2 lanes.
template <class Arch>
SCALPEL_INLINE void split_to_f64(const fbatch<Arch>& v, dbatch<Arch>& lo, dbatch<Arch>& hi) noexcept {
  static_assert(dbatch<Arch>::size * 2 == fbatch<Arch>::size);
#if SCALPEL_SIMD_X86
  if constexpr (is_avx512<Arch>) {
    const __m512 x = v;
    lo = _mm512_cvtps_pd(_mm512_castps512_ps256(x));
    hi = _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(x), 1)));
    return;
  } else if constexpr (is_avx2<Arch>) {
    const __m256 x = v;
    lo = _mm256_cvtps_pd(_mm256_castps256_ps128(x));
    hi = _mm256_cvtps_pd(_mm256_extractf128_ps(x, 1));
    return;
  } else
#endif
  {
    constexpr std::size_t L = lanes<Arch>;
    alignas(64) float f[L];
    alignas(64) double d[L];
    v.store_aligned(f);
    for (std::size_t i = 0; i < L; ++i) d[i] = static_cast<double>(f[i]);
    lo = dbatch<Arch>::load_aligned(d);
    hi = dbatch<Arch>::load_aligned(d + L / 2);
  }
}

/// Inverse of split_to_f64, rounding each double to the nearest float.
template <class Arch>
SCALPEL_INLINE fbatch<Arch> join_from_f64(const dbatch<Arch>& lo, const dbatch<Arch>& hi) noexcept {
#if SCALPEL_SIMD_X86
  if constexpr (is_avx512<Arch>) {
    const __m256 l = _mm512_cvtpd_ps(lo), h = _mm512_cvtpd_ps(hi);
    return _mm512_castpd_ps(_mm512_insertf64x4(_mm512_castpd256_pd512(_mm256_castps_pd(l)), _mm256_castps_pd(h), 1));
  } else if constexpr (is_avx2<Arch>) {
    return _mm256_insertf128_ps(_mm256_castps128_ps256(_mm256_cvtpd_ps(lo)), _mm256_cvtpd_ps(hi), 1);
  } else
#endif
  {
    constexpr std::size_t L = lanes<Arch>;
    alignas(64) double d[L];
    alignas(64) float f[L];
    lo.store_aligned(d);
    hi.store_aligned(d + L / 2);
    for (std::size_t i = 0; i < L; ++i) f[i] = static_cast<float>(d[i]);
    return fbatch<Arch>::load_aligned(f);
  }
}

}  // namespace simd::detail
SCALPEL_END_NAMESPACE
SCALPEL_SIMD_DIAGNOSTICS_POP
