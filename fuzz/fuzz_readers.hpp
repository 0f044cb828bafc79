// One function per reader of user files (fuzz_targets.hpp's table points at them). Each writes
// its input where the CLI would find a file, calls the reader the CLI calls, then does what the
// CLI does next with the result; qcal::Error thrown after the read is a normal outcome.
#pragma once

#include <string_view>

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

}  // namespace qcal::fuzz
