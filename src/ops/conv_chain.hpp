// ConvChain: an engine-made node (domain "qcal", built by engine/graph.cpp) running Conv -> Conv
// -> ... where each intermediate tensor feeds only the next Conv. The intermediates stay in the
// blocked layout oneDNN picks (nChw16c...), so only the chain's input and output are reordered
// from and to ONNX's NCHW: on PP-OCRv4 det those reorders cost as much as the convolutions.
//
// Node layout: inputs [X, W0, B0, W1, B1, ...] (B "" when absent); attribute "qcal_stages"
// (int, number of convs) and each stage's Conv attributes prefixed "s<k>." (including its fused
// post-ops, ops/fused_activation.hpp).
#pragma once

#include <memory>

#include "ops/kernel.hpp"

namespace qcal::ops {

std::unique_ptr<Kernel> make_conv_chain(const NodeDef& node);

}  // namespace qcal::ops
