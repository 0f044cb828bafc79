"""Run from an installed qcal (PYTHONPATH at the prefix's package folder): calibrate yolov8n
from a generator of vtest.avi frames, then run the QDQ model in ONNX Runtime (node).

usage: calibrate_generator.py PREFIX MODEL OUT_DIR ORT_RUN_JS"""
import json
import os
import subprocess
import sys

import cv2
import numpy as np

import qcal

prefix, model, out, ort_run = sys.argv[1:5]
assert os.path.realpath(qcal.__file__).startswith(os.path.realpath(prefix)), qcal.__file__


def frames(n):
    video = cv2.VideoCapture("/usr/share/doc/opencv-doc/examples/data/vtest.avi")
    for _ in range(n):
        ok, bgr = video.read()
        assert ok
        canvas = np.full((640, 640, 3), 114, np.uint8)
        small = cv2.resize(bgr, (640, 480), interpolation=cv2.INTER_LINEAR)
        canvas[80:560] = small
        rgb = cv2.cvtColor(canvas, cv2.COLOR_BGR2RGB)
        yield {"images": (rgb.transpose(2, 0, 1)[None] / np.float32(255)).astype(np.float32)}
        for _ in range(40):
            video.grab()


r = qcal.calibrate(model, frames(2), out, dominant_noise="off", threads=2)
assert r.samples == 2 and os.path.isfile(r.qdq_model), r
assert r.ranges["images"]["scale"] > 0
x = next(frames(1))["images"]
np.save(os.path.join(out, "x.npy"), x)
ort = subprocess.run(["node", ort_run, r.qdq_model, "--input", "images=" + os.path.join(out, "x.npy"),
                      "--out", os.path.join(out, "ort")], capture_output=True, text=True, check=True)
ort_out = np.load(json.loads(ort.stdout)["outputs"]["output0"])
ref = qcal.Session(model, 2).run(x)["output0"]
cos = float(np.dot(ort_out.ravel(), ref.ravel()) /
            (np.linalg.norm(ort_out) * np.linalg.norm(ref)))
assert cos > 0.98, cos
print(f"qcal {qcal.__version__} from {os.path.dirname(qcal.__file__)}: {r.qdq_model}, "
      f"ONNX Runtime vs FP32 cosine {cos:.4f}")
