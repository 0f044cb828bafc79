// qcal::Error: the one exception type, with a code and context entries (file, node, tensor...).
// The class is public (include/qcal/error.hpp): the library and its API throw the same type.
#pragma once

#include <string>

#include "qcal/error.hpp"

namespace qcal {

// Shorthands for the common codes.
[[noreturn]] void throw_invalid(std::string message);
[[noreturn]] void throw_format(std::string message);
[[noreturn]] void throw_io(std::string message);

}  // namespace qcal
