#pragma once
// IWYU pragma: private, include "scalpel/simd/matmul.hpp"
/// @file
/// @brief Opt-in prefill GEMM for bf16 weights with AVX-512 BF16 dot products (`vdpbf16ps`).
///
/// **Off by default.** Enabled only when the program defines `SCALPEL_BF16_DOT_PREFILL=1` *and* compiles for a
/// CPU with AVX512_BF16 (`__AVX512BF16__`, e.g. `-march=native` on Zen 4 / Sapphire Rapids); then
/// `simd::matmul` uses it for bf16 weights with n_tok > 1 on the AVX-512 architecture. Everything else
/// (decode, other dtypes, other architectures) is unchanged.
///
/// What changes: the activations are rounded to bf16 (round to nearest even) before the products, so each
/// output carries a relative error of about 2^-9 of sum |w x| (measured normalised RMS error 1.5e-3 per matmul
/// against 1.3e-7 for the default kernel), and prefill no longer agrees bit for bit with decode. What it buys:
/// about 1.5-2x the prefill GEMM throughput (docs/performance.md). Define the macro for the whole program
/// (every TU), like NDEBUG.
///
/// Same structure and reduction order shape as the default GEMM (k blocks of 512, lane accumulation, the
/// fixed lane tree, block sums left to right; lane l accumulates the pairs k = 2l, 2l + 1 mod 32), so the
/// result is still independent of the thread count.
///
/// Lives in the architecture-named namespace `simd::detail::avx512bf16` (house style §3.5 ODR rule) and
/// exists only in TUs compiled with AVX512_BF16.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "scalpel/config.hpp"
#include "scalpel/simd/detail/diagnostics.hpp"
#include "scalpel/simd/detail/matmul_kernel.hpp"

#if defined(SCALPEL_BF16_DOT_PREFILL) && SCALPEL_SIMD_X86 && defined(__AVX512BF16__) && defined(__AVX512F__)
#define SCALPEL_SIMD_HAVE_BF16_DOT 1
#else
#define SCALPEL_SIMD_HAVE_BF16_DOT 0
#endif

#if SCALPEL_SIMD_HAVE_BF16_DOT || (SCALPEL_SIMD_X86 && defined(__AVX512BF16__) && defined(__AVX512F__))
#define SCALPEL_SIMD_COMPILE_BF16_DOT 1
#else
#define SCALPEL_SIMD_COMPILE_BF16_DOT 0
#endif

