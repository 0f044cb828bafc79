// The sample-data layer: .npy/.npz streamed by rows, images through a recipe fitted to the
// model, one resolver for every verb.
#include "preprocess/sample_data.hpp"

#include <algorithm>
#include <cstring>

#include "core/error.hpp"
#include "core/files.hpp"
#include "core/npy.hpp"
#include "core/npz.hpp"
#include "preprocess/recipe_json.hpp"
#include "preprocess/sources.hpp"

namespace qcal::preprocess {
namespace {

bool dims_match(const Shape& declared, const Shape& actual) {
  if (declared.size() != actual.size()) return false;
  for (std::size_t i = 0; i < declared.size(); ++i) {
    if (declared[i] >= 0 && actual[i] >= 0 && declared[i] != actual[i]) return false;
  }
  return true;
}

Shape without_first(const Shape& s) { return s.empty() ? s : Shape(s.begin() + 1, s.end()); }

// How a row feeds the input: after its batch axis (batched), or as the whole input of a model
// without a batch axis.
struct RowFit {
  Shape row;
  bool batched = true;
};

// The row as the model's input takes it: after its batch axis ([C, H, W] for [B, C, H, W]), the
// same without a batch axis of 1 the row carries itself, or the whole input of a model that has
// no batch axis. nullopt when it cannot feed the input.
std::optional<RowFit> fit_row(const Shape& input_shape, const Shape& row) {
  if (input_shape.empty()) return std::nullopt;
  if (dims_match(without_first(input_shape), row)) return RowFit{row, true};
  if (!row.empty() && row[0] == 1 && dims_match(input_shape, row)) {
    return RowFit{without_first(row), true};
  }
  if (dims_match(input_shape, row)) return RowFit{row, false};
  return std::nullopt;
}

std::string row_name(const std::string& file, std::int64_t index) {
  return "row " + std::to_string(index) + " of " + file;
}

std::string row_label(const std::string& file, std::int64_t index) {
  return file + "[" + std::to_string(index) + "]";
}

// An .npy, streamed by rows (one input).
class NpyData final : public SampleData {
 public:
  NpyData(const std::filesystem::path& path, const std::vector<ModelInputInfo>& inputs)
      : file_(path.filename().string()), reader_(path) {
    description_ = path.string();
    if (inputs.size() != 1) {
      throw Error(ErrorCode::kInvalidArgument,
                  "an .npy feeds a single-input model; this model has " +
                      std::to_string(inputs.size()) +
                      " inputs: give an .npz with one member per input name")
          .with("file", path.string());
    }
    const Shape& s = reader_.header().shape;
    if (s.empty()) {
      throw Error(ErrorCode::kInvalidArgument,
                  "the data must have a sample dimension, got a scalar")
          .with("file", path.string());
    }
    set_rows(inputs, {without_first(s)}, {reader_.header().dtype});
  }
  std::int64_t rows() const override { return reader_.rows(); }
  std::vector<Tensor> read(std::int64_t first, std::int64_t count) override {
    Shape shape = row_shapes()[0];
    shape.insert(shape.begin(), count);
    return {reader_.read_rows(first, count).reshaped(shape)};
  }
  std::string sample_name(std::int64_t index) const override { return row_name(file_, index); }
  std::string sample_label(std::int64_t index) const override { return row_label(file_, index); }

