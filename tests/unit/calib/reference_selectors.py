# Independent numpy reimplementation of the public reference range selectors, used by
# range_select_test.cpp: TensorRT EntropyCalibration2 as in NVIDIA's pytorch-quantization
# (calib/histogram.py _compute_amax_entropy: bins[0]=bins[1], digitize into 128 levels,
# outliers folded into the last bin, scipy.stats.entropy semantics, last argmin, amax = edge i),
# the percentile (searchsorted on the CDF) and a brute-force MSE search.
# Usage: reference_selectors.py OUT.json HIST.npy... (each a uint64 count vector; bin width 1).
import json
import sys

import numpy as np


def kl(p, q):
    # scipy.stats.entropy(p, q): normalise both, sum rel_entr (0 where p == 0, inf where q == 0).
    p = p / np.sum(p)
    q = q / np.sum(q)
    mask = p > 0
    if np.any(q[mask] == 0):
        return np.inf
    return float(np.sum(p[mask] * np.log(p[mask] / q[mask])))


def entropy_amax(hist, num_levels=128, start_bin=128):
    bins = hist.astype(np.float64).copy()
    bins[0] = bins[1]
    n = len(bins)
    divergences = []
    for i in range(start_bin, n + 1):
        space = np.linspace(0, i, num=num_levels + 1)
        level = np.digitize(np.arange(i), space) - 1
        level[bins[:i] == 0] = -1
        ok = level != -1
        sums = np.bincount(level[ok], weights=bins[:i][ok], minlength=num_levels)
        nnz = np.bincount(level[ok], minlength=num_levels).astype(np.float64)
        q = np.zeros(i)
        q[ok] = sums[level[ok]] / nnz[level[ok]]
        p = bins[:i].copy()
        p[-1] += np.sum(bins[i:])
        divergences.append(kl(p, q))
    d = np.array(divergences)
    last = len(d) - 1 - int(np.argmin(d[::-1]))
    return float(last + start_bin)


def percentile_amax(hist, pct):
    cdf = np.cumsum(hist.astype(np.float64)) / float(np.sum(hist))
    idx = int(np.searchsorted(cdf, pct / 100.0))
    return float(idx + 1)


def mse_amax(hist):
    centres = np.arange(len(hist)) + 0.5
    counts = hist.astype(np.float64)
    best, best_i = np.inf, len(hist)
    for i in range(1, len(hist) + 1):
        scale = i / 127.0
        q = np.minimum(np.rint(centres / scale), 127.0) * scale  # rint: half to even
        err = float(np.sum(counts * (centres - q) ** 2))
        if err < best:
            best, best_i = err, i
    return float(best_i)


def main():
    results = []
    for path in sys.argv[2:]:
        h = np.load(path)
        results.append({"entropy": entropy_amax(h), "percentile_99_99": percentile_amax(h, 99.99),
                        "percentile_99": percentile_amax(h, 99.0), "mse": mse_amax(h)})
    with open(sys.argv[1], "w") as f:
        json.dump(results, f)


if __name__ == "__main__":
    main()
