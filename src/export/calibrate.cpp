// The calibrate pipeline: sample sources, streaming collection through the engine's observer,
// range selection and all-or-nothing output writing.
#include "export/calibrate.hpp"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <optional>
#include <set>

// XXH3-64 (libxxhash-dev, header-only use): the data fingerprint, the same hash `qcal pack`
// writes in its sidecar; FNV-1a cost ~5 ms per 640x640 image (an eighth of an inference).
#define XXH_INLINE_ALL
#include <xxhash.h>

#include "core/atomic_file.hpp"
#include "core/error.hpp"
#include "core/npy.hpp"
#include "core/npz.hpp"
#include "engine/model.hpp"
#include "engine/session.hpp"
#include "export/calibrate_accuracy.hpp"
#include "export/opset_upgrade.hpp"
#include "export/qdq_placement.hpp"
#include "export/range_rules.hpp"
#include "export/ranges_json.hpp"
#include "ops/resize.hpp"
#include "ops/transpose_slice.hpp"

namespace qcal::exporter {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

class NpySource final : public SampleSource {
 public:
  explicit NpySource(const std::filesystem::path& path) : path_(path), reader_(path) {
    if (reader_.header().shape.empty()) {
      Error e(ErrorCode::kInvalidArgument,
              "calibration data must have a sample dimension, got a scalar");
      e.with("file", path.string());
      throw e;
    }
  }
  std::int64_t size() const override { return reader_.rows(); }
  Shape row_shape() const override {
    return Shape(reader_.header().shape.begin() + 1, reader_.header().shape.end());
  }
  DType dtype() const override { return reader_.header().dtype; }
  Tensor read(std::int64_t first, std::int64_t count) override {
    return reader_.read_rows(first, count);
  }
  std::string sample_name(std::int64_t index) const override {
    return "row " + std::to_string(index) + " of " + path_.filename().string();
  }
  std::string description() const override { return path_.string(); }

 private:
  std::filesystem::path path_;
  NpyReader reader_;
};

// One array of an .npz, streamed by rows (core/npz's NpzArrayReader): memory does not grow with
// the number of samples.
class NpzSource final : public SampleSource {
 public:
  NpzSource(const std::filesystem::path& path, const std::string& array)
      : what_(path.string() + ":" + array), reader_(path, array) {}
  std::int64_t size() const override { return reader_.rows(); }
  Shape row_shape() const override {
    return Shape(reader_.header().shape.begin() + 1, reader_.header().shape.end());
  }
  DType dtype() const override { return reader_.header().dtype; }
  Tensor read(std::int64_t first, std::int64_t count) override {
    return reader_.read_rows(first, count);
  }
  std::string sample_name(std::int64_t index) const override {
    return "row " + std::to_string(index) + " of " + what_;
  }
  std::string description() const override { return what_; }

