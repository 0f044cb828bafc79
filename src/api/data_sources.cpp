// ArrayData and StreamData: the public API's arrays and streams behind preprocess::SampleData.
#include "api/data_sources.hpp"

#include <algorithm>
#include <cstring>
#include <deque>

#include "api/convert.hpp"
#include "core/error.hpp"

namespace qcal::api {
namespace {

// The one model input calibration feeds (statistics.cpp checks the same for files).
const preprocess::ModelInputInfo& single_input(const std::vector<preprocess::ModelInputInfo>& in,
                                               const std::string& what) {
  if (in.size() != 1) {
    throw Error(ErrorCode::kUnsupported, "calibration from " + what +
                                             " needs a model with one input, this one has " +
                                             std::to_string(in.size()));
  }
  return in[0];
}

std::int64_t model_batch(const preprocess::ModelInputInfo& input) {
  return input.shape.empty() || input.shape[0] <= 0 ? 1 : input.shape[0];
}

// Rows [first, first + count) of `samples` as one tensor over `samples`' memory.
Tensor rows_view(const Tensor& samples, std::int64_t first, std::int64_t count) {
  Shape shape = samples.shape();
  const std::size_t row_bytes = samples.nbytes() / static_cast<std::size_t>(shape[0]);
  shape[0] = count;
  auto* base = static_cast<std::byte*>(const_cast<void*>(samples.raw_data()));
  return Tensor::alias(samples.dtype(), std::move(shape), samples,
                       base + static_cast<std::size_t>(first) * row_bytes);
}

class ArrayData : public preprocess::SampleData {
 public:
  ArrayData(const Array& samples, const std::vector<preprocess::ModelInputInfo>& inputs)
      : samples_(to_tensor(samples)) {
    describe("an array " + shape_to_string(samples_.shape()) + " " +
                 std::string(dtype_name(samples_.dtype())),
             "");
    const auto& input = single_input(inputs, "an array");
    if (samples_.shape().empty()) {
      throw Error(ErrorCode::kInvalidArgument, "the array has no sample axis: a scalar")
          .with("tensor", input.name);
    }
    const Shape row(samples_.shape().begin() + 1, samples_.shape().end());
    set_rows(inputs, {row}, {samples_.dtype()});
  }
  std::vector<Tensor> read(std::int64_t first, std::int64_t count) override {
    if (first < 0 || count <= 0 || first + count > rows()) {
      throw Error(ErrorCode::kInternal, "rows out of range of the array")
          .with("data", description());
    }
    Tensor t = rows_view(samples_, first, count);
    Shape shape = row_shapes()[0];
    shape.insert(shape.begin(), count);
    return {t.reshaped(std::move(shape))};
  }
  std::string sample_name(std::int64_t index) const override {
    return "row " + std::to_string(index) + " of " + description();
  }

 protected:
  std::int64_t rows() const override { return samples_.shape()[0]; }

 private:
  Tensor samples_;
};

class StreamData : public preprocess::SampleData {
 public:
  StreamData(std::shared_ptr<SampleStream> stream,
             const std::vector<preprocess::ModelInputInfo>& inputs, const StreamOptions& options)
      : stream_(std::move(stream)), options_(options) {
    describe(stream_->description(), "");
    input_ = single_input(inputs, stream_->description());
    lookahead_ = model_batch(input_);
    std::optional<Tensor> first = pull_one();
    if (!first) {
      throw Error(ErrorCode::kInvalidArgument, "the data yielded no samples")
          .with("data", description());
    }
    first_shape_ = first->shape();
    set_rows(inputs, {first_shape_}, {first->dtype()});
    store(std::move(*first));
    fill();
  }

  bool streamed() const override { return true; }
  std::vector<Tensor> read(std::int64_t first, std::int64_t count) override {
    std::vector<Tensor> parts;
    for (std::int64_t i = first; i < first + count; ++i) parts.push_back(at(i));
    if (first + count > consumed_) consume_until(first + count);
    return {stack(parts)};
  }
  std::string sample_name(std::int64_t index) const override {
    return "sample " + std::to_string(index) + " of " + description();
  }

 protected:
  std::int64_t rows() const override { return pulled_; }

