// Kernel benchmarks for simd::matmul at real Gemma 4 shapes.
//
// Map from benchmark to code path (include/scalpel/simd/detail/matmul_kernel.hpp, arch = xsimd::default_arch,
// printed in the context as scalpel_kernel_arch; the bf16/f16/q8_0 weights are decoded in registers):
//   BM_gemv/<model>.<tensor>/<dtype>   n_tok = 1  -> gemv_rows (decode: 4-row groups, linear prefetch of the
//                                      next group), weights rotated over >= 256 MiB so every call streams
//                                      from DRAM: compare GB/s with read_bw_GBps (bw_frac = achieved/measured)
//   BM_gemm/<model>.<tensor>/<dtype>/n n_tok = n -> gemm_rows (prefill: packed activations, 4 x T micro-tiles,
//                                      128-row weight panels, 96-token x 512-k blocks); compute-bound: GFLOP/s
//   BM_stream_read                     the bandwidth reference itself (same streaming sum as the context
//                                      figure), so that medians of interleaved repetitions can be compared
// Shapes are [rows, cols] of W in y = W x (rows = output features), from docs/gemma4-architecture.md:
//   E2B  H 1536: q 2048x1536, FFN gate/up 6144x1536 (12288x1536 double-wide), down 1536x6144 (1536x12288),
//                tied LM head 262144x1536
//   E4B  H 2560: FFN 10240x2560, down 2560x10240
//   26B  H 2816: expert gate_up 1408x2816 (2 x 704), expert down 2816x704, dense MLP 2112x2816 / 2816x2112,
//                router 128x2816
//   31B  H 5376: q 8192x5376, FFN 21504x5376, down 5376x21504
//
// Run: OMP_NUM_THREADS=2 bench_matmul --benchmark_repetitions=10 --benchmark_report_aggregates_only=true
//      --benchmark_enable_random_interleaving=true --benchmark_out=matmul.json --benchmark_out_format=json

#include <cstddef>
#include <string>
#include <vector>

#include "bench_common.hpp"
#include "scalpel/simd/matmul.hpp"

