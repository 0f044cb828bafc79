#!/usr/bin/python3
"""Reference values for the `qcal eval` integration tests, computed independently with numpy.

usage: eval_reference.py OUT_DIR N
Writes OUT_DIR/x.npy ([N, 3, 4, 5] float32, seed 1) and OUT_DIR/reference.json with the raw
metrics of Relu (reference) against LeakyRelu(alpha=0.01) (the ONNX default) over the set, the
per-sample cosines, and the best-threshold verification accuracy of OUT_DIR/pairs.txt if present.
"""
import json
import os
import sys

import numpy as np

out, n = sys.argv[1], int(sys.argv[2])
x = np.random.default_rng(1).standard_normal((n, 3, 4, 5)).astype(np.float32)
np.save(os.path.join(out, "x.npy"), x)
ref = np.maximum(x, 0).astype(np.float64)
test = np.where(x >= 0, x, x * np.float32(0.01)).astype(np.float32).astype(np.float64)


def cos(a, b):
    return float(np.dot(a.ravel(), b.ravel()) / (np.linalg.norm(a) * np.linalg.norm(b)))


d = ref - test
result = {
    "cosine": cos(ref, test),
    "sqnr_db": float(20 * np.log10(np.linalg.norm(ref) / np.linalg.norm(d))),
    "max_abs_error": float(np.abs(d).max()),
    "cosines": [cos(ref[i], test[i]) for i in range(n)],
}
pairs_path = os.path.join(out, "pairs.txt")
if os.path.exists(pairs_path):
    pairs = [tuple(int(v) for v in line.split()) for line in open(pairs_path) if line.strip()]
    same = np.array([p[2] for p in pairs], dtype=bool)
    for name, emb in (("fp32", ref), ("int8", test)):
        scores = np.array([cos(emb[a], emb[b]) for a, b, _ in pairs])
        # Brute force over every candidate threshold (each score, and +inf).
        best = max(np.mean((scores >= t) == same) for t in list(scores) + [np.inf])
        result["verification_" + name] = float(best)
json.dump(result, open(os.path.join(out, "reference.json"), "w"))
