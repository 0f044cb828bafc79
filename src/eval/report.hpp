// The HTML report: one self-contained file (inline CSS, inline SVG charts, PNG thumbnails as
// base64 data URIs; no scripts, no network), deterministic for the same data.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/tensor.hpp"
#include "eval/sensitivity.hpp"

namespace qcal::eval {

// An 8-bit image: 1 channel (gray) or 3 (BGR, OpenCV's order), rows of width * channels bytes.
struct ReportImage {
  int width = 0, height = 0, channels = 3;
  std::vector<std::uint8_t> pixels;
};

// A detection drawn on a thumbnail, in the coordinates of the image it is drawn on (the source
// image when `on_source`, else the network input).
struct ReportBox {
  float x1 = 0, y1 = 0, x2 = 0, y2 = 0;
  std::string label;  // class name (or id) and score
  bool int8 = false;  // FP32 boxes are drawn green and solid, INT8 magenta and dashed
};

// A sample before and after preprocessing.
struct ReportThumbnail {
  std::string caption;  // e.g. the image's file name
  ReportImage before;   // the source image (may be empty when only tensors were given)
  ReportImage after;    // the network input as an image
  // Detections of both models (drawn by render_report_html at the thumbnail's scale);
  // source_w/h: the size of the image the boxes refer to.
  std::vector<ReportBox> boxes = {};
  bool boxes_on_source = true;
  int source_w = 0, source_h = 0;
};

// The answer to "can I ship this?", on top of the report.
struct ReportVerdict {
  enum class State { kPass, kFail, kUnresolved, kNotMeasured };
  State state = State::kNotMeasured;
  std::string headline;              // "PASS: mAP50-95 drops 0.4 pp, within the 1 pp budget"
  std::vector<std::string> details;  // the noise caveat, the worst output and tensor, warnings
};
const char* verdict_state_name(ReportVerdict::State state);  // "pass", "fail", ...

// A per-tensor histogram of activation values with the chosen range marked.
struct ReportHistogram {
  std::string tensor;
  std::string subtitle;                                 // e.g. the estimated SQNR that ranks it
  double lo = 0.0, hi = 0.0;                            // value range covered by the bins
  std::vector<double> counts;                           // equal-width bins over [lo, hi]
  std::vector<std::pair<std::string, double>> markers;  // (label, value), e.g. ("amax", 3.2)
};

struct ReportTable {
  std::string title;
  std::vector<std::string> header;
  std::vector<std::vector<std::string>> rows;
  std::string note;  // shown under the table
};

struct ReportSeries {
  std::string name;
  std::vector<std::pair<double, double>> points;  // (x, y), drawn in the given order
};

struct ReportLineChart {
  std::string title, x_label, y_label;
  bool log_x = false;  // image counts (10, 25, 50, 100, ...) read best on a log axis
  std::vector<ReportSeries> series;
};

struct ReportData {
  std::string title = "qcal report";
  std::string command;  // the command line that produced it
  std::optional<ReportVerdict> verdict;
  std::vector<std::pair<std::string, std::string>> parameters;
  std::vector<ReportTable> accuracy;  // accuracy tables (one per task metric group)
  std::vector<ReportThumbnail> thumbnails;
  std::vector<ReportHistogram> histograms;
  std::vector<RankedTensor> sensitivity;
  std::vector<ReportLineChart> saturation;
  std::vector<std::string> notes;  // free text lines (warnings, decisions)
};

// The whole HTML document.
std::string render_report_html(const ReportData& data);
// Renders and writes atomically.
void write_report_html(const std::filesystem::path& path, const ReportData& data);

// Helpers building report pieces.
// Downscales (INTER_AREA) so the longer side is at most max_side; never upscales.
ReportImage make_thumbnail(const ReportImage& image, int max_side = 160);
// A network input ([1, C, H, W] or [C, H, W] float32, C = 1 or 3, planes in `color_order`:
// "BGR" for recipes that feed OpenCV's order, otherwise taken as RGB) shown as an image: min-max
// scaled over the tensor to 0..255 (normalisation is undone only up to an affine map, enough
// to see crops and padding; the colours are the true ones whatever the recipe's order).
ReportImage image_from_chw(const TensorView& input, const std::string& color_order = "RGB");
// Draws the thumbnail's boxes onto a copy of the image they refer to, scaled to it.
ReportImage draw_boxes(const ReportImage& image, const ReportThumbnail& thumbnail);
// PNG bytes (OpenCV imencode, default compression: deterministic for the same pixels).
std::string encode_png(const ReportImage& image);
std::string base64_encode(std::string_view bytes);
// Escapes &, <, >, " and ' for HTML text and attribute values.
std::string html_escape(std::string_view text);
// Numbers as the report prints them: "%.*g" in the C locale; "inf", "-inf", "nan" spelled out.
std::string format_number(double v, int significant = 6);

// Inline SVG charts (exposed for tests). The sensitivity chart: one horizontal bar per tensor,
// most sensitive first, length by task drop when measured, else by output SQNR deficit.
std::string render_sensitivity_svg(const std::vector<RankedTensor>& ranked, int width = 1000);
std::string render_histogram_svg(const ReportHistogram& h, int width = 520, int height = 170);
std::string render_line_chart_svg(const ReportLineChart& c, int width = 640, int height = 320);

}  // namespace qcal::eval