 private:
  // The next sample as a tensor of the first sample's shape, or none at the end.
  std::optional<Tensor> pull_one() {
    if (ended_ || (options_.limit > 0 && pulled_ >= options_.limit)) return std::nullopt;
    if (options_.control) check_cancel(*options_.control, "calibrate");
    std::optional<StreamSample> s = stream_->next();
    if (!s) {
      ended_ = true;
      return std::nullopt;
    }
    return to_sample_tensor(*s);
  }
  Tensor to_sample_tensor(const StreamSample& s) const;
  void store(Tensor t) {
    if (pulled_ < options_.keep) head_.push_back(t);
    ahead_.push_back(std::move(t));
    ++pulled_;
  }
  void fill() {
    while (pulled_ < consumed_ + lookahead_) {
      std::optional<Tensor> t = pull_one();
      if (!t) return;
      store(std::move(*t));
    }
  }
  const Tensor& at(std::int64_t i) {
    while (i >= pulled_) {
      std::optional<Tensor> t = pull_one();
      if (!t) throw Error(ErrorCode::kInternal, "read past the end of the stream");
      store(std::move(*t));
    }
    if (i < static_cast<std::int64_t>(head_.size())) return head_[static_cast<std::size_t>(i)];
    if (i >= consumed_) return ahead_[static_cast<std::size_t>(i - consumed_)];
    throw Error(ErrorCode::kInternal,
                "sample " + std::to_string(i) + " was read already: a stream is read once")
        .with("data", description());
  }
  void consume_until(std::int64_t end) {
    while (consumed_ < end && !ahead_.empty()) {
      ahead_.pop_front();
      ++consumed_;
    }
    fill();
  }
  Tensor stack(const std::vector<Tensor>& parts) const {
    Shape shape = row_shapes()[0];
    shape.insert(shape.begin(), static_cast<std::int64_t>(parts.size()));
    if (parts.size() == 1) return parts[0].reshaped(shape);  // the caller's memory, no copy
    Tensor out(parts[0].dtype(), shape);
    auto* dst = static_cast<std::byte*>(out.raw_data());
    for (const auto& p : parts) {
      std::memcpy(dst, p.raw_data(), p.nbytes());
      dst += p.nbytes();
    }
    return out;
  }

  std::shared_ptr<SampleStream> stream_;
  StreamOptions options_;
  preprocess::ModelInputInfo input_;
  Shape first_shape_;
  std::int64_t lookahead_ = 1;
  std::vector<Tensor> head_;
  std::deque<Tensor> ahead_;  // samples [consumed_, pulled_)
  std::int64_t pulled_ = 0, consumed_ = 0;
  bool ended_ = false;
};

// The sample's array for the model input (named, or the only unnamed entry), checked against
// the input's row and the first sample's element type.
Tensor StreamData::to_sample_tensor(const StreamSample& s) const {
  const std::string where = sample_name(pulled_);
  const Array* found = nullptr;
  for (const auto& [name, array] : s.inputs) {
    if (name.empty() || name == input_.name) {
      found = &array;
    } else {
      throw Error(ErrorCode::kInvalidArgument, "the sample names input '" + name +
                                                   "', the model's input is '" + input_.name + "'")
          .with("image", where)
          .with("tensor", name);
    }
  }
  if (!found) {
    throw Error(ErrorCode::kInvalidArgument,
                "the sample has no array for input '" + input_.name + "'")
        .with("image", where);
  }
  Tensor t = to_tensor(*found);
  if (first_shape_.empty()) return t;  // the first sample: set_rows checks it
  const Shape& row = row_shapes()[0];
  const Shape& shape = t.shape();
  const bool fits = shape == row || (shape.size() == row.size() + 1 && shape[0] == 1 &&
                                     std::equal(row.begin(), row.end(), shape.begin() + 1));
  if (!fits || t.dtype() != dtypes()[0]) {
    throw Error(ErrorCode::kInvalidArgument,
                "the sample is " + shape_to_string(shape) + " " +
                    std::string(dtype_name(t.dtype())) + ", the model input '" + input_.name +
                    "' takes " + shape_to_string(row) + " " + std::string(dtype_name(dtypes()[0])) +
                    " samples (with or without a batch axis of 1)")
        .with("image", where)
        .with("tensor", input_.name);
  }
  return t;
}

}  // namespace

std::unique_ptr<preprocess::SampleData> open_array_data(
    const Array& samples, const std::vector<preprocess::ModelInputInfo>& inputs) {
  return std::make_unique<ArrayData>(samples, inputs);
}

std::unique_ptr<preprocess::SampleData> open_stream_data(
    std::shared_ptr<SampleStream> stream, const std::vector<preprocess::ModelInputInfo>& inputs,
    const StreamOptions& options) {
  return std::make_unique<StreamData>(std::move(stream), inputs, options);
}

}  // namespace qcal::api
