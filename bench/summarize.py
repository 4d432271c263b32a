#!/usr/bin/env python3
"""Summarise Google Benchmark JSON from scalpel's kernel benchmarks as a Markdown table.

Usage: summarize.py RESULT.json [RESULT.json ...]

Reads the `_median` aggregates (run with --benchmark_repetitions=N), prints per benchmark the median time
(wall time for benchmarks timed with UseRealTime, else CPU time),
GB/s (10^9 bytes/s), GFLOP/s, and the ratio of its GB/s to the median of BM_stream_read from the same file
(the machine's streaming read bandwidth measured interleaved with the kernels), plus the context
(threads, kernel arch, read bandwidth measured at start-up).
"""
import json
import sys


def load(path):
    with open(path) as f:
        return json.load(f)


def short(name):
    return name[: -len("/real_time")] if name.endswith("/real_time") else name


def medians(doc):
    out = {}
    for b in doc["benchmarks"]:
        if b.get("run_type") == "aggregate" and b.get("aggregate_name") == "median":
            out[short(b["run_name"])] = b
    if not out:  # no repetitions: take the single runs
        for b in doc["benchmarks"]:
            out[short(b["name"])] = b
    return out


def main(paths):
    for path in paths:
        doc = load(path)
        ctx = doc["context"]
        meds = medians(doc)
        stream = meds.get("BM_stream_read")
        stream_gbps = stream["GBps"] if stream else float(ctx.get("read_bw_GBps", "nan"))
        print(f"### {path}\n")
        print(f"- threads: {ctx.get('scalpel_threads')}, kernel arch: {ctx.get('scalpel_kernel_arch')}, "
              f"CPUs: {ctx.get('num_cpus')} @ {ctx.get('mhz_per_cpu')} MHz, load average at start: "
              f"{', '.join(f'{x:.2f}' for x in ctx.get('load_avg', []))}")
        print(f"- read bandwidth at start-up: {float(ctx.get('read_bw_GBps', 'nan')):.1f} GB/s "
              f"({float(ctx.get('read_bw_GBps_1thread', 'nan')):.1f} GB/s with 1 thread); "
              f"BM_stream_read median: {stream_gbps:.1f} GB/s\n")
        print("| benchmark | median time | GB/s | GFLOP/s | GB/s ÷ stream read |")
        print("| --- | ---: | ---: | ---: | ---: |")
        for name, b in sorted(meds.items()):
            gbps = b.get("GBps", float("nan"))
            gflops = b.get("flops", float("nan")) * 1e-9
            # The time the rates were computed from: wall time for /real_time benchmarks, else CPU time.
            t = b["real_time"] if b.get("run_name", b["name"]).endswith("/real_time") else b["cpu_time"]
            unit = b.get("time_unit", "ns")
            print(f"| {name} | {t:.3g} {unit} | {gbps:.1f} | {gflops:.1f} | {gbps / stream_gbps:.2f} |")
        print()


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    main(sys.argv[1:])
