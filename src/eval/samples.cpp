// Sample sources for `qcal eval`: .npy rows, .npz members, images through a recipe.
#include "eval/samples.hpp"

#include <algorithm>
#include <cstring>
#include <opencv2/core.hpp>

#include "core/error.hpp"
#include "core/files.hpp"
#include "core/npy.hpp"
#include "core/npz.hpp"
#include "preprocess/pipeline.hpp"
#include "preprocess/recipe_json.hpp"

namespace qcal::eval {

namespace {

bool dims_match(const Shape& declared, const Shape& actual) {
  if (declared.size() != actual.size()) return false;
  for (std::size_t i = 0; i < declared.size(); ++i) {
    if (declared[i] >= 0 && declared[i] != actual[i]) return false;
  }
  return true;
}

// A sample row (without the sample axis) fitted to the model input: as is, or with a leading
// batch axis of 1. Throws naming the file and input otherwise.
Shape fit_row_shape(const engine::ValueInfo& input, const Shape& row, const std::string& file) {
  if (dims_match(input.shape, row)) return row;
  Shape with_batch = row;
  with_batch.insert(with_batch.begin(), 1);
  if (dims_match(input.shape, with_batch)) return with_batch;
  throw Error(ErrorCode::kInvalidArgument, "data rows of shape " + shape_to_string(row) +
                                               " do not fit model input '" + input.name +
                                               "' of shape " + shape_to_string(input.shape) +
                                               " (the first axis of the data counts samples)")
      .with("file", file)
      .with("tensor", input.name);
}

void check_dtype(const engine::ValueInfo& input, DType dtype, const std::string& file) {
  if (input.dtype != DType::kUndefined && input.dtype != dtype) {
    throw Error(ErrorCode::kInvalidArgument, "data is " + std::string(dtype_name(dtype)) +
                                                 " but model input '" + input.name + "' is " +
                                                 std::string(dtype_name(input.dtype)))
        .with("file", file)
        .with("tensor", input.name);
  }
}

class NpySource final : public SampleSource {
 public:
  NpySource(const std::filesystem::path& path, const engine::Model& model, std::size_t limit)
      : path_(path), reader_(path) {
    if (model.inputs().size() != 1) {
      throw Error(ErrorCode::kInvalidArgument,
                  "an .npy feeds a single-input model; this model has " +
                      std::to_string(model.inputs().size()) +
                      " inputs: give an .npz with one member per input name")
          .with("file", path.string());
    }
    input_ = model.inputs()[0];
    const Shape& s = reader_.header().shape;
    if (s.empty())
      throw Error(ErrorCode::kInvalidArgument, "data .npy is a scalar").with("file", path.string());
    check_dtype(input_, reader_.header().dtype, path.string());
    shape_ = fit_row_shape(input_, Shape(s.begin() + 1, s.end()), path.string());
    rows_ = static_cast<std::size_t>(reader_.rows());
    if (limit > 0) rows_ = std::min(rows_, limit);
  }
  std::size_t size() const override { return rows_; }
  bool has_images() const override { return false; }
  EvalSample get(std::size_t i, bool) override {
    EvalSample s;
    s.name = path_.filename().string() + "[" + std::to_string(i) + "]";
    s.inputs[input_.name] = reader_.read_rows(static_cast<std::int64_t>(i), 1).reshaped(shape_);
    return s;
  }

 private:
  std::filesystem::path path_;
  NpyReader reader_;
  engine::ValueInfo input_;
  Shape shape_;
  std::size_t rows_ = 0;
};

class NpzSource final : public SampleSource {
 public:
  NpzSource(const std::filesystem::path& path, const engine::Model& model, std::size_t limit)
      : path_(path) {
    auto members = read_npz(path);
    const auto& inputs = model.inputs();
    std::int64_t n = -1;
    for (const auto& in : inputs) {
      auto it = std::find_if(members.begin(), members.end(),
                             [&](const auto& m) { return m.first == in.name; });
      if (it == members.end() && inputs.size() == 1 && members.size() == 1) it = members.begin();
      if (it == members.end()) {
        std::string have;
        for (const auto& m : members) have += (have.empty() ? "" : ", ") + m.first;
        throw Error(ErrorCode::kInvalidArgument,
                    "no member named after model input '" + in.name + "' (members: " + have + ")")
            .with("file", path.string())
            .with("tensor", in.name);
      }
      const Tensor& t = it->second;
      if (t.shape().empty()) {
        throw Error(ErrorCode::kInvalidArgument, "member '" + it->first + "' is a scalar")
            .with("file", path.string());
      }
      check_dtype(in, t.dtype(), path.string());
      const Shape row(t.shape().begin() + 1, t.shape().end());
      shapes_.push_back(fit_row_shape(in, row, path.string()));
      if (n >= 0 && t.shape()[0] != n) {
        throw Error(ErrorCode::kInvalidArgument, "members hold different sample counts")
            .with("file", path.string());
      }
      n = t.shape()[0];
      names_.push_back(in.name);
      stacks_.push_back(t);
    }
    rows_ = static_cast<std::size_t>(std::max<std::int64_t>(n, 0));
    if (limit > 0) rows_ = std::min(rows_, limit);
  }
  std::size_t size() const override { return rows_; }
  bool has_images() const override { return false; }
  EvalSample get(std::size_t i, bool) override {
    EvalSample s;
    s.name = path_.filename().string() + "[" + std::to_string(i) + "]";
    for (std::size_t k = 0; k < names_.size(); ++k) {
      const Tensor& st = stacks_[k];
      Tensor t(st.dtype(), shapes_[k]);
      const std::size_t bytes = t.nbytes();
      std::memcpy(t.raw_data(), static_cast<const std::byte*>(st.raw_data()) + i * bytes, bytes);
      s.inputs[names_[k]] = t;
    }
    return s;
  }

