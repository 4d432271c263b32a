#pragma once
// IWYU pragma: private, include "scalpel/simd/matmul.hpp"
/// @file
/// @brief The matmul kernels behind `simd::matmul`: Y[t, r] = sum_k W[r, k] * X[t, k] with W in its stored
/// dtype (F32, F16, BF16, Q8_0) and f32 activations, templated on the xsimd architecture.
///
/// **Reduction order (the contract that makes results reproducible).** For every output element:
/// - k is cut into blocks of `k_block` = 512 elements (the last one may be shorter);
/// - inside a block, lane l of one register accumulates W[r, k] * X[t, k] for k = l, l + L, l + 2L, ...
///   with fused multiply-adds (L = f32 lanes of `Arch`; a partial last chunk is zero-padded);
/// - the register is reduced with the fixed tree of `reduce_tree` (halves, quarters, ...);
/// - block sums are added left to right: y = s_0, y = y + s_1, ...
/// Every (r, t) is computed by one thread, and the decode path (n_tok = 1, GEMV) and the prefill path
/// (n_tok > 1, blocked GEMM) follow this same order, so decode and prefill agree **bit for bit** and the
/// result does not depend on the thread count. It does depend on `Arch` (L lanes).
///
/// **Weights are decoded in registers**: bf16 is widened by a shift, f16 converted, a Q8_0 block dequantised
/// as int8 -> f32 times its scale (exact: 8-bit by 11-bit products fit in f32). No f32 copy of a weight
/// matrix is ever made. Accumulation is f32.
///
/// **Decode (GEMV)**: 4 rows at a time (4 independent accumulator chains), x read in place, the next 4 rows
/// prefetched linearly while the current ones are reduced.
/// **Prefill (GEMM)**: per thread a contiguous range of rows; tokens in blocks of `gemm_tokens_block`,
/// k in blocks of `k_block`; the activations of a (token block, k block) are packed into a contiguous
/// thread-local buffer; weight panels of `gemm_rows_panel` rows stay in L2 while the micro-kernel
/// (4 rows x T tokens, T = 6 on AVX-512, 2 on AVX2 and narrower; narrower remainder tiles) sweeps the token
/// tiles: each weight row chunk is decoded once per tile of T tokens, each activation chunk loaded once per
/// 4 rows.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <type_traits>

#include "scalpel/config.hpp"
#include "scalpel/core/aligned_alloc.hpp"
#include "scalpel/simd/detail/arch.hpp"
#include "scalpel/simd/detail/diagnostics.hpp"
#include "scalpel/tensor/dtype.hpp"
#include "scalpel/tensor/view.hpp"

