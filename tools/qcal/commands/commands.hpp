// Registration functions of every verb; main.cpp lists them in one table.
#pragma once

#include "commands/common.hpp"

namespace qcal::cli {
// (one line per verb, added with its commands/<verb>.cpp)
Runner register_eval(CLI::App& app);
}  // namespace qcal::cli