 private:
  std::string file_;
  NpyReader reader_;
};

// The member of an .npz that feeds `input`: named after it, or the only member of a
// single-input model's data.
std::string npz_member(const std::filesystem::path& path, const std::vector<std::string>& names,
                       const ModelInputInfo& input, std::size_t input_count) {
  for (const auto& name : names) {
    if (name == input.name) return name;
  }
  if (names.size() == 1 && input_count == 1) return names[0];
  std::string have;
  for (const auto& n : names) have += (have.empty() ? "" : ", ") + n;
  throw Error(ErrorCode::kInvalidArgument, "no member named after model input '" + input.name +
                                               "' (members: " + (have.empty() ? "none" : have) +
                                               ")")
      .with("file", path.string())
      .with("tensor", input.name);
}

// An .npz, every member streamed by rows.
class NpzData final : public SampleData {
 public:
  NpzData(const std::filesystem::path& path, const std::vector<ModelInputInfo>& inputs)
      : file_(path.filename().string()) {
    description_ = path.string();
    const auto names = npz_array_names(path);
    std::vector<Shape> rows;
    std::vector<DType> dtypes;
    std::string member;
    for (const auto& in : inputs) {
      member = npz_member(path, names, in, inputs.size());
      readers_.push_back(std::make_unique<NpzArrayReader>(path, member));
      const Shape& s = readers_.back()->header().shape;
      if (s.empty()) {
        throw Error(ErrorCode::kInvalidArgument, "member '" + member + "' is a scalar")
            .with("file", path.string());
      }
      if (rows_ >= 0 && s[0] != rows_) {
        throw Error(ErrorCode::kInvalidArgument, "members hold different sample counts")
            .with("file", path.string());
      }
      rows_ = s[0];
      rows.push_back(without_first(s));
      dtypes.push_back(readers_.back()->header().dtype);
    }
    if (inputs.size() == 1) description_ += ":" + member;
    set_rows(inputs, std::move(rows), std::move(dtypes));
  }
  std::int64_t rows() const override { return std::max<std::int64_t>(rows_, 0); }
  std::vector<Tensor> read(std::int64_t first, std::int64_t count) override {
    std::vector<Tensor> out;
    for (std::size_t k = 0; k < readers_.size(); ++k) {
      Shape shape = row_shapes()[k];
      shape.insert(shape.begin(), count);
      out.push_back(readers_[k]->read_rows(first, count).reshaped(shape));
    }
    return out;
  }
  std::string sample_name(std::int64_t index) const override { return row_name(file_, index); }
  std::string sample_label(std::int64_t index) const override { return row_label(file_, index); }

 private:
  std::string file_;
  std::vector<std::unique_ptr<NpzArrayReader>> readers_;
  std::int64_t rows_ = -1;
};

// Images preprocessed one at a time, in listed order.
class ImageData final : public SampleData {
 public:
  ImageData(const DataRequest& r, ImageSource source, Recipe recipe, const ModelInputInfo& input)
      : files_(std::move(source.images)), pipeline_(std::move(recipe)) {
    describe(r.data.string(), !r.recipe.empty() ? r.recipe : "DX-COM config " + r.data.string());
    if (source.config) {
      defaults_.calibration_num = source.config->calibration_num;
      defaults_.calibration_method = source.config->calibration_method;
    }
    set_limit(r.limit);
    const Tensor first = load(0, nullptr);
    set_rows({input}, {image_row(first.shape(), 0)}, {first.dtype()});
  }
  std::int64_t rows() const override { return static_cast<std::int64_t>(files_.size()); }
  bool has_images() const override { return true; }
  std::string color_order() const override { return output_color_order(pipeline_.recipe()); }
  std::vector<Tensor> read(std::int64_t first, std::int64_t count) override {
    Shape shape = row_shapes()[0];
    shape.insert(shape.begin(), count);
    Tensor out(dtypes()[0], shape);
    const std::size_t row_bytes =
        out.nbytes() / static_cast<std::size_t>(std::max<std::int64_t>(count, 1));
    for (std::int64_t k = 0; k < count; ++k) {
      const Tensor t = checked(load(first + k, nullptr), first + k);
      std::memcpy(static_cast<std::byte*>(out.raw_data()) + row_bytes * static_cast<std::size_t>(k),
                  t.raw_data(), row_bytes);
    }
    return {out};
  }
  Sample sample(std::int64_t index, bool with_image) override {
    Sample s;
    s.name = files_[static_cast<std::size_t>(index)].filename().string();
    cv::Mat image;
    Tensor t = checked(load(index, &image), index);
    Shape shape = row_shapes()[0];
    shape.insert(shape.begin(), 1);
    s.inputs.push_back(t.reshaped(shape));
    shape_for_model(s.inputs);
    s.geometry = recipe_geometry(pipeline_.recipe(), image.cols, image.rows);
    if (with_image) s.image = image;
    return s;
  }
  std::string sample_name(std::int64_t index) const override {
    return files_[static_cast<std::size_t>(index)].string();
  }

