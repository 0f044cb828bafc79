#!/usr/bin/python3
# Benchmark of `qcal plan` on a large profiling CSV against its peer, the Python prototype
# approach of seed 000/001 (csv module + statistics), run side by side in one go. Prints both
# times, the ratio, qcal's peak memory, and the largest difference between their group medians.
# qcal is timed in process (bench/plan_bench: load + validate + plan + JSON, best of --repeat) and,
# separately, as the whole `qcal plan` command (which includes the binary's start-up).
# Usage: /usr/bin/python3 bench/plan_csv_bench.py [--rows 200000] [--build build]
import argparse
import csv
import json
import os
import random
import resource
import statistics
import subprocess
import tempfile
import time


def make_csv(path, rows):
    rng = random.Random(1)
    engines = []
    for model, base in (("yolov8n", 24.0), ("yolov8s", 61.0), ("yolo11n", 22.0)):
        for prec, factor in (("FP32", 1.0), ("FP16", 0.52), ("INT8", 0.31)):
            for batch in (1, 4):
                engines.append((f"{model}_{prec.lower()}_static", prec, batch, base * factor * (0.8 + 0.45 * batch)))
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["timestamp", "engine_name", "engine_precision", "engine_batch", "engine_shape",
                    "engine_size_MB", "frame_source_name", "trt_latency_ms", "power_mW", "gpu_temp_C",
                    "notes"])
        for i in range(rows):
            name, prec, batch, lat = engines[i % len(engines)]
            temp = 45 + 20 * rng.random()
            w.writerow([f"2026-11-02T10:{i // 60 % 60:02d}:{i % 60:02d}", name, prec, batch,
                        f"[{batch}, 3, 640, 640]", 12.5, "YOLOvideo",
                        f"{lat * (1 + 0.05 * rng.random()):.3f}", f"{5000 + 5000 * rng.random():.0f}",
                        f"{temp:.1f}", "warm, steady" if i % 7 == 0 else ""])


def peer(path):
    """What a user would write in Python: group, then median/p90/p99, median power, Spearman."""
    groups = {}
    with open(path, newline="", encoding="utf-8-sig") as f:
        for row in csv.DictReader(f):
            try:
                lat = float(row["trt_latency_ms"])
                power = float(row["power_mW"]) / 1000.0
                temp = float(row["gpu_temp_C"])
            except (KeyError, ValueError):
                continue
            key = (row["engine_name"], row["engine_precision"].lower(), int(row["engine_batch"]),
                   row["engine_shape"])
            g = groups.setdefault(key, ([], [], []))
            g[0].append(lat)
            g[1].append(power)
            g[2].append(temp)
    out = {}
    for key, (lat, power, temp) in groups.items():
        q = statistics.quantiles(lat, n=100, method="inclusive")  # type 7, as qcal
        rt = _ranks(temp)
        rl = _ranks(lat)
        rho = statistics.correlation(rt, rl) if len(lat) >= 8 else None
        out[key] = (statistics.median(lat), q[89], q[98], statistics.median(power), rho)
    return out


def _ranks(v):
    order = sorted(range(len(v)), key=lambda i: v[i])
    r = [0.0] * len(v)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and v[order[j + 1]] == v[order[i]]:
            j += 1
        for k in range(i, j + 1):
            r[order[k]] = (i + j) / 2 + 1
        i = j + 1
    return r


def best_of(n, fn):
    best = None
    result = None
    for _ in range(n):
        t0 = time.perf_counter()
        result = fn()
        dt = time.perf_counter() - t0
        best = dt if best is None else min(best, dt)
    return best, result


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=200000)
    ap.add_argument("--build", default="build")
    ap.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "runs.csv")
        make_csv(path, a.rows)
        size_mb = os.path.getsize(path) / 1e6

        qcal = os.path.join(a.build, "tools/qcal/qcal")
        bench = os.path.join(a.build, "bench/plan_bench")
        p = subprocess.run([bench, path, str(a.repeat)], check=True, capture_output=True, text=True)
        t_lib = float(p.stdout.split()[1]) / 1000.0

        def run_qcal():
            p = subprocess.run([qcal, "plan", "--profiles", path, "--target-fps", "30", "--json", "-q"],
                               check=True, capture_output=True)
            return json.loads(p.stdout)

        t_qcal, plan = best_of(1, run_qcal)
        peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        t_peer, ref = best_of(a.repeat, lambda: peer(path))
        diff = 0.0
        for c in plan["configurations"]:
            if not c["measured"]:
                continue
            key = (c["engine_name"], c["precision"], c["batch"],
                   "[" + ", ".join(str(d) for d in c["shape"]) + "]")
            med, p90, p99, pw, _ = ref[key]
            diff = max(diff, abs(c["latency_ms"]["median"] - med), abs(c["latency_ms"]["p90"] - p90),
                       abs(c["latency_ms"]["p99"] - p99), abs(c["power_w"] - pw))
        print(f"profiling CSV: {a.rows} rows, {size_mb:.1f} MB, {len(ref)} configurations")
        print(f"qcal plan library (parse, validate, group, stats, throttling, plan, JSON): {t_lib * 1000:.0f} ms")
        print(f"peer: Python csv + statistics (group stats + Spearman only):              {t_peer * 1000:.0f} ms")
        print(f"ratio peer / qcal: {t_peer / t_lib:.1f}x")
        print(f"whole `qcal plan` command incl. process start-up: {t_qcal * 1000:.0f} ms (peak RSS {peak_kb / 1024:.0f} MiB)")
        print(f"largest difference between qcal and peer in median/p90/p99/power: {diff:.3g}")


if __name__ == "__main__":
    main()