 private:
  std::string what_;
  NpzArrayReader reader_;
};

std::string shape_text(const Shape& s) { return shape_to_string(s); }

using ShapeMap = std::map<std::string, Shape>;

bool fixed_shape(const Shape& s) {
  return std::all_of(s.begin(), s.end(), [](std::int64_t d) { return d >= 0; });
}

// A nearest Resize repeating each value more often than this is observed directly: its union
// would merge the input's histogram that many times per batch.
constexpr std::int64_t kMaxResizeCopies = 64;

// Candidates for derivation, in file order (a tensor's first rule wins):
// - forward: a Concat's output from its inputs; a value-moving op's output from its input; a
//   nearest Resize's output from its input repeated k times, when every input element appears
//   exactly k times (integer-factor upsampling; ops::resize_copy_multiplicity);
// - backward: a tensor from the outputs of Slices that partition it along one axis (C2f's
//   channel split), or from all outputs of a Split.
// Backward rules never derive a Slice or Split output, so the rules cannot form a cycle.
std::vector<DerivedTensor> derivation_candidates(const engine::Model& model,
                                                 const std::set<std::string>& observed,
                                                 const ShapeMap& shapes) {
  static const std::set<std::string> kMovesValues = {"Reshape",   "Flatten",   "Squeeze",
                                                     "Unsqueeze", "Transpose", "Identity"};
  auto seen = [&](const std::string& t) { return !t.empty() && observed.count(t) != 0; };
  auto constant_input = [&](const ops::NodeDef& node) {
    return [&model, &node](std::size_t i) -> const Tensor* {
      if (i >= node.inputs.size() || node.inputs[i].empty()) return nullptr;
      const auto it = model.constants().find(node.inputs[i]);
      return it == model.constants().end() ? nullptr : &it->second;
    };
  };
  std::vector<DerivedTensor> out;
  std::map<std::string, std::vector<const ops::NodeDef*>> slices_of;  // data input -> Slices
  for (const auto& node : model.nodes()) {
    if (!node.domain.empty() || node.inputs.empty() || !seen(node.inputs[0])) continue;
    const std::string& op = node.op_type;
    if (node.outputs.size() == 1 && seen(node.outputs[0])) {
      if (op == "Concat") {
        if (std::all_of(node.inputs.begin(), node.inputs.end(), seen))
          out.push_back({node.outputs[0], node.inputs});
      } else if (kMovesValues.count(op)) {
        out.push_back({node.outputs[0], {node.inputs[0]}});
      } else if (op == "Resize" || op == "Upsample") {
        const auto in_shape = shapes.find(node.inputs[0]);
        if (in_shape == shapes.end()) continue;
        std::int64_t copies = 0;
        try {
          copies = ops::resize_copy_multiplicity(node, in_shape->second, constant_input(node));
        } catch (const Error&) {
          copies = 0;  // not resolvable statically: observed directly
        }
        if (copies >= 1 && copies <= kMaxResizeCopies) {
          out.push_back({node.outputs[0], std::vector<std::string>(static_cast<std::size_t>(copies),
                                                                   node.inputs[0])});
        }
      } else if (op == "Slice") {
        slices_of[node.inputs[0]].push_back(&node);
      }
    } else if (op == "Split" && !node.outputs.empty() &&
               std::all_of(node.outputs.begin(), node.outputs.end(), seen)) {
      out.push_back({node.inputs[0], node.outputs});
    }
  }
  for (const auto& [data, nodes] : slices_of) {
    const auto shape_it = shapes.find(data);
    if (shape_it == shapes.end() || !fixed_shape(shape_it->second)) continue;
    const Shape& shape = shape_it->second;
    // Each Slice must keep every dim whole except one common axis, with step 1; their ranges
    // along it must tile [0, dim) without gap or overlap.
    struct Piece {
      std::int64_t start, end;
      std::string name;
    };
    std::vector<Piece> pieces;
    std::int64_t axis = -1;
    bool ok = true;
    for (const ops::NodeDef* node : nodes) {
      ops::SliceRegion r;
      try {
        r = ops::resolve_slice(*node, shape, constant_input(*node));
      } catch (const Error&) {
        ok = false;
        break;
      }
      std::int64_t cut = -1;
      for (std::size_t d = 0; d < shape.size() && ok; ++d) {
        if (r.start[d] == 0 && r.step[d] == 1 && r.count[d] == shape[d]) continue;
        if (cut >= 0 || r.step[d] != 1) ok = false;
        cut = static_cast<std::int64_t>(d);
      }
      if (!ok) break;
      if (cut < 0) cut = axis >= 0 ? axis : 0;  // the whole tensor: one piece along any axis
      if (axis >= 0 && cut != axis) {
        ok = false;
        break;
      }
      axis = cut;
      const auto a = static_cast<std::size_t>(axis);
      if (r.count[a] > 0) pieces.push_back({r.start[a], r.start[a] + r.count[a], node->outputs[0]});
    }
    if (!ok || pieces.empty()) continue;
    std::sort(pieces.begin(), pieces.end(),
              [](const Piece& x, const Piece& y) { return x.start < y.start; });
    std::int64_t next = 0;
    std::vector<std::string> parts;
    for (const auto& piece : pieces) {
      if (piece.start != next) {
        ok = false;
        break;
      }
      next = piece.end;
      parts.push_back(piece.name);
    }
    if (ok && next == shape[static_cast<std::size_t>(axis)])
      out.push_back({data, std::move(parts)});
  }
  return out;
}

// The candidates that can be derived, in an order where every part is observed directly or
// derived earlier. A candidate whose parts never become available is observed directly.
std::vector<DerivedTensor> find_derived(const engine::Model& model,
                                        const std::set<std::string>& observed,
                                        const ShapeMap& shapes) {
  std::vector<DerivedTensor> pending;
  std::set<std::string> names;
  for (auto& c : derivation_candidates(model, observed, shapes)) {
    if (names.insert(c.name).second) pending.push_back(std::move(c));
  }
  std::set<std::string> available;  // observed directly, or derived earlier in `out`
  for (const auto& t : observed) {
    if (!names.count(t)) available.insert(t);
  }
  std::vector<DerivedTensor> out;
  while (!pending.empty()) {
    bool progress = false;
    for (auto it = pending.begin(); it != pending.end();) {
      if (std::all_of(it->parts.begin(), it->parts.end(),
                      [&](const std::string& p) { return available.count(p) != 0; })) {
        available.insert(it->name);
        out.push_back(std::move(*it));
        it = pending.erase(it);
        progress = true;
      } else {
        ++it;
      }
    }
    if (!progress) {
      // Observe the first stuck candidate directly; that may unblock others.
      available.insert(pending.front().name);
      pending.erase(pending.begin());
    }
  }
  return out;
}

// Shapes of the tensors the session's nodes read and produce for these input shapes.
ShapeMap planned_shapes(engine::Session& session, std::span<const Shape> input_shapes) {
  ShapeMap shapes;
  for (const auto& ns : session.node_shapes(input_shapes)) {
    for (std::size_t i = 0; i < ns.inputs.size() && i < ns.node->inputs.size(); ++i) {
      if (!ns.node->inputs[i].empty()) shapes[ns.node->inputs[i]] = ns.inputs[i];
    }
    for (std::size_t i = 0; i < ns.outputs.size() && i < ns.node->outputs.size(); ++i) {
      if (!ns.node->outputs[i].empty()) shapes[ns.node->outputs[i]] = ns.outputs[i];
    }
  }
  return shapes;
}

}  // namespace

