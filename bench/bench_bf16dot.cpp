// Experiment behind a design decision (docs/performance.md, "bf16 dot products"): AVX-512 BF16 dot
// products (vdpbf16ps, activations rounded to bf16) against the shipped kernel (bf16 weights widened to
// f32 in registers, f32 activations, FMA), for decode (GEMV) and prefill (GEMM) at E2B shapes.
//
//   BM_bf16dot_gemv/<shape>   vdpbf16ps GEMV: 4-row groups, linear prefetch of the next group (as shipped)
//   BM_widen_gemv/<shape>     simd::matmul, n_tok = 1 (the shipped path)
//   BM_bf16dot_gemm/<shape>/n vdpbf16ps GEMM: 4 x 6 micro-tiles over packed bf16 activations, 128-row panels
//   BM_widen_gemm/<shape>/n   simd::matmul, n_tok = n
// Counters: GB/s and bw_frac (decode), GFLOP/s; `nrmse` = RMS error / RMS of the exact (f64) result, on
// weights ~ U(-0.05, 0.05) in bf16 and activations ~ U(-1, 1), measured once per benchmark.
//
// The vdpbf16ps code exists only in this file and only when compiled with AVX512_BF16 (-march=native on
// Zen 4 / Sapphire Rapids and later); the library never uses it (see the doc for why).

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

#include "bench_common.hpp"
#include "scalpel/simd/detail/diagnostics.hpp"
#include "scalpel/simd/matmul.hpp"

#if defined(__AVX512BF16__) && defined(__AVX512F__)
#include <immintrin.h>
#define SCALPEL_BENCH_HAVE_BF16DOT 1
#else
#define SCALPEL_BENCH_HAVE_BF16DOT 0
#endif

namespace {

struct shape {
  const char* name;
  std::size_t rows, cols;
};
constexpr shape shapes[] = {{"e2b.ffn_gate", 6144, 1536}, {"e2b.ffn_down", 1536, 6144}};

/// Normalised RMS error of y against the f64 product of the given weights and activations.
double nrmse(const scalpel::matrix_ref& w, const std::vector<float>& x, std::size_t n_tok,
             const std::vector<float>& y) {
  const std::size_t rows = w.rows(), cols = w.cols();
  std::vector<float> row(cols);
  double se = 0.0, ss = 0.0;
  for (std::size_t r = 0; r < rows; ++r) {
    w.decode_row(r, row.data());
    for (std::size_t t = 0; t < n_tok; ++t) {
      double ref = 0.0;
      for (std::size_t k = 0; k < cols; ++k) ref += static_cast<double>(row[k]) * static_cast<double>(x[t * cols + k]);
      const double e = static_cast<double>(y[t * rows + r]) - ref;
      se += e * e;
      ss += ref * ref;
    }
  }
  return std::sqrt(se / ss);
}

std::vector<float> activations(std::size_t n) {
  bench::fast_rng g{3};
  std::vector<float> x(n);
  for (auto& v : x) v = g.next();
  return x;
}

void bm_widen(benchmark::State& state, shape s, std::size_t n_tok) {
  bench::rotating_weights<scalpel::bf16> w(s.rows, s.cols, n_tok == 1);
  const auto x = activations(n_tok * s.cols);
  std::vector<float> y(n_tok * s.rows);
  for (auto _ : state) {
    scalpel::simd::matmul(w.take(), x.data(), n_tok, s.cols, y.data(), s.rows);
    benchmark::DoNotOptimize(y.data());
  }
  bench::set_rates(state, static_cast<double>(w.bytes()), 2.0 * static_cast<double>(s.rows * s.cols * n_tok));
  const auto m = w.take();
  scalpel::simd::matmul(m, x.data(), n_tok, s.cols, y.data(), s.rows);
  state.counters["nrmse"] = nrmse(m, x, std::min<std::size_t>(n_tok, 4), y);
}

#if SCALPEL_BENCH_HAVE_BF16DOT
SCALPEL_SIMD_DIAGNOSTICS_PUSH  // GCC 12's AVX-512 headers (see scalpel/simd/detail/diagnostics.hpp)