 private:
  std::filesystem::path path_;
  std::vector<std::string> names_;
  std::vector<Tensor> stacks_;
  std::vector<Shape> shapes_;
  std::size_t rows_ = 0;
};

// The geometry of the recipe's resize step, when it can be inverted.
std::optional<Letterbox> recipe_geometry(const preprocess::Recipe& recipe, int image_w,
                                         int image_h) {
  std::optional<Letterbox> g;
  int steps_with_geometry = 0;
  for (const preprocess::Step& s : recipe.steps) {
    if (s.kind == preprocess::StepKind::kCenterCrop) return std::nullopt;
    if (s.kind != preprocess::StepKind::kResize) continue;
    ++steps_with_geometry;
    const int w = s.size > 0 ? s.size : s.width;
    const int h = s.size > 0 ? s.size : s.height;
    if (s.mode == preprocess::ResizeMode::kPad && w > 0 && h > 0) {
      std::string loc = s.pad_location;
      std::transform(loc.begin(), loc.end(), loc.begin(), ::tolower);
      g = loc == "corner" ? corner_letterbox(image_w, image_h, w, h)
                          : ultralytics_letterbox(image_w, image_h, w, h);
    } else if (s.mode == preprocess::ResizeMode::kDefault && w > 0 && h > 0) {
      g = stretch_geometry(image_w, image_h, w, h);
    } else {
      return std::nullopt;  // torchvision short-side resize: needs a crop step to be useful
    }
  }
  if (steps_with_geometry > 1) return std::nullopt;
  return g;
}

class ImageSource final : public SampleSource {
 public:
  ImageSource(const std::filesystem::path& data, const std::string& recipe,
              const engine::Model& model, std::size_t limit)
      : pipeline_(preprocess::resolve_recipe(recipe)) {
    files_ = list_files(data, kImageExtensions);
    if (files_.empty()) {
      throw Error(ErrorCode::kInvalidArgument, "no images found").with("file", data.string());
    }
    if (limit > 0 && files_.size() > limit) files_.resize(limit);
    if (model.inputs().size() != 1) {
      throw Error(ErrorCode::kInvalidArgument,
                  "images feed a single-input model; give an .npz for multi-input models");
    }
    input_ = model.inputs()[0];
    check_dtype(input_, pipeline_.recipe().dtype, recipe);
  }
  std::size_t size() const override { return files_.size(); }
  bool has_images() const override { return true; }
  EvalSample get(std::size_t i, bool with_source) override {
    EvalSample s;
    s.name = files_[i].filename().string();
    try {
      const cv::Mat img = preprocess::decode_image(files_[i]);
      Tensor t = pipeline_.run(img);
      if (!dims_match(input_.shape, t.shape())) {
        throw Error(ErrorCode::kInvalidArgument, "the recipe makes " + shape_to_string(t.shape()) +
                                                     " but model input '" + input_.name + "' is " +
                                                     shape_to_string(input_.shape));
      }
      s.inputs[input_.name] = t;
      s.geometry = recipe_geometry(pipeline_.recipe(), img.cols, img.rows);
      if (with_source) {
        s.source.width = img.cols;
        s.source.height = img.rows;
        s.source.channels = 3;
        const cv::Mat c = img.isContinuous() ? img : img.clone();
        s.source.pixels.assign(c.data, c.data + c.total() * 3);
      }
    } catch (Error& e) {
      e.with("image", files_[i].string());
      throw;
    }
    return s;
  }

 private:
  preprocess::Pipeline pipeline_;
  std::vector<std::filesystem::path> files_;
  engine::ValueInfo input_;
};

}  // namespace

std::unique_ptr<SampleSource> open_samples(const std::filesystem::path& data,
                                           const std::string& recipe, const engine::Model& model,
                                           std::size_t limit) {
  std::error_code ec;
  if (!std::filesystem::exists(data, ec)) {
    throw Error(ErrorCode::kIo, "data not found").with("file", data.string());
  }
  const std::string ext = extension_lower(data);
  if (std::filesystem::is_regular_file(data) && ext == "npy") {
    return std::make_unique<NpySource>(data, model, limit);
  }
  if (std::filesystem::is_regular_file(data) && ext == "npz") {
    return std::make_unique<NpzSource>(data, model, limit);
  }
  if (recipe.empty()) {
    throw Error(ErrorCode::kInvalidArgument,
                "images need --recipe (a preset such as yolo, or a recipe .json): the "
                "preprocessing the model expects")
        .with("file", data.string());
  }
  return std::make_unique<ImageSource>(data, recipe, model, limit);
}

}  // namespace qcal::eval