std::unique_ptr<SampleSource> open_array_source(const std::filesystem::path& path,
                                                const std::string& input_name) {
  const std::string ext = path.extension().string();
  if (ext == ".npy") return std::make_unique<NpySource>(path);
  if (ext == ".npz") {
    const auto names = npz_array_names(path);
    if (names.empty()) {
      Error e(ErrorCode::kInvalidArgument, "the .npz holds no arrays");
      e.with("file", path.string());
      throw e;
    }
    for (const auto& name : names) {
      if (name == input_name || names.size() == 1) return std::make_unique<NpzSource>(path, name);
    }
    Error e(
        ErrorCode::kInvalidArgument,
        "the .npz has several arrays and none is named after the model input '" + input_name + "'");
    e.with("file", path.string());
    throw e;
  }
  Error e(ErrorCode::kInvalidArgument,
          "calibration data must be .npy or .npz (or images with --recipe)");
  e.with("file", path.string());
  throw e;
}

namespace {

PlacementOptions placement_options(const CalibrateOptions& options) {
  PlacementOptions placement;
  placement.per_channel = options.per_channel;
  placement.exclude = options.exclude;
  placement.keep_output_layers_float = options.keep_output_layers_float;
  placement.fuse_residual_add = options.fuse_residual_add;
  return placement;
}

RangeRuleOptions range_rule_options(const CalibrateOptions& options) {
  RangeRuleOptions rules;
  rules.share_concat_scale = options.share_concat_scale;
  rules.keep_probability_range = options.keep_probability_range;
  return rules;
}

std::vector<std::string> activation_tensors(const QdqBuilder& builder,
                                            const PlacementOptions& placement) {
  std::vector<std::string> required;
  const PlacementPlan plan = plan_qdq(builder.graph(), placement);
  for (const auto& [t, uses] : plan.activations) required.push_back(t);
  return required;
}

// A file removed when this goes out of scope (the opset-upgraded model).
struct TempFile {
  std::filesystem::path path;
  TempFile() = default;
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;
  ~TempFile() {
    std::error_code ec;
    if (!path.empty()) std::filesystem::remove(path, ec);
  }
};

// Per-channel weight scales need DequantizeLinear-13 and any Q/DQ needs opset 10: a model below
// that is converted to opset 13 (ONNX's version converter), checked against the original on the
// first calibration sample. When the conversion is refused, a model at opset 10 to 12 keeps its
// opset with per-tensor weights (the writer's warning); below 10 it is an error.
std::optional<std::string> upgrade_for_qdq(const std::string& model_bytes, const std::string& what,
                                           const CalibrateOptions& options, SampleSource* source,
                                           std::vector<std::string>& warnings) {
  constexpr int kTarget = 13;
  const int opset = model_opset(model_bytes, what);
  if (opset <= 0 || opset >= kTarget || (opset >= 10 && !options.per_channel)) return std::nullopt;
  try {
    const auto model =
        engine::Model::load_from_bytes(model_bytes, std::filesystem::path(what).parent_path());
    if (model.inputs().empty()) throw_invalid("the model has no inputs");
    Shape shape = model.inputs()[0].shape;
    const std::int64_t batch = shape.empty() || shape[0] <= 0 ? 1 : shape[0];
    if (source) {
      shape = source->row_shape();
      shape.insert(shape.begin(), batch);
    }
    // Without data (--from-stats) the dynamic dimensions are guessed: only the ranks of
    // softmax-like inputs are read (and only when the model has such nodes), so the first size
    // the model plans at will do.
    std::string upgraded;
    const bool dynamic =
        std::any_of(shape.begin(), shape.end(), [](std::int64_t d) { return d < 0; });
    for (const std::int64_t guess : {std::int64_t{640}, std::int64_t{224}, std::int64_t{64}}) {
      Shape s = shape;
      for (std::size_t d = 0; d < s.size(); ++d) {
        if (s[d] < 0) s[d] = d == 0 ? 1 : guess;
      }
      try {
        upgraded = upgrade_opset(model_bytes, what, kTarget, std::vector<Shape>{s});
        break;
      } catch (const Error&) {
        if (!dynamic || guess == 64) throw;
      }
    }
    if (source && source->size() >= batch && model.inputs().size() == 1) {
      check_same_outputs(model_bytes, upgraded, what, std::vector<Tensor>{source->read(0, batch)});
    }
    warnings.push_back(
        "the model is opset " + std::to_string(opset) + ": converted to opset " +
        std::to_string(kTarget) + " (ONNX's version converter, outputs checked in the engine) " +
        "for QuantizeLinear/DequantizeLinear with per-channel weights; the QDQ model is opset " +
        std::to_string(kTarget));
    return upgraded;
  } catch (Error& e) {
    if (opset < 10) {
      e.with("model", what);
      throw;
    }
    warnings.push_back("the model stays at opset " + std::to_string(opset) + " (" + e.message() +
                       ")");
    return std::nullopt;
  }
}

}  // namespace

