#!/usr/bin/env bash
# Run scalpel's kernel benchmarks the way docs/performance.md reports them: fixed thread count, threads
# pinned one per core, interleaved repetitions, medians; then print the Markdown summary.
#
#   bench/run_kernels.sh BUILD_BIN_DIR [THREADS] [FILTER] [REPETITIONS]
#
# BUILD_BIN_DIR holds bench_matmul / bench_ops / bench_bf16dot (build/bin in-tree, the build dir standalone).
# Results go to ./kernels-<threads>t-<executable>.json.
#
# Why pinning: with unpinned OpenMP threads on a small machine, the scheduler often wakes a sleeping worker
# on the master's core (wake-affine); the two then time-share one core and every short parallel region
# (a decode GEMV takes 0.1-1 ms) waits a scheduler tick (4-8 ms). OMP_PROC_BIND=true avoids it.
set -euo pipefail
bin=${1:?usage: run_kernels.sh BUILD_BIN_DIR [THREADS] [FILTER] [REPETITIONS]}
threads=${2:-2}
filter=${3:-.}
reps=${4:-10}
here=$(cd "$(dirname "$0")" && pwd)
export OMP_NUM_THREADS=$threads OMP_PROC_BIND=${OMP_PROC_BIND:-true} OMP_PLACES=${OMP_PLACES:-cores}
for exe in bench_matmul bench_ops bench_bf16dot; do
  [[ -x "$bin/$exe" ]] || continue
  out="kernels-${threads}t-${exe}.json"
  if "$bin/$exe" --benchmark_filter="$filter" --benchmark_repetitions="$reps" \
    --benchmark_enable_random_interleaving=true --benchmark_report_aggregates_only=true \
    --benchmark_min_time=0.2 --benchmark_out="$out" --benchmark_out_format=json >/dev/null 2>&1; then
    python3 "$here/summarize.py" "$out"
  fi  # (an executable with no benchmark matching FILTER exits non-zero: skipped)
done
