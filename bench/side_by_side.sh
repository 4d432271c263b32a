#!/usr/bin/env bash
# End-to-end speed, scalpel vs llama.cpp on the same weights, interleaved (docs/performance.md).
#
#   bench/side_by_side.sh [--work DIR] [--rounds N] [--threads T] [--prompt P] [--gen G]
#                         [--variant e2b] [--layers L] [--vocab V] [--types "bf16 q8_0"] [--scalpel BIN]
#   (--layers: enough for the variant's KV sharing, e.g. e2b 20 (the default), 26b-a4b 2 or more)
#
# 1. builds a random-weight checkpoint with the released layer sizes of the variant (scalpel make-tiny --real-dims;
#    fewer layers and a smaller vocabulary keep it a few GB), exports it as GGUF in each type (scalpel export-gguf:
#    the layout of llama.cpp's own converter);
# 2. installs llama.cpp (node-llama-cpp 3.22.1 prebuilt CPU binaries, tests/data/llamaref/install.sh);
# 3. for each round, for each type, runs `scalpel bench` and llama.cpp (run_ref.mjs) on the same GGUF file, one
#    after the other, with the same threads, prompt length and decoded tokens (one repeat each, so rounds
#    interleave the two engines and slow drifts of the machine hit both);
# 4. writes every measurement to WORK/side_by_side.jsonl and prints medians and ratios (bench/side_by_side.py).
set -euo pipefail
# OMP_WAIT_POLICY is left to libgomp's default on purpose: PASSIVE (sleeping workers) costs ~13 % of decode
# (docs/performance.md).
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
work=build/side-by-side rounds=5 threads=2 prompt=128 gen=64 variant=e2b layers=20 vocab=32768
types="bf16 q8_0" scalpel="$root/build/bin/scalpel"
while [ $# -gt 0 ]; do
  case "$1" in
    --work) work=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    --threads) threads=$2; shift 2 ;;
    --prompt) prompt=$2; shift 2 ;;
    --gen) gen=$2; shift 2 ;;
    --variant) variant=$2; shift 2 ;;
    --layers) layers=$2; shift 2 ;;
    --vocab) vocab=$2; shift 2 ;;
    --types) types=$2; shift 2 ;;
    --scalpel) scalpel=$2; shift 2 ;;
    -h|--help) sed -n 2,15p "$0"; exit 0 ;;
    *) echo "side_by_side: unknown option $1" >&2; exit 2 ;;
  esac
done
[ -x "$scalpel" ] || { echo "side_by_side: $scalpel not built (cmake --preset release && cmake --build --preset release)" >&2; exit 1; }
mkdir -p "$work"
model="$work/$variant-L$layers-V$vocab"
if [ ! -f "$model/model.safetensors" ]; then
  echo "== making $model"
  "$scalpel" make-tiny --variant "$variant" --real-dims --layers "$layers" --vocab "$vocab" --out "$model"
fi
for t in $types; do
  [ -f "$model-$t.gguf" ] || { echo "== exporting $model-$t.gguf"; "$scalpel" export-gguf --model "$model" --out "$model-$t.gguf" --type "$t"; }
done
bash "$root/tests/data/llamaref/install.sh" "$work/llamaref" >/dev/null
out="$work/side_by_side.jsonl"
: > "$out"
for r in $(seq 1 "$rounds"); do
  for t in $types; do
    g="$model-$t.gguf"
    echo "== round $r/$rounds, $t: scalpel"
    s=$("$scalpel" bench --model "$g" --prompt-tokens "$prompt" --gen-tokens "$gen" --repeats 1 --threads "$threads" --json)
    printf '{"engine":"scalpel","type":"%s","round":%d,"result":%s}\n' "$t" "$r" "$s" >> "$out"
    echo "== round $r/$rounds, $t: llama.cpp"
    node "$work/llamaref/run_ref.mjs" --model "$g" --random-prompt "$prompt" --n "$gen" --repeat 1 \
      --threads "$threads" --out "$work/llama.json" > /dev/null
    printf '{"engine":"llama.cpp","type":"%s","round":%d,"result":%s}\n' "$t" "$r" "$(tr -d '\n' < "$work/llama.json")" >> "$out"
  done
done
python3 "$here/side_by_side.py" "$out"
