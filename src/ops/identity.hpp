// Identity op factory.
#pragma once

#include "ops/kernel.hpp"

namespace qcal::ops {
std::unique_ptr<Kernel> make_identity(const NodeDef& node);
}  // namespace qcal::ops