SCALPEL_SIMD_DIAGNOSTICS_PUSH
SCALPEL_BEGIN_NAMESPACE
namespace simd::detail {

/// Whether matmul routes (Arch, storage S, n_tok > 1) to the bf16 dot-product GEMM.
template <class Arch, class S>
inline constexpr bool use_bf16_dot_prefill =
    SCALPEL_SIMD_HAVE_BF16_DOT&& is_avx512<Arch>&& std::is_same_v<S, bf16_bits>;

#if SCALPEL_SIMD_COMPILE_BF16_DOT
namespace avx512bf16 {

SCALPEL_INLINE __m512bh as_bh(__m512i v) noexcept {
  __m512bh r;
  std::memcpy(&r, &v, sizeof r);
  return r;
}

/// n f32 -> bf16 (round to nearest even) into out, zero-padded up to a multiple of 32.
inline void pack_bf16(const float* x, std::size_t n, std::uint16_t* out) noexcept {
  std::size_t i = 0;
  for (; i + 32 <= n; i += 32) {
    const __m512bh v = _mm512_cvtne2ps_pbh(_mm512_loadu_ps(x + i + 16), _mm512_loadu_ps(x + i));
    std::memcpy(out + i, &v, sizeof v);
  }
  if (i < n) {
    alignas(64) float t[32] = {};
    std::memcpy(t, x + i, (n - i) * sizeof(float));
    const __m512bh v = _mm512_cvtne2ps_pbh(_mm512_load_ps(t + 16), _mm512_load_ps(t));
    std::memcpy(out + i, &v, sizeof v);
  }
}

/// 4 rows x T packed tokens over kc elements (the last partial step of the weights is zero-padded; the
/// packed activations already are): block sums in the canonical lane/tree order.
template <std::size_t T>
SCALPEL_INLINE void block_sums(const bf16_bits* const (&w)[4], const std::uint16_t* const (&x)[T], std::size_t kc,
                               float (&out)[T][4]) noexcept {
  using Arch = xsimd::avx512bw;
  __m512 acc[4][T];
  for (std::size_t r = 0; r < 4; ++r)
    for (std::size_t t = 0; t < T; ++t) acc[r][t] = _mm512_setzero_ps();
  const std::size_t full = kc / 32;
  for (std::size_t s = 0; s < full; ++s) {
    __m512bh wv[4];
#pragma GCC unroll 4
    for (std::size_t r = 0; r < 4; ++r) wv[r] = as_bh(_mm512_loadu_si512(w[r] + s * 32));
#pragma GCC unroll 8
    for (std::size_t t = 0; t < T; ++t) {
      const __m512bh xv = as_bh(_mm512_loadu_si512(x[t] + s * 32));
#pragma GCC unroll 4
      for (std::size_t r = 0; r < 4; ++r) acc[r][t] = _mm512_dpbf16_ps(acc[r][t], wv[r], xv);
    }
  }
  if (const std::size_t rem = kc - full * 32; rem != 0) {
    // Zero-padded copy of the weights' last partial step (the packed activations are padded already).
    bf16_bits wt[4][32] = {};
    for (std::size_t r = 0; r < 4; ++r)
      std::memcpy(static_cast<void*>(wt[r]), w[r] + full * 32, rem * sizeof(bf16_bits));
    __m512bh wv[4];
    for (std::size_t r = 0; r < 4; ++r) wv[r] = as_bh(_mm512_loadu_si512(wt[r]));
    for (std::size_t t = 0; t < T; ++t) {
      const __m512bh xv = as_bh(_mm512_loadu_si512(x[t] + full * 32));
      for (std::size_t r = 0; r < 4; ++r) acc[r][t] = _mm512_dpbf16_ps(acc[r][t], wv[r], xv);
    }
  }
  for (std::size_t t = 0; t < T; ++t)
    reduce4<Arch>(fbatch<Arch>(acc[0][t]), fbatch<Arch>(acc[1][t]), fbatch<Arch>(acc[2][t]), fbatch<Arch>(acc[3][t]),
                  out[t]);
}

/// Tile of tn <= T packed tokens (`xp`, stride k_block; tokens past tn repeat the last) x rows [r0, r_end).
template <std::size_t T>
inline void tile(std::size_t tn, const bf16_bits* w, std::size_t ldw, std::size_t r0, std::size_t r_end, std::size_t k0,
                 std::size_t kc, const std::uint16_t* xp, float* y, std::size_t ldy) noexcept {
  const std::uint16_t* xt[T];
  for (std::size_t t = 0; t < T; ++t) xt[t] = xp + std::min(t, tn - 1) * k_block;
  for (std::size_t r = r0; r < r_end; r += 4) {
    const std::size_t n = std::min<std::size_t>(4, r_end - r);
    const bf16_bits* wp[4];
    row_pointers<bf16_bits, 4>(w, ldw, r, r_end, k0, wp);
    float part[T][4];
    block_sums<T>(wp, xt, kc, part);
    for (std::size_t t = 0; t < tn; ++t) {
      float* yt = y + t * ldy + r;
      for (std::size_t i = 0; i < n; ++i) yt[i] = k0 == 0 ? part[t][i] : yt[i] + part[t][i];
    }
  }
}

/// The calling thread's bf16 activation pack buffer (gemm_tokens_block x k_block).
inline std::uint16_t* pack_buffer() {
  static thread_local aligned_vector<std::uint16_t> buf;
  if (buf.empty()) buf.assign(gemm_tokens_block * k_block, 0);
  return buf.data();
}

/// Prefill rows [r_begin, r_end) for all n_tok tokens (same blocking as detail::gemm_rows).
inline void gemm_rows(const bf16_bits* w, std::size_t ldw, std::size_t r_begin, std::size_t r_end, std::size_t k,
                      const float* x, std::size_t n_tok, std::size_t ldx, float* y, std::size_t ldy) noexcept {
  if (r_begin >= r_end) return;
  std::uint16_t* xp = pack_buffer();
  for (std::size_t n0 = 0; n0 < n_tok; n0 += gemm_tokens_block) {
    const std::size_t nc = std::min(gemm_tokens_block, n_tok - n0);
    for (std::size_t k0 = 0; k0 < k; k0 += k_block) {
      const std::size_t kc = std::min(k_block, k - k0);
      for (std::size_t t = 0; t < nc; ++t) pack_bf16(x + (n0 + t) * ldx + k0, kc, xp + t * k_block);
      for (std::size_t m0 = r_begin; m0 < r_end; m0 += gemm_rows_panel) {
        const std::size_t m1 = std::min(r_end, m0 + gemm_rows_panel);
        for (std::size_t t0 = 0; t0 < nc; t0 += 6) {
          const std::size_t tn = std::min<std::size_t>(6, nc - t0);
          const std::uint16_t* xt = xp + t0 * k_block;
          float* yt = y + (n0 + t0) * ldy;
          if (tn == 1) {
            tile<1>(tn, w, ldw, m0, m1, k0, kc, xt, yt, ldy);
          } else if (tn == 2) {
            tile<2>(tn, w, ldw, m0, m1, k0, kc, xt, yt, ldy);
          } else if (tn <= 4) {
            tile<4>(tn, w, ldw, m0, m1, k0, kc, xt, yt, ldy);
          } else {
            tile<6>(tn, w, ldw, m0, m1, k0, kc, xt, yt, ldy);
          }
        }
      }
    }
  }
}

}  // namespace avx512bf16
#endif

}  // namespace simd::detail
SCALPEL_END_NAMESPACE
SCALPEL_SIMD_DIAGNOSTICS_POP
