// The sample-data layer: what `--data`, `--eval-data` and `eval --data` mean, resolved once for
// every verb that feeds a model (calibrate, eval, sensitivity). The data is
// - an .npy of [N, ...] (a single-input model), streamed by rows;
// - an .npz whose members are named after the model inputs (or its only member, for a
//   single-input model), each streamed by rows;
// - images: a folder (recursive, any letter case), one image file, a list file (one path per
//   line, as `qcal sample` writes), or a DX-COM config (its dataset_path and case-sensitive
//   file_extensions, exactly as `qcal pack` and DX-COM read it), preprocessed one at a time by a
//   recipe fitted to the model input (preprocess/model_fit.hpp: presets take the model's size,
//   layout and input name; a recipe file whose output cannot feed the model is refused).
// A sample's rows must feed the model input after its batch axis ([C, H, W] for [B, C, H, W]);
// rows that carry a batch axis of 1 themselves ([1, C, H, W]) are accepted as the same bytes.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <opencv2/core.hpp>
#include <optional>
#include <string>
#include <vector>

#include "core/tensor.hpp"
#include "preprocess/model_fit.hpp"
#include "preprocess/pipeline.hpp"

namespace qcal::preprocess {

// What the user asked for.
struct DataRequest {
  std::filesystem::path data;
  std::string recipe;  // preset or recipe .json, for images (a DX-COM config brings its own)
  std::optional<std::array<int, 2>> size_wh;  // presets on a model with a dynamic size
  std::int64_t limit = 0;                     // the first N samples (0: all)
  std::string option = "--data";              // the option that named the data, for messages
};

// A request for DATA with an optional recipe.
DataRequest data_request(std::filesystem::path data, std::string recipe = {});

// Set by a DX-COM config: its calibration defaults.
struct DataDefaults {
  std::optional<std::int64_t> calibration_num;
  std::optional<std::string> calibration_method;
};

// One sample as a model run takes it: per model input (in the order given to open_sample_data)
// a tensor of shape [1, row...]; for image data the decoded image (when asked for) and where the
// recipe placed it in the network input.
struct Sample {
  std::string name;  // the image file, or "data.npy[i]"
  std::vector<Tensor> inputs;
  std::optional<ImageGeometry> geometry;
  cv::Mat image;  // BGR, only with_image
};

class SampleData {
 public:
  virtual ~SampleData() = default;
  // Samples available (after the request's limit).
  std::int64_t size() const { return limit_ > 0 ? std::min(rows(), limit_) : rows(); }
  // Keeps the first `limit` samples (0: all).
  void set_limit(std::int64_t limit) { limit_ = limit; }
  // Rows [first, first + count) of every input, each [count, row...] with the row shapes below.
  virtual std::vector<Tensor> read(std::int64_t first, std::int64_t count) = 0;
  virtual Sample sample(std::int64_t index, bool with_image);
  // Names sample i in error messages (the image file, or "row i of data.npy").
  virtual std::string sample_name(std::int64_t index) const = 0;
  // The short name Sample::name carries (the image's file name, "data.npy[i]").
  virtual std::string sample_label(std::int64_t index) const { return sample_name(index); }
  virtual bool has_images() const { return false; }
  // The channel order image samples feed the model ("BGR", "RGB", ...: output_color_order of
  // the recipe); empty for tensor data.
  virtual std::string color_order() const { return {}; }
  // True for a source read once, in order, that learns its length by reading (a Python
  // iterator, through the public API): size() counts the samples read or buffered so far and
  // grows as read() pulls more, and only the first samples can be read again.
  virtual bool streamed() const { return false; }

  const std::vector<ModelInputInfo>& inputs() const { return inputs_; }
  // One per input: a sample without its batch axis, and its element type.
  const std::vector<Shape>& row_shapes() const { return row_shapes_; }
  const std::vector<DType>& dtypes() const { return dtypes_; }
  // False for an input the model declares without a batch axis (the row is the whole input).
  bool batched(std::size_t input) const { return batched_.at(input); }
  const std::string& description() const { return description_; }  // the data as given
  // The preprocessing that produced the samples ("yolo", a recipe file, a DX-COM config);
  // empty for tensor data.
  const std::string& recipe_description() const { return recipe_description_; }
  const DataDefaults& defaults() const { return defaults_; }
  // What the caller should tell the user (e.g. images a DX-COM config's extensions skip).
  const std::vector<std::string>& warnings() const { return warnings_; }
  void add_warnings(std::vector<std::string> w) {
    warnings_.insert(warnings_.end(), w.begin(), w.end());
  }
  // A one-sample read() shaped as the model takes it: [1, row...], or the row itself for an
  // input without a batch axis.
  void shape_for_model(std::vector<Tensor>& one_sample) const;

 protected:
  // Samples the data holds, before the limit.
  virtual std::int64_t rows() const = 0;
  void describe(std::string description, std::string recipe_description);
  // Checks each row against its input (throwing kInvalidArgument naming the data, the input
  // and both shapes) and keeps the shapes the model takes.
  void set_rows(std::vector<ModelInputInfo> inputs, std::vector<Shape> rows,
                std::vector<DType> dtypes);

  std::string description_;
  std::string recipe_description_;
  DataDefaults defaults_;
  std::vector<std::string> warnings_;

 private:
  std::vector<ModelInputInfo> inputs_;
  std::vector<Shape> row_shapes_;
  std::vector<DType> dtypes_;
  std::vector<bool> batched_;
  std::int64_t limit_ = 0;
};

// Opens the data for a model with these inputs (in model order). Throws naming the file, the
// image or the input when the data cannot feed the model.
std::unique_ptr<SampleData> open_sample_data(const DataRequest& request,
                                             const std::vector<ModelInputInfo>& inputs);

// True when `data` names preprocessed tensors (.npy/.npz, any letter case).
bool is_tensor_data(const std::filesystem::path& data);

}  // namespace qcal::preprocess
