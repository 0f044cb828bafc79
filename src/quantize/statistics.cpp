// Streaming statistics collection through the engine's observer, and saved statistics merged.
#include "quantize/statistics.hpp"

#include <algorithm>
#include <chrono>
#include <set>

// XXH3-64 (libxxhash-dev, header-only use): the data fingerprint, the same hash `qcal pack`
// writes in its sidecar; FNV-1a cost ~5 ms per 640x640 image (an eighth of an inference).
#define XXH_INLINE_ALL
#include <xxhash.h>

#include "core/error.hpp"
#include "engine/session.hpp"
#include "quantize/derived_tensors.hpp"

namespace qcal::quantize {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

void check_calibration_input(const engine::Model& model, const preprocess::SampleData& data) {
  if (model.inputs().size() != 1) {
    throw Error(ErrorCode::kUnsupported,
                "calibration supports models with one input, this one has " +
                    std::to_string(model.inputs().size()))
        .with("model", data.inputs().empty() ? "" : data.inputs()[0].source);
  }
  if (!data.batched(0)) {
    const auto& in = model.inputs()[0];
    throw Error(ErrorCode::kUnsupported,
                "calibration batches samples along the model input's "
                "first axis; input '" +
                    in.name + "' " + shape_to_string(in.shape) + " has no batch axis")
        .with("data", data.description());
  }
}

// The tensors the observer reads: what the fused graph materialises (what TensorRT keeps after
// its own Conv+activation fusion) plus every tensor the QDQ plan needs, less those derived from
// others' statistics.
struct Observed {
  std::vector<std::string> names;
  std::vector<DerivedTensor> derived;
};

Observed observed_tensors(engine::Session& session, const engine::Model& model,
                          const Shape& input_shape, const std::vector<std::string>& required,
                          bool derive) {
  const std::vector<Shape> shapes{input_shape};
  Observed o;
  o.names = session.tensor_names(shapes);
  std::set<std::string> wanted(o.names.begin(), o.names.end());
  for (const auto& t : required) {
    if (!wanted.count(t)) o.names.push_back(t);
    wanted.insert(t);
  }
  if (derive) o.derived = find_derived(model, wanted, planned_shapes(session, shapes));
  std::set<std::string> skip;
  for (const auto& d : o.derived) skip.insert(d.name);
  std::erase_if(o.names, [&](const std::string& n) { return skip.count(n) != 0; });
  return o;
}

// One collection run: the session, its observer and the streamed data hash.
class Collector {
 public:
  Collector(std::shared_ptr<const engine::Model> model, preprocess::SampleData& data,
            const CollectOptions& options)
      : data_(data), stats_(stats_options(options)), session_(model, session_options(options)) {}

  void watch(const std::vector<std::string>& names, bool kernel_scans) {
    // Statistics are order-free: the engine's elementwise kernels hand over the min/max of what
    // they write (or of a convolution's output they read), so a min/max-only collection does not
    // read those tensors again (engine::MinMaxObserver; the same statistics, docs/engine.md).
    auto observe = [this](const std::string& name, const TensorView& view,
                          const MinMaxScan* minmax) { this->observe(name, view, minmax); };
    if (kernel_scans) {
      session_.set_minmax_observer(observe, names);
    } else {
      session_.set_observer([observe](const std::string& name,
                                      const TensorView& view) { observe(name, view, nullptr); },
                            names);
    }
  }

  void run_batch(std::int64_t first, std::int64_t batch,
                 const std::vector<DerivedTensor>& derived) {
    sample_index_ = first;
    std::vector<Tensor> x = data_.read(first, batch);
    XXH3_64bits_update(hash_.get(), x[0].raw_data(), static_cast<std::size_t>(x[0].nbytes()));
    const double observed_before = observe_seconds_;
    const auto start = Clock::now();
    session_.run(x);
    inference_seconds_ += seconds_since(start) - (observe_seconds_ - observed_before);
    const auto union_start = Clock::now();
    for (const auto& d : derived) stats_.observe_union(d.name, d.parts, sample_index_);
    observe_seconds_ += seconds_since(union_start);
  }

  void reset_hash() { XXH3_64bits_reset(hash_.get()); }
  engine::Session& session() { return session_; }
  calib::StatsSet& stats() { return stats_; }
  std::string data_fingerprint() const { return calib::hex64(XXH3_64bits_digest(hash_.get())); }
  double inference_seconds() const { return inference_seconds_; }
  double observe_seconds() const { return observe_seconds_; }

