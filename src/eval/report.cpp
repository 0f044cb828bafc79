// The HTML report document: sections for parameters, accuracy, thumbnails, histograms,
// sensitivity and saturation; images as base64 PNG data URIs. No scripts, no external links.
#include "eval/report.hpp"

#include <algorithm>
#include <cmath>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "core/atomic_file.hpp"
#include "core/error.hpp"

namespace qcal::eval {

namespace {

constexpr const char* kStyle = R"(
body{font-family:-apple-system,"Segoe UI",Helvetica,Arial,sans-serif;margin:24px auto;max-width:1100px;color:#222;padding:0 16px}
h1{font-size:22px;margin-bottom:4px}h2{font-size:18px;border-bottom:1px solid #ddd;padding-bottom:4px;margin-top:28px}
code{background:#f4f4f4;padding:1px 4px;border-radius:3px}
table{border-collapse:collapse;margin:8px 0 4px 0;font-size:13px}
th,td{border:1px solid #ccc;padding:3px 8px;text-align:left}th{background:#f0f0f0}
td.num{text-align:right;font-variant-numeric:tabular-nums}
.note{color:#666;font-size:12px;margin:2px 0 12px 0}.empty{color:#888;font-style:italic}
.thumbs{display:flex;flex-wrap:wrap;gap:12px}.thumb{border:1px solid #ddd;padding:6px;font-size:12px}
.thumb img{display:block;margin:2px 0;image-rendering:pixelated}
.charts{display:flex;flex-wrap:wrap;gap:10px}
svg text{font-size:11px;fill:#333}svg .chart-title{font-size:12px;font-weight:600}
svg .plot-bg{fill:#fafafa;stroke:#ccc}svg .bar{fill:#4a7fb5}svg .axis{stroke:#666}
svg .grid{stroke:#e4e4e4}svg .marker{stroke:#d62728;stroke-width:1.5;stroke-dasharray:4 3}
svg .marker-label{fill:#d62728}svg .tick{fill:#555;font-size:10px}
svg .sens-bar{fill:#c0504d}
.verdict{border-radius:6px;padding:12px 18px;margin:12px 0 18px 0;color:#fff}
.verdict h2{border:none;margin:0 0 6px 0;font-size:22px;color:#fff}
.verdict ul{margin:4px 0 0 18px;padding:0}.verdict li{margin:2px 0}
.verdict.pass{background:#1e7b34}.verdict.fail{background:#b3261e}
.verdict.unresolved{background:#a86200}.verdict.not-measured{background:#5a5f66}
.legend{font-size:12px;margin:4px 0}.legend .fp32{color:#1b9e3a}.legend .int8{color:#c2189b}
)";

bool looks_numeric(const std::string& s) {
  if (s.empty()) return false;
  if (s == "inf" || s == "-inf" || s == "nan") return true;
  char* end = nullptr;
  (void)std::strtod(s.c_str(), &end);
  return end == s.c_str() + s.size();
}

void render_table(std::string& out, const ReportTable& t, const std::string& css_class) {
  out += "<table class=\"" + css_class + "\">";
  if (!t.title.empty()) out += "<caption>" + html_escape(t.title) + "</caption>";
  out += "<thead><tr>";
  for (const std::string& h : t.header) out += "<th>" + html_escape(h) + "</th>";
  out += "</tr></thead><tbody>";
  for (const auto& row : t.rows) {
    out += "<tr>";
    for (const std::string& cell : row) {
      out += looks_numeric(cell) ? "<td class=\"num\">" : "<td>";
      out += html_escape(cell) + "</td>";
    }
    out += "</tr>";
  }
  out += "</tbody></table>";
  if (!t.note.empty()) out += "<p class=\"note\">" + html_escape(t.note) + "</p>";
}

std::string img_tag(const ReportImage& image, const std::string& alt) {
  if (image.pixels.empty()) return "<p class=\"empty\">(none)</p>";
  return "<img alt=\"" + html_escape(alt) + "\" width=\"" + std::to_string(image.width) +
         "\" height=\"" + std::to_string(image.height) + "\" src=\"data:image/png;base64," +
         base64_encode(encode_png(image)) + "\"/>";
}

void section_empty(std::string& out, const std::string& why) {
  out += "<p class=\"empty\">" + html_escape(why) + "</p>";
}

cv::Mat as_mat(const ReportImage& image) {
  if (image.width <= 0 || image.height <= 0 || (image.channels != 1 && image.channels != 3) ||
      image.pixels.size() !=
          static_cast<std::size_t>(image.width) * image.height * image.channels) {
    throw Error(ErrorCode::kInvalidArgument,
                "report image must be 1 or 3 channels of width * height * channels bytes");
  }
  return cv::Mat(image.height, image.width, image.channels == 1 ? CV_8UC1 : CV_8UC3,
                 const_cast<std::uint8_t*>(image.pixels.data()));
}

void render_verdict(std::string& out, const ReportVerdict& v) {
  const std::string state = verdict_state_name(v.state);
  out += "\n<section id=\"verdict\" class=\"verdict " + state + "\" data-state=\"" + state +
         "\"><h2>" + html_escape(v.headline) + "</h2><ul>";
  for (const std::string& d : v.details) out += "<li>" + html_escape(d) + "</li>";
  out += "</ul></section>";
}

void render_thumbnails(std::string& o, const std::vector<ReportThumbnail>& thumbnails) {
  if (thumbnails.empty()) section_empty(o, "No sample images in this run.");
  const bool boxes = std::any_of(thumbnails.begin(), thumbnails.end(),
                                 [](const ReportThumbnail& t) { return !t.boxes.empty(); });
  if (boxes) {
    o += "<p class=\"legend\"><span class=\"fp32\">&#9632; FP32 detections</span> &nbsp; "
         "<span class=\"int8\">&#9632; INT8 detections</span> (drawn on the source image)</p>";
  }
  o += "<div class=\"thumbs\">";
  for (const ReportThumbnail& t : thumbnails) {
    const bool on_source = t.boxes_on_source && !t.before.pixels.empty();
    const ReportImage before = on_source ? draw_boxes(t.before, t) : t.before;
    const ReportImage after =
        !on_source && !t.after.pixels.empty() ? draw_boxes(t.after, t) : t.after;
    o += "<div class=\"thumb\"><div>" + html_escape(t.caption) + "</div>";
    o += "<div>before</div>" + img_tag(before, t.caption + " before preprocessing");
    o += "<div>after</div>" + img_tag(after, t.caption + " after preprocessing") + "</div>";
  }
  o += "</div>";
}

void render_sensitivity(std::string& o, const std::vector<RankedTensor>& sensitivity) {
  ReportTable t;
  t.header = {"rank", "tensor", "output SQNR (dB)", "output cosine", "own SQNR (dB)", "own cosine"};
  const bool task = std::any_of(sensitivity.begin(), sensitivity.end(), [](const RankedTensor& r) {
    return !std::isnan(r.result.task_drop_pp);
  });
  if (task) t.header.push_back("task drop (pp)");
  for (const RankedTensor& r : sensitivity) {
    t.rows.push_back(
        {std::to_string(r.rank), r.result.tensor, format_number(r.result.output_sqnr_db, 4),
         format_number(r.result.output_cosine, 6), format_number(r.result.along_sqnr_db, 4),
         format_number(r.result.along_cosine, 6)});
    if (task) t.rows.back().push_back(format_number(r.result.task_drop_pp, 4));
  }
  t.note =
      "Output columns: the model's outputs with only this tensor quantized, against FP32. "
      "Own columns: the tensor itself in the fully quantized model. Task drop (when "
      "measured): the task metric's loss with only this tensor quantized; it leads the "
      "ranking. Most sensitive first.";
  o += "<div class=\"charts\">" + render_sensitivity_svg(sensitivity) + "</div>";
  o += "<details><summary>The numbers</summary>";
  render_table(o, t, "sensitivity");
  o += "</details>";
}

}  // namespace

const char* verdict_state_name(ReportVerdict::State state) {
  switch (state) {
    case ReportVerdict::State::kPass:
      return "pass";
    case ReportVerdict::State::kFail:
      return "fail";
    case ReportVerdict::State::kUnresolved:
      return "unresolved";
    case ReportVerdict::State::kNotMeasured:
      return "not-measured";
  }
  return "not-measured";
}

ReportImage draw_boxes(const ReportImage& image, const ReportThumbnail& t) {
  if (t.boxes.empty() || t.source_w <= 0 || t.source_h <= 0) return image;
  ReportImage out = image;
  cv::Mat m = as_mat(out).clone();
  if (m.channels() == 1) cv::cvtColor(m, m, cv::COLOR_GRAY2BGR);
  const double sx = static_cast<double>(image.width) / t.source_w;
  const double sy = static_cast<double>(image.height) / t.source_h;
  for (const ReportBox& b : t.boxes) {
    // BGR: FP32 green, INT8 magenta, one pixel inside FP32's so both stay visible.
    const cv::Scalar colour = b.int8 ? cv::Scalar(155, 24, 194) : cv::Scalar(58, 158, 27);
    const int inset = b.int8 ? 1 : 0;
    const cv::Point p1(static_cast<int>(std::lround(b.x1 * sx)) + inset,
                       static_cast<int>(std::lround(b.y1 * sy)) + inset);
    const cv::Point p2(static_cast<int>(std::lround(b.x2 * sx)) - inset,
                       static_cast<int>(std::lround(b.y2 * sy)) - inset);
    cv::rectangle(m, p1, p2, colour, 1, cv::LINE_8);
  }
  out.channels = 3;
  out.pixels.assign(m.data, m.data + m.total() * 3);
  return out;
}

std::string base64_encode(std::string_view bytes) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 2 < bytes.size(); i += 3) {
    const std::uint32_t v = (std::uint32_t(std::uint8_t(bytes[i])) << 16) |
                            (std::uint32_t(std::uint8_t(bytes[i + 1])) << 8) |
                            std::uint32_t(std::uint8_t(bytes[i + 2]));
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += kAlphabet[v & 63];
  }
  if (i < bytes.size()) {
    std::uint32_t v = std::uint32_t(std::uint8_t(bytes[i])) << 16;
    if (i + 1 < bytes.size()) v |= std::uint32_t(std::uint8_t(bytes[i + 1])) << 8;
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += i + 1 < bytes.size() ? kAlphabet[(v >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

std::string encode_png(const ReportImage& image) {
  std::vector<std::uint8_t> buf;
  if (!cv::imencode(".png", as_mat(image), buf)) {
    throw Error(ErrorCode::kInternal, "PNG encoding failed");
  }
  return std::string(buf.begin(), buf.end());
}

ReportImage make_thumbnail(const ReportImage& image, int max_side) {
  const cv::Mat src = as_mat(image);
  const int longest = std::max(image.width, image.height);
  if (longest <= max_side) return image;
  const double scale = static_cast<double>(max_side) / longest;
  const int w = std::max(1, static_cast<int>(std::lround(image.width * scale)));
  const int h = std::max(1, static_cast<int>(std::lround(image.height * scale)));
  cv::Mat dst;
  cv::resize(src, dst, cv::Size(w, h), 0, 0, cv::INTER_AREA);
  ReportImage out;
  out.width = w;
  out.height = h;
  out.channels = image.channels;
  out.pixels.assign(dst.data, dst.data + static_cast<std::size_t>(w) * h * image.channels);
  return out;
}

ReportImage image_from_chw(const TensorView& input, const std::string& color_order) {
  const auto& s = input.shape;
  const bool batched = s.size() == 4 && s[0] == 1;
  if (input.dtype != DType::kFloat32 || !(s.size() == 3 || batched)) {
    throw Error(ErrorCode::kInvalidArgument,
                "a network input shown as an image must be float32 [1, C, H, W] or [C, H, W], "
                "got " +
                    shape_to_string(s));
  }
  const std::int64_t c = s[s.size() - 3], h = s[s.size() - 2], w = s[s.size() - 1];
  if ((c != 1 && c != 3) || h <= 0 || w <= 0 || h > 16384 || w > 16384) {
    throw Error(
        ErrorCode::kInvalidArgument,
        "a network input shown as an image needs 1 or 3 channels, got " + shape_to_string(s));
  }
  const float* data = static_cast<const float*>(input.data);
  const std::int64_t plane = h * w;
  float lo = std::numeric_limits<float>::infinity(), hi = -lo;
  for (std::int64_t i = 0; i < c * plane; ++i) {
    if (std::isfinite(data[i])) {
      lo = std::min(lo, data[i]);
      hi = std::max(hi, data[i]);
    }
  }
  const float range = hi > lo ? hi - lo : 1.0f;
  const bool planes_bgr = color_order == "BGR";
  ReportImage out;
  out.width = static_cast<int>(w);
  out.height = static_cast<int>(h);
  out.channels = static_cast<int>(c);
  out.pixels.resize(static_cast<std::size_t>(c * plane));
  for (std::int64_t y = 0; y < h; ++y) {
    for (std::int64_t x = 0; x < w; ++x) {
      for (std::int64_t ch = 0; ch < c; ++ch) {
        // Planes to BGR pixels (OpenCV's order for PNG encoding): RGB planes are reversed,
        // BGR planes (recipes without a colour swap, e.g. YuNet) kept.
        const std::int64_t src_ch = c == 3 ? (planes_bgr ? ch : 2 - ch) : 0;
        const float v = data[src_ch * plane + y * w + x];
        const float t = std::isfinite(v) ? (v - lo) / range : 0.0f;
        out.pixels[static_cast<std::size_t>((y * w + x) * c + ch)] =
            static_cast<std::uint8_t>(std::lround(std::clamp(t, 0.0f, 1.0f) * 255.0f));
      }
    }
  }
  return out;
}

std::string render_report_html(const ReportData& d) {
  std::string o;
  o.reserve(1 << 16);
  o += "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">";
  o += "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">";
  o += "<title>" + html_escape(d.title) + "</title><style>" + std::string(kStyle) +
       "</style></head><body>\n";
  o += "<h1>" + html_escape(d.title) + "</h1>";
  if (d.verdict) render_verdict(o, *d.verdict);
  if (!d.command.empty()) o += "<p><code>" + html_escape(d.command) + "</code></p>";
  for (const std::string& n : d.notes) o += "<p class=\"note\">" + html_escape(n) + "</p>";

  o += "\n<section id=\"parameters\"><h2>Parameters</h2>";
  if (d.parameters.empty()) {
    section_empty(o, "No parameters recorded.");
  } else {
    ReportTable t;
    t.header = {"parameter", "value"};
    for (const auto& [k, v] : d.parameters) t.rows.push_back({k, v});
    render_table(o, t, "parameters");
  }
  o += "</section>\n<section id=\"accuracy\"><h2>Accuracy</h2>";
  if (d.accuracy.empty()) section_empty(o, "Accuracy was not measured in this run.");
  for (const ReportTable& t : d.accuracy) render_table(o, t, "accuracy");

  o += "</section>\n<section id=\"samples\"><h2>Samples before and after preprocessing</h2>";
  render_thumbnails(o, d.thumbnails);
  o += "</section>\n<section id=\"histograms\"><h2>Tensor histograms and chosen ranges</h2>";
  if (d.histograms.empty()) {
    section_empty(o, "No activation histograms in this run (calibrate records them).");
  } else {
    o += "<p class=\"note\">Worst first (by sensitivity when measured, else by the SQNR int8 "
         "gives at the chosen range). Bar heights are log10(1 + count); dashed lines mark the "
         "chosen range.</p><div class=\"charts\">";
    for (const ReportHistogram& h : d.histograms) o += render_histogram_svg(h);
    o += "</div>";
  }
  o += "</section>\n<section id=\"sensitivity\"><h2>Layer sensitivity</h2>";
  if (d.sensitivity.empty()) {
    section_empty(o, "Sensitivity was not measured in this run.");
  } else {
    render_sensitivity(o, d.sensitivity);
  }
  o += "</section>\n<section id=\"saturation\"><h2>Calibration set size</h2>";
  if (d.saturation.empty()) {
    section_empty(o, "The saturation curve was not measured in this run (calibrate --saturation).");
  } else {
    o += "<div class=\"charts\">";
    for (const ReportLineChart& c : d.saturation) o += render_line_chart_svg(c);
    o += "</div>";
  }
  o += "</section>\n<p class=\"note\">Generated by qcal " QCAL_VERSION
       ". Self-contained: no scripts, no network.</p>\n</body></html>\n";
  return o;
}

void write_report_html(const std::filesystem::path& path, const ReportData& data) {
  write_file_atomic(path, render_report_html(data));
}

}  // namespace qcal::eval
