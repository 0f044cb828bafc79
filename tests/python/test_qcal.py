"""qcal's Python module: calibrate yolov8n from a generator (streamed), the QDQ model in ONNX
Runtime and in qcal.Session, eval metrics, and errors with their context."""
import json
import subprocess

import numpy as np
import pytest

import qcal
from conftest import SOURCE_DIR, letterbox_frames


def cosine(a, b):
    a, b = a.ravel().astype(np.float64), b.ravel().astype(np.float64)
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


@pytest.fixture(scope="module")
def calibrated(model, tmp_path_factory):
    """yolov8n calibrated from a generator of {input name: array} dicts; records how far ahead
    of the calibration the generator was pulled."""
    pulled = []
    ahead = []

    def reader():
        for i, x in enumerate(letterbox_frames(4)):
            pulled.append(i)
            yield {"images": x}

    def progress(stage, done, total):
        ahead.append(len(pulled) - done)

    out = tmp_path_factory.mktemp("int8")
    # dominant_noise="off": the rule runs the model once per quantized tensor (seconds on
    # yolov8n); api_test covers it on a stream.
    result = qcal.calibrate(model, reader(), out, method="minmax", dominant_noise="off",
                            threads=2, progress=progress)
    return result, pulled, ahead


def test_calibrate_from_a_generator_streams(calibrated):
    result, pulled, ahead = calibrated
    assert result.samples == 4
    assert len(pulled) == 4
    assert ahead and max(ahead) <= 1  # one batch ahead, never the whole generator
    assert result.method == "minmax"
    assert result.qdq_pairs > 0
    for path in (result.qdq_model, result.calibration_cache, result.ranges_json):
        assert path and open(path, "rb").read(1)
    images = result.ranges["images"]
    assert set(images) == {"min", "max", "scale", "zero_point", "qdq"}
    assert images["qdq"] and images["zero_point"] == 0
    # minmax of letterboxed frames /255: the range is the data's, symmetric int8.
    assert 0.9 < images["max"] <= 1.0 and images["scale"] == pytest.approx(images["max"] / 127)
    assert json.loads(result.json)["qdq_model"] == result.qdq_model


def test_qdq_model_runs_in_onnx_runtime_and_qcal(calibrated, model, frames, tmp_path):
    result, _, _ = calibrated
    x = frames[3]
    np.save(tmp_path / "x.npy", x)
    ort = subprocess.run(["node", str(SOURCE_DIR / "tools" / "ort" / "ort_run.js"),
                          result.qdq_model, "--input", f"images={tmp_path / 'x.npy'}",
                          "--out", str(tmp_path / "ort")],
                         capture_output=True, text=True, check=True)
    ort_int8 = np.load(json.loads(ort.stdout)["outputs"]["output0"])
    fp32 = qcal.Session(model, threads=2)
    assert [i["name"] for i in fp32.inputs] == ["images"]
    assert fp32.outputs[0]["shape"] == [1, 84, 8400]
    ref = fp32.run({"images": x})["output0"]
    assert ref.dtype == np.float32 and ref.shape == (1, 84, 8400)
    qcal_int8 = qcal.Session(result.qdq_model, threads=2).run(x)["output0"]
    assert cosine(ort_int8, ref) > 0.98
    assert cosine(qcal_int8, ort_int8) > 0.99


def test_array_data_matches_the_npy_file(model, frames, tmp_path):
    x = np.concatenate(frames[:2])
    np.save(tmp_path / "x.npy", x)
    options = dict(method="minmax", dominant_noise="off", threads=2)
    a = qcal.calibrate(model, x, tmp_path / "a", **options)
    f = qcal.calibrate(model, str(tmp_path / "x.npy"), tmp_path / "f", **options)
    assert a.samples == f.samples == 2
    assert a.ranges == f.ranges
    assert open(a.qdq_model, "rb").read() == open(f.qdq_model, "rb").read()


def test_eval_metrics(calibrated, model, frames, tmp_path):
    result, _, _ = calibrated
    np.save(tmp_path / "held.npy", np.concatenate(frames[2:]))
    r = qcal.eval(model, result.qdq_model, tmp_path / "held.npy", tmp_path / "eval", threads=2)
    assert r.samples == 2
    out = r.outputs["output0"]
    assert 0.98 < out["cosine"] <= 1.0 and out["sqnr_db"] > 10
    assert r.eval_json and json.load(open(r.eval_json))["format"] == "qcal.eval/1"
    assert r.report.endswith("report.html")


def test_unknown_or_mistyped_option_is_a_type_error(model, frames, tmp_path):
    with pytest.raises(TypeError, match="frobnicate"):
        qcal.calibrate(model, frames[0], tmp_path, frobnicate=1)
    with pytest.raises(TypeError, match="per_tensor"):
        qcal.calibrate(model, frames[0], tmp_path, per_tensor="yes please")
    with pytest.raises(TypeError, match="colour"):
        qcal.eval(model, model, tmp_path / "x.npy", colour="red")


def test_errors_carry_their_context(model, frames, tmp_path):
    with pytest.raises(qcal.Error) as e:
        qcal.calibrate(tmp_path / "missing.onnx", frames[0], tmp_path)
    assert "missing.onnx" in e.value.context.get("file", "")
    with pytest.raises(qcal.Error) as e:
        qcal.calibrate(model, np.zeros((2, 3, 320, 320), np.float32), tmp_path)
    assert e.value.context["tensor"] == "images" and "[3, 320, 320]" in str(e.value)
    with pytest.raises(qcal.Error, match="median"):
        qcal.calibrate(model, frames[0], tmp_path, method="median")

    def bad_shapes():
        yield frames[0]
        yield frames[0][:, :, :320]

    with pytest.raises(qcal.Error) as e:
        qcal.calibrate(model, bad_shapes(), tmp_path, dominant_noise="off")
    assert "sample 1" in e.value.context["image"]
    assert not list(tmp_path.glob("*.onnx"))  # nothing written


def test_the_generators_own_exception_propagates(model, frames, tmp_path):
    def failing():
        yield frames[0]
        raise ValueError("camera unplugged")

    with pytest.raises(ValueError, match="camera unplugged"):
        qcal.calibrate(model, failing(), tmp_path, dominant_noise="off")


def test_calibration_data_reader_protocol(model, frames, tmp_path):
    class Reader:  # onnxruntime.quantization.CalibrationDataReader's protocol
        def __init__(self):
            self.items = iter([{"images": f} for f in frames[:2]])

        def get_next(self):
            return next(self.items, None)

    r = qcal.calibrate(model, Reader(), tmp_path, method="minmax", dominant_noise="off",
                       threads=2)
    assert r.samples == 2


def test_session_errors(model):
    s = qcal.Session(model, threads=1)
    with pytest.raises(qcal.Error, match="float64"):
        s.run({"images": np.zeros((1, 3, 640, 640))})
    with pytest.raises(qcal.Error):
        s.run({"nope": np.zeros((1, 3, 640, 640), np.float32)})