namespace {

struct shape {
  const char* name;
  std::size_t rows, cols;
};

constexpr shape decode_shapes[] = {
    {"e2b.attn_q", 2048, 1536},         {"e2b.ffn_gate", 6144, 1536},       {"e2b.ffn_down", 1536, 6144},
    {"e2b.ffn_gate_wide", 12288, 1536}, {"e2b.ffn_down_wide", 1536, 12288}, {"e4b.ffn_gate", 10240, 2560},
    {"e4b.ffn_down", 2560, 10240},      {"26b.expert_gate_up", 1408, 2816}, {"26b.expert_down", 2816, 704},
    {"26b.dense_gate", 2112, 2816},     {"26b.dense_down", 2816, 2112},     {"26b.router", 128, 2816},
    {"31b.attn_q", 8192, 5376},         {"31b.ffn_gate", 21504, 5376},      {"31b.ffn_down", 5376, 21504},
};

constexpr shape prefill_shapes[] = {
    {"e2b.ffn_gate", 6144, 1536},
    {"e2b.ffn_down", 1536, 6144},
    {"26b.expert_gate_up", 1408, 2816},
    {"31b.attn_q", 8192, 5376},
};

template <class D>
void bm_matmul(benchmark::State& state, shape s, std::size_t n_tok) {
  bench::rotating_weights<D> w(s.rows, s.cols, /*rotate=*/n_tok == 1);
  std::vector<float> x(n_tok * s.cols), y(n_tok * s.rows);
  bench::fast_rng g{42};
  for (auto& v : x) v = g.next();
  for (auto _ : state) {
    scalpel::simd::matmul(w.take(), x.data(), n_tok, s.cols, y.data(), s.rows);
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
  }
  // Bytes: the weights once (decode reads nothing else of note); flops: 2 per multiply-add.
  bench::set_rates(state, static_cast<double>(w.bytes()),
                   2.0 * static_cast<double>(s.rows) * static_cast<double>(s.cols) * static_cast<double>(n_tok));
}

void bm_stream_read(benchmark::State& state) {
  using B = xsimd::batch<float>;
  const std::size_t n = (std::size_t{1} << 30) / sizeof(float);
  scalpel::aligned_vector<float> buf(n, 1.0f);
  for (auto _ : state) {
    float total = 0.0f;
#if defined(_OPENMP) && !defined(SCALPEL_NO_OPENMP)
#pragma omp parallel reduction(+ : total)
#endif
    {
      B a0(0.0f), a1(0.0f), a2(0.0f), a3(0.0f);
#if defined(_OPENMP) && !defined(SCALPEL_NO_OPENMP)
#pragma omp for schedule(static)
#endif
      for (std::size_t i = 0; i < n; i += 4 * B::size) {
        a0 += B::load_aligned(buf.data() + i);
        a1 += B::load_aligned(buf.data() + i + B::size);
        a2 += B::load_aligned(buf.data() + i + 2 * B::size);
        a3 += B::load_aligned(buf.data() + i + 3 * B::size);
      }
      total += xsimd::hadd((a0 + a1) + (a2 + a3));
    }
    benchmark::DoNotOptimize(total);
  }
  bench::set_rates(state, static_cast<double>(n * sizeof(float)), static_cast<double>(n));
}

const int registered = [] {
  bench::timed(benchmark::RegisterBenchmark("BM_stream_read", bm_stream_read)->Unit(benchmark::kMillisecond));
  for (const shape& s : decode_shapes) {
    const std::string n = s.name;
    bench::timed(
        benchmark::RegisterBenchmark(("BM_gemv/" + n + "/bf16").c_str(), bm_matmul<scalpel::bf16>, s, std::size_t{1})
            ->Unit(benchmark::kMicrosecond));
    bench::timed(
        benchmark::RegisterBenchmark(("BM_gemv/" + n + "/q8_0").c_str(), bm_matmul<scalpel::q8_0>, s, std::size_t{1})
            ->Unit(benchmark::kMicrosecond));
    if (s.rows * s.cols <= std::size_t{16} << 20) {  // f32/f16 copies of the 31B matrices would be 0.5 GB each
      bench::timed(
          benchmark::RegisterBenchmark(("BM_gemv/" + n + "/f16").c_str(), bm_matmul<scalpel::f16>, s, std::size_t{1})
              ->Unit(benchmark::kMicrosecond));
      bench::timed(
          benchmark::RegisterBenchmark(("BM_gemv/" + n + "/f32").c_str(), bm_matmul<scalpel::f32>, s, std::size_t{1})
              ->Unit(benchmark::kMicrosecond));
    }
  }
  // The tied LM head: 262144 vocabulary rows (805 MB in bf16: one copy is far beyond any cache).
  const shape head{"e2b.lm_head", 262144, 1536};
  bench::timed(benchmark::RegisterBenchmark("BM_gemv/e2b.lm_head/bf16", bm_matmul<scalpel::bf16>, head, std::size_t{1})
                   ->Unit(benchmark::kMillisecond));
  bench::timed(benchmark::RegisterBenchmark("BM_gemv/e2b.lm_head/q8_0", bm_matmul<scalpel::q8_0>, head, std::size_t{1})
                   ->Unit(benchmark::kMillisecond));
  for (const shape& s : prefill_shapes) {
    for (std::size_t n_tok : {std::size_t{32}, std::size_t{128}, std::size_t{512}}) {
      bench::timed(
          benchmark::RegisterBenchmark(("BM_gemm/" + std::string(s.name) + "/bf16/" + std::to_string(n_tok)).c_str(),
                                       bm_matmul<scalpel::bf16>, s, n_tok)
              ->Unit(benchmark::kMillisecond));
      bench::timed(
          benchmark::RegisterBenchmark(("BM_gemm/" + std::string(s.name) + "/q8_0/" + std::to_string(n_tok)).c_str(),
                                       bm_matmul<scalpel::q8_0>, s, n_tok)
              ->Unit(benchmark::kMillisecond));
    }
  }
  return 0;
}();

}  // namespace

SCALPEL_BENCH_MAIN()
