// Statistics collection on a model file and an .npy, as calibrate runs it (tests only).
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "engine/model.hpp"
#include "eval/samples.hpp"
#include "preprocess/sample_data.hpp"
#include "quantize/statistics.hpp"

namespace qcal::test {

inline calib::StatsSet collect(const std::filesystem::path& model_path,
                               const std::vector<std::string>& required,
                               const std::filesystem::path& npy,
                               const quantize::CollectOptions& options) {
  auto model = std::make_shared<const engine::Model>(engine::Model::load(model_path));
  preprocess::DataRequest request;
  request.data = npy;
  auto data =
      preprocess::open_sample_data(request, eval::model_input_infos(*model, model_path.string()));
  return quantize::collect_statistics(model, required, *data, options).stats;
}

}  // namespace qcal::test
