// qcal::calibrate: the public options into a quantize::CalibrateRequest (the CLI's rules), the
// data into the sample-data layer, and the report into a CalibrateResult.
#include "qcal/calibrate.hpp"

#include <array>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "api/convert.hpp"
#include "api/data_sources.hpp"
#include "core/atomic_file.hpp"
#include "core/error.hpp"
#include "quantize/calibrate.hpp"

namespace qcal {
namespace {

int resolve_threads(int threads) {
  if (threads > 0) return threads;
  const unsigned n = std::thread::hardware_concurrency();
  return n == 0 ? 1 : static_cast<int>(n);
}

std::optional<std::array<int, 2>> size_wh(const std::vector<int>& size) {
  if (size.empty()) return std::nullopt;
  if (size.size() != 2 || size[0] <= 0 || size[1] <= 0) {
    throw_invalid("--size needs two positive numbers: W H");
  }
  return std::array<int, 2>{size[0], size[1]};
}

// --dominant-noise: an output SQNR gain in dB, or "off".
quantize::DominantNoiseOptions parse_dominant_noise(const std::string& value, std::size_t samples) {
  quantize::DominantNoiseOptions d;
  d.samples = samples;
  if (value == "off") {
    d.enabled = false;
    return d;
  }
  std::size_t used = 0;
  double gain = 0.0;
  try {
    gain = std::stod(value, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used != value.size() || value.empty()) {
    throw_invalid("--dominant-noise must be an output SQNR gain in dB in (0, 60] or 'off', got '" +
                  value + "'");
  }
  d.gain_db = gain;
  quantize::validate(d);
  return d;
}

std::string trim(std::string line) {
  while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t')) {
    line.pop_back();
  }
  std::size_t b = 0;
  while (b < line.size() && (line[b] == ' ' || line[b] == '\t')) ++b;
  return line.substr(b);
}

// --exclude values: a node name, a regex, or @FILE with one per line ('#' starts a comment).
std::vector<std::string> expand_excludes(const std::vector<std::string>& values) {
  std::vector<std::string> out;
  for (const auto& v : values) {
    if (v.size() < 2 || v[0] != '@') {
      out.push_back(v);
      continue;
    }
    const std::filesystem::path file = v.substr(1);
    if (!std::filesystem::is_regular_file(file)) {
      throw Error(ErrorCode::kIo, "--exclude @FILE: no such file (one node name or regex per line)")
          .with("file", file.string());
    }
    std::istringstream in(read_file(file));
    std::string line;
    while (std::getline(in, line)) {
      line = trim(line);
      if (!line.empty() && line[0] != '#') out.push_back(line);
    }
  }
  return out;
}

exporter::ActivationType parse_activations(const std::string& value) {
  if (value == "int8" || value == "int8-symmetric") return exporter::ActivationType::kInt8Symmetric;
  if (value == "uint8-asymmetric" || value == "uint8") {
    return exporter::ActivationType::kUInt8Asymmetric;
  }
  throw_invalid("--activations must be int8 or uint8-asymmetric, got " + value);
}

void fill_method(const CalibrateOptions& o, quantize::CalibrateOptions& options) {
  options.select.method = calib::parse_method(o.method.value_or("entropy"));
  options.select.percentile = o.percentile;
  options.select.entropy_floor = o.entropy_floor;
  options.select.ema_momentum = o.ema_momentum;
  options.num_bins = o.num_bins;
  options.ignore_nonfinite = o.ignore_nonfinite;
  if (o.num_samples < 0) throw_invalid("--num-samples must be >= 0");
  options.num_samples = o.num_samples;
  options.save_stats = o.save_stats;
  for (const auto& s : o.from_stats) options.from_stats.emplace_back(s);
}

void fill_placement(const CalibrateOptions& o, quantize::CalibrateOptions& options) {
  if (o.per_channel && o.per_tensor) throw_invalid("--per-channel excludes --per-tensor");
  if (o.dominant_noise_samples == 0) throw_invalid("--dominant-noise-samples must be positive");
  options.per_channel = !o.per_tensor;
  options.share_concat_scale = !o.separate_concat_scales;
  options.keep_output_layers_float = !o.quantize_output_layers;
  options.fuse_residual_add = !o.quantize_residual_inputs;
  options.dominant_noise = parse_dominant_noise(o.dominant_noise, o.dominant_noise_samples);
  options.exclude = expand_excludes(o.exclude);
  options.activations = parse_activations(o.activations);
  options.trt_version = o.trt_version;
}

void fill_accuracy(const CalibrateOptions& o, quantize::AccuracyOptions& acc) {
  acc.sensitivity = o.sensitivity;
  acc.max_drop = o.max_drop;
  acc.metric = o.metric;
  acc.labels = o.labels;
  acc.eval_samples = o.eval_samples;
  acc.saturation = o.saturation;
  acc.report = !o.no_report;
  if (!o.eval_data.empty()) {
    preprocess::DataRequest r;
    r.data = o.eval_data;
    r.size_wh = size_wh(o.size);
    acc.eval_data = r;
  }
}

// In-memory data opens through the request's open_data; files as --data.
void set_data(const Data& data, const CalibrateOptions& o, const Control& control,
              quantize::CalibrateRequest& r) {
  if (data.kind() == Data::Kind::kPath) {
    if (data.path_value().empty()) return;  // none: --from-stats
    preprocess::DataRequest d;
    d.data = data.path_value();
    d.recipe = o.recipe;
    d.size_wh = size_wh(o.size);
    r.data = d;
    return;
  }
  if (!o.recipe.empty()) throw_invalid("--recipe applies to image files, not in-memory data");
  if (data.kind() == Data::Kind::kArray) {
    const Array samples = data.array_value();
    r.data_description = "an array " + shape_to_string(samples.shape);
    r.open_data = [samples](const std::vector<preprocess::ModelInputInfo>& inputs) {
      return api::open_array_data(samples, inputs);
    };
    return;
  }
  if (!data.stream_value()) throw_invalid("the data stream is null");
  api::StreamOptions so;
  so.limit = o.num_samples;
  // Kept for reading again: the dominant-noise probes (that many batches), which also cover the
  // opset upgrade's check on the first batch.
  so.keep = static_cast<std::int64_t>(o.dominant_noise_samples);
  so.control = &control;
  r.data_description = data.stream_value()->description();
  r.open_data = [stream = data.stream_value(),
                 so](const std::vector<preprocess::ModelInputInfo>& inputs) {
    api::StreamOptions s = so;
    const auto& shape = inputs.empty() ? Shape{} : inputs[0].shape;
    const std::int64_t batch = shape.empty() || shape[0] <= 0 ? 1 : shape[0];
    s.keep *= batch;
    return api::open_stream_data(stream, inputs, s);
  };
}

quantize::CalibrateRequest make_request(const std::string& model, const Data& data,
                                        const std::string& output, const CalibrateOptions& o,
                                        const Control& control) {
  quantize::CalibrateRequest r;
  r.model = model;
  r.method_given = o.method.has_value();
  auto& options = r.options;
  if (output.empty()) throw_invalid("calibrate needs an output folder (-o)");
  options.out_dir = output;
  options.threads = resolve_threads(o.threads);
  fill_method(o, options);
  fill_placement(o, options);
  fill_accuracy(o, options.accuracy);
  set_data(data, o, control, r);
  return r;
}

// ranges.json's tensors: the calibrated range and int8 parameters.
std::map<std::string, TensorRange> read_ranges(const std::filesystem::path& ranges_json) {
  const auto j = nlohmann::json::parse(read_file(ranges_json));
  std::map<std::string, TensorRange> out;
  for (const auto& [name, t] : j.at("tensors").items()) {
    TensorRange r;
    r.min = t.value("range_min", 0.0);
    r.max = t.value("range_max", 0.0);
    r.scale = t.value("scale", 0.0);
    r.zero_point = t.value("zero_point", std::int64_t{0});
    r.qdq = t.value("qdq", false);
    out[name] = r;
  }
  return out;
}

CalibrateResult to_result(const quantize::CalibrateReport& report) {
  CalibrateResult r;
  r.qdq_model = report.qdq_model.string();
  r.calibration_cache = report.cache.string();
  r.ranges_json = report.ranges.string();
  r.stats = report.stats.string();
  r.report = report.report_html.string();
  r.sensitivity = report.sensitivity_json.string();
  r.mixed_precision = report.mixed_precision_json.string();
  r.exclude_list = report.exclude_list.string();
  r.saturation = report.saturation_json.string();
  r.ranges = read_ranges(report.ranges);
  r.samples = report.samples;
  r.tensors = report.tensors;
  r.qdq_pairs = report.activation_pairs;
  r.int8_weights = report.weights;
  r.range_rule_changes = report.range_rule_changes;
  r.float_nodes = report.float_nodes;
  r.warnings = report.warnings;
  r.accuracy_lines = report.accuracy_lines;
  r.method = calib::method_name(report.options.select.method);
  r.command = report.command;
  r.json = quantize::summary_json(report);
  return r;
}

}  // namespace

CalibrateResult calibrate(const std::string& model, const Data& data, const std::string& output,
                          const CalibrateOptions& options, const Control& control) {
  api::check_cancel(control, "calibrate");
  const quantize::CalibrateRequest request = make_request(model, data, output, options, control);
  const bool streamed = data.kind() == Data::Kind::kStream;
  auto progress = [&](std::int64_t done, std::int64_t total) {
    if (control.progress) control.progress("calibrate", done, streamed ? 0 : total);
    api::check_cancel(control, "calibrate");
  };
  return to_result(quantize::run_calibrate(request, progress));
}

}  // namespace qcal
