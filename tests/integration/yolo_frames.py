# Builds the real-image sets for calibrate_yolov8n_test.cpp from Debian's opencv-doc samples:
# calibration images (frames of vtest.avi and Megamind.avi plus photos) written as PNG, and
# disjoint held-out frames/photos letterboxed to 640 (pad 114, centred), RGB, /255, NCHW, as .npy.
# Usage: yolo_frames.py CALIB_DIR HELDOUT_DIR
import glob
import os
import sys

import cv2
import numpy as np

DATA = "/usr/share/doc/opencv-doc/examples/data"


def frames(name, keep):
    cap = cv2.VideoCapture(os.path.join(DATA, name))
    out, index = [], 0
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        if keep(index):
            out.append((f"{os.path.splitext(name)[0]}_{index:04d}", frame))
        index += 1
    return out


def letterbox(img, size=640):
    h, w = img.shape[:2]
    r = min(size / h, size / w)
    nh, nw = int(round(h * r)), int(round(w * r))
    resized = cv2.resize(img, (nw, nh), interpolation=cv2.INTER_LINEAR)
    canvas = np.full((size, size, 3), 114, np.uint8)
    top, left = (size - nh) // 2, (size - nw) // 2
    canvas[top:top + nh, left:left + nw] = resized
    rgb = cv2.cvtColor(canvas, cv2.COLOR_BGR2RGB).astype(np.float32) / 255.0
    return rgb.transpose(2, 0, 1)[None]


def main():
    calib_dir, held_dir = sys.argv[1], sys.argv[2]
    os.makedirs(calib_dir, exist_ok=True)
    os.makedirs(held_dir, exist_ok=True)
    photos = []
    for p in sorted(glob.glob(os.path.join(DATA, "*.jpg"))):
        img = cv2.imread(p)
        if img is not None and min(img.shape[:2]) >= 240 and img.ndim == 3:
            photos.append((os.path.splitext(os.path.basename(p))[0], img))
    calib = frames("vtest.avi", lambda i: i % 14 == 0) + frames("Megamind.avi", lambda i: i % 8 == 0)
    calib += photos[:24]  # about 115 images in all
    held = frames("vtest.avi", lambda i: i % 90 == 45) + frames("Megamind.avi", lambda i: i % 60 == 33)
    held += photos[-4:]  # disjoint from the 24 calibration photos (more than 28 qualify)
    for name, img in calib:
        cv2.imwrite(os.path.join(calib_dir, name + ".png"), img)
    for name, img in held:
        np.save(os.path.join(held_dir, name + ".npy"), letterbox(img))
    print(len(calib), len(held))


if __name__ == "__main__":
    main()