    /// f32 -> bf16 (round to nearest even), n % 32 == 0.
    void
    to_bf16(const float* x, std::size_t n, std::uint16_t* out) {
  for (std::size_t i = 0; i < n; i += 32) {
    const __m512bh v = _mm512_cvtne2ps_pbh(_mm512_loadu_ps(x + i + 16), _mm512_loadu_ps(x + i));
    std::memcpy(out + i, &v, sizeof v);
  }
}

__m512bh load_bh(const std::uint16_t* p) {
  const __m512i v = _mm512_loadu_si512(p);
  __m512bh r;
  std::memcpy(&r, &v, sizeof r);
  return r;
}

void split(std::size_t rows, std::size_t unit, std::size_t& b, std::size_t& e) {
  std::size_t tid = 0, nth = 1;
#if defined(_OPENMP) && !defined(SCALPEL_NO_OPENMP)
  tid = static_cast<std::size_t>(omp_get_thread_num());
  nth = static_cast<std::size_t>(omp_get_num_threads());
#endif
  const std::size_t units = (rows + unit - 1) / unit;
  b = std::min(rows, units * tid / nth * unit);
  e = std::min(rows, units * (tid + 1) / nth * unit);
}

/// y = W x with vdpbf16ps; cols % 32 == 0, rows % 4 == 0.
void gemv_bf16dot(const std::uint16_t* w, std::size_t rows, std::size_t cols, const float* x, float* y) {
  std::vector<std::uint16_t> xb(cols);
  to_bf16(x, cols, xb.data());
#if defined(_OPENMP) && !defined(SCALPEL_NO_OPENMP)
#pragma omp parallel
#endif
  {
    std::size_t b = 0, e = 0;
    split(rows, 4, b, e);
    const std::size_t group_bytes = 4 * cols * 2, steps = cols / 32, pf_step = (group_bytes + steps - 1) / steps;
    for (std::size_t r0 = b; r0 < e; r0 += 4) {
      __m512 acc[4] = {_mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps()};
      const char* pf = reinterpret_cast<const char*>(w + (r0 + 4) * cols);
      const bool prefetch = r0 + 4 < e;
      for (std::size_t s = 0; s < steps; ++s) {
        if (prefetch)
          for (std::size_t o = s * pf_step; o < std::min((s + 1) * pf_step, group_bytes); o += 64)
            _mm_prefetch(pf + o, _MM_HINT_T0);
        const __m512bh xv = load_bh(xb.data() + s * 32);
        for (std::size_t r = 0; r < 4; ++r)
          acc[r] = _mm512_dpbf16_ps(acc[r], load_bh(w + (r0 + r) * cols + s * 32), xv);
      }
      for (std::size_t r = 0; r < 4; ++r) y[r0 + r] = _mm512_reduce_add_ps(acc[r]);
    }
  }
}

/// Y = X W^T with vdpbf16ps: activations converted once to bf16; 128-row panels; 4 x 6 micro-tiles over
/// the full k (a panel of 128 rows stays in L2, a 6-token tile in L1). cols % 32 == 0, rows % 4 == 0.
void gemm_bf16dot(const std::uint16_t* w, std::size_t rows, std::size_t cols, const float* x, std::size_t n_tok,
                  float* y) {
  std::vector<std::uint16_t> xb(n_tok * cols);
  to_bf16(x, n_tok * cols, xb.data());
#if defined(_OPENMP) && !defined(SCALPEL_NO_OPENMP)
#pragma omp parallel
#endif
  {
    std::size_t b = 0, e = 0;
    split(rows, 4, b, e);
    for (std::size_t m0 = b; m0 < e; m0 += 128) {
      const std::size_t m1 = std::min(e, m0 + 128);
      for (std::size_t t0 = 0; t0 < n_tok; t0 += 6) {
        const std::size_t tn = std::min<std::size_t>(6, n_tok - t0);
        for (std::size_t r0 = m0; r0 < m1; r0 += 4) {
          __m512 acc[4][6];
          for (auto& a : acc)
            for (auto& v : a) v = _mm512_setzero_ps();
          for (std::size_t k = 0; k < cols; k += 32) {
            __m512bh wv[4];
            for (std::size_t r = 0; r < 4; ++r) wv[r] = load_bh(w + (r0 + r) * cols + k);
            for (std::size_t t = 0; t < 6; ++t) {
              const __m512bh xv = load_bh(xb.data() + (t0 + std::min(t, tn - 1)) * cols + k);
              for (std::size_t r = 0; r < 4; ++r) acc[r][t] = _mm512_dpbf16_ps(acc[r][t], wv[r], xv);
            }
          }
          for (std::size_t t = 0; t < tn; ++t)
            for (std::size_t r = 0; r < 4; ++r) y[(t0 + t) * rows + r0 + r] = _mm512_reduce_add_ps(acc[r][t]);
        }
      }
    }
  }
}

void bm_bf16dot(benchmark::State& state, shape s, std::size_t n_tok) {
  bench::rotating_weights<scalpel::bf16> w(s.rows, s.cols, n_tok == 1);
  const auto x = activations(n_tok * s.cols);
  std::vector<float> y(n_tok * s.rows);
  const auto run = [&]() {
    const auto m = w.take();
    const auto* wp = static_cast<const std::uint16_t*>(m.data());
    if (n_tok == 1) {
      gemv_bf16dot(wp, s.rows, s.cols, x.data(), y.data());
    } else {
      gemm_bf16dot(wp, s.rows, s.cols, x.data(), n_tok, y.data());
    }
  };
  for (auto _ : state) {
    run();
    benchmark::DoNotOptimize(y.data());
  }
  bench::set_rates(state, static_cast<double>(w.bytes()), 2.0 * static_cast<double>(s.rows * s.cols * n_tok));
  w.next = 0;
  run();
  w.next = 0;
  state.counters["nrmse"] = nrmse(w.take(), x, std::min<std::size_t>(n_tok, 4), y);
}

SCALPEL_SIMD_DIAGNOSTICS_POP
#endif

const int registered = [] {
  for (const shape& s : shapes) {
    const std::string n = s.name;
#if SCALPEL_BENCH_HAVE_BF16DOT
    bench::timed(benchmark::RegisterBenchmark(("BM_bf16dot_gemv/" + n).c_str(), bm_bf16dot, s, std::size_t{1})
                     ->Unit(benchmark::kMicrosecond));
#endif
    bench::timed(benchmark::RegisterBenchmark(("BM_widen_gemv/" + n).c_str(), bm_widen, s, std::size_t{1})
                     ->Unit(benchmark::kMicrosecond));
    for (std::size_t n_tok : {std::size_t{128}, std::size_t{512}}) {
#if SCALPEL_BENCH_HAVE_BF16DOT
      bench::timed(benchmark::RegisterBenchmark(("BM_bf16dot_gemm/" + n + "/" + std::to_string(n_tok)).c_str(),
                                                bm_bf16dot, s, n_tok)
                       ->Unit(benchmark::kMillisecond));
#endif
      bench::timed(
          benchmark::RegisterBenchmark(("BM_widen_gemm/" + n + "/" + std::to_string(n_tok)).c_str(), bm_widen, s, n_tok)
              ->Unit(benchmark::kMillisecond));
    }
  }
  return 0;
}();

}  // namespace

SCALPEL_BENCH_MAIN()
