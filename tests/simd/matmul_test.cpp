// simd::matmul (GEMV for n_tok = 1, blocked GEMM for n_tok > 1) against an f64 reference, for every weight
// dtype and every xsimd architecture this build can run; the reproducibility contract (decode == prefill
// bit for bit, thread-count independence); the per-arch primitives (widening loads, lane reduction).

#include "scalpel/simd/matmul.hpp"

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "scalpel/simd/threads.hpp"
#include "simd_test_util.hpp"

namespace ut_matmul_test {  // one namespace per file: unity builds put several test files in one TU

using namespace scalpel;
using simd_test::offset_buffer;

namespace {

constexpr float sentinel = -12345.678f;

/// A weight matrix of one dtype built from f32 values (f16/bf16 rounded, Q8_0 quantised as ggml does),
/// stored at a chosen misalignment, with its exact f32 decoding for the reference.
template <class D>
struct weights {
  using S = typename D::storage_type;
  std::size_t rows, cols, ldw;  // ldw in stored units
  offset_buffer<S> data;
  std::vector<float> decoded;  // rows x cols, exact values of the stored weights

  weights(std::size_t r, std::size_t c, std::size_t offset, std::uint32_t seed)
      : rows(r), cols(c), ldw(c / D::block_elems), data(r * (c / D::block_elems), offset), decoded(r * c) {
    const std::vector<float> v = simd_test::normals(r * c, seed);
    for (std::size_t i = 0; i < r; ++i) {
      for (std::size_t u = 0; u < ldw; ++u) {
        if constexpr (std::is_same_v<D, q8_0>) {
          data[i * ldw + u] = simd::reference::quantize_q8_0_block(v.data() + i * c + u * 32);
        } else {
          data[i * ldw + u] = encode<D>(v[i * c + u]);
        }
      }
    }
    for (std::size_t i = 0; i < r; ++i) ref().decode_row(i, decoded.data() + i * c);
  }
  matrix_ref ref() const { return matrix_view<const D>(data.data(), {rows, cols}); }
};

/// |y - sum_k w x| <= bound * sum_k |w x| for every output, with the forward error bound of the kernel's
/// reduction order: (k_block / L + log2 L + blocks + 2) unit roundoffs.
template <class Arch>
double error_bound(std::size_t k) {
  constexpr std::size_t L = simd::detail::lanes<Arch>;
  std::size_t log2l = 0;
  while ((std::size_t{1} << log2l) < L) ++log2l;
  const std::size_t blocks = (k + simd::detail::k_block - 1) / simd::detail::k_block;
  return static_cast<double>(simd::detail::k_block / L + log2l + blocks + 2) * std::ldexp(1.0, -24);
}

/// Runs one matmul case with arch `Arch` and checks it: error bound per element, untouched padding of y,
/// and (n_tok > 1) every token row bit-identical to a separate GEMV of that token.
template <class Arch, class D>
void check_case(std::size_t rows, std::size_t cols, std::size_t n_tok, std::size_t w_off, std::size_t x_off,
                std::size_t y_off, std::size_t ldx_pad, std::size_t ldy_pad, std::uint32_t seed) {
  CAPTURE(rows);
  CAPTURE(cols);
  CAPTURE(n_tok);
  CAPTURE(w_off);
  CAPTURE(x_off);
  CAPTURE(y_off);
  const weights<D> w(rows, cols, w_off, seed);
  const std::size_t ldx = cols + ldx_pad, ldy = rows + ldy_pad;
  offset_buffer<float> x(n_tok * ldx, x_off);
  const std::vector<float> xv = simd_test::normals(n_tok * ldx, seed + 1);
  for (std::size_t i = 0; i < n_tok * ldx; ++i) x[i] = xv[i];
  offset_buffer<float> y(n_tok * ldy, y_off);
  for (std::size_t i = 0; i < n_tok * ldy; ++i) y[i] = sentinel;

  simd::matmul_arch<Arch>(w.ref(), x.data(), n_tok, ldx, y.data(), ldy);

  const double bound = error_bound<Arch>(cols);
  bool ok = true;
  for (std::size_t t = 0; t < n_tok && ok; ++t) {
    for (std::size_t r = 0; r < rows && ok; ++r) {
      double ref = 0.0, mag = 0.0;
      for (std::size_t k = 0; k < cols; ++k) {
        const double p = static_cast<double>(w.decoded[r * cols + k]) * static_cast<double>(x[t * ldx + k]);
        ref += p;
        mag += std::fabs(p);
      }
      const double got = static_cast<double>(y[t * ldy + r]);
      if (!(std::fabs(got - ref) <= bound * mag)) {
        CAPTURE(t);
        CAPTURE(r);
        CAPTURE(got);
        CAPTURE(ref);
        CAPTURE(mag);
        ok = false;
      }
    }
    for (std::size_t r = rows; r < ldy; ++r) ok = ok && y[t * ldy + r] == sentinel;
  }
  CHECK(ok);
  if (n_tok > 1 && rows > 0) {
    // Decode (GEMV) of each token alone must reproduce the prefill (GEMM) row bit for bit.
    std::vector<float> y1(rows);
    bool same = true;
    for (std::size_t t = 0; t < n_tok; ++t) {
      simd::matmul_arch<Arch>(w.ref(), x.data() + t * ldx, 1, ldx, y1.data(), rows);
      for (std::size_t r = 0; r < rows; ++r) same = same && simd_test::bits(y1[r]) == simd_test::bits(y[t * ldy + r]);
    }
    CHECK(same);
  }
}

template <class F>
void for_each_dtype(F&& f) {
  f(f32{}, std::string("f32"));
  f(f16{}, std::string("f16"));
  f(bf16{}, std::string("bf16"));
  f(q8_0{}, std::string("q8_0"));
}

constexpr std::size_t offsets[] = {0, 1, 8, 19};  // {0, 1, N/4, 3N/5} for N = k_step = 32
constexpr std::size_t tokens[] = {1, 2, 3, 7, 16, 33};

}  // namespace

TEST_CASE("matmul: every dtype and arch, column sweep 0..2N+1 (N = 32) x n_tok x misalignments") {
  simd_test::for_each_arch([](auto arch, const std::string& arch_name) {
    using Arch = decltype(arch);
    for_each_dtype([&](auto dt, const std::string& dt_name) {
      using D = decltype(dt);
      CAPTURE(arch_name);
      CAPTURE(dt_name);
      const std::size_t step = D::block_elems;  // Q8_0 rows are whole blocks
      std::size_t i = 0;
      for (std::size_t cols = 0; cols <= 2 * 32 + 1; cols += step) {
        for (std::size_t n_tok : tokens) {
          ++i;
          check_case<Arch, D>(5, cols, n_tok, offsets[i % 4], offsets[(i / 4) % 4], offsets[(i / 16) % 4], i % 3,
                              (i / 3) % 2, static_cast<std::uint32_t>(i));
        }
      }
    });
  });
}

TEST_CASE("matmul: every dtype and arch, row sweep 0..17 and k-block boundaries") {
  simd_test::for_each_arch([](auto arch, const std::string& arch_name) {
    using Arch = decltype(arch);
    for_each_dtype([&](auto dt, const std::string& dt_name) {
      using D = decltype(dt);
      CAPTURE(arch_name);
      CAPTURE(dt_name);
      std::size_t i = 0;
      for (std::size_t rows = 0; rows <= 17; ++rows) {
        ++i;
        check_case<Arch, D>(rows, 96, 1 + (rows % 2) * 6, offsets[i % 4], offsets[(i + 1) % 4], offsets[(i + 2) % 4], 0,
                            i % 2, static_cast<std::uint32_t>(100 + i));
      }
      // Around the 512-element reduction block (scalar dtypes also get the non-multiple-of-32 tails).
      const std::vector<std::size_t> cols_list = std::is_same_v<D, q8_0>
                                                     ? std::vector<std::size_t>{480, 512, 544, 1056}
                                                     : std::vector<std::size_t>{511, 512, 513, 1031};
      for (std::size_t cols : cols_list) {
        for (std::size_t n_tok : {std::size_t{1}, std::size_t{7}}) {
          ++i;
          check_case<Arch, D>(9, cols, n_tok, offsets[i % 4], offsets[(i / 4) % 4], 0, 3, 0,
                              static_cast<std::uint32_t>(200 + i));
        }
      }
    });
  });
}

TEST_CASE("matmul: large blocked GEMM crosses weight panels, token blocks and k blocks") {
  simd_test::for_each_arch([](auto arch, const std::string& arch_name) {
    using Arch = decltype(arch);
    CAPTURE(arch_name);
    // 130 rows > one 128-row panel; 100 tokens > one 96-token block; 1056 columns = 3 k blocks.
    check_case<Arch, bf16>(130, 1056, 100, 1, 8, 19, 5, 3, 7);
    check_case<Arch, q8_0>(130, 1056, 100, 0, 1, 0, 0, 1, 8);
  });
}

TEST_CASE("matmul: the public entry point equals its default-arch kernel bit for bit") {
  const weights<bf16> w(37, 300, 0, 3);
  const std::vector<float> x = simd_test::normals(3 * 300, 4);
  std::vector<float> a(3 * 37), b(3 * 37);
  simd::matmul(w.ref(), x.data(), 3, 300, a.data(), 37);
  if constexpr (SCALPEL_REFERENCE_KERNELS || std::is_same_v<xsimd::default_arch, xsimd::unavailable>) {
    simd::reference::matmul(w.ref(), x.data(), 3, 300, b.data(), 37);
  } else {
    simd::matmul_arch<xsimd::default_arch>(w.ref(), x.data(), 3, 300, b.data(), 37);
  }
  for (std::size_t i = 0; i < a.size(); ++i) REQUIRE(simd_test::bits(a[i]) == simd_test::bits(b[i]));
}

TEST_CASE("matmul: results are bitwise independent of the thread count (1 vs 2 threads)") {
  // Large enough to pass the parallel threshold. Without OpenMP both runs are single-threaded.
  const weights<bf16> wb(300, 1000, 0, 11);
  const weights<q8_0> wq(300, 992, 0, 12);
  for (std::size_t n_tok : {std::size_t{1}, std::size_t{5}, std::size_t{40}}) {
    CAPTURE(n_tok);
    for (const matrix_ref& m : {wb.ref(), wq.ref()}) {
      const std::vector<float> x = simd_test::normals(n_tok * m.cols(), 13);
      std::vector<float> y1(n_tok * m.rows()), y2(n_tok * m.rows());
      {
        const simd::thread_count_guard g(1);
        simd::matmul(m, x.data(), n_tok, m.cols(), y1.data(), m.rows());
      }
      {
        const simd::thread_count_guard g(2);
        simd::matmul(m, x.data(), n_tok, m.cols(), y2.data(), m.rows());
      }
      bool same = true;
      for (std::size_t i = 0; i < y1.size(); ++i) same = same && simd_test::bits(y1[i]) == simd_test::bits(y2[i]);
      CHECK(same);
    }
  }
}

TEST_CASE("matmul: zero columns give zeros, zero rows or tokens write nothing") {
  const weights<f32> w0(4, 0, 0, 1);
  std::vector<float> y(8, sentinel);
  simd::matmul(w0.ref(), nullptr, 2, 0, y.data(), 4);
  for (float v : y) CHECK(v == 0.0f);
  const weights<f32> w(3, 10, 0, 1);
  std::vector<float> x(10, 1.0f), y2(3, sentinel);
  simd::matmul(w.ref(), x.data(), 0, 10, y2.data(), 3);
  for (float v : y2) CHECK(v == sentinel);
}

TEST_CASE("simd primitives: widening loads are exact for every bf16, f16 and int8 pattern, per arch") {
  simd_test::for_each_arch([](auto arch, const std::string& arch_name) {
    using Arch = decltype(arch);
    CAPTURE(arch_name);
    constexpr std::size_t L = simd::detail::lanes<Arch>;
    std::vector<bf16_bits> hb(65536);
    std::vector<f16_bits> hf(65536);
    for (std::uint32_t i = 0; i < 65536; ++i) {
      hb[i] = bf16_bits{static_cast<std::uint16_t>(i)};
      hf[i] = f16_bits{static_cast<std::uint16_t>(i)};
    }
    alignas(64) float out[L];
    bool ok = true;
    for (std::size_t i = 0; i + L <= 65536; i += L) {
      simd::detail::load_bf16<Arch>(hb.data() + i).store_aligned(out);
      for (std::size_t j = 0; j < L; ++j) ok = ok && simd_test::bits(out[j]) == simd_test::bits(to_f32(hb[i + j]));
      // f16: exact for every non-NaN pattern; NaN stays NaN (hardware conversion may quiet a signalling NaN).
      const auto same_f16 = [](float got, f16_bits h) {
        const float want = to_f32(h);
        return std::isnan(want) ? std::isnan(got) : simd_test::bits(got) == simd_test::bits(want);
      };
      simd::detail::load_f16<Arch>(hf.data() + i).store_aligned(out);
      for (std::size_t j = 0; j < L; ++j) ok = ok && same_f16(out[j], hf[i + j]);
      simd::detail::broadcast_f16<Arch>(hf[i]).store_aligned(out);
      ok = ok && same_f16(out[L - 1], hf[i]);
    }
    CHECK(ok);
    std::int8_t q[256 + 64];
    for (int i = 0; i < 256; ++i) q[i] = static_cast<std::int8_t>(i - 128);
    for (std::size_t i = 0; i < 256; i += L) {
      simd::detail::load_i8<Arch>(q + i).store_aligned(out);
      for (std::size_t j = 0; j < L; ++j) CHECK(out[j] == static_cast<float>(q[i + j]));
    }
  });
}

TEST_CASE("simd primitives: reduce4 equals the scalar reduction tree bit for bit, per arch") {
  simd_test::for_each_arch([](auto arch, const std::string& arch_name) {
    using Arch = decltype(arch);
    CAPTURE(arch_name);
    constexpr std::size_t L = simd::detail::lanes<Arch>;
    for (std::uint32_t seed = 0; seed < 50; ++seed) {
      // Mixed magnitudes so that a different addition order would round differently.
      std::vector<float> v = simd_test::normals(4 * L, seed);
      for (std::size_t i = 0; i < v.size(); ++i) v[i] *= std::ldexp(1.0f, static_cast<int>(i % 7) * 5 - 15);
      using B = simd::detail::fbatch<Arch>;
      float got[4];
      simd::detail::reduce4<Arch>(B::load_unaligned(v.data()), B::load_unaligned(v.data() + L),
                                  B::load_unaligned(v.data() + 2 * L), B::load_unaligned(v.data() + 3 * L), got);
      for (std::size_t j = 0; j < 4; ++j) {
        std::vector<float> lane(v.begin() + static_cast<std::ptrdiff_t>(j * L),
                                v.begin() + static_cast<std::ptrdiff_t>((j + 1) * L));
        REQUIRE(simd_test::bits(got[j]) == simd_test::bits(simd::detail::reduce_tree<L>(lane.data())));
      }
      CHECK(simd_test::bits(simd::detail::reduce1<Arch>(B::load_unaligned(v.data()))) == simd_test::bits(got[0]));
    }
  });
}

#if SCALPEL_SIMD_COMPILE_BF16_DOT
TEST_CASE("matmul (opt-in bf16 dot-product prefill): within the bf16-activation error bound, all tile shapes") {
  // The kernel behind SCALPEL_BF16_DOT_PREFILL=1, called directly (defining the macro in one TU only would
  // break the ODR). Activations are rounded to bf16: |error| <= (2^-9 + k-dependent f32 terms) sum |w x|.
  for (const std::size_t cols : {std::size_t{32}, std::size_t{70}, std::size_t{512}, std::size_t{1031}}) {
    for (const std::size_t n_tok : {std::size_t{2}, std::size_t{3}, std::size_t{5}, std::size_t{7}, std::size_t{100}}) {
      CAPTURE(cols);
      CAPTURE(n_tok);
      const std::size_t rows = 9, ldx = cols + 3, ldy = rows + 2;
      const weights<bf16> w(rows, cols, 1, static_cast<std::uint32_t>(cols + n_tok));
      const std::vector<float> x = simd_test::normals(n_tok * ldx, 5);
      std::vector<float> y(n_tok * ldy, sentinel);
      simd::detail::avx512bf16::gemm_rows(w.data.data(), cols, 0, rows, cols, x.data(), n_tok, ldx, y.data(), ldy);
      bool ok = true;
      for (std::size_t t = 0; t < n_tok; ++t) {
        for (std::size_t r = 0; r < rows; ++r) {
          double ref = 0.0, mag = 0.0;
          for (std::size_t k = 0; k < cols; ++k) {
            const double p = static_cast<double>(w.decoded[r * cols + k]) * static_cast<double>(x[t * ldx + k]);
            ref += p;
            mag += std::fabs(p);
          }
          ok = ok && std::fabs(static_cast<double>(y[t * ldy + r]) - ref) <= (std::ldexp(1.0, -9) + 1e-5) * mag;
        }
        for (std::size_t r = rows; r < ldy; ++r) ok = ok && y[t * ldy + r] == sentinel;
      }
      CHECK(ok);
    }
  }
}
#endif

}  // namespace ut_matmul_test
