// Inline SVG charts for the report (histograms with thresholds, line charts) and the text
// helpers they share. Pure string building: the same data gives the same bytes.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>

#include "eval/report.hpp"

namespace qcal::eval {

namespace {

constexpr const char* kPalette[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e",
                                    "#9467bd", "#8c564b", "#e377c2", "#17becf"};
constexpr int kMaxBars = 200;  // more bins are summed into this many bars (SVG stays small)

std::string fmt_coord(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f", v);
  return buf;
}

// About `count` round tick values covering [lo, hi] (1, 2, 5 times a power of ten).
std::vector<double> nice_ticks(double lo, double hi, int count) {
  std::vector<double> ticks;
  if (!(hi > lo) || !std::isfinite(lo) || !std::isfinite(hi)) {
    ticks.push_back(lo);
    return ticks;
  }
  const double raw = (hi - lo) / std::max(count, 1);
  const double mag = std::pow(10.0, std::floor(std::log10(raw)));
  double step = mag;
  for (double m : {1.0, 2.0, 5.0, 10.0}) {
    if (raw <= m * mag) {
      step = m * mag;
      break;
    }
  }
  for (double t = std::ceil(lo / step) * step; t <= hi + step * 1e-9; t += step) {
    ticks.push_back(std::fabs(t) < step * 1e-9 ? 0.0 : t);
  }
  return ticks;
}

}  // namespace

std::string format_number(double v, int significant) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*g", significant, v);
  return buf;
}

std::string html_escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char ch : text) {
    switch (ch) {
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
        out += ch;
    }
  }
  return out;
}

std::string render_histogram_svg(const ReportHistogram& h, int width, int height) {
  const double left = 8, right = 8, top = 20, bottom = 34;
  const double plot_w = width - left - right, plot_h = height - top - bottom;
  std::string s = "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"histogram\" width=\"" +
                  std::to_string(width) + "\" height=\"" + std::to_string(height) +
                  "\" viewBox=\"0 0 " + std::to_string(width) + " " + std::to_string(height) +
                  "\" role=\"img\" aria-label=\"histogram of " + html_escape(h.tensor) + "\">";
  s += "<title>" + html_escape(h.tensor) + "</title>";
  s += "<text x=\"" + fmt_coord(left) + "\" y=\"13\" class=\"chart-title\">" +
       html_escape(h.tensor) +
       (h.subtitle.empty() ? std::string() : " (" + html_escape(h.subtitle) + ")") + "</text>";
  // Sum bins into at most kMaxBars bars.
  const std::size_t n = h.counts.size();
  const std::size_t group = n > kMaxBars ? (n + kMaxBars - 1) / kMaxBars : 1;
  std::vector<double> bars;
  for (std::size_t i = 0; i < n; i += group) {
    double sum = 0;
    for (std::size_t k = i; k < std::min(n, i + group); ++k) sum += h.counts[k];
    bars.push_back(sum);
  }
  // Heights on log10(1 + count): activation histograms are peaky and tails matter for ranges.
  double peak = 0;
  for (double b : bars) peak = std::max(peak, std::log10(1.0 + std::max(b, 0.0)));
  s += "<rect x=\"" + fmt_coord(left) + "\" y=\"" + fmt_coord(top) + "\" width=\"" +
       fmt_coord(plot_w) + "\" height=\"" + fmt_coord(plot_h) + "\" class=\"plot-bg\"/>";
  const double bar_w = bars.empty() ? 0 : plot_w / static_cast<double>(bars.size());
  for (std::size_t i = 0; i < bars.size(); ++i) {
    const double v = peak > 0 ? std::log10(1.0 + std::max(bars[i], 0.0)) / peak : 0.0;
    if (v <= 0) continue;
    const double bh = v * plot_h;
    s += "<rect class=\"bar\" x=\"" + fmt_coord(left + static_cast<double>(i) * bar_w) + "\" y=\"" +
         fmt_coord(top + plot_h - bh) + "\" width=\"" + fmt_coord(std::max(bar_w, 0.5)) +
         "\" height=\"" + fmt_coord(bh) + "\"/>";
  }
  const double span = h.hi - h.lo;
  auto x_of = [&](double v) {
    const double t = span > 0 ? (v - h.lo) / span : 0.5;
    return left + std::clamp(t, 0.0, 1.0) * plot_w;
  };
  // Axis labels: range ends and zero when inside.
  const double axis_y = top + plot_h;
  s += "<line class=\"axis\" x1=\"" + fmt_coord(left) + "\" y1=\"" + fmt_coord(axis_y) +
       "\" x2=\"" + fmt_coord(left + plot_w) + "\" y2=\"" + fmt_coord(axis_y) + "\"/>";
  s += "<text class=\"tick\" x=\"" + fmt_coord(left) + "\" y=\"" + fmt_coord(axis_y + 12) + "\">" +
       format_number(h.lo, 4) + "</text>";
  s += "<text class=\"tick\" text-anchor=\"end\" x=\"" + fmt_coord(left + plot_w) + "\" y=\"" +
       fmt_coord(axis_y + 12) + "\">" + format_number(h.hi, 4) + "</text>";
  if (h.lo < 0 && h.hi > 0) {
    s += "<text class=\"tick\" text-anchor=\"middle\" x=\"" + fmt_coord(x_of(0)) + "\" y=\"" +
         fmt_coord(axis_y + 12) + "\">0</text>";
  }
  // Threshold markers: dashed vertical lines, labels alternate rows so neighbours stay legible.
  for (std::size_t m = 0; m < h.markers.size(); ++m) {
    const auto& [label, value] = h.markers[m];
    const double x = x_of(value);
    const bool outside = value < h.lo || value > h.hi;
    s += "<line class=\"marker\" x1=\"" + fmt_coord(x) + "\" y1=\"" + fmt_coord(top) + "\" x2=\"" +
         fmt_coord(x) + "\" y2=\"" + fmt_coord(axis_y) + "\"><title>" + html_escape(label) + " = " +
         format_number(value) + "</title></line>";
    const char* anchor =
        x > left + plot_w * 0.8 ? "end" : (x < left + plot_w * 0.2 ? "start" : "middle");
    s += "<text class=\"marker-label\" text-anchor=\"" + std::string(anchor) + "\" x=\"" +
         fmt_coord(x) + "\" y=\"" + fmt_coord(m % 2 == 0 ? axis_y + 24 : top + 10) + "\">" +
         html_escape(label) + " " + format_number(value, 4) + (outside ? " (off range)" : "") +
         "</text>";
  }
  s += "</svg>";
  return s;
}

