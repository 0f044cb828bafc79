// The plan's HTML page: one self-contained file (inline CSS and SVG, no script, no network)
// with the latency-versus-power chart marking the chosen configuration.
#include <algorithm>
#include <cmath>
#include <set>

#include "plan/report.hpp"
#include "plan/text.hpp"

namespace qcal::plan {
namespace {

std::string esc(std::string_view s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out.push_back(c);
    }
  }
  return out;
}

std::string opt(const std::optional<double>& v, int decimals) {
  return v ? fixed(*v, decimals) : std::string("&ndash;");
}

// A "nice" tick step (1, 2 or 5 times a power of ten) giving about `target` ticks over [0, max].
double nice_step(double max, int target) {
  double raw = max / target;
  double mag = std::pow(10.0, std::floor(std::log10(raw)));
  double norm = raw / mag;
  double step = norm <= 1 ? 1 : norm <= 2 ? 2 : norm <= 5 ? 5 : 10;
  return step * mag;
}

int decimals_for(double step) {
  return step >= 1 ? 0 : static_cast<int>(std::ceil(-std::log10(step)));
}

std::string chart(const Plan& plan) {
  const double width = 760, height = 460, left = 70, right = 30, top = 30, bottom = 60;
  const double pw = width - left - right, ph = height - top - bottom;
  std::vector<std::size_t> plotted;
  double max_x = 0, max_y = 0;
  for (std::size_t i = 0; i < plan.configs.size(); ++i) {
    const Config& c = plan.configs[i];
    if (!c.power_w) continue;
    plotted.push_back(i);
    max_x = std::max(max_x, *c.power_w);
    max_y = std::max(max_y, c.checked_latency_ms);
  }
  const auto& o = plan.options;
  if (o.max_power_w) max_x = std::max(max_x, *o.max_power_w);
  if (o.max_latency_ms) max_y = std::max(max_y, *o.max_latency_ms);
  std::set<std::int64_t> batches;
  for (std::size_t i : plotted) batches.insert(plan.configs[i].batch);
  if (o.target_fps) {
    for (std::int64_t b : batches)
      max_y = std::max(max_y, static_cast<double>(b) * 1000.0 / *o.target_fps);
  }
  if (plotted.empty()) {
    return "<p class=\"muted\">No configuration has a power measurement, so there is no "
           "latency-versus-power chart.</p>\n";
  }
  max_x = max_x > 0 ? max_x * 1.1 : 1.0;
  max_y = max_y > 0 ? max_y * 1.1 : 1.0;
  double sx = nice_step(max_x, 6), sy = nice_step(max_y, 6);
  max_x = std::ceil(max_x / sx) * sx;
  max_y = std::ceil(max_y / sy) * sy;
  auto to_x = [&](double v) { return left + v / max_x * pw; };
  auto to_y = [&](double v) { return top + ph - v / max_y * ph; };

  std::string s;
  s += "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + fixed(width, 0) + "\" height=\"" +
       fixed(height, 0) + "\" viewBox=\"0 0 " + fixed(width, 0) + " " + fixed(height, 0) +
       "\" role=\"img\" aria-label=\"latency versus power\">\n";
  s += "<rect x=\"" + fixed(left, 1) + "\" y=\"" + fixed(top, 1) + "\" width=\"" + fixed(pw, 1) +
       "\" height=\"" + fixed(ph, 1) + "\" fill=\"#fff\" stroke=\"#999\"/>\n";
  for (double v = 0; v <= max_x + sx / 2; v += sx) {
    s += "<line x1=\"" + fixed(to_x(v), 1) + "\" y1=\"" + fixed(top, 1) + "\" x2=\"" +
         fixed(to_x(v), 1) + "\" y2=\"" + fixed(top + ph, 1) + "\" stroke=\"#eee\"/>\n";
    s += "<text x=\"" + fixed(to_x(v), 1) + "\" y=\"" + fixed(top + ph + 18, 1) +
         "\" text-anchor=\"middle\" class=\"tick\">" + fixed(v, decimals_for(sx)) + "</text>\n";
  }
  for (double v = 0; v <= max_y + sy / 2; v += sy) {
    s += "<line x1=\"" + fixed(left, 1) + "\" y1=\"" + fixed(to_y(v), 1) + "\" x2=\"" +
         fixed(left + pw, 1) + "\" y2=\"" + fixed(to_y(v), 1) + "\" stroke=\"#eee\"/>\n";
    s += "<text x=\"" + fixed(left - 8, 1) + "\" y=\"" + fixed(to_y(v) + 4, 1) +
         "\" text-anchor=\"end\" class=\"tick\">" + fixed(v, decimals_for(sy)) + "</text>\n";
  }
  s += "<text x=\"" + fixed(left + pw / 2, 1) + "\" y=\"" + fixed(height - 15, 1) +
       "\" text-anchor=\"middle\">power (W, median)</text>\n";
  s += "<text transform=\"translate(18 " + fixed(top + ph / 2, 1) +
       ") rotate(-90)\" text-anchor=\"middle\">latency (ms, as checked)</text>\n";
  // Constraint lines: the region that qualifies is left of max power and below the latency lines.
  if (o.max_power_w) {
    s += "<line x1=\"" + fixed(to_x(*o.max_power_w), 1) + "\" y1=\"" + fixed(top, 1) + "\" x2=\"" +
         fixed(to_x(*o.max_power_w), 1) + "\" y2=\"" + fixed(top + ph, 1) +
         "\" class=\"limit\"/>\n<text x=\"" + fixed(to_x(*o.max_power_w) + 4, 1) + "\" y=\"" +
         fixed(top + 12, 1) + "\" class=\"limit-label\">max-power-w " + fixed(*o.max_power_w, 2) +
         "</text>\n";
  }
  auto hline = [&](double v, const std::string& label) {
    s += "<line x1=\"" + fixed(left, 1) + "\" y1=\"" + fixed(to_y(v), 1) + "\" x2=\"" +
         fixed(left + pw, 1) + "\" y2=\"" + fixed(to_y(v), 1) + "\" class=\"limit\"/>\n<text x=\"" +
         fixed(left + pw - 4, 1) + "\" y=\"" + fixed(to_y(v) - 4, 1) +
         "\" text-anchor=\"end\" class=\"limit-label\">" + esc(label) + "</text>\n";
  };
  if (o.max_latency_ms) hline(*o.max_latency_ms, "max-latency-ms " + fixed(*o.max_latency_ms, 2));
  if (o.target_fps) {
    for (std::int64_t b : batches) {
      hline(static_cast<double>(b) * 1000.0 / *o.target_fps,
            "target-fps " + fixed(*o.target_fps, 1) + " (batch " + std::to_string(b) + ")");
    }
  }
  for (std::size_t i : plotted) {
    const Config& c = plan.configs[i];
    double x = to_x(*c.power_w), y = to_y(c.checked_latency_ms);
    std::string cls = c.chosen ? "pt chosen" : c.feasible ? "pt ok" : "pt rejected";
    if (c.predicted) cls += " predicted";
    s += "<g class=\"" + cls + "\"><title>" +
         esc(std::to_string(i + 1) + ". " + c.label() + ": " + fixed(c.checked_latency_ms, 2) +
             " ms, " + fixed(*c.power_w, 2) + " W, " + c.verdict) +
         "</title>";
    if (c.chosen) {
      s +=
          "<circle cx=\"" + fixed(x, 1) + "\" cy=\"" + fixed(y, 1) + "\" r=\"12\" class=\"halo\"/>";
    }
    s += "<circle cx=\"" + fixed(x, 1) + "\" cy=\"" + fixed(y, 1) + "\" r=\"6\"/>";
    s += "<text x=\"" + fixed(x + 9, 1) + "\" y=\"" + fixed(y - 8, 1) + "\">" +
         std::to_string(i + 1) + (c.chosen ? " chosen" : "") + "</text></g>\n";
  }
  s += "</svg>\n";
  s += "<p class=\"legend\"><span class=\"sw chosen\"></span> chosen &nbsp; <span class=\"sw ok\">"
       "</span> qualifies &nbsp; <span class=\"sw rejected\"></span> rejected &nbsp; hollow = "
       "predicted (not measured) &nbsp; dashed lines = constraints; numbers refer to the "
       "table.</p>\n";
  std::size_t missing = plan.configs.size() - plotted.size();
  if (missing > 0) {
    s += "<p class=\"muted\">" + std::to_string(missing) +
         " configuration(s) without a power value are not on the chart.</p>\n";
  }
  return s;
}

}  // namespace