SCALPEL_SIMD_DIAGNOSTICS_PUSH
SCALPEL_BEGIN_NAMESPACE
namespace simd::detail {

/// Elements per inner step (one Q8_0 block; a multiple of every lane count).
inline constexpr std::size_t k_step = 32;
/// Canonical reduction block along k (see the file comment). A multiple of k_step.
inline constexpr std::size_t k_block = 512;
/// Rows per decode group (4 accumulator chains; more interleaved row streams read DRAM less efficiently).
inline constexpr std::size_t gemv_group = 4;
/// Rows of the prefill micro-kernel (and the unit of the static row split between threads).
inline constexpr std::size_t gemm_group = 4;
/// Tokens per packed activation block (prefill).
inline constexpr std::size_t gemm_tokens_block = 96;
/// Rows per weight panel kept hot in L2 while token tiles sweep over it (prefill).
inline constexpr std::size_t gemm_rows_panel = 128;
/// Below this many multiply-adds a matmul runs on the calling thread only: 2^18 bf16 weights stream in
/// about 10 us on one core, the order of an OpenMP fork/join whose workers have gone to sleep.
inline constexpr std::size_t parallel_min_work = std::size_t{1} << 18;

/// Tokens of the prefill micro-kernel: 4 x 6 accumulators + 4 weights + 1 activation fit AVX-512's 32
/// registers; AVX2/SSE have 16 registers, so 4 x 2.
template <class Arch>
inline constexpr std::size_t gemm_tokens = is_avx512<Arch> ? 6 : 2;

template <class S>
inline constexpr bool is_q8 = std::is_same_v<std::remove_const_t<S>, q8_0_block>;

/// Elements per stored unit (32 for a Q8_0 block, else 1).
template <class S>
inline constexpr std::size_t elems_per_unit = is_q8<S> ? 32 : 1;

/// L consecutive weights of a scalar-dtype row as f32 lanes.
template <class Arch, class S>
SCALPEL_INLINE fbatch<Arch> load_weights(const S* p) noexcept {
  if constexpr (std::is_same_v<S, float>) {
    return load_f32<Arch>(p);
  } else if constexpr (std::is_same_v<S, bf16_bits>) {
    return load_bf16<Arch>(p);
  } else {
    static_assert(std::is_same_v<S, f16_bits>);
    return load_f16<Arch>(p);
  }
}

/// Hint the cache hierarchy to fetch the line at p (no effect on results; never faults).
SCALPEL_INLINE void prefetch(const char* p) noexcept {
#if defined(__GNUC__) || defined(__clang__)
  __builtin_prefetch(p, 0, 3);
#else
  (void)p;
#endif
}

/// Linear software prefetch of a byte range spread over the steps of a loop: step s (counted from
/// `first_step`) touches bytes [s * per_step, (s + 1) * per_step) of [base, base + bytes).
struct prefetch_plan {
  const char* base = nullptr;
  std::size_t bytes = 0;
  std::size_t per_step = 0;
  std::size_t first_step = 0;
  SCALPEL_INLINE void at_step(std::size_t s) const noexcept {
    const std::size_t b0 = (first_step + s) * per_step;
    const std::size_t b1 = std::min(b0 + per_step, bytes);
    for (std::size_t b = b0; b < b1; b += 64) prefetch(base + b);
  }
};

/// acc[r][t] += W[r, step s] * X[t, step s] over `nsteps` steps of k_step elements, lane-wise.
/// `w[r]` points at the first stored unit of the range, `x[t]` at its first activation.
template <class Arch, class S, std::size_t R, std::size_t T>
SCALPEL_INLINE void accumulate_steps(const S* const (&w)[R], const float* const (&x)[T], std::size_t nsteps,
                                     fbatch<Arch> (&acc)[R][T], const prefetch_plan* pf = nullptr) noexcept {
  constexpr std::size_t L = lanes<Arch>;
  constexpr std::size_t G = k_step / L;
  for (std::size_t s = 0; s < nsteps; ++s) {
    if (pf != nullptr) pf->at_step(s);
    [[maybe_unused]] fbatch<Arch> scale[R];
    if constexpr (is_q8<S>) {
#pragma GCC unroll 8
      for (std::size_t r = 0; r < R; ++r) scale[r] = broadcast_f16<Arch>(w[r][s].d);
    }
#pragma GCC unroll 8
    for (std::size_t g = 0; g < G; ++g) {
      fbatch<Arch> wv[R];
#pragma GCC unroll 8
      for (std::size_t r = 0; r < R; ++r) {
        if constexpr (is_q8<S>) {
          wv[r] = load_i8<Arch>(w[r][s].qs + g * L) * scale[r];
        } else {
          wv[r] = load_weights<Arch>(w[r] + s * k_step + g * L);
        }
      }
#pragma GCC unroll 8
      for (std::size_t t = 0; t < T; ++t) {
        const fbatch<Arch> xv = load_f32<Arch>(x[t] + s * k_step + g * L);
#pragma GCC unroll 8
        for (std::size_t r = 0; r < R; ++r) acc[r][t] = fmadd<Arch>(wv[r], xv, acc[r][t]);
      }
    }
  }
}

/// Block sums out[t][r] = sum over k in [0, kc) of W[r, k] X[t, k] in the canonical order (one reduction
/// block, kc <= k_block; kc % k_step != 0 only for scalar dtypes, whose last step is zero-padded).
/// @pre R is a multiple of 4.
template <class Arch, class S, std::size_t R, std::size_t T>
SCALPEL_INLINE void block_sums(const S* const (&w)[R], const float* const (&x)[T], std::size_t kc, float (&out)[T][R],
                               const prefetch_plan* pf = nullptr) noexcept {
  static_assert(R % 4 == 0);
  fbatch<Arch> acc[R][T];
#pragma GCC unroll 8
  for (std::size_t r = 0; r < R; ++r)
#pragma GCC unroll 8
    for (std::size_t t = 0; t < T; ++t) acc[r][t] = fbatch<Arch>(0.0f);
  const std::size_t full = kc / k_step;
  accumulate_steps<Arch, S, R, T>(w, x, full, acc, pf);
  if constexpr (!is_q8<S>) {
    const std::size_t rem = kc - full * k_step;
    if (rem != 0) {
      // Zero-padded copies of the last partial step: 0 * 0 adds nothing, so the order is unchanged.
      S wt[R][k_step];
      float xt[T][k_step];
      std::memset(static_cast<void*>(wt), 0, sizeof(wt));
      std::memset(static_cast<void*>(xt), 0, sizeof(xt));
      const S* wp[R];
      const float* xp[T];
      for (std::size_t r = 0; r < R; ++r) {
        std::memcpy(static_cast<void*>(wt[r]), w[r] + full * k_step, rem * sizeof(S));
        wp[r] = wt[r];
      }
      for (std::size_t t = 0; t < T; ++t) {
        std::memcpy(xt[t], x[t] + full * k_step, rem * sizeof(float));
        xp[t] = xt[t];
      }
      accumulate_steps<Arch, S, R, T>(wp, xp, 1, acc);
    }
  }
#pragma GCC unroll 8
  for (std::size_t t = 0; t < T; ++t)
#pragma GCC unroll 8
    for (std::size_t r = 0; r < R; r += 4)
      reduce4<Arch>(acc[r][t], acc[r + 1][t], acc[r + 2][t], acc[r + 3][t], &out[t][r]);
}

/// Row pointers for a group of R rows starting at r0 (rows past `end` repeat the last row; their results
/// are discarded), offset to stored unit `u0`.
template <class S, std::size_t R>
SCALPEL_INLINE void row_pointers(const S* w, std::size_t ldw, std::size_t r0, std::size_t end, std::size_t u0,
                                 const S* (&out)[R]) noexcept {
  for (std::size_t i = 0; i < R; ++i) out[i] = w + std::min(r0 + i, end - 1) * ldw + u0;
}

/// Decode: y[r] for r in [r_begin, r_end), one token. `ldw` = stored units per weight row.
/// While a group of R rows is reduced, the next group's memory (R contiguous rows) is prefetched linearly,
/// spread evenly over the steps: R interleaved short row streams that cross 4 KiB pages defeat the hardware
/// prefetchers, one linear look-ahead does not.
template <class Arch, class S>
inline void gemv_rows(const S* w, std::size_t ldw, std::size_t r_begin, std::size_t r_end, std::size_t k,
                      const float* x, float* y) noexcept {
  constexpr std::size_t R = gemv_group;
  const std::size_t steps = (k + k_step - 1) / k_step;
  for (std::size_t r0 = r_begin; r0 < r_end; r0 += R) {
    prefetch_plan pf;  // the next group of rows of this thread's range
    if (r0 + R < r_end) {
      pf.base = reinterpret_cast<const char*>(w + (r0 + R) * ldw);
      pf.bytes = std::min(R, r_end - r0 - R) * ldw * sizeof(S);
      pf.per_step = (pf.bytes + steps - 1) / steps;
    }
    const std::size_t n = std::min(R, r_end - r0);
    float tot[R] = {};
    for (std::size_t k0 = 0; k0 < k; k0 += k_block) {
      const std::size_t kc = std::min(k_block, k - k0);
      const S* wp[R];
      row_pointers<S, R>(w, ldw, r0, r_end, k0 / elems_per_unit<S>, wp);
      const float* xp[1] = {x + k0};
      float part[1][R];
      pf.first_step = k0 / k_step;
      block_sums<Arch, S, R, 1>(wp, xp, kc, part, pf.bytes != 0 ? &pf : nullptr);
      if (k0 == 0) {
        for (std::size_t i = 0; i < R; ++i) tot[i] = part[0][i];
      } else {
        for (std::size_t i = 0; i < R; ++i) tot[i] = tot[i] + part[0][i];
      }
    }
    for (std::size_t i = 0; i < n; ++i) y[r0 + i] = tot[i];
  }
}

/// Prefill micro-tile: rows [r0, r_end) in groups of 4 against the first tn <= T packed tokens (`xp`,
/// stride k_block; tokens past tn repeat the last one and are discarded), k range [k0, k0 + kc); adds the
/// block sums into y (or stores them for the first block).
template <class Arch, class S, std::size_t T>
inline void gemm_tile(std::size_t tn, const S* w, std::size_t ldw, std::size_t r0, std::size_t r_end, std::size_t k0,
                      std::size_t kc, const float* xp, float* y, std::size_t ldy) noexcept {
  constexpr std::size_t R = gemm_group;
  const float* xt[T];
  for (std::size_t t = 0; t < T; ++t) xt[t] = xp + std::min(t, tn - 1) * k_block;
  for (std::size_t r = r0; r < r_end; r += R) {
    const std::size_t n = std::min(R, r_end - r);
    const S* wp[R];
    row_pointers<S, R>(w, ldw, r, r_end, k0 / elems_per_unit<S>, wp);
    float part[T][R];
    block_sums<Arch, S, R, T>(wp, xt, kc, part);
    for (std::size_t t = 0; t < tn; ++t) {
      float* yt = y + t * ldy + r;
      if (k0 == 0) {
        for (std::size_t i = 0; i < n; ++i) yt[i] = part[t][i];
      } else {
        for (std::size_t i = 0; i < n; ++i) yt[i] = yt[i] + part[t][i];
      }
    }
  }
}

/// A token tile of runtime width tn (1 <= tn <= gemm_tokens<Arch>) on the narrowest instantiated tile
/// that holds it: widths 1, 2, 4 and 6 on AVX-512 (at most one wasted token), 1 and 2 elsewhere. Fewer
/// instantiations keep every TU that includes the kernels quick to compile.
template <class Arch, class S>
inline void gemm_tile_n(std::size_t tn, const S* w, std::size_t ldw, std::size_t r0, std::size_t r_end, std::size_t k0,
                        std::size_t kc, const float* xp, float* y, std::size_t ldy) noexcept {
  constexpr std::size_t T = gemm_tokens<Arch>;
  static_assert(T == 2 || T == 6);
  if (tn == 1) {
    gemm_tile<Arch, S, 1>(tn, w, ldw, r0, r_end, k0, kc, xp, y, ldy);
  } else if (T == 2 || tn == 2) {
    gemm_tile<Arch, S, 2>(tn, w, ldw, r0, r_end, k0, kc, xp, y, ldy);
  } else if constexpr (T == 6) {
    if (tn <= 4) {
      gemm_tile<Arch, S, 4>(tn, w, ldw, r0, r_end, k0, kc, xp, y, ldy);
    } else {
      gemm_tile<Arch, S, 6>(tn, w, ldw, r0, r_end, k0, kc, xp, y, ldy);
    }
  }
}

/// The calling thread's activation pack buffer (gemm_tokens_block x k_block floats, 64-byte aligned,
/// allocated once per thread).
inline float* pack_buffer() {
  static thread_local aligned_vector<float> buf;
  if (buf.empty()) buf.assign(gemm_tokens_block * k_block, 0.0f);
  return buf.data();
}

/// Prefill: Y[t, r] for r in [r_begin, r_end), all n_tok tokens.
template <class Arch, class S>
inline void gemm_rows(const S* w, std::size_t ldw, std::size_t r_begin, std::size_t r_end, std::size_t k,
                      const float* x, std::size_t n_tok, std::size_t ldx, float* y, std::size_t ldy) noexcept {
  constexpr std::size_t T = gemm_tokens<Arch>;
  if (r_begin >= r_end) return;
  float* xp = pack_buffer();
  for (std::size_t n0 = 0; n0 < n_tok; n0 += gemm_tokens_block) {
    const std::size_t nc = std::min(gemm_tokens_block, n_tok - n0);
    for (std::size_t k0 = 0; k0 < k; k0 += k_block) {
      const std::size_t kc = std::min(k_block, k - k0);
      for (std::size_t t = 0; t < nc; ++t) std::memcpy(xp + t * k_block, x + (n0 + t) * ldx + k0, kc * sizeof(float));
      for (std::size_t m0 = r_begin; m0 < r_end; m0 += gemm_rows_panel) {
        const std::size_t m1 = std::min(r_end, m0 + gemm_rows_panel);
        for (std::size_t t0 = 0; t0 < nc; t0 += T) {
          const std::size_t tn = std::min(T, nc - t0);
          gemm_tile_n<Arch, S>(tn, w, ldw, m0, m1, k0, kc, xp + t0 * k_block, y + (n0 + t0) * ldy, ldy);
        }
      }
    }
  }
}

}  // namespace simd::detail
SCALPEL_END_NAMESPACE
SCALPEL_SIMD_DIAGNOSTICS_POP