std::vector<std::string> quantized_activations(const CalibrateOptions& options) {
  const std::string model_bytes = read_file(options.model_path);
  const PlacementOptions placement = placement_options(options);
  const QdqBuilder builder(model_bytes, options.model_path.string(), placement, options.activations,
                           range_rule_options(options));
  return activation_tensors(builder, placement);
}

std::vector<DerivedTensor> derived_tensors(const std::filesystem::path& model_path,
                                           const std::vector<std::string>& observed) {
  return derived_tensors(engine::Model::load(model_path), observed);
}

std::vector<DerivedTensor> derived_tensors(const engine::Model& model,
                                           const std::vector<std::string>& observed) {
  // Shapes (for the Slice and Resize rules) when every input's shape is fixed.
  std::vector<Shape> input_shapes;
  for (const auto& in : model.inputs()) input_shapes.push_back(in.shape);
  const bool fixed = std::all_of(input_shapes.begin(), input_shapes.end(), fixed_shape);
  ShapeMap shapes;
  if (fixed) {
    // Not owned: the session lives only in this block.
    engine::SessionOptions o;
    o.fuse = false;
    engine::Session session(
        std::shared_ptr<const engine::Model>(std::shared_ptr<const engine::Model>{}, &model), o);
    shapes = planned_shapes(session, input_shapes);
  }
  return find_derived(model, std::set<std::string>(observed.begin(), observed.end()), shapes);
}

