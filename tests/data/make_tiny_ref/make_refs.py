#!/usr/bin/python3
"""Reference logits for `scalpel make-tiny` models from the independent float64 numpy forward pass
(shared/tools/llamaref/verify/hf_numpy_ref.py, transformers semantics).

  make_refs.py SCALPEL_BIN HF_NUMPY_REF_DIR OUT.json

Builds each tiny variant with `scalpel make-tiny --seed 7`, runs the numpy reference on two prompts and
writes the logits at a subset of positions. The C++ test rebuilds the same models in memory (make-tiny is
deterministic) and compares.
"""
import json, os, subprocess, sys, tempfile
sys.path.insert(0, sys.argv[2])
import numpy as np
import hf_numpy_ref as hnr

scalpel, out = sys.argv[1], sys.argv[3]
res = {"seed": 7, "note": "numpy float64 reference (transformers semantics) on scalpel make-tiny models", "variants": {}}
for v in ["e2b", "e4b", "26b-a4b", "31b"]:
    d = tempfile.mkdtemp()
    subprocess.run([scalpel, "make-tiny", "--variant", v, "--seed", "7", "--out", d], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    tc = json.load(open(os.path.join(d, "config.json")))["text_config"]
    W = hnr.load_safetensors(os.path.join(d, "model.safetensors"))
    cases = []
    for seed, T in [(1, 9), (2, 40)]:
        rng = np.random.default_rng(seed)
        ids = [2] + [int(x) for x in rng.integers(109, tc["vocab_size"], T - 1)]
        lg = hnr.forward(W, tc, ids, False)
        positions = sorted(set([0, T // 2, T - 1] + list(range(0, T, 7))))
        cases.append({"ids": ids, "positions": positions,
                      "logits": [[round(float(x), 6) for x in lg[p]] for p in positions]})
    res["variants"][v] = cases
json.dump(res, open(out, "w"))
print("wrote", out)
