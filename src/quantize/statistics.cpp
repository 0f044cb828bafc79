// Streaming statistics collection through the engine's observer, and saved statistics merged.
#include "quantize/statistics.hpp"

#include <algorithm>
#include <chrono>
#include <set>

// XXH3-64 (libxxhash-dev, header-only use): per-sample digests and the data fingerprint over
// them (which composes across shards; `qcal pack`'s sidecar hashes the whole stream instead);
// FNV-1a cost ~5 ms per 640x640 image (an eighth of an inference).
#define XXH_INLINE_ALL
#include <xxhash.h>

#include "core/error.hpp"
#include "engine/session.hpp"
#include "eval/overlap.hpp"
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
    // One digest per sample: the batch's rows are its samples, contiguous.
    const auto* bytes = static_cast<const char*>(x[0].raw_data());
    const auto row = static_cast<std::size_t>(x[0].nbytes() / batch);
    for (std::int64_t k = 0; k < batch; ++k) {
      digests_.push_back(XXH3_64bits(bytes + static_cast<std::size_t>(k) * row, row));
    }
    record_samples(first, batch, x[0]);
    const double observed_before = observe_seconds_;
    const auto start = Clock::now();
    session_.run(x);
    inference_seconds_ += seconds_since(start) - (observe_seconds_ - observed_before);
    const auto union_start = Clock::now();
    for (const auto& d : derived) stats_.observe_union(d.name, d.parts, sample_index_);
    observe_seconds_ += seconds_since(union_start);
  }

  void reset_samples() {
    digests_.clear();
    sample_fingerprints_.clear();
    sample_files_.clear();
  }
  std::vector<std::string>& sample_fingerprints() { return sample_fingerprints_; }
  std::vector<std::string>& sample_files() { return sample_files_; }
  engine::Session& session() { return session_; }
  calib::StatsSet& stats() { return stats_; }
  std::vector<std::uint64_t>& digests() { return digests_; }
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
  // Each sample's fingerprint (its row of the batch) and file, for calibration_samples.json.
  void record_samples(std::int64_t first, std::int64_t batch, const Tensor& x) {
    const std::size_t row = static_cast<std::size_t>(x.nbytes() / batch);
    const auto* bytes = static_cast<const std::uint8_t*>(x.raw_data());
    for (std::int64_t b = 0; b < batch; ++b) {
      sample_fingerprints_.push_back(
          eval::sample_fingerprint(bytes + static_cast<std::size_t>(b) * row, row));
      if (data_.has_images())
        sample_files_.push_back(eval::normal_path(data_.sample_name(first + b)));
    }
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
  std::vector<std::uint64_t> digests_;
  std::vector<std::string> sample_fingerprints_, sample_files_;
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

namespace {

// The batches this run observes: all, or the shard's block of them.
ShardRange batch_range(const BatchPlan& plan, const std::optional<Shard>& shard,
                       const preprocess::SampleData& data) {
  const auto batches = static_cast<std::size_t>(plan.batches);
  if (!shard) return {0, batches};
  const ShardRange r = shard_range(*shard, batches);
  if (r.begin == r.end) {
    throw Error(ErrorCode::kInvalidArgument, describe(*shard) + " has no samples: the data makes " +
                                                 std::to_string(batches) + " batches of " +
                                                 std::to_string(plan.batch) +
                                                 ", so use at most that many shards")
        .with("data", data.description());
  }
  return r;
}
std::int64_t range_begin(const ShardRange& r) { return static_cast<std::int64_t>(r.begin); }
std::int64_t range_end(const ShardRange& r) { return static_cast<std::int64_t>(r.end); }

}  // namespace

std::string data_fingerprint(const std::vector<std::uint64_t>& sample_digests) {
  std::string bytes;
  bytes.reserve(sample_digests.size() * 8);
  for (std::uint64_t d : sample_digests) {
    for (int b = 0; b < 8; ++b) bytes.push_back(static_cast<char>((d >> (8 * b)) & 0xff));
  }
  return calib::hex64(XXH3_64bits(bytes.data(), bytes.size()));
}

std::string data_description(const preprocess::SampleData& data, const std::string& data_recipe) {
  const std::string& recipe =
      data.recipe_description().empty() ? data_recipe : data.recipe_description();
  return data.description() + (recipe.empty() ? "" : " (recipe " + recipe + ")");
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
  c.reset_samples();
  const auto complete_unions = [&] {
    for (const auto& d : observed.derived) c.stats().union_histogram(d.name, d.parts);
  };
  ShardRange range = batch_range(plan, options.shard, data);
  for (std::int64_t b = range_begin(range); b < range_end(range); ++b) {
    c.run_batch(b * plan.batch, plan.batch, observed.derived);
    const std::int64_t done = (b + 1 - range_begin(range)) * plan.batch;
    if (on_batch) {
      complete_unions();
      on_batch(done, c.stats());
    }
    // A stream learns its length as it is read: one more batch while it has one.
    if (data.streamed()) {
      plan = plan_batches(*model, data, options.num_samples);
      range = batch_range(plan, options.shard, data);
    }
    if (progress) progress(done, (range_end(range) - range_begin(range)) * plan.batch);
  }
  complete_unions();
  auto& prov = c.stats().provenance();
  prov.samples = static_cast<std::uint64_t>((range_end(range) - range_begin(range)) * plan.batch);
  prov.sample_digests = std::move(c.digests());
  prov.data_fingerprints = {data_fingerprint(prov.sample_digests)};
  prov.data_description = data_description(data, options.data_recipe);
  prov.synthetic = false;
  if (options.shard) {
    prov.shard_index = static_cast<std::uint32_t>(options.shard->index);
    prov.shard_count = static_cast<std::uint32_t>(options.shard->count);
  }
  Collection out;
  out.stats = std::move(c.stats());
  out.sample_fingerprints = std::move(c.sample_fingerprints());
  out.sample_files = std::move(c.sample_files());
  out.inference_seconds = c.inference_seconds();
  out.observe_seconds = c.observe_seconds();
  return out;
}

namespace {

calib::StatsSet load_stats(const std::filesystem::path& path, const std::string& fingerprint,
                           const std::string& model) {
  auto shard = calib::StatsSet::load(path);
  if (shard.provenance().model_fingerprint != fingerprint) {
    throw Error(ErrorCode::kInvalidArgument,
                "statistics were collected on a different model (fingerprint " +
                    shard.provenance().model_fingerprint + ", this model is " + fingerprint + ")")
        .with("file", path.string())
        .with("model", model);
  }
  return shard;
}

Error shard_error(const std::string& message, const std::filesystem::path& file) {
  Error e(ErrorCode::kInvalidArgument, message);
  e.with("file", file.string());
  return e;
}

// `calibrate --shard` statistics: every index of one count once, from the same data; sorted
// into shard order.
void order_shard_set(std::vector<std::pair<calib::StatsSet, std::filesystem::path>>& sets) {
  std::stable_sort(sets.begin(), sets.end(), [](const auto& a, const auto& b) {
    return a.first.provenance().shard_index < b.first.provenance().shard_index;
  });
  const auto& first = sets.front().first.provenance();
  for (std::size_t k = 0; k < sets.size(); ++k) {
    const auto& p = sets[k].first.provenance();
    const auto& file = sets[k].second;
    if (p.shard_count == 0) {
      throw shard_error("--shard statistics and other statistics cannot be merged together", file);
    }
    if (p.shard_count != first.shard_count || p.data_description != first.data_description) {
      throw shard_error("this shard belongs to another run (" + std::to_string(p.shard_count) +
                            " shards of " + p.data_description + ") than " +
                            sets.front().second.string(),
                        file);
    }
    if (p.shard_index != k) {
      throw shard_error("the statistics files are " + std::to_string(sets.size()) + " files of " +
                            std::to_string(first.shard_count) + " shards, shard " +
                            (p.shard_index < k ? std::to_string(p.shard_index) + " given twice"
                                               : std::to_string(k) + " missing") +
                            "; give every shard's file exactly once",
                        file);
    }
  }
  if (sets.size() != first.shard_count) {
    throw shard_error("the statistics files are " + std::to_string(sets.size()) + " of " +
                          std::to_string(first.shard_count) +
                          " shards; give every shard's file exactly once",
                      sets.front().second);
  }
}

}  // namespace

calib::StatsSet merge_stats_files(const std::vector<std::filesystem::path>& files,
                                  const std::string& fingerprint, const std::string& model,
                                  bool* shard_set) {
  std::vector<std::pair<calib::StatsSet, std::filesystem::path>> sets;
  bool any_shard = false;
  for (const auto& path : files) {
    sets.emplace_back(load_stats(path, fingerprint, model), path);
    any_shard = any_shard || sets.back().first.provenance().shard_count != 0;
  }
  if (sets.empty()) throw_invalid("--from-stats needs at least one statistics file");
  if (any_shard) order_shard_set(sets);
  calib::StatsSet stats = std::move(sets.front().first);
  for (std::size_t k = 1; k < sets.size(); ++k) {
    try {
      stats.merge(sets[k].first);
    } catch (Error& e) {
      e.with("file", sets[k].second.string());
      throw;
    }
  }
  if (any_shard) {
    // The shards together are one run over the data: its fingerprint, no shard index.
    auto& prov = stats.provenance();
    prov.data_fingerprints = {data_fingerprint(prov.sample_digests)};
    prov.shard_index = 0;
    prov.shard_count = 0;
  }
  if (shard_set) *shard_set = any_shard;
  return stats;
}

}  // namespace qcal::quantize
