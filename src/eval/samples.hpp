// The evaluation data as `qcal eval` reads it: the sample-data layer
// (preprocess/sample_data.hpp: .npy/.npz streamed, images through a recipe fitted to the model)
// one sample at a time, with each image's name and the letterbox geometry preprocessing applied.
#pragma once

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "engine/model.hpp"
#include "eval/detection.hpp"
#include "eval/report.hpp"
#include "eval/runtime.hpp"
#include "preprocess/sample_data.hpp"

namespace qcal::eval {

inline constexpr std::uint64_t kDefaultSpreadSeed = 42;

// `count` of the indices [0, total), in increasing order, one seeded draw from each of `count`
// equal strata (stratum j is [j*total/count, (j+1)*total/count)): every part of the data is
// represented, and the same seed gives the same indices everywhere. count >= total: all.
std::vector<std::int64_t> spread_indices(std::int64_t total, std::int64_t count,
                                         std::uint64_t seed);

struct EvalSample {
  std::string name;  // image file name, or "<file>[i]" for tensor data
  std::string file;  // the image file as listed (empty for tensor data)
  TensorMap inputs;  // by model input name, each with the model's shape (batch 1)
  // Where the image sits in the network input (what the recipe's resize step did); absent for
  // tensor data and for recipes whose geometry cannot be inverted (torchvision resize, crops).
  std::optional<Letterbox> geometry;
  ReportImage source;       // the decoded image, only when asked for (thumbnails)
  std::string color_order;  // the input's channel order ("BGR", "RGB"; empty for tensor data)
};

class SampleSource {
 public:
  virtual ~SampleSource() = default;
  virtual std::size_t size() const = 0;
  virtual bool has_images() const = 0;  // sample names are image files (labels can apply)
  // The i-th sample; with_source also fills EvalSample::source.
  virtual EvalSample get(std::size_t index, bool with_source) = 0;
  virtual const preprocess::SampleData& data() const = 0;
};

// The model's inputs as the sample-data layer checks data against them.
std::vector<preprocess::ModelInputInfo> model_input_infos(const engine::Model& model,
                                                          const std::string& source);

// The data of `request` for `model` (model_name names it in messages). A request's limit N
// keeps N samples spread over the data (spread_indices with `seed`), not the first N: image
// folders list in path order, so the first N would all come from the first video or folder.
std::unique_ptr<SampleSource> open_samples(const preprocess::DataRequest& request,
                                           const engine::Model& model,
                                           const std::string& model_name,
                                           std::uint64_t seed = kDefaultSpreadSeed);
// The same for DATA with an optional recipe; `limit` > 0 keeps `limit` samples, spread.
std::unique_ptr<SampleSource> open_samples(const std::filesystem::path& data,
                                           const std::string& recipe, const engine::Model& model,
                                           std::size_t limit = 0);

// The report's thumbnail of a sample (with_source): the decoded image and the network input
// drawn as an image when it is one; nullopt when it has neither.
std::optional<ReportThumbnail> sample_thumbnail(const EvalSample& sample);

// Every sample's inputs in the model's input order.
std::vector<std::vector<Tensor>> model_inputs(SampleSource& source, const engine::Model& model);

}  // namespace qcal::eval
