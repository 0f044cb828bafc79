// Registration functions of every verb; main.cpp lists them in one table.
#pragma once

#include "commands/common.hpp"

namespace qcal::cli {
// (one line per verb, added with its commands/<verb>.cpp)
Runner register_inspect(CLI::App& app);
Runner register_run(CLI::App& app);
Runner register_frames(CLI::App& app);
Runner register_select(CLI::App& app);
Runner register_sample(CLI::App& app);
Runner register_quickstart(CLI::App& app);
Runner register_plan(CLI::App& app);
Runner register_pack(CLI::App& app);
Runner register_config(CLI::App& app);
Runner register_check(CLI::App& app);
Runner register_calibrate(CLI::App& app);
Runner register_eval(CLI::App& app);
}  // namespace qcal::cli
