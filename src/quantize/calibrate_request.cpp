// A calibrate request resolved into one run: the model read once, the data opened once, the
// data's defaults and the evaluation-data rule applied, and the command that reproduces it.
#include <sstream>

#include "core/error.hpp"
#include "core/output_paths.hpp"
#include "quantize/calibrate.hpp"

namespace qcal::quantize {
namespace {

// Evaluation data: --eval-data, else the calibration data itself when it is tensors or an image
// folder or list with a recipe (the report's thumbnails come from it too); a DX-COM config is
// not reused.
void resolve_eval_data(const CalibrateRequest& r, CalibrateOptions& o) {
  AccuracyOptions& a = o.accuracy;
  if (a.eval_data) {
    if (a.eval_data->recipe.empty() && !preprocess::is_tensor_data(a.eval_data->data) && r.data) {
      a.eval_data->recipe = r.data->recipe;  // images evaluate with the calibration recipe
    }
    a.eval_data->option = "--eval-data";
    return;
  }
  if (!r.data) return;
  if (preprocess::is_tensor_data(r.data->data) || !r.data->recipe.empty()) {
    a.eval_data = *r.data;
    a.eval_data->limit = 0;
    a.eval_data_is_calibration_data = true;
  }
}

// A DX-COM config's calibration_num and calibration_method, where the user gave neither.
void apply_data_defaults(const CalibrateRequest& r, const preprocess::SampleData& data,
                         CalibrateOptions& o) {
  const auto& d = data.defaults();
  if (o.num_samples == 0 && d.calibration_num) o.num_samples = *d.calibration_num;
  if (!r.method_given && d.calibration_method) {
    o.select.method = calib::parse_method(*d.calibration_method);
  }
}

std::string number(double v) {
  std::ostringstream s;
  s << v;
  return s.str();
}

void add_data_options(const CalibrateRequest& r, std::string& c) {
  const CalibrateOptions& o = r.options;
  if (r.data) {
    c += " --data " + r.data->data.string();
    if (!r.data->recipe.empty()) c += " --recipe " + r.data->recipe;
    if (r.data->size_wh) {
      c += " --size " + std::to_string((*r.data->size_wh)[0]) + " " +
           std::to_string((*r.data->size_wh)[1]);
    }
  }
  if (r.open_data) c += " --data '" + r.data_description + "'";
  for (const auto& s : o.from_stats) c += " --from-stats " + s.string();
  if (o.num_samples > 0) c += " -n " + std::to_string(o.num_samples);
}

void add_method_options(const CalibrateOptions& o, std::string& c) {
  const calib::SelectOptions defaults;
  c += " --method " + std::string(calib::method_name(o.select.method));
  if (o.select.method == calib::Method::kPercentile) {
    c += " --percentile " + number(o.select.percentile);
  }
  if (o.select.method == calib::Method::kEntropy &&
      o.select.entropy_floor != defaults.entropy_floor) {
    c += " --entropy-floor " + number(o.select.entropy_floor);
  }
  if (o.select.method == calib::Method::kEma && o.select.ema_momentum != defaults.ema_momentum) {
    c += " --ema-momentum " + number(o.select.ema_momentum);
  }
  if (o.num_bins != calib::kDefaultNumBins) c += " --num-bins " + std::to_string(o.num_bins);
  if (o.ignore_nonfinite) c += " --ignore-nonfinite";
}

void add_placement_options(const CalibrateOptions& o, std::string& c) {
  if (!o.per_channel) c += " --per-tensor";
  if (o.activations == exporter::ActivationType::kUInt8Asymmetric) {
    c += " --activations uint8-asymmetric";
  }
  if (!o.share_concat_scale) c += " --separate-concat-scales";
  if (!o.keep_output_layers_float) c += " --quantize-output-layers";
  if (!o.fuse_residual_add) c += " --quantize-residual-inputs";
  const DominantNoiseOptions nd;
  if (!o.dominant_noise.enabled) {
    c += " --dominant-noise off";
  } else {
    if (o.dominant_noise.gain_db != nd.gain_db)
      c += " --dominant-noise " + number(o.dominant_noise.gain_db);
    if (o.dominant_noise.samples != nd.samples) {
      c += " --dominant-noise-samples " + std::to_string(o.dominant_noise.samples);
    }
  }
  if (o.equalize.enabled) c += " --equalize";
  if (o.bias_correction.enabled) {
    c += " --bias-correction";
    if (o.bias_correction.samples != BiasCorrectionOptions{}.samples) {
      c += " --bias-correction-samples " + std::to_string(o.bias_correction.samples);
    }
  }
  for (const auto& e : o.exclude) c += " --exclude '" + e + "'";
  if (o.trt_version != exporter::kDefaultTrtVersion) {
    c += " --trt-version " + std::to_string(o.trt_version);
  }
}

void add_accuracy_options(const CalibrateOptions& o, std::string& c) {
  const AccuracyOptions& a = o.accuracy;
  if (a.sensitivity) c += " --sensitivity";
  if (a.max_drop) c += " --max-drop " + number(*a.max_drop);
  if (needs_eval_data(a) || !a.labels.empty()) c += " --metric " + a.metric;
  if (a.eval_data && !a.eval_data_is_calibration_data) {
    c += " --eval-data " + a.eval_data->data.string();
  }
  if (!a.labels.empty()) c += " --labels " + a.labels.string();
  if (needs_eval_data(a) && a.eval_samples != AccuracyOptions{}.eval_samples) {
    c += " --eval-samples " + std::to_string(a.eval_samples);
  }
  if (a.saturation) c += " --saturation";
}

}  // namespace

std::string reproduce_command(const CalibrateRequest& r) {
  std::string c = "qcal calibrate " + r.model.string();
  add_data_options(r, c);
  add_method_options(r.options, c);
  add_placement_options(r.options, c);
  add_accuracy_options(r.options, c);
  if (!r.options.save_stats.empty()) c += " --save-stats " + r.options.save_stats.string();
  c += " -o " + r.options.out_dir.string();
  return c;
}

void check_calibrate_paths(const CalibrateRequest& r) {
  const CalibrateOptions& o = r.options;
  const AccuracyOptions& a = o.accuracy;
  check_output_dir(o.out_dir, "-o");
  if (!o.save_stats.empty()) check_output_file(o.save_stats, "--save-stats", true);
  RunPaths paths;
  paths.input(r.model, "the model");
  if (r.data) paths.input(r.data->data, "--data");
  for (const auto& s : o.from_stats) paths.input(s, "--from-stats");
  if (a.eval_data) paths.input(a.eval_data->data, "--eval-data");
  paths.input(a.labels, "--labels");
  paths.output(o.out_dir, "-o", OutputKind::kFolderWritten);
  paths.output(o.out_dir / (r.model.stem().string() + ".qdq.onnx"), "the QDQ model");
  for (const char* name :
       {"calibration.cache", "ranges.json", "report.html", "sensitivity.json",
        "mixed_precision.json", "mixed_precision.exclude.txt", "saturation.json"}) {
    paths.output(o.out_dir / name, std::string("-o's ") + name);
  }
  paths.output(o.save_stats, "--save-stats");
  paths.check();
}

CalibrateReport run_calibrate(const CalibrateRequest& request, const ProgressFn& progress) {
  check_calibrate_paths(request);
  CalibrateRequest r = request;
  calib::validate(r.options.select);
  exporter::validate_trt_version(r.options.trt_version);
  validate(r.options.accuracy);
  if (r.open_data && r.data) throw_invalid("calibrate takes one source of data");
  const bool has_data = r.data || r.open_data;
  if (!has_data && r.options.from_stats.empty()) {
    throw_invalid("calibrate needs --data or --from-stats");
  }
  ModelContext model = read_model(r.model);
  std::unique_ptr<preprocess::SampleData> data;
  if (has_data) {
    try {
      model.model->check_supported();
    } catch (Error& e) {
      e.with("file", r.model.string());
      throw;
    }
    data = r.open_data ? r.open_data(model.inputs())
                       : preprocess::open_sample_data(*r.data, model.inputs());
    apply_data_defaults(r, *data, r.options);
    model.warnings.insert(model.warnings.end(), data->warnings().begin(), data->warnings().end());
  }
  resolve_eval_data(r, r.options);
  if (needs_eval_data(r.options.accuracy) && !r.options.accuracy.eval_data) {
    throw_invalid(std::string(r.options.accuracy.max_drop     ? "--max-drop"
                              : r.options.accuracy.saturation ? "--saturation"
                                                              : "--sensitivity") +
                  " evaluates the quantized model and needs evaluation data: give --eval-data "
                  "(.npy/.npz, or images with --recipe); it cannot be derived from " +
                  (r.data        ? "the DX-COM config " + r.data->data.string()
                   : r.open_data ? "in-memory data (" + r.data_description + ")"
                                 : std::string("--from-stats")));
  }
  prepare_for_qdq(model, r.options.per_channel, data.get());
  return calibrate(model, data.get(), r.options, reproduce_command(r), progress);
}

}  // namespace qcal::quantize
