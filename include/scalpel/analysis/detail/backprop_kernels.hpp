#pragma once
// IWYU pragma: private, include "scalpel/analysis/backprop.hpp"
/// @file
/// @brief Reverse-mode building blocks for the Gemma 4 backward pass (f32): the transposed product
/// dX += dY · W for a weight matrix in its stored dtype, RMSNorm backward, GELU-tanh and its derivative, inverse RoPE.
///
/// `matmul_t_acc` decodes W in tiles of `tile_rows` × `tile_cols` to f32 and multiplies each tile with a
/// register-blocked micro-kernel (6 tokens × 32 columns of accumulators; plain C++ the compiler vectorises —
/// SIMD intrinsics stay in simd/). OpenMP threads own disjoint column ranges of dX, so there are no races and
/// the result does not depend on the thread count.

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <type_traits>
#include <vector>

#include "scalpel/config.hpp"
#include "scalpel/simd/ops.hpp"
#include "scalpel/tensor/dtype.hpp"
#include "scalpel/tensor/matrix_ref.hpp"

SCALPEL_BEGIN_NAMESPACE
namespace analysis::detail {

inline constexpr std::size_t tile_rows = 256;  ///< rows of W decoded per tile
inline constexpr std::size_t tile_cols = 32;   ///< columns of W per tile (= the Q8_0 block)
inline constexpr std::size_t tile_toks = 6;    ///< tokens per micro-kernel call

/// Decode W[r0 .. r0+nr, c0 .. c0+nc) to f32 rows of `tile_cols` floats (columns ≥ nc zero-filled).
/// For Q8_0, c0 is a block boundary and nc = 32 (rows are whole blocks).
template <class View>
inline void decode_tile(const View& v, std::size_t r0, std::size_t nr, std::size_t c0, std::size_t nc, float* out) {
  using D = typename View::value_dtype;
  for (std::size_t r = 0; r < nr; ++r) {
    const auto* row = v.row(r0 + r).data_handle();
    float* o = out + r * tile_cols;
    if constexpr (std::is_same_v<D, q8_0>) {
      const q8_0_block& blk = row[c0 / 32];
      const float d = to_f32(blk.d);
      for (std::size_t i = 0; i < 32; ++i) o[i] = d * static_cast<float>(blk.qs[i]);
    } else {
      for (std::size_t c = 0; c < nc; ++c) o[c] = to_f32(row[c0 + c]);
      for (std::size_t c = nc; c < tile_cols; ++c) o[c] = 0.0f;
    }
  }
}

/// acc[i][c] = Σ_r dy[i·ldy + r] · tile[r][c] for i < NT tokens, r < nr.
template <std::size_t NT>
inline void tile_kernel(const float* tile, std::size_t nr, const float* dy, std::size_t ldy,
                        std::array<std::array<float, tile_cols>, NT>& acc) noexcept {
  for (auto& a : acc) a.fill(0.0f);
  for (std::size_t r = 0; r < nr; ++r) {
    const float* w = tile + r * tile_cols;
    for (std::size_t i = 0; i < NT; ++i) {
      const float a = dy[i * ldy + r];
      for (std::size_t c = 0; c < tile_cols; ++c) acc[i][c] += a * w[c];
    }
  }
}

/// dx[t, c] += Σ_r dy[t, r] · W[r, c] for t < n_tok: the input gradient of y = W·x.
/// @param w   [rows, cols] in its stored dtype
/// @param dy  n_tok rows of w.rows() floats, row stride ldy
/// @param dx  n_tok rows of w.cols() floats, row stride ldx (accumulated into)
inline void matmul_t_acc(const matrix_ref& w, const float* dy, std::size_t n_tok, std::size_t ldy, float* dx,
                         std::size_t ldx) {
  const std::size_t rows = w.rows(), cols = w.cols();
  if (n_tok == 0 || rows == 0 || cols == 0) return;
  const std::size_t n_chunks = (cols + tile_cols - 1) / tile_cols;
  w.visit([&](const auto& v) {
    const auto total = static_cast<std::ptrdiff_t>(n_chunks);
#if SCALPEL_HAS_OPENMP
#pragma omp parallel if (n_chunks > 1 && rows * cols * n_tok > (std::size_t{1} << 18))
#endif
    {
      std::vector<float> tile(tile_rows * tile_cols);
      std::array<std::array<float, tile_cols>, tile_toks> acc{};
      std::array<std::array<float, tile_cols>, 1> acc1{};
#if SCALPEL_HAS_OPENMP
#pragma omp for schedule(static)
#endif
      for (std::ptrdiff_t ci = 0; ci < total; ++ci) {
        const std::size_t c0 = static_cast<std::size_t>(ci) * tile_cols, nc = std::min(tile_cols, cols - c0);
        for (std::size_t r0 = 0; r0 < rows; r0 += tile_rows) {
          const std::size_t nr = std::min(tile_rows, rows - r0);
          decode_tile(v, r0, nr, c0, nc, tile.data());
          std::size_t t = 0;
          for (; t + tile_toks <= n_tok; t += tile_toks) {
            tile_kernel<tile_toks>(tile.data(), nr, dy + t * ldy + r0, ldy, acc);
            for (std::size_t i = 0; i < tile_toks; ++i)
              for (std::size_t c = 0; c < nc; ++c) dx[(t + i) * ldx + c0 + c] += acc[i][c];
          }
          for (; t < n_tok; ++t) {
            tile_kernel<1>(tile.data(), nr, dy + t * ldy + r0, ldy, acc1);
            for (std::size_t c = 0; c < nc; ++c) dx[t * ldx + c0 + c] += acc1[0][c];
          }
        }
      }
    }
  });
}

/// Backward of y = x · r · w with r = (mean(x²) + ε)^(−½) (w == nullptr: weightless). Accumulates
/// dx[i] += r·w_i·dy_i − x_i · r³/n · Σ_k dy_k·w_k·x_k. Sums in double.
inline void rmsnorm_backward_acc(const float* x, const float* w, float eps, std::size_t n, const float* dy,
                                 float* dx) noexcept {
  double ss = 0.0, dot = 0.0;
  for (std::size_t i = 0; i < n; ++i) {
    const double xi = x[i];
    ss += xi * xi;
    dot += static_cast<double>(dy[i]) * (w ? static_cast<double>(w[i]) : 1.0) * xi;
  }
  const double r = 1.0 / std::sqrt(ss / static_cast<double>(n) + static_cast<double>(eps));
  const double c = r * r * r / static_cast<double>(n) * dot;
  for (std::size_t i = 0; i < n; ++i) {
    const double wi = w ? static_cast<double>(w[i]) : 1.0;
    dx[i] += static_cast<float>(r * wi * static_cast<double>(dy[i]) - static_cast<double>(x[i]) * c);
  }
}

/// Row-wise rmsnorm_backward_acc over T rows of width n.
inline void rmsnorm_backward_rows(const float* x, const float* w, float eps, std::size_t T, std::size_t n,
                                  const float* dy, float* dx) noexcept {
  for (std::size_t t = 0; t < T; ++t) rmsnorm_backward_acc(x + t * n, w, eps, n, dy + t * n, dx + t * n);
}

/// gel[i] = gelu_tanh(x[i]) and der[i] = gelu_tanh'(x[i]) for n values, vectorised: gel comes from the
/// engine's GeGLU kernel with a unit multiplier (the same values the forward pass uses), and the derivative from
/// it: with σ = gel/x = ½(1 + tanh u), u = √(2/π)(x + 0.044715x³), gelu' = σ + x·σ(1 − σ)·2√(2/π)(1 + 3·0.044715x²)
/// (σ ≈ ½ + ½u near 0, where gel/x loses precision). Absolute error of der ≲ 1e-5 for |x| ≤ 10.
inline void gelu_and_derivative(const float* x, std::size_t n, float* gel, float* der) noexcept {
  constexpr std::size_t chunk = 1024;
  static const std::array<float, chunk> ones = [] {
    std::array<float, chunk> a{};
    a.fill(1.0f);
    return a;
  }();
  for (std::size_t i0 = 0; i0 < n; i0 += chunk) simd::geglu(x + i0, ones.data(), std::min(chunk, n - i0), gel + i0);
  constexpr float k = 0.7978845608f, c = 0.044715f;
  for (std::size_t i = 0; i < n; ++i) {
    const float xi = x[i];
    const float sig = std::fabs(xi) < 1e-3f ? 0.5f + 0.5f * k * xi : gel[i] / xi;
    der[i] = sig + xi * sig * (1.0f - sig) * 2.0f * k * (1.0f + 3.0f * c * xi * xi);
  }
}

/// Inverse NeoX rotation of one head vector (the transpose of rope_neox: rotate by −angle), in place.
/// Angles as in the forward pass: f32(pos) · inv_freq[i], rounded to f32.
inline void rope_neox_backward(float* g, std::size_t d, std::size_t n_rot, const float* inv_freq,
                               std::size_t pos) noexcept {
  const std::size_t half = d / 2;
  for (std::size_t i = 0; i < n_rot; ++i) {
    const float ang = static_cast<float>(pos) * inv_freq[i];
    const float c = std::cos(ang), s = std::sin(ang);
    const float a = g[i], b = g[i + half];
    g[i] = a * c + b * s;
    g[i + half] = b * c - a * s;
  }
}

}  // namespace analysis::detail
SCALPEL_END_NAMESPACE
