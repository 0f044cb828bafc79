// `qcal eval`'s samples: the sample-data layer (preprocess/sample_data.hpp) as the evaluation
// loop reads it, one sample at a time with its name and the recipe's letterbox geometry.
#include "eval/samples.hpp"

#include "core/error.hpp"
#include "core/rng.hpp"

namespace qcal::eval {
namespace {

Letterbox to_letterbox(const preprocess::ImageGeometry& g) {
  Letterbox lb;
  lb.image_w = g.image_w;
  lb.image_h = g.image_h;
  lb.input_w = g.input_w;
  lb.input_h = g.input_h;
  lb.gain_x = g.gain_x;
  lb.gain_y = g.gain_y;
  lb.pad_left = g.pad_left;
  lb.pad_top = g.pad_top;
  return lb;
}

ReportImage report_image(const cv::Mat& bgr) {
  ReportImage im;
  if (bgr.empty()) return im;
  const cv::Mat c = bgr.isContinuous() ? bgr : bgr.clone();
  im.width = c.cols;
  im.height = c.rows;
  im.channels = 3;
  im.pixels.assign(c.data, c.data + c.total() * 3);
  return im;
}

// The data's samples at `rows` (all of them when empty).
class LayerSource final : public SampleSource {
 public:
  LayerSource(std::unique_ptr<preprocess::SampleData> data, std::vector<std::int64_t> rows)
      : data_(std::move(data)), rows_(std::move(rows)) {}
  std::size_t size() const override {
    return rows_.empty() ? static_cast<std::size_t>(data_->size()) : rows_.size();
  }
  bool has_images() const override { return data_->has_images(); }
  EvalSample get(std::size_t index, bool with_source) override {
    const auto row = rows_.empty() ? static_cast<std::int64_t>(index) : rows_.at(index);
    preprocess::Sample s = data_->sample(row, with_source);
    EvalSample out;
    out.name = std::move(s.name);
    if (data_->has_images()) out.file = data_->sample_name(row);
    out.color_order = data_->color_order();
    for (std::size_t k = 0; k < s.inputs.size(); ++k) {
      out.inputs[data_->inputs()[k].name] = std::move(s.inputs[k]);
    }
    if (s.geometry) out.geometry = to_letterbox(*s.geometry);
    if (with_source) out.source = report_image(s.image);
    return out;
  }
  const preprocess::SampleData& data() const override { return *data_; }

 private:
  std::unique_ptr<preprocess::SampleData> data_;
  std::vector<std::int64_t> rows_;
};

}  // namespace

std::vector<preprocess::ModelInputInfo> model_input_infos(const engine::Model& model,
                                                          const std::string& source) {
  std::vector<preprocess::ModelInputInfo> out;
  for (const auto& in : model.inputs()) {
    preprocess::ModelInputInfo info;
    info.name = in.name;
    info.shape = in.shape;
    info.dtype = in.dtype;
    info.source = source;
    out.push_back(std::move(info));
  }
  return out;
}

std::vector<std::int64_t> spread_indices(std::int64_t total, std::int64_t count,
                                         std::uint64_t seed) {
  std::vector<std::int64_t> out;
  if (total <= 0 || count <= 0) return out;
  if (count >= total) {
    for (std::int64_t i = 0; i < total; ++i) out.push_back(i);
    return out;
  }
  Rng rng(seed);
  for (std::int64_t j = 0; j < count; ++j) {
    const std::int64_t lo = j * total / count;
    const std::int64_t hi = (j + 1) * total / count;  // > lo since count < total
    out.push_back(lo +
                  static_cast<std::int64_t>(rng.next_below(static_cast<std::uint64_t>(hi - lo))));
  }
  return out;
}

std::unique_ptr<SampleSource> open_samples(const preprocess::DataRequest& request,
                                           const engine::Model& model,
                                           const std::string& model_name, std::uint64_t seed) {
  preprocess::DataRequest all = request;
  all.limit = 0;
  auto data = preprocess::open_sample_data(all, model_input_infos(model, model_name));
  std::vector<std::int64_t> rows;
  if (request.limit > 0 && request.limit < data->size()) {
    rows = spread_indices(data->size(), request.limit, seed);
  }
  return std::make_unique<LayerSource>(std::move(data), std::move(rows));
}

std::unique_ptr<SampleSource> open_samples(const std::filesystem::path& data,
                                           const std::string& recipe, const engine::Model& model,
                                           std::size_t limit) {
  preprocess::DataRequest r = preprocess::data_request(data, recipe);
  r.limit = static_cast<std::int64_t>(limit);
  return open_samples(r, model, "");
}

std::optional<ReportThumbnail> sample_thumbnail(const EvalSample& s) {
  ReportThumbnail t;
  t.caption = s.name;
  if (!s.source.pixels.empty()) t.before = make_thumbnail(s.source, 160);
  const Tensor& in = s.inputs.begin()->second;
  const auto& sh = in.shape();
  if (in.dtype() == DType::kFloat32 && sh.size() == 4 && sh[0] == 1 && (sh[1] == 1 || sh[1] == 3)) {
    t.after = make_thumbnail(image_from_chw(in.view(), s.color_order), 160);
  }
  if (t.before.pixels.empty() && t.after.pixels.empty()) return std::nullopt;
  return t;
}

std::vector<std::vector<Tensor>> model_inputs(SampleSource& source, const engine::Model& model) {
  std::vector<std::vector<Tensor>> samples;
  for (std::size_t i = 0; i < source.size(); ++i) {
    EvalSample s = source.get(i, false);
    std::vector<Tensor> ins;
    for (const auto& in : model.inputs()) ins.push_back(s.inputs.at(in.name));
    samples.push_back(std::move(ins));
  }
  return samples;
}

}  // namespace qcal::eval
