// One function per reader of user files (fuzz_targets.hpp's table points at them), defined in
// readers_<module>.cpp so each fuzzer links only its module. Each writes
// its input where the CLI would find a file, calls the reader the CLI calls, then does what the
// CLI does next with the result; qcal::Error thrown after the read is a normal outcome.
#pragma once

#include <stdexcept>
#include <string>
#include <string_view>

#include "core/error.hpp"
#include "fuzz_targets.hpp"

namespace qcal::fuzz {

void run_model_loader(std::string_view bytes);
void run_npy(std::string_view bytes);
void run_npz(std::string_view bytes);
void run_recipe_json(std::string_view bytes);
void run_dxcom_config(std::string_view bytes);
void run_profile_csv(std::string_view bytes);
void run_stats_file(std::string_view bytes);
void run_yolo_labels(std::string_view bytes);
void run_coco_labels(std::string_view bytes);
void run_accuracy_json(std::string_view bytes);

// Helpers of the reader functions.

// What the CLI does after a successful read may refuse the content too (no usable rows, a
// method the statistics cannot serve): that is a normal outcome, not a reader error.
template <typename F>
void run_downstream(F&& step) {
  try {
    step();
  } catch (const Error&) {
    // A refusal after the read: fine, whatever it names.
  }
}

// One of several readers of the same file: its refusal must name the file, and does not keep
// the others from running on the input.
template <typename F>
void read_independently(const char* target, F&& read) {
  try {
    read();
  } catch (const Error& e) {
    check_error_names_input(target, e);
  }
}

[[noreturn]] inline void fail_check(const std::string& target, const std::string& what) {
  throw std::logic_error(target + ": " + what);
}

}  // namespace qcal::fuzz