std::string render_line_chart_svg(const ReportLineChart& c, int width, int height) {
  const double left = 60, right = 150, top = 28, bottom = 44;
  const double plot_w = width - left - right, plot_h = height - top - bottom;
  double x_lo = std::numeric_limits<double>::infinity(), x_hi = -x_lo;
  double y_lo = x_lo, y_hi = -x_lo;
  const bool log_x = c.log_x;
  auto tx = [&](double x) { return log_x ? std::log10(x) : x; };
  for (const ReportSeries& sr : c.series) {
    for (const auto& [x, y] : sr.points) {
      if (!std::isfinite(x) || !std::isfinite(y) || (log_x && x <= 0)) continue;
      x_lo = std::min(x_lo, tx(x));
      x_hi = std::max(x_hi, tx(x));
      y_lo = std::min(y_lo, y);
      y_hi = std::max(y_hi, y);
    }
  }
  const bool empty = !(x_lo <= x_hi);
  if (empty) {
    x_lo = 0, x_hi = 1, y_lo = 0, y_hi = 1;
  }
  if (x_hi == x_lo) x_lo -= 0.5, x_hi += 0.5;
  if (y_hi == y_lo) y_lo -= 0.5, y_hi += 0.5;
  const double y_pad = (y_hi - y_lo) * 0.08;
  y_lo -= y_pad;
  y_hi += y_pad;
  auto px = [&](double x) { return left + (tx(x) - x_lo) / (x_hi - x_lo) * plot_w; };
  auto py = [&](double y) { return top + (1.0 - (y - y_lo) / (y_hi - y_lo)) * plot_h; };

  std::string s = "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"line-chart\" width=\"" +
                  std::to_string(width) + "\" height=\"" + std::to_string(height) +
                  "\" viewBox=\"0 0 " + std::to_string(width) + " " + std::to_string(height) +
                  "\" role=\"img\" aria-label=\"" + html_escape(c.title) + "\">";
  s += "<title>" + html_escape(c.title) + "</title>";
  s += "<text class=\"chart-title\" x=\"" + fmt_coord(left) + "\" y=\"16\">" +
       html_escape(c.title) + "</text>";
  s += "<rect class=\"plot-bg\" x=\"" + fmt_coord(left) + "\" y=\"" + fmt_coord(top) +
       "\" width=\"" + fmt_coord(plot_w) + "\" height=\"" + fmt_coord(plot_h) + "\"/>";
  // Y ticks and grid.
  for (double t : nice_ticks(y_lo, y_hi, 5)) {
    const double y = py(t);
    s += "<line class=\"grid\" x1=\"" + fmt_coord(left) + "\" y1=\"" + fmt_coord(y) + "\" x2=\"" +
         fmt_coord(left + plot_w) + "\" y2=\"" + fmt_coord(y) + "\"/>";
    s += "<text class=\"tick\" text-anchor=\"end\" x=\"" + fmt_coord(left - 4) + "\" y=\"" +
         fmt_coord(y + 3) + "\">" + format_number(t, 4) + "</text>";
  }
  // X ticks: on a log axis, the data's own x values (image counts); else round values.
  std::vector<double> xticks;
  if (log_x) {
    for (const ReportSeries& sr : c.series) {
      for (const auto& p : sr.points) {
        if (p.first > 0 && std::isfinite(p.first)) xticks.push_back(p.first);
      }
    }
    std::sort(xticks.begin(), xticks.end());
    xticks.erase(std::unique(xticks.begin(), xticks.end()), xticks.end());
  } else {
    xticks = nice_ticks(x_lo, x_hi, 6);
  }
  for (double t : xticks) {
    const double x = px(t);
    s += "<line class=\"grid\" x1=\"" + fmt_coord(x) + "\" y1=\"" + fmt_coord(top) + "\" x2=\"" +
         fmt_coord(x) + "\" y2=\"" + fmt_coord(top + plot_h) + "\"/>";
    s += "<text class=\"tick\" text-anchor=\"middle\" x=\"" + fmt_coord(x) + "\" y=\"" +
         fmt_coord(top + plot_h + 14) + "\">" + format_number(t, 4) + "</text>";
  }
  s += "<text class=\"axis-label\" text-anchor=\"middle\" x=\"" + fmt_coord(left + plot_w / 2) +
       "\" y=\"" + fmt_coord(height - 6.0) + "\">" + html_escape(c.x_label) +
       (log_x ? " (log scale)" : "") + "</text>";
  s += "<text class=\"axis-label\" text-anchor=\"middle\" transform=\"translate(14," +
       fmt_coord(top + plot_h / 2) + ") rotate(-90)\">" + html_escape(c.y_label) + "</text>";
  for (std::size_t i = 0; i < c.series.size(); ++i) {
    const ReportSeries& sr = c.series[i];
    const char* color = kPalette[i % std::size(kPalette)];
    std::string pts;
    std::string dots;
    for (const auto& [x, y] : sr.points) {
      if (!std::isfinite(x) || !std::isfinite(y) || (log_x && x <= 0)) continue;
      if (!pts.empty()) pts += ' ';
      pts += fmt_coord(px(x)) + "," + fmt_coord(py(y));
      dots += "<circle cx=\"" + fmt_coord(px(x)) + "\" cy=\"" + fmt_coord(py(y)) +
              "\" r=\"3\" fill=\"" + color + "\"><title>" + html_escape(sr.name) + ": " +
              format_number(x) + ", " + format_number(y) + "</title></circle>";
    }
    s += "<polyline class=\"series\" fill=\"none\" stroke=\"" + std::string(color) +
         "\" stroke-width=\"2\" points=\"" + pts + "\"/>" + dots;
    const double ly = top + 10 + static_cast<double>(i) * 16;
    s += "<rect x=\"" + fmt_coord(left + plot_w + 10) + "\" y=\"" + fmt_coord(ly - 8) +
         "\" width=\"10\" height=\"10\" fill=\"" + color + "\"/>";
    s += "<text class=\"legend\" x=\"" + fmt_coord(left + plot_w + 24) + "\" y=\"" +
         fmt_coord(ly + 1) + "\">" + html_escape(sr.name) + "</text>";
  }
  if (empty) {
    s += "<text class=\"tick\" text-anchor=\"middle\" x=\"" + fmt_coord(left + plot_w / 2) +
         "\" y=\"" + fmt_coord(top + plot_h / 2) + "\">no data</text>";
  }
  s += "</svg>";
  return s;
}

}  // namespace qcal::eval