 private:
  Tensor load(std::int64_t index, cv::Mat* decoded) const {
    const auto& file = files_[static_cast<std::size_t>(index)];
    try {
      cv::Mat image = decode_image(file);
      Tensor t = pipeline_.run(image);
      if (decoded) *decoded = std::move(image);
      return t;
    } catch (Error& e) {
      e.with("image", file.string());
      throw;
    }
  }
  // A recipe output [1, C, H, W] is one sample of row [C, H, W].
  Shape image_row(const Shape& s, std::int64_t index) const {
    if (s.empty() || s[0] != 1) {
      throw Error(ErrorCode::kInvalidArgument,
                  "the recipe must produce one sample with a leading batch dimension of 1 "
                  "(expandDim), got " +
                      shape_to_string(s))
          .with("image", files_[static_cast<std::size_t>(index)].string());
    }
    return without_first(s);
  }
  // Every image must give the first one's shape (a recipe without a fixed resize may not).
  const Tensor& checked(const Tensor& t, std::int64_t index) const {
    if (image_row(t.shape(), index) != row_shapes()[0]) {
      throw Error(ErrorCode::kInvalidArgument,
                  "preprocessed image has shape " + shape_to_string(t.shape()) +
                      ", expected rows of " + shape_to_string(row_shapes()[0]) +
                      " (add a resize step to the recipe)")
          .with("image", files_[static_cast<std::size_t>(index)].string());
    }
    return t;
  }

