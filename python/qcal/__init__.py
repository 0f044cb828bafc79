"""qcal: INT8 calibration of ONNX vision models.

calibrate(model, data, output, **options) -> CalibrateResult (.qdq_model, .ranges, ...)
eval(fp32_model, int8_model, data, output=None, **options) -> EvalResult (.metrics, .outputs)
Session(model, threads=0).run({input name: array}) -> {output name: array}

Options are the long flags of `qcal calibrate` / `qcal eval` with '-' written '_'
(method="mse", per_tensor=True, recipe="yolo"). Errors raise qcal.Error, whose .context
names the file, sample, node or tensor. See docs/python.md.
"""
from ._qcal import (CalibrateResult, Error, EvalResult, Session, __version__, calibrate,
                    eval)

__all__ = ["CalibrateResult", "Error", "EvalResult", "Session", "__version__", "calibrate",
           "eval"]
