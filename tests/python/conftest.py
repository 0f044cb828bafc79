"""Shared fixtures of the qcal Python tests: the model, a few preprocessed vtest.avi frames."""
import os
import pathlib

import cv2
import numpy as np
import pytest

SOURCE_DIR = pathlib.Path(__file__).resolve().parents[2]
DEPS = pathlib.Path(os.environ.get("QCAL_DEPS") or SOURCE_DIR / ".deps")
VIDEO = "/usr/share/doc/opencv-doc/examples/data/vtest.avi"


def letterbox_frames(count, step=60):
    """Frames 0, step, 2*step ... of vtest.avi (768x576) letterboxed to 640x640 (grey 114),
    RGB, /255, as [1, 3, 640, 640] float32: what a YOLO deployment feeds."""
    video = cv2.VideoCapture(VIDEO)
    assert video.isOpened(), VIDEO
    for _ in range(count):
        ok, bgr = video.read()
        assert ok
        canvas = np.full((640, 640, 3), 114, np.uint8)
        canvas[80:560] = cv2.resize(bgr, (640, 480), interpolation=cv2.INTER_LINEAR)
        rgb = cv2.cvtColor(canvas, cv2.COLOR_BGR2RGB)
        yield (rgb.transpose(2, 0, 1)[None] / np.float32(255)).astype(np.float32)
        for _ in range(step - 1):
            video.grab()


@pytest.fixture(scope="session")
def model():
    path = DEPS / "models" / "yolov8n.onnx"
    assert path.is_file(), path
    return str(path)


@pytest.fixture(scope="session")
def frames():
    return list(letterbox_frames(4))