std::string format_plan_html(const Plan& plan, const ProfileSet& profiles) {
  std::string h;
  h += "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
       "<title>qcal plan</title>\n<style>\n"
       "body{font-family:system-ui,sans-serif;margin:2em;color:#222;max-width:1200px}\n"
       "table{border-collapse:collapse;font-size:13px}td,th{border:1px solid #ccc;padding:3px 6px}"
       "th{background:#f3f3f3}td.n{text-align:right;font-variant-numeric:tabular-nums}\n"
       "tr.chosen{background:#e3efff;font-weight:600}tr.rejected{color:#777}tr.predicted "
       "td{font-style:italic}\n"
       ".summary{font-size:1.1em;padding:.6em;border-left:4px solid #2a6fdb;background:#f5f8ff}\n"
       ".none{border-left-color:#c0392b;background:#fff4f2}\n"
       "svg text{font-size:12px;fill:#333}.tick{fill:#666}\n"
       ".limit{stroke:#c0392b;stroke-dasharray:6 4;stroke-width:1.5}.limit-label{fill:#c0392b}\n"
       ".pt circle{stroke-width:2}.pt.ok circle{fill:#27ae60;stroke:#1e8449}\n"
       ".pt.rejected circle{fill:#bbb;stroke:#888}.pt.chosen circle{fill:#2a6fdb;stroke:#1b4f9c}\n"
       ".pt.predicted circle{fill:#fff;stroke-dasharray:3 2}.pt "
       "circle.halo{fill:none;stroke:#2a6fdb}\n"
       ".legend,.muted{color:#666;font-size:13px}.sw{display:inline-block;width:10px;height:10px;"
       "border-radius:5px}\n"
       ".sw.chosen{background:#2a6fdb}.sw.ok{background:#27ae60}.sw.rejected{background:#bbb}\n"
       "</style>\n</head>\n<body>\n<h1>qcal plan</h1>\n";
  const auto& o = plan.options;
  std::string limits;
  if (o.target_fps) limits += "target-fps " + fixed(*o.target_fps, 1) + "; ";
  if (o.max_latency_ms) limits += "max-latency-ms " + fixed(*o.max_latency_ms, 2) + "; ";
  if (o.max_power_w) limits += "max-power-w " + fixed(*o.max_power_w, 2) + "; ";
  if (o.max_drop_pp) limits += "max-drop " + fixed(*o.max_drop_pp, 2) + " pp; ";
  h += "<p>" + std::to_string(profiles.runs.size()) + " usable runs of " +
       std::to_string(profiles.rows_read) + " rows; " + std::to_string(plan.configs.size()) +
       " configurations. Constraints: " + esc(limits.empty() ? "none; " : limits) + "objective " +
       objective_name(o.objective) + "; latency statistic " + latency_stat_name(o.latency_stat) +
       ".</p>\n";
  h += std::string("<p class=\"summary") + (plan.chosen ? "" : " none") + "\">" +
       esc(plan.summary) + "</p>\n";
  if (!plan.infeasible.empty()) {
    h += "<h2>What fails</h2>\n<ul>\n";
    for (const auto& s : plan.infeasible) h += "<li>" + esc(s) + "</li>\n";
    h += "</ul>\n";
  }
  h += "<h2>Latency versus power</h2>\n" + chart(plan);
  h += "<h2>Configurations</h2>\n<table>\n<tr><th>#</th><th>engine</th><th>precision</th>"
       "<th>batch</th><th>shape</th><th>runs</th><th>p50 ms</th><th>p90 ms</th><th>p99 ms</th>"
       "<th>checked ms</th><th>FPS</th><th>power W</th><th>temp C</th><th>drop pp</th>"
       "<th>verdict</th></tr>\n";
  for (std::size_t i = 0; i < plan.configs.size(); ++i) {
    const Config& c = plan.configs[i];
    std::string cls = c.chosen ? "chosen" : c.feasible ? "ok" : "rejected";
    if (c.predicted) cls += " predicted";
    std::string temp = opt(c.temp_median_c, 1);
    if (c.throttle.throttling) temp += " <b>throttling</b>";
    h += "<tr class=\"" + cls + "\"><td class=\"n\">" + std::to_string(i + 1) + "</td><td>" +
         esc(c.engine_name) + "</td><td>" + esc(c.precision) + "</td><td class=\"n\">" +
         std::to_string(c.batch) + "</td><td>" +
         esc(c.shape.empty() ? "-" : format_shape(c.shape)) + "</td><td class=\"n\">" +
         (c.predicted ? std::string("predicted") : std::to_string(c.runs)) +
         "</td><td class=\"n\">" + fixed(c.latency_p50_ms, 2) + "</td><td class=\"n\">" +
         fixed(c.latency_p90_ms, 2) + "</td><td class=\"n\">" + fixed(c.latency_p99_ms, 2) +
         "</td><td class=\"n\">" + fixed(c.checked_latency_ms, 2) + "</td><td class=\"n\">" +
         fixed(c.fps, 1) + "</td><td class=\"n\">" + opt(c.power_w, 2) + "</td><td class=\"n\">" +
         temp + "</td><td class=\"n\">" + opt(c.drop_pp, 2) + "</td><td>" + esc(c.verdict);
    if (c.prediction) h += "<br><small>" + esc(c.prediction->basis) + "</small>";
    if (c.checked_latency_note.rfind("thermal", 0) == 0) {
      h += "<br><small>" + esc(c.checked_latency_note) + "</small>";
    }
    h += "</td></tr>\n";
  }
  h += "</table>\n";
  if (!plan.notes.empty()) {
    h += "<h2>Notes</h2>\n<ul>\n";
    for (const auto& n : plan.notes) h += "<li>" + esc(n) + "</li>\n";
    h += "</ul>\n";
  }
  if (!profiles.rejected.empty()) {
    h += "<h2>Unusable rows (" + std::to_string(profiles.rejected.size()) + " of " +
         std::to_string(profiles.rows_read) + ")</h2>\n<ul>\n";
    for (const auto& r : profiles.rejected) {
      h += "<li><code>" + esc(r.file) + ":" + std::to_string(r.line) + "</code> " + esc(r.reason) +
           "</li>\n";
    }
    h += "</ul>\n";
  }
  if (!profiles.warnings.empty()) {
    h += "<h2>Warnings</h2>\n<ul>\n";
    for (const auto& w : profiles.warnings) h += "<li>" + esc(w) + "</li>\n";
    h += "</ul>\n";
  }
  h += "<h2>Columns read</h2>\n<ul>\n";
  for (const auto& m : profiles.mappings) {
    h += "<li><code>" + esc(m.file) + "</code>: latency <code>" + esc(m.latency) +
         "</code>, power <code>" + esc(m.power.empty() ? "-" : m.power) +
         "</code>, temperature <code>" + esc(m.temperature.empty() ? "-" : m.temperature) +
         "</code>, precision <code>" + esc(m.precision) + "</code></li>\n";
  }
  h += "</ul>\n</body>\n</html>\n";
  return h;
}

}  // namespace qcal::plan
