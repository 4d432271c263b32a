#pragma once
// Shared pieces of scalpel's kernel benchmarks:
// - `read_bandwidth()`: the machine's measured memory read bandwidth (streaming sum over a buffer far
//   larger than the last-level cache, with the kernels' thread count), printed in the benchmark context
//   and used for the `bw_frac` counters (achieved bytes/s over measured bytes/s);
// - `rotating_weights`: enough copies of a weight matrix that a benchmark loop never finds it in cache
//   (decode streams every weight from DRAM once per token; a single L3-resident copy would flatter GEMV);
// - `SCALPEL_BENCH_MAIN()`: a main() that records threads, the kernel architecture and the bandwidth in
//   the context, then runs the registered benchmarks.

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>
#include <xsimd/xsimd.hpp>

#include "scalpel/core/aligned_alloc.hpp"
#include "scalpel/simd/bandwidth.hpp"
#include "scalpel/simd/threads.hpp"
#include "scalpel/tensor/dtype.hpp"
#include "scalpel/tensor/matrix_ref.hpp"

#if defined(_OPENMP) && !defined(SCALPEL_NO_OPENMP)
#include <omp.h>
#endif

namespace bench {

/// Bytes of last-level cache to defeat: rotate over at least this much weight memory.
inline constexpr std::size_t rotate_bytes = std::size_t{256} << 20;

/// Cheap deterministic pseudo-random floats in [-1, 1) (xorshift; filling gigabytes with <random> is slow).
struct fast_rng {
  std::uint64_t s;
  float next() noexcept {
    s ^= s << 13;
    s ^= s >> 7;
    s ^= s << 17;
    return static_cast<float>(static_cast<std::int64_t>(s >> 40) - (std::int64_t{1} << 23)) * 0x1p-23f;
  }
};

/// Median of `reps` timings of a streaming read over `bytes` bytes with the current thread count (bytes/s).
inline double read_bandwidth(std::size_t bytes = std::size_t{1} << 30, int reps = 7) {
  return scalpel::simd::measure_read_bandwidth(bytes, reps);
}

/// The measured bandwidth (bytes/s) for the current thread count; measured once.
inline double& measured_bandwidth() {
  static double bw = 0.0;
  return bw;
}

/// Adds GB/s (`bytes_per_second`), GFLOP/s (`flops`, shown with SI prefix) and the fraction of the
/// measured read bandwidth (`bw_frac`) for `bytes` bytes and `flops` flops per iteration.
inline void set_rates(benchmark::State& state, double bytes, double flops) {
  state.SetBytesProcessed(static_cast<std::int64_t>(bytes * static_cast<double>(state.iterations())));
  state.counters["flops"] = benchmark::Counter(flops, benchmark::Counter::kIsIterationInvariantRate);
  state.counters["GBps"] = benchmark::Counter(bytes * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
  if (measured_bandwidth() > 0.0)
    state.counters["bw_frac"] =
        benchmark::Counter(bytes / measured_bandwidth(), benchmark::Counter::kIsIterationInvariantRate);
  state.counters["threads"] = static_cast<double>(scalpel::simd::num_threads());
}

/// Random weights of dtype D ([rows, cols] row-major), `copies` independent copies so that cycling
/// through them touches at least `rotate_bytes` (decode: memory-bound, measured from DRAM).
template <class D>
struct rotating_weights {
  using S = typename D::storage_type;
  std::size_t rows, cols, per_copy;  // per_copy in stored units
  std::vector<scalpel::aligned_vector<S>> copies;
  std::size_t next = 0;

  rotating_weights(std::size_t r, std::size_t c, bool rotate) : rows(r), cols(c), per_copy(r * c / D::block_elems) {
    const std::size_t bytes = per_copy * sizeof(S);
    const std::size_t n = rotate ? std::max<std::size_t>(1, (rotate_bytes + bytes - 1) / bytes) : 1;
    copies.resize(n);
    for (std::size_t i = 0; i < n; ++i) {
      fast_rng g{0x9e3779b97f4a7c15ull + i};
      copies[i].resize(per_copy);
      for (std::size_t u = 0; u < per_copy; ++u) {
        if constexpr (std::is_same_v<D, scalpel::q8_0>) {
          S b{};
          b.d = scalpel::to_f16(0.01f + 0.001f * (g.next() + 1.0f));
          for (auto& q : b.qs) q = static_cast<std::int8_t>(g.next() * 127.0f);
          copies[i][u] = b;
        } else {
          copies[i][u] = scalpel::encode<D>(g.next() * 0.05f);
        }
      }
    }
  }
  std::size_t bytes() const noexcept { return per_copy * sizeof(S); }
  /// The next copy (round robin).
  scalpel::matrix_ref take() noexcept {
    const auto& c = copies[next];
    next = (next + 1) % copies.size();
    return scalpel::matrix_view<const D>(c.data(), {rows, cols});
  }
};

inline std::string arch_name() { return xsimd::default_arch::name(); }

/// Wall-clock timing (the default: multi-threaded kernels), or the benchmark thread's CPU time when the
/// environment sets SCALPEL_BENCH_CPU_TIME=1 — for single-threaded runs on a shared, loaded machine, where
/// wall time includes the time other processes hold the core.
inline benchmark::internal::Benchmark* timed(benchmark::internal::Benchmark* b) {
  const char* env = std::getenv("SCALPEL_BENCH_CPU_TIME");
  if (env == nullptr || std::string(env) != "1") b->UseRealTime();
  return b;
}

}  // namespace bench

/// main(): context (threads, kernel arch, measured read bandwidth with these threads and with 1), then run.
#define SCALPEL_BENCH_MAIN()                                                                         \
  int main(int argc, char** argv) {                                                                  \
    benchmark::Initialize(&argc, argv);                                                              \
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;                                \
    const int threads = scalpel::simd::num_threads();                                                \
    double bw1 = 0.0;                                                                                \
    {                                                                                                \
      const scalpel::simd::thread_count_guard one(1);                                                \
      bw1 = bench::read_bandwidth();                                                                 \
    }                                                                                                \
    bench::measured_bandwidth() = threads > 1 ? bench::read_bandwidth() : bw1;                       \
    benchmark::AddCustomContext("scalpel_threads", std::to_string(threads));                         \
    benchmark::AddCustomContext("scalpel_kernel_arch", bench::arch_name());                          \
    benchmark::AddCustomContext("read_bw_GBps", std::to_string(bench::measured_bandwidth() * 1e-9)); \
    benchmark::AddCustomContext("read_bw_GBps_1thread", std::to_string(bw1 * 1e-9));                 \
    benchmark::RunSpecifiedBenchmarks();                                                             \
    benchmark::Shutdown();                                                                           \
    return 0;                                                                                        \
  }
