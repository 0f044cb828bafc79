#!/usr/bin/python3
# Makes a model input .npy from a real photo, preprocessed the way each model expects, for the
# engine-vs-ONNX-Runtime parity tests. Usage: engine_parity_inputs.py KIND IMAGE OUT.npy
import sys

import cv2
import numpy as np


def letterbox(img, size):
    # Ultralytics letterbox: keep aspect, pad with 114 to size x size, centred.
    h, w = img.shape[:2]
    r = min(size / h, size / w)
    nh, nw = int(round(h * r)), int(round(w * r))
    resized = cv2.resize(img, (nw, nh), interpolation=cv2.INTER_LINEAR)
    out = np.full((size, size, 3), 114, np.uint8)
    top, left = (size - nh) // 2, (size - nw) // 2
    out[top:top + nh, left:left + nw] = resized
    return out


def main():
    kind, image, out = sys.argv[1:4]
    img = cv2.imread(image, cv2.IMREAD_COLOR)
    if img is None:
        sys.exit(f"cannot read {image}")
    if kind == "yolo":  # 1x3x640x640 RGB / 255
        x = letterbox(img, 640)[:, :, ::-1].astype(np.float32) / 255.0
        x = x.transpose(2, 0, 1)[None]
    elif kind in ("det", "rec", "cls"):
        # PaddleOCR: BGR as read; det uses ImageNet mean/std on /255, rec/cls (x/255-0.5)/0.5.
        size = {"det": (640, 640), "rec": (320, 48), "cls": (192, 48)}[kind]
        x = cv2.resize(img, size, interpolation=cv2.INTER_LINEAR).astype(np.float32) / 255.0
        if kind == "det":
            x = (x - np.array([0.485, 0.456, 0.406], np.float32)) / np.array([0.229, 0.224, 0.225], np.float32)
        else:
            x = (x - 0.5) / 0.5
        x = x.transpose(2, 0, 1)[None]
    elif kind in ("blazeface128", "blazeface256"):  # NHWC RGB in [-1, 1]
        size = 128 if kind == "blazeface128" else 256
        x = cv2.resize(img, (size, size), interpolation=cv2.INTER_LINEAR)[:, :, ::-1]
        x = (x.astype(np.float32) / 127.5 - 1.0)[None]
    else:
        sys.exit(f"unknown kind {kind}")
    np.save(out, np.ascontiguousarray(x, dtype=np.float32))


if __name__ == "__main__":
    main()
