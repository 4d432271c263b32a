// Kernel benchmarks for the element-wise and row ops (include/scalpel/simd/ops.hpp, detail/ops_kernel.hpp)
// and the Q8_0 quantiser (simd/quantize.hpp), arch = xsimd::default_arch, at Gemma 4 sizes:
//   BM_rmsnorm/<n>            one row: H = 1536 / 2560 / 2816 / 5376
//   BM_rmsnorm_heads/<d>/<h>  per-head q/k norms: h heads of d = 256 / 512 (rmsnorm_rows)
//   BM_geglu/<n>              FFN activations: 704 (expert), 2112, 6144, 10240, 12288, 21504 (f64 GELU inside)
//   BM_softmax/<n>            router (128 experts), attention rows (512, 4096), vocabulary (262144)
//   BM_softcap/262144         final-logit soft-capping over the vocabulary
//   BM_rope/<d>/<n_rot>/<h>   NeoX rotation of h heads, default (n_rot = d/2) and proportional (n_rot = d/8)
//   BM_top_k/128/8            MoE router selection
//   BM_quantize_q8_0/<n>      f32 and bf16 -> Q8_0 (load-time --quantize q8_0), bytes = input bytes
// These ops touch little memory; GB/s counts input + output bytes, flops are nominal (1 per element).

#include <cstddef>
#include <cstdint>
#include <vector>

#include "bench_common.hpp"
#include "scalpel/simd/ops.hpp"
#include "scalpel/simd/quantize.hpp"

namespace {

std::vector<float> random_floats(std::size_t n, float scale) {
  bench::fast_rng g{7};
  std::vector<float> v(n);
  for (auto& x : v) x = g.next() * scale;
  return v;
}

void BM_rmsnorm(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  const auto x = random_floats(n, 3.0f), w = random_floats(n, 1.0f);
  std::vector<float> out(n);
  for (auto _ : state) {
    scalpel::simd::rmsnorm(x.data(), w.data(), 1e-6f, n, out.data());
    benchmark::DoNotOptimize(out.data());
  }
  bench::set_rates(state, 12.0 * static_cast<double>(n), 4.0 * static_cast<double>(n));
}
BENCHMARK(BM_rmsnorm)->Arg(1536)->Arg(2560)->Arg(2816)->Arg(5376);

void BM_rmsnorm_heads(benchmark::State& state) {
  const auto d = static_cast<std::size_t>(state.range(0)), h = static_cast<std::size_t>(state.range(1));
  const auto x = random_floats(d * h, 3.0f), w = random_floats(d, 1.0f);
  std::vector<float> out(d * h);
  for (auto _ : state) {
    scalpel::simd::rmsnorm_rows(x.data(), d, w.data(), 1e-6f, d, h, out.data(), d);
    benchmark::DoNotOptimize(out.data());
  }
  bench::set_rates(state, 8.0 * static_cast<double>(d * h), 4.0 * static_cast<double>(d * h));
}
BENCHMARK(BM_rmsnorm_heads)->Args({256, 8})->Args({512, 8})->Args({256, 32});

void BM_geglu(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  const auto g = random_floats(n, 4.0f), u = random_floats(n, 1.0f);
  std::vector<float> out(n);
  for (auto _ : state) {
    scalpel::simd::geglu(g.data(), u.data(), n, out.data());
    benchmark::DoNotOptimize(out.data());
  }
  bench::set_rates(state, 12.0 * static_cast<double>(n), static_cast<double>(n));
}
BENCHMARK(BM_geglu)->Arg(704)->Arg(2112)->Arg(6144)->Arg(10240)->Arg(12288)->Arg(21504);

void BM_softmax(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  auto x = random_floats(n, 8.0f);
  for (auto _ : state) {
    scalpel::simd::softmax(x.data(), n);  // softmax of a softmax: same work, no re-initialisation
    benchmark::DoNotOptimize(x.data());
  }
  bench::set_rates(state, 8.0 * static_cast<double>(n), static_cast<double>(n));
}
BENCHMARK(BM_softmax)->Arg(128)->Arg(512)->Arg(4096)->Arg(262144);

void BM_softcap(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  auto x = random_floats(n, 40.0f);
  for (auto _ : state) {
    scalpel::simd::softcap(x.data(), n, 30.0f);
    benchmark::DoNotOptimize(x.data());
  }
  bench::set_rates(state, 8.0 * static_cast<double>(n), static_cast<double>(n));
}
BENCHMARK(BM_softcap)->Arg(262144);

void BM_rope(benchmark::State& state) {
  const auto d = static_cast<std::size_t>(state.range(0)), n_rot = static_cast<std::size_t>(state.range(1)),
             h = static_cast<std::size_t>(state.range(2));
  auto x = random_floats(d * h, 1.0f);
  std::vector<float> inv(d / 2), c(d / 2), s(d / 2);
  for (std::size_t i = 0; i < d / 2; ++i) inv[i] = 1.0f / static_cast<float>(i + 1);
  std::size_t pos = 1000;
  for (auto _ : state) {
    scalpel::simd::rope_cos_sin(pos++, inv.data(), n_rot, c.data(), s.data());
    scalpel::simd::rope_neox_apply(x.data(), h, d, d, n_rot, c.data(), s.data());
    benchmark::DoNotOptimize(x.data());
  }
  bench::set_rates(state, 16.0 * static_cast<double>(n_rot * h), 6.0 * static_cast<double>(n_rot * h));
}
BENCHMARK(BM_rope)->Args({256, 128, 8})->Args({512, 64, 8})->Args({256, 128, 32});

void BM_top_k(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0)), k = static_cast<std::size_t>(state.range(1));
  const auto x = random_floats(n, 1.0f);
  std::vector<std::uint32_t> idx(k);
  for (auto _ : state) {
    scalpel::simd::top_k(x.data(), n, k, idx.data());
    benchmark::DoNotOptimize(idx.data());
  }
  bench::set_rates(state, 4.0 * static_cast<double>(n), static_cast<double>(n));
}
BENCHMARK(BM_top_k)->Args({128, 8});

void BM_quantize_q8_0_f32(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  const auto x = random_floats(n, 0.05f);
  std::vector<scalpel::q8_0_block> out(n / 32);
  for (auto _ : state) {
    scalpel::simd::quantize_q8_0(x.data(), n, out.data());
    benchmark::DoNotOptimize(out.data());
  }
  bench::set_rates(state, 4.0 * static_cast<double>(n), static_cast<double>(n));
}
BENCHMARK(BM_quantize_q8_0_f32)->Arg(6144 * 1536)->Unit(benchmark::kMillisecond);

void BM_quantize_q8_0_bf16(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  const auto xf = random_floats(n, 0.05f);
  std::vector<scalpel::bf16_bits> x(n);
  for (std::size_t i = 0; i < n; ++i) x[i] = scalpel::to_bf16(xf[i]);
  std::vector<scalpel::q8_0_block> out(n / 32);
  for (auto _ : state) {
    scalpel::simd::quantize_q8_0(x.data(), n, out.data());
    benchmark::DoNotOptimize(out.data());
  }
  bench::set_rates(state, 2.0 * static_cast<double>(n), static_cast<double>(n));
}
BENCHMARK(BM_quantize_q8_0_bf16)->Arg(6144 * 1536)->Unit(benchmark::kMillisecond);

}  // namespace

SCALPEL_BENCH_MAIN()