calib::StatsSet collect_statistics(const std::filesystem::path& model_path,
                                   const std::vector<std::string>& required_tensors,
                                   SampleSource& source, const CalibrateOptions& options,
                                   const ProgressFn& progress, double* inference_seconds,
                                   double* observe_seconds) {
  auto model = std::make_shared<const engine::Model>(engine::Model::load(model_path));
  if (model->inputs().size() != 1) {
    Error e(ErrorCode::kUnsupported, "calibration supports models with one input, this one has " +
                                         std::to_string(model->inputs().size()));
    e.with("file", model_path.string());
    throw e;
  }
  const auto& input = model->inputs()[0];
  const Shape row = source.row_shape();
  // The model's input is [batch, row...]; every fixed dimension must match the data.
  bool shape_ok = input.shape.size() == row.size() + 1;
  for (std::size_t d = 0; shape_ok && d < row.size(); ++d) {
    shape_ok = input.shape[d + 1] < 0 || input.shape[d + 1] == row[d];
  }
  if (!shape_ok) {
    Error e(ErrorCode::kInvalidArgument, "the data's sample shape " + shape_text(row) +
                                             " does not match the model input " +
                                             shape_text(input.shape) + " (batch first)");
    e.with("file", model_path.string())
        .with("tensor", input.name)
        .with("data", source.description());
    throw e;
  }
  if (source.dtype() != input.dtype) {
    Error e(ErrorCode::kInvalidArgument,
            std::string("the data is ") + std::string(dtype_name(source.dtype())) +
                " but the model input wants " + std::string(dtype_name(input.dtype)));
    e.with("tensor", input.name).with("data", source.description());
    throw e;
  }
  std::int64_t total = source.size();
  if (options.num_samples > 0) total = std::min(total, options.num_samples);
  if (total <= 0) {
    Error e(ErrorCode::kInvalidArgument, "no calibration samples");
    e.with("data", source.description());
    throw e;
  }
  const std::int64_t batch = input.shape.empty() || input.shape[0] <= 0 ? 1 : input.shape[0];
  const std::int64_t batches = total / batch;
  if (batches == 0) {
    Error e(ErrorCode::kInvalidArgument, "the model's batch size " + std::to_string(batch) +
                                             " exceeds the " + std::to_string(total) + " samples");
    e.with("data", source.description());
    throw e;
  }

  calib::CollectOptions collect;
  collect.histogram = true;  // always: stats files re-select with any method; ratio in bench/
  collect.num_bins = options.num_bins;
  collect.ignore_nonfinite = options.ignore_nonfinite;
  collect.threads = options.threads;
  if (!calib::method_needs_histogram(options.select.method) && options.save_stats.empty()) {
    collect.histogram = false;  // minmax/ema without --save-stats: one pass fewer
  }
  calib::StatsSet stats(collect);

  engine::SessionOptions session_options;
  session_options.num_threads = options.threads;
  // Statistics do not depend on element order: watched tensors between chained convs are read
  // in oneDNN's layout instead of splitting the chain (the QDQ plan watches yolov8n's SiLU
  // outputs that feed the next conv).
  session_options.observe_in_chains = true;
  engine::Session session(model, session_options);
  Shape input_shape = row;
  input_shape.insert(input_shape.begin(), batch);
  // Observe what the fused graph materialises (what TensorRT keeps after its own Conv+activation
  // fusion) plus every tensor the QDQ plan needs; only float tensors are collected.
  std::vector<Shape> shapes{input_shape};
  std::vector<std::string> names = session.tensor_names(shapes);
  std::set<std::string> wanted(names.begin(), names.end());
  for (const auto& t : required_tensors) {
    if (!wanted.count(t)) names.push_back(t);
    wanted.insert(t);
  }
  // Tensors combined from others' statistics are not read by the observer.
  const std::vector<DerivedTensor> derived =
      options.derive_unions ? find_derived(*model, wanted, planned_shapes(session, shapes))
                            : std::vector<DerivedTensor>{};
  {
    std::set<std::string> skip;
    for (const auto& d : derived) skip.insert(d.name);
    std::erase_if(names, [&](const std::string& n) { return skip.count(n) != 0; });
  }
  const auto complete_unions = [&] {
    for (const auto& d : derived) stats.union_histogram(d.name, d.parts);
  };
  std::int64_t sample_index = 0;
  double observe_time = 0;
  // Statistics are order-free: the engine's elementwise kernels hand over the min/max of what
  // they write (or of a convolution's output they read), so a min/max-only collection does not
  // read those tensors again (engine::MinMaxObserver; the same statistics, see docs/engine.md).
  const auto observe = [&](const std::string& name, const TensorView& view,
                           const MinMaxScan* minmax) {
    if (view.dtype != DType::kFloat32) return;
    const auto start = Clock::now();
    try {
      stats.observe(name, view, sample_index, minmax);
    } catch (Error& e) {
      e.with("image", source.sample_name(sample_index));
      throw;
    }
    observe_time += seconds_since(start);
  };
  if (options.kernel_scans) {
    session.set_minmax_observer(observe, names);
  } else {
    session.set_observer(
        [&](const std::string& name, const TensorView& view) { observe(name, view, nullptr); },
        names);
  }

  std::unique_ptr<XXH3_state_t, decltype(&XXH3_freeState)> data_hash(XXH3_createState(),
                                                                     &XXH3_freeState);
  XXH3_64bits_reset(data_hash.get());
  double run_time = 0;
  for (std::int64_t b = 0; b < batches; ++b) {
    sample_index = b * batch;
    Tensor x = source.read(sample_index, batch);
    XXH3_64bits_update(data_hash.get(), x.raw_data(), static_cast<std::size_t>(x.nbytes()));
    const double observed_before = observe_time;
    const auto start = Clock::now();
    session.run(std::vector<Tensor>{x});
    run_time += seconds_since(start) - (observe_time - observed_before);
    const auto union_start = Clock::now();
    for (const auto& d : derived) stats.observe_union(d.name, d.parts, sample_index);
    observe_time += seconds_since(union_start);
    if (options.on_batch) {
      complete_unions();
      options.on_batch((b + 1) * batch, stats);
    }
    if (progress) progress((b + 1) * batch, batches * batch);
  }
  complete_unions();
  if (inference_seconds) *inference_seconds = run_time;
  if (observe_seconds) *observe_seconds = observe_time;

  auto& prov = stats.provenance();
  prov.samples = static_cast<std::uint64_t>(batches * batch);
  prov.data_fingerprints = {calib::hex64(XXH3_64bits_digest(data_hash.get()))};
  prov.data_description =
      source.description() +
      (options.recipe_description.empty() ? "" : " (recipe " + options.recipe_description + ")");
  prov.synthetic = source.synthetic();
  return stats;
}

