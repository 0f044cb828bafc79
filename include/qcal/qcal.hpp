// The qcal public API: calibrate (QDQ ONNX, TensorRT cache, ranges), eval (FP32 vs INT8), and an
// inference Session over qcal's engine. One exception type (qcal::Error) carries the context.
#pragma once

#include "qcal/array.hpp"
#include "qcal/calibrate.hpp"
#include "qcal/data.hpp"
#include "qcal/error.hpp"
#include "qcal/eval.hpp"
#include "qcal/session.hpp"

namespace qcal {

const char* version();  // "0.1.0"

}  // namespace qcal
