#pragma once
/// @file
/// @brief `simd::matmul`: Y = X · Wᵀ for a weight matrix in its stored dtype (F32, F16, BF16, Q8_0) and f32
/// activations — the GEMV of decode (n_tok = 1) and the blocked GEMM of prefill (n_tok > 1).
///
/// - Weights are decoded in registers (never copied to f32); accumulation is f32 with fused multiply-adds.
/// - Multi-threaded with OpenMP over output rows (static contiguous ranges; small matrices stay on the
///   calling thread; never nested inside another parallel region).
/// - Reproducible: every output element has one fixed reduction order (see detail/matmul_kernel.hpp), so
///   the result is independent of the thread count, and decode and prefill agree bit for bit.
/// - The architecture is `xsimd::default_arch`, chosen by the consumer's `-m` flags; `matmul_arch<Arch>`
///   names one explicitly (tests, benchmarks). Define `SCALPEL_REFERENCE_KERNELS=1` to route `matmul` to
///   the scalar reference (debugging).
/// - Opt-in: `SCALPEL_BF16_DOT_PREFILL=1` (whole program, AVX512_BF16 CPUs) computes prefill with bf16
///   weights by `vdpbf16ps` on bf16-rounded activations: ~2x faster prefill, ~1e-3 relative error per
///   matmul, prefill no longer bit-identical to decode (detail/bf16dot_kernel.hpp, docs/performance.md).

#include <cstddef>
#include <type_traits>

#include "scalpel/config.hpp"
#include "scalpel/simd/detail/diagnostics.hpp"
#include "scalpel/simd/detail/matmul_dispatch.hpp"
#include "scalpel/simd/detail/reference.hpp"
#include "scalpel/tensor/matrix_ref.hpp"

#ifndef SCALPEL_REFERENCE_KERNELS
#define SCALPEL_REFERENCE_KERNELS 0
#endif

SCALPEL_SIMD_DIAGNOSTICS_PUSH
SCALPEL_BEGIN_NAMESPACE
namespace simd {

/// `matmul` with an explicit xsimd architecture (must be supported by the compile flags of the caller).
template <class Arch>
inline void matmul_arch(const matrix_ref& w, const float* x, std::size_t n_tok, std::size_t ldx, float* y,
                        std::size_t ldy) noexcept {
  w.visit([&](const auto& v) { detail::matmul_kernel{}(Arch{}, v, x, n_tok, ldx, y, ldy); });
}

/// y[t * ldy + r] = sum_k W[r, k] * x[t * ldx + k] for t < n_tok, r < W.rows().
/// @pre x holds n_tok rows of W.cols() floats (row stride ldx); y has room for n_tok rows of W.rows()
/// floats (row stride ldy); x and y do not overlap.
inline void matmul(const matrix_ref& w, const float* x, std::size_t n_tok, std::size_t ldx, float* y,
                   std::size_t ldy) noexcept {
  if constexpr (SCALPEL_REFERENCE_KERNELS || std::is_same_v<xsimd::default_arch, xsimd::unavailable>) {
    reference::matmul(w, x, n_tok, ldx, y, ldy);
  } else {
    matmul_arch<xsimd::default_arch>(w, x, n_tok, ldx, y, ldy);
  }
}

}  // namespace simd
SCALPEL_END_NAMESPACE
SCALPEL_SIMD_DIAGNOSTICS_POP