  std::vector<std::filesystem::path> files_;
  Pipeline pipeline_;
};

// The recipe for images: a preset fitted to the model input, a recipe file checked against it,
// or (none given) a DX-COM config's own.
Recipe image_recipe(const DataRequest& r, const ImageSource& source, const ModelInputInfo& input) {
  if (!r.recipe.empty()) return fit_recipe_to_model(r.recipe, input, r.size_wh);
  if (!source.config) {
    throw Error(ErrorCode::kInvalidArgument,
                r.option + " " + r.data.string() +
                    " is images: they need --recipe (a preset such as yolo, or a recipe .json): "
                    "the preprocessing the model expects")
        .with("file", r.data.string());
  }
  Recipe recipe = source.config->recipe;
  check_recipe_feeds(recipe, input);
  return recipe;
}

// Images a DX-COM config skips because their extension differs in letter case from its
// file_extensions (DX-COM matches exactly).
std::vector<std::string> dxcom_warnings(const DataRequest& r, const ImageSource& source) {
  if (!source.config) return {};
  std::vector<std::string> exts = source.config->file_extensions;
  if (exts.empty()) exts = {"jpeg", "jpg", "png"};
  const auto dataset = resolve_dataset_path(*source.config, r.data);
  const auto missed = list_missed_images(dataset, exts);
  if (missed.empty()) return {};
  return {std::to_string(missed.size()) + " image(s) in " + dataset.string() +
          " are not loaded: their extension is not one of the config's file_extensions "
          "(matched case-sensitively, as DX-COM does), e.g. " +
          missed.front().filename().string()};
}

std::unique_ptr<SampleData> open_images(const DataRequest& r,
                                        const std::vector<ModelInputInfo>& inputs) {
  ImageSource source;
  std::error_code ec;
  if (std::filesystem::is_regular_file(r.data, ec) && has_extension(r.data, kImageExtensions)) {
    source.kind = "image";
    source.images = {r.data};
  } else {
    source = resolve_image_source(r.data);
  }
  if (inputs.size() != 1) {
    throw Error(ErrorCode::kInvalidArgument, "images feed a single-input model; this model has " +
                                                 std::to_string(inputs.size()) +
                                                 " inputs: give an .npz with one member per "
                                                 "input name")
        .with("file", r.data.string());
  }
  Recipe recipe = image_recipe(r, source, inputs[0]);
  std::vector<std::string> warnings = dxcom_warnings(r, source);
  auto data = std::make_unique<ImageData>(r, std::move(source), std::move(recipe), inputs[0]);
  data->add_warnings(std::move(warnings));
  return data;
}

}  // namespace

Sample SampleData::sample(std::int64_t index, bool) {
  Sample s;
  s.name = sample_label(index);
  s.inputs = read(index, 1);
  shape_for_model(s.inputs);
  return s;
}

void SampleData::shape_for_model(std::vector<Tensor>& one_sample) const {
  for (std::size_t k = 0; k < one_sample.size() && k < batched_.size(); ++k) {
    if (!batched_[k]) one_sample[k] = one_sample[k].reshaped(row_shapes_[k]);
  }
}

void SampleData::describe(std::string description, std::string recipe_description) {
  description_ = std::move(description);
  recipe_description_ = std::move(recipe_description);
}

void SampleData::set_rows(std::vector<ModelInputInfo> inputs, std::vector<Shape> rows,
                          std::vector<DType> dtypes) {
  batched_.clear();
  for (std::size_t k = 0; k < inputs.size(); ++k) {
    const ModelInputInfo& in = inputs[k];
    const auto fitted = fit_row(in.shape, rows[k]);
    if (!fitted) {
      Error e(ErrorCode::kInvalidArgument,
              "the data's sample shape " + shape_to_string(rows[k]) +
                  " does not match model input '" + in.name + "' " + shape_to_string(in.shape) +
                  " (batch first; the data's first axis counts samples)");
      e.with("data", description_).with("tensor", in.name);
      if (!in.source.empty()) e.with("model", in.source);
      throw e;
    }
    if (in.dtype != DType::kUndefined && dtypes[k] != in.dtype) {
      Error e(ErrorCode::kInvalidArgument, "the data is " + std::string(dtype_name(dtypes[k])) +
                                               " but model input '" + in.name + "' is " +
                                               std::string(dtype_name(in.dtype)));
      e.with("data", description_).with("tensor", in.name);
      throw e;
    }
    rows[k] = fitted->row;
    batched_.push_back(fitted->batched);
  }
  inputs_ = std::move(inputs);
  row_shapes_ = std::move(rows);
  dtypes_ = std::move(dtypes);
}

DataRequest data_request(std::filesystem::path data, std::string recipe) {
  DataRequest r;
  r.data = std::move(data);
  r.recipe = std::move(recipe);
  return r;
}

bool is_tensor_data(const std::filesystem::path& data) {
  const std::string ext = extension_lower(data);
  return ext == "npy" || ext == "npz";
}

std::unique_ptr<SampleData> open_sample_data(const DataRequest& r,
                                             const std::vector<ModelInputInfo>& inputs) {
  std::error_code ec;
  if (!std::filesystem::exists(r.data, ec)) {
    throw Error(ErrorCode::kIo, r.option + ": data not found").with("file", r.data.string());
  }
  if (inputs.empty()) throw Error(ErrorCode::kInvalidArgument, "the model has no inputs");
  if (!is_tensor_data(r.data)) return open_images(r, inputs);
  if (!r.recipe.empty()) {
    throw Error(ErrorCode::kInvalidArgument,
                "--recipe applies to images; " + r.data.string() + " is already preprocessed")
        .with("file", r.data.string());
  }
  std::unique_ptr<SampleData> data;
  if (extension_lower(r.data) == "npy") {
    data = std::make_unique<NpyData>(r.data, inputs);
  } else {
    data = std::make_unique<NpzData>(r.data, inputs);
  }
  data->set_limit(r.limit);
  return data;
}

}  // namespace qcal::preprocess