 private:
  static calib::CollectOptions stats_options(const CollectOptions& o) {
    calib::CollectOptions c;
    c.histogram = o.histogram;
    c.num_bins = o.num_bins;
    c.ignore_nonfinite = o.ignore_nonfinite;
    c.threads = o.threads;
    return c;
  }
  static engine::SessionOptions session_options(const CollectOptions& o) {
    engine::SessionOptions s;
    s.num_threads = o.threads;
    // Statistics do not depend on element order: watched tensors between chained convs are read
    // in oneDNN's layout instead of splitting the chain.
    s.observe_in_chains = true;
    return s;
  }
  void observe(const std::string& name, const TensorView& view, const MinMaxScan* minmax) {
    if (view.dtype != DType::kFloat32) return;
    const auto start = Clock::now();
    try {
      stats_.observe(name, view, sample_index_, minmax);
    } catch (Error& e) {
      e.with("image", data_.sample_name(sample_index_));
      throw;
    }
    observe_seconds_ += seconds_since(start);
  }

  preprocess::SampleData& data_;
  calib::StatsSet stats_;
  engine::Session session_;
  std::unique_ptr<XXH3_state_t, decltype(&XXH3_freeState)> hash_{XXH3_createState(),
                                                                 &XXH3_freeState};
  std::int64_t sample_index_ = 0;
  double inference_seconds_ = 0, observe_seconds_ = 0;
};

}  // namespace

BatchPlan plan_batches(const engine::Model& model, const preprocess::SampleData& data,
                       std::int64_t num_samples) {
  std::int64_t total = data.size();
  if (num_samples > 0) total = std::min(total, num_samples);
  if (total <= 0) {
    throw Error(ErrorCode::kInvalidArgument, "no calibration samples")
        .with("data", data.description());
  }
  const Shape& shape = model.inputs()[0].shape;
  BatchPlan p;
  p.batch = shape.empty() || shape[0] <= 0 ? 1 : shape[0];
  p.batches = total / p.batch;
  if (p.batches == 0) {
    throw Error(ErrorCode::kInvalidArgument, "the model's batch size " + std::to_string(p.batch) +
                                                 " exceeds the " + std::to_string(total) +
                                                 " samples")
        .with("data", data.description());
  }
  return p;
}

Collection collect_statistics(std::shared_ptr<const engine::Model> model,
                              const std::vector<std::string>& required,
                              preprocess::SampleData& data, const CollectOptions& options,
                              const ProgressFn& progress, const BatchHook& on_batch) {
  check_calibration_input(*model, data);
  BatchPlan plan = plan_batches(*model, data, options.num_samples);
  Collector c(model, data, options);
  Shape input_shape = data.row_shapes()[0];
  input_shape.insert(input_shape.begin(), plan.batch);
  const Observed observed =
      observed_tensors(c.session(), *model, input_shape, required, options.derive_unions);
  c.watch(observed.names, options.kernel_scans);
  c.reset_hash();
  const auto complete_unions = [&] {
    for (const auto& d : observed.derived) c.stats().union_histogram(d.name, d.parts);
  };
  for (std::int64_t b = 0; b < plan.batches; ++b) {
    c.run_batch(b * plan.batch, plan.batch, observed.derived);
    if (on_batch) {
      complete_unions();
      on_batch((b + 1) * plan.batch, c.stats());
    }
    // A stream learns its length as it is read: one more batch while it has one.
    if (data.streamed()) plan = plan_batches(*model, data, options.num_samples);
    if (progress) progress((b + 1) * plan.batch, plan.batches * plan.batch);
  }
  complete_unions();
  auto& prov = c.stats().provenance();
  prov.samples = static_cast<std::uint64_t>(plan.batches * plan.batch);
  prov.data_fingerprints = {c.data_fingerprint()};
  const std::string& recipe =
      data.recipe_description().empty() ? options.data_recipe : data.recipe_description();
  prov.data_description = data.description() + (recipe.empty() ? "" : " (recipe " + recipe + ")");
  prov.synthetic = false;
  return {std::move(c.stats()), c.inference_seconds(), c.observe_seconds()};
}

calib::StatsSet merge_stats_files(const std::vector<std::filesystem::path>& files,
                                  const std::string& fingerprint, const std::string& model) {
  calib::StatsSet stats;
  bool first = true;
  for (const auto& path : files) {
    auto shard = calib::StatsSet::load(path);
    if (shard.provenance().model_fingerprint != fingerprint) {
      throw Error(ErrorCode::kInvalidArgument,
                  "statistics were collected on a different model (fingerprint " +
                      shard.provenance().model_fingerprint + ", this model is " + fingerprint + ")")
          .with("file", path.string())
          .with("model", model);
    }
    if (first) {
      stats = std::move(shard);
      first = false;
      continue;
    }
    try {
      stats.merge(shard);
    } catch (Error& e) {
      e.with("file", path.string());
      throw;
    }
  }
  return stats;
}

}  // namespace qcal::quantize
