// report.html's content for calibrate.
#include "quantize/calibrate_report.hpp"

#include <algorithm>
#include <cmath>

#include "calib/quant_noise.hpp"
#include "core/error.hpp"
#include "eval/samples.hpp"

namespace qcal::quantize {
namespace {

std::vector<eval::ReportThumbnail> load_thumbnails(const ModelContext& model,
                                                   const AccuracyOptions& a) {
  std::vector<eval::ReportThumbnail> out;
  preprocess::DataRequest request = *a.eval_data;
  request.limit = static_cast<std::int64_t>(a.thumbnails);
  auto source = eval::open_samples(request, *model.model, model.path.string());
  for (std::size_t i = 0; i < source->size(); ++i) {
    if (auto t = eval::sample_thumbnail(source->get(i, true))) out.push_back(std::move(*t));
  }
  return out;
}

// The |x| histogram trimmed after its last non-empty bin and summed into at most 64 bars.
std::optional<eval::ReportHistogram> report_histogram(const std::string& name,
                                                      const calib::TensorStats& st,
                                                      const calib::Range& r, bool uint8) {
  if (!st.histogram() || !st.histogram()->has_range()) return std::nullopt;
  const auto counts = st.histogram()->counts();
  std::size_t used = counts.size();
  while (used > 1 && counts[used - 1] == 0) --used;
  const std::size_t bars = std::min<std::size_t>(64, used);
  const std::size_t per = (used + bars - 1) / bars;
  eval::ReportHistogram h;
  h.tensor = name;
  h.lo = 0.0;
  h.hi = st.histogram()->bin_width() * static_cast<double>(per * ((used + per - 1) / per));
  for (std::size_t b = 0; b < used; b += per) {
    double c = 0;
    for (std::size_t k = b; k < std::min(used, b + per); ++k) c += static_cast<double>(counts[k]);
    h.counts.push_back(c);
  }
  h.markers.push_back({"amax", r.amax});
  if (uint8) h.markers.push_back({"|min|", -r.min});
  h.markers.push_back({"absmax", st.absmax()});
  return h;
}

std::string joined(const std::vector<std::string>& items) {
  std::string s;
  for (const auto& x : items) s += (s.empty() ? "" : ", ") + x;
  return s;
}

// Rule 1c's outcome (docs/quantization.md, "Dominant noise").
std::string dominant_noise_text(const CalibrateReport& report) {
  std::vector<std::string> kept;
  for (const auto& n : report.dominant_noise) {
    kept.push_back(n.tensor + " (" +
                   std::to_string(static_cast<int>(std::lround(n.share * 100.0))) +
                   "% of the output noise)");
  }
  return kept.empty() ? std::string("none") : joined(kept);
}

void add_parameters(eval::ReportData& rd, const AccuracyInputs& in) {
  const CalibrateOptions& o = *in.options;
  const CalibrateReport& report = *in.report;
  const bool uint8 = o.activations == exporter::ActivationType::kUInt8Asymmetric;
  const auto& build = *in.default_build;
  rd.parameters = {{"model", in.model->path.string()},
                   {"method", std::string(calib::method_name(o.select.method))},
                   {"samples", std::to_string(report.samples)},
                   {"data", in.stats->provenance().data_description},
                   {"activations", uint8 ? "uint8 asymmetric" : "int8 symmetric"},
                   {"weights", o.per_channel ? "int8 per channel" : "int8 per tensor"},
                   {"Q/DQ pairs on activations", std::to_string(build.qdq.activation_pairs)},
                   {"int8 weights", std::to_string(build.qdq.weights)},
                   {"quantizable nodes kept float", std::to_string(build.plan.float_nodes.size())}};
  if (o.dominant_noise.enabled) {
    rd.parameters.push_back({"kept float by the dominant-noise rule (" +
                                 format_value(o.dominant_noise.gain_db) + " dB)",
                             dominant_noise_text(report)});
  }
  if (!o.exclude.empty()) rd.parameters.push_back({"--exclude", joined(o.exclude)});
}

}  // namespace

eval::ReportData calibrate_report_data(const AccuracyInputs& in) {
  const AccuracyOptions& a = in.options->accuracy;
  eval::ReportData rd;
  rd.title = "qcal calibrate: " + in.model->path.filename().string();
  rd.command = in.report->command;
  add_parameters(rd, in);
  for (const auto& w : in.report->warnings) rd.notes.push_back("warning: " + w);
  if (!a.eval_data) return rd;
  rd.parameters.push_back(
      {"evaluation data",
       a.eval_data->data.string() +
           (a.eval_data_is_calibration_data
                ? " (the calibration data: pass --eval-data for held-out samples)"
                : "")});
  try {
    rd.thumbnails = load_thumbnails(*in.model, a);
  } catch (const Error& e) {
    rd.notes.push_back(std::string("no thumbnails: ") + e.what());
  }
  return rd;
}

void add_histograms(eval::ReportData& rd, const std::vector<std::string>& order, bool ranked,
                    const AccuracyInputs& in) {
  const bool uint8 = in.options->activations == exporter::ActivationType::kUInt8Asymmetric;
  std::vector<std::pair<double, eval::ReportHistogram>> found;  // (SQNR, histogram)
  for (const auto& t : order) {
    auto r = in.default_build->ranges.find(t);
    if (r == in.default_build->ranges.end() || !in.stats->has_tensor(t)) continue;
    if (auto h = report_histogram(t, in.stats->at(t), r->second, uint8)) {
      const double sqnr =
          calib::tensor_sqnr_db(in.stats->at(t), calib::usable_amax(r->second.amax));
      h->subtitle = "int8 SQNR at this range " + format_value(sqnr, 3) + " dB";
      found.emplace_back(std::isnan(sqnr) ? -INFINITY : sqnr, std::move(*h));
    }
  }
  if (!ranked) {
    // Worst first; ties keep the plan's order (stable), so the page is reproducible.
    std::stable_sort(found.begin(), found.end(),
                     [](const auto& a, const auto& b) { return a.first < b.first; });
  }
  for (auto& [sqnr, h] : found) rd.histograms.push_back(std::move(h));
  if (rd.histograms.empty()) {
    rd.notes.push_back("No histograms: minmax/ema without --save-stats collects none.");
  }
}

}  // namespace qcal::quantize