namespace qcal::eval {

namespace {

// What a sensitivity bar measures: the task drop when any tensor has one, else the output noise
// power relative to the signal (10^(-SQNR/10)), both growing with sensitivity.
struct BarScale {
  bool task = false;
  double peak = 0.0;
};

double bar_value(const TensorSensitivity& t, bool task) {
  if (task) return std::isnan(t.task_drop_pp) ? 0.0 : std::max(0.0, t.task_drop_pp);
  if (std::isnan(t.output_sqnr_db)) return 1.0;  // broken arithmetic: the longest bar
  return std::isinf(t.output_sqnr_db) ? 0.0 : std::pow(10.0, -t.output_sqnr_db / 10.0);
}

BarScale bar_scale(const std::vector<RankedTensor>& ranked) {
  BarScale b;
  b.task = std::any_of(ranked.begin(), ranked.end(),
                       [](const RankedTensor& r) { return !std::isnan(r.result.task_drop_pp); });
  for (const auto& r : ranked) b.peak = std::max(b.peak, bar_value(r.result, b.task));
  return b;
}

}  // namespace

std::string render_sensitivity_svg(const std::vector<RankedTensor>& ranked, int width) {
  constexpr double kRow = 16, kTop = 22, kLabelW = 360, kValueW = 150;
  const BarScale scale = bar_scale(ranked);
  const double bar_w = width - kLabelW - kValueW;
  const int height = static_cast<int>(kTop + kRow * static_cast<double>(ranked.size()) + 6);
  std::string s = "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"sensitivity-bars\" width=\"" +
                  std::to_string(width) + "\" height=\"" + std::to_string(height) +
                  "\" viewBox=\"0 0 " + std::to_string(width) + " " + std::to_string(height) +
                  "\" role=\"img\" aria-label=\"layer sensitivity\">";
  s += "<text x=\"0\" y=\"13\" class=\"chart-title\">" +
       std::string(scale.task ? "Task metric drop (pp) with only this tensor quantized"
                              : "Output noise power / signal with only this tensor quantized") +
       ", most sensitive first</text>";
  for (std::size_t i = 0; i < ranked.size(); ++i) {
    const TensorSensitivity& t = ranked[i].result;
    const double y = kTop + kRow * static_cast<double>(i);
    const double v = bar_value(t, scale.task);
    const double len = scale.peak > 0 ? v / scale.peak * bar_w : 0.0;
    const std::string value = scale.task ? format_number(t.task_drop_pp, 3) + " pp"
                                         : "SQNR " + format_number(t.output_sqnr_db, 3) + " dB";
    s += "<g class=\"sens-row\"><title>" + html_escape(t.tensor) + ": " + value + "</title>";
    s += "<text class=\"tick\" x=\"" + fmt_coord(kLabelW - 6) + "\" y=\"" + fmt_coord(y + 11) +
         "\" text-anchor=\"end\">" + std::to_string(ranked[i].rank) + ". " +
         html_escape(t.tensor.size() > 52 ? "..." + t.tensor.substr(t.tensor.size() - 49)
                                          : t.tensor) +
         "</text>";
    s += "<rect class=\"sens-bar\" x=\"" + fmt_coord(kLabelW) + "\" y=\"" + fmt_coord(y + 2) +
         "\" width=\"" + fmt_coord(std::max(len, 1.0)) + "\" height=\"" + fmt_coord(kRow - 4) +
         "\"/>";
    s += "<text class=\"tick\" x=\"" + fmt_coord(kLabelW + std::max(len, 1.0) + 4) + "\" y=\"" +
         fmt_coord(y + 11) + "\">" + value + "</text></g>";
  }
  s += "</svg>";
  return s;
}

}  // namespace qcal::eval