CalibrateReport calibrate(const CalibrateOptions& options_in, SampleSource* source,
                          const ProgressFn& progress) {
  const auto start = Clock::now();
  CalibrateOptions options = options_in;
  calib::validate(options.select);
  validate_trt_version(options.trt_version);
  validate(options.accuracy);
  CalibrateReport report;
  std::string model_bytes = read_file(options.model_path);
  const std::string what = options.model_path.string();
  const std::string fingerprint = calib::hex64(calib::fnv1a64(model_bytes));
  const std::filesystem::path qdq_path =
      options.out_dir / (options.model_path.stem().string() + ".qdq.onnx");
  // Below opset 13 (10 for any Q/DQ) the model is converted first, and everything after this
  // (statistics, placement, the QDQ model, accuracy runs) uses the converted model.
  std::vector<std::string> upgrade_warnings;
  TempFile upgraded_file;
  if (auto up = upgrade_for_qdq(model_bytes, what, options, source, upgrade_warnings)) {
    upgraded_file.path = std::filesystem::temp_directory_path() /
                         ("qcal-" + std::to_string(::getpid()) + "-" +
                          options.model_path.stem().string() + "-opset13.onnx");
    write_file_atomic(upgraded_file.path, *up);
    options.model_path = upgraded_file.path;
    model_bytes = std::move(*up);
  }

  const PlacementOptions placement = placement_options(options);
  QdqBuilder builder(model_bytes, what, placement, options.activations,
                     range_rule_options(options));
  const std::vector<std::string> required = activation_tensors(builder, placement);

  // --saturation: snapshots of the statistics at growing prefixes, taken while streaming.
  std::vector<std::pair<std::int64_t, calib::StatsSet>> prefixes;
  if (options.accuracy.saturation) {
    if (!options.from_stats.empty()) {
      throw_invalid("--saturation needs the calibration data (--data), not --from-stats");
    }
    std::int64_t total = source ? source->size() : 0;
    if (options.num_samples > 0) total = std::min(total, options.num_samples);
    auto steps = saturation_steps(std::max<std::int64_t>(total, 1));
    steps.pop_back();  // the full set is the final statistics
    std::size_t next = 0;
    options.on_batch = [&prefixes, steps, next](std::int64_t done,
                                                const calib::StatsSet& s) mutable {
      while (next < steps.size() && done >= steps[next]) {
        if (prefixes.empty() || prefixes.back().first != done) prefixes.emplace_back(done, s);
        ++next;
      }
    };
  }

  calib::StatsSet stats;
  if (!options.from_stats.empty()) {
    bool first = true;
    for (const auto& path : options.from_stats) {
      auto shard = calib::StatsSet::load(path);
      if (shard.provenance().model_fingerprint != fingerprint) {
        Error e(ErrorCode::kInvalidArgument,
                "statistics were collected on a different model (fingerprint " +
                    shard.provenance().model_fingerprint + ", this model is " + fingerprint + ")");
        e.with("file", path.string()).with("model", what);
        throw e;
      }
      if (first) {
        stats = std::move(shard);
        first = false;
      } else {
        try {
          stats.merge(shard);
        } catch (Error& e) {
          e.with("file", path.string());
          throw;
        }
      }
    }
  } else {
    if (!source) throw_invalid("calibrate needs data (--data) or statistics (--from-stats)");
    stats = collect_statistics(options.model_path, required, *source, options, progress,
                               &report.inference_seconds, &report.observe_seconds);
    stats.provenance().model_fingerprint = fingerprint;
  }
  report.samples = static_cast<std::int64_t>(stats.provenance().samples);
  report.tensors = stats.tensors().size();

  // Ranges and quantization parameters. Planned tensors without statistics (not float, or not
  // produced) lose their Q/DQ with a warning.
  const bool uint8 = options.activations == ActivationType::kUInt8Asymmetric;
  std::vector<TrtCacheEntry> cache_entries;
  // The method's ranges; the builder applies the range rules for each candidate plan.
  const auto raw_ranges = calib::select_ranges(stats.tensors(), options.select, options.threads);
  QdqBuild default_build = builder.build({}, stats.tensors(), raw_ranges);
  report.warnings = upgrade_warnings;
  if (options.dominant_noise.enabled && !default_build.qdq_tensors.empty()) {
    // Rule 1c: an activation whose rounding alone makes most of the output noise stays float
    // (its consumers, as --exclude would). Every later build (mixed precision) starts from it.
    if (apply_dominant_noise_rule(options, source, default_build, builder, report)) {
      default_build = builder.build({}, stats.tensors(), raw_ranges);
    }
  }
  report.warnings.insert(report.warnings.end(), default_build.warnings.begin(),
                         default_build.warnings.end());

  // Sensitivity, mixed precision, saturation, report.html.
  if (options.accuracy.saturation) prefixes.emplace_back(report.samples, stats);
  AccuracyInputs acc_in;
  acc_in.options = &options;
  acc_in.builder = &builder;
  acc_in.stats = &stats;
  acc_in.raw_ranges = &raw_ranges;
  acc_in.default_build = &default_build;
  acc_in.prefixes = &prefixes;
  acc_in.report = &report;
  AccuracyOutputs acc = run_accuracy(acc_in);
  const QdqBuild& final_build = acc.final_build ? *acc.final_build : default_build;
  const auto& ranges_by_name = final_build.ranges;
  for (const auto& [name, r] : ranges_by_name) cache_entries.push_back({name, r.amax});
  report.range_rule_changes = final_build.rule_changes.size();

  report.activation_pairs = final_build.qdq.activation_pairs;
  report.weights = final_build.qdq.weights;
  report.float_nodes = final_build.plan.float_nodes;

  const auto algorithm = options.select.method == calib::Method::kMinMax
                             ? TrtAlgorithm::kMinMaxCalibration
                             : TrtAlgorithm::kEntropyCalibration2;
  const std::string cache = format_trt_cache(cache_entries, algorithm, options.trt_version);
  RangesJsonInput rj;
  rj.model_path = what;
  rj.stats = &stats;
  rj.select = options.select;
  rj.ranges = &ranges_by_name;
  rj.uint8_activations = uint8;
  rj.qdq_tensors = final_build.qdq_tensors;
  rj.float_nodes = final_build.plan.float_nodes;
  rj.rule_changes = &final_build.rule_changes;
  rj.dominant_noise = &report.dominant_noise_json;
  const std::string ranges = format_ranges_json(rj);

  // Everything is in memory: write each under a temporary name, then rename them all.
  std::filesystem::create_directories(options.out_dir);
  report.qdq_model = qdq_path;
  report.cache = options.out_dir / "calibration.cache";
  report.ranges = options.out_dir / "ranges.json";
  std::vector<std::unique_ptr<AtomicFile>> files;
  auto stage = [&](const std::filesystem::path& path, const std::string& bytes) {
    files.push_back(std::make_unique<AtomicFile>(path));
    files.back()->write(bytes);
  };
  stage(report.qdq_model, final_build.qdq.model_bytes);
  stage(report.cache, cache);
  stage(report.ranges, ranges);
  if (!options.save_stats.empty()) {
    report.stats = options.save_stats;
    stage(report.stats, stats.serialize());
  }
  for (const auto& [path, bytes] : acc.files) stage(path, bytes);
  for (auto& f : files) f->commit();
  report.total_seconds = seconds_since(start);
  return report;
}

}  // namespace qcal::exporter
