#!/usr/bin/env python3
"""Summarise bench/side_by_side.sh measurements: medians per engine and type, and the scalpel/llama.cpp ratios
computed per round (each round ran both engines back to back), as a Markdown table. The bandwidth fraction of
llama.cpp uses the bytes per token and the read bandwidth that scalpel measured in the same round."""
import json
import statistics
import sys


def main(path):
    rows = [json.loads(line) for line in open(path) if line.strip()]
    by = {}
    for r in rows:
        res = r["result"]
        if r["engine"] == "scalpel":
            m = {"prefill": res["prefill_tok_s"], "decode": res["decode_tok_s"], "bw": res.get("bw_fraction"),
                 "bytes": res.get("bytes_per_token"), "read_bw": res.get("read_bw_GBps")}
        else:
            run = res["timings"]["runs"][0]
            m = {"prefill": run["prompt_tok_s"], "decode": run["decode_tok_s"], "bw": None}
        by[(r["type"], r["round"], r["engine"])] = m
    # llama.cpp's bandwidth fraction: its decode rate times the bytes per token and over the read bandwidth that
    # scalpel measured in the same round (same file, same machine state).
    for (t, rnd, e), m in by.items():
        s = by.get((t, rnd, "scalpel"))
        if e == "llama.cpp" and s and s.get("bytes") and s.get("read_bw"):
            m["bw"] = m["decode"] * s["bytes"] / 1e9 / s["read_bw"]
    types = sorted({k[0] for k in by})
    print("| weights | engine | prefill tok/s (median) | decode tok/s (median) | decode bandwidth fraction |")
    print("| --- | --- | ---: | ---: | ---: |")
    ratios = {}
    for t in types:
        rounds = sorted({k[1] for k in by if k[0] == t})
        for e in ("scalpel", "llama.cpp"):
            ms = [by[(t, r, e)] for r in rounds if (t, r, e) in by]
            bw = [m["bw"] for m in ms if m["bw"] is not None]
            print(f"| {t} | {e} | {statistics.median(m['prefill'] for m in ms):.1f} | "
                  f"{statistics.median(m['decode'] for m in ms):.2f} | "
                  f"{(f'{statistics.median(bw):.2f}' if bw else '—')} |")
        pairs = [(by[(t, r, 'scalpel')], by[(t, r, 'llama.cpp')]) for r in rounds
                 if (t, r, 'scalpel') in by and (t, r, 'llama.cpp') in by]
        ratios[t] = ([s["prefill"] / l["prefill"] for s, l in pairs], [s["decode"] / l["decode"] for s, l in pairs])
    print()
    print("| weights | rounds | prefill ratio scalpel/llama.cpp (median, min–max) | decode ratio (median, min–max) |")
    print("| --- | ---: | ---: | ---: |")
    for t in types:
        p, d = ratios[t]
        print(f"| {t} | {len(p)} | {statistics.median(p):.2f} ({min(p):.2f}–{max(p):.2f}) | "
              f"{statistics.median(d):.2f} ({min(d):.2f}–{max(d):.2f}) |")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: side_by_side.py side_by_side.jsonl")
    main(sys.argv[1])
