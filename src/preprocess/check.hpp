// `qcal check`: runs a recipe on sampled images and proves (or disproves) it: shapes against the
// model, per-channel statistics, NaN/Inf, value ranges against the expected preset, constant
// channels, BGR/RGB order; optional side-by-side PNGs and a contact sheet.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "core/tensor.hpp"
#include "preprocess/recipe.hpp"

namespace qcal::preprocess {

struct ChannelStats {
  double min = 0;
  double max = 0;
  double mean = 0;
  double std = 0;
  std::int64_t nan = 0;
  std::int64_t inf = 0;
};

struct SampleReport {
  std::filesystem::path image;
  Shape shape;
  DType dtype = DType::kFloat32;
  std::vector<ChannelStats> channels;
  std::string color_evidence;           // "RGB", "BGR" or "" (image too grey to tell)
  std::vector<std::string> problems;    // each one fails the check
  std::filesystem::path visualization;  // when written
};

struct CheckOptions {
  Recipe recipe;
  std::optional<Recipe> expected;  // the preset the model expects (for range and colour checks)
  std::optional<Shape> expected_shape;  // the model (or config) input shape; -1 = any
  std::string expected_source;          // names it in messages
  int num_samples = 5;
  std::uint64_t seed = 42;
  bool visualize = false;
  std::filesystem::path output_dir;
};

struct CheckReport {
  std::vector<SampleReport> samples;
  std::vector<std::string> problems;  // recipe-level
  std::filesystem::path contact_sheet;
  bool ok() const;
};

// Samples num_samples images (seeded, in sorted order), runs the recipe and checks each.
// Images that fail to decode are reported as problems, not thrown.
CheckReport run_check(const std::vector<std::filesystem::path>& images,
                      const CheckOptions& options);

// Per-channel statistics of one sample (channel axis from the recipe's shape inference).
std::vector<ChannelStats> channel_stats(const Tensor& sample, int channel_axis);

}  // namespace qcal::preprocess
