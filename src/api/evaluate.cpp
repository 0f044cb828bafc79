// qcal::evaluate: the public options into eval::EvalOptions, the run, and eval.json/report.html
// written as `qcal eval` writes them.
#include "eval/evaluate.hpp"

#include <array>
#include <filesystem>

#include "api/convert.hpp"
#include "core/atomic_file.hpp"
#include "core/error.hpp"
#include "qcal/eval.hpp"

namespace qcal {
namespace {

eval::EvalOptions to_eval_options(const std::string& fp32, const std::string& int8,
                                  const std::string& data, const EvalOptions& o) {
  eval::EvalOptions e;
  e.fp32_model = fp32;
  e.int8_model = int8;
  e.data = data;
  e.recipe = o.recipe;
  if (!o.size.empty()) {
    if (o.size.size() != 2 || o.size[0] <= 0 || o.size[1] <= 0) {
      throw_invalid("--size needs two positive numbers: W H");
    }
    e.size_wh = std::array<int, 2>{o.size[0], o.size[1]};
  }
  e.task = eval::parse_task(o.task);
  e.labels = o.labels;
  e.pairs = o.pairs;
  e.runtime = eval::parse_runtime(o.runtime);
  e.threads = o.threads;
  e.limit = o.limit;
  e.yolo.conf_threshold = o.conf;
  e.yolo.iou_threshold = o.iou;
  e.reference_conf = o.reference_conf;
  e.yunet.score_threshold = o.face_score;
  e.yunet.nms_threshold = o.face_nms;
  return e;
}

std::string command_line(const eval::EvalOptions& e) {
  std::string c = "qcal eval " + e.fp32_model.string() + " " + e.int8_model.string() + " --data " +
                  e.data.string() + " --task " + eval::task_name(e.task) + " --runtime " +
                  eval::runtime_name(e.runtime);
  if (!e.recipe.empty()) c += " --recipe " + e.recipe;
  if (e.limit > 0) c += " --limit " + std::to_string(e.limit);
  if (!e.labels.empty()) c += " --labels " + e.labels.string();
  return c;
}

EvalResult to_result(const eval::EvalResult& r, std::string json) {
  EvalResult out;
  out.samples = r.samples;
  out.reference = r.reference;
  out.primary_metric = r.primary_metric;
  for (const auto& m : r.metrics) out.metrics[m.key] = {m.label, m.fp32, m.int8, m.drop_pp()};
  for (const auto& o : r.outputs) {
    const auto& c = o.comparison;
    out.outputs[o.name] = {c.cosine, c.sqnr_db, c.max_abs_error, c.mean_abs_error};
  }
  out.notes = r.notes;
  out.json = std::move(json);
  return out;
}

}  // namespace

EvalResult evaluate(const std::string& fp32_model, const std::string& int8_model,
                    const std::string& data, const std::string& output, const EvalOptions& options,
                    const Control& control) {
  api::check_cancel(control, "eval");
  const eval::EvalOptions e = to_eval_options(fp32_model, int8_model, data, options);
  const eval::EvalResult r = eval::run_eval(e, [&](std::size_t done, std::size_t total) {
    if (control.progress) {
      control.progress("eval", static_cast<std::int64_t>(done), static_cast<std::int64_t>(total));
    }
    api::check_cancel(control, "eval");
  });
  EvalResult out = to_result(r, eval::eval_result_to_json(r).dump(2) + "\n");
  if (output.empty()) return out;
  const std::filesystem::path dir = output;
  std::filesystem::create_directories(dir);
  out.eval_json = (dir / "eval.json").string();
  out.report = (dir / "report.html").string();
  write_file_atomic(out.eval_json, out.json);
  eval::write_report_html(out.report, eval::eval_report_data(r, command_line(e)));
  return out;
}

}  // namespace qcal
