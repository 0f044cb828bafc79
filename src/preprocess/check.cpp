// `qcal check` implementation: statistics are accumulated in double, in element order, so the
// report is deterministic; the colour-order evidence compares the sign of (blue - red) in the
// decoded image with the sign of (channel 0 - channel 2) in the tensor, mapped back to pixel
// scale through the recipe's per-channel affine map.
#include "preprocess/check.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "core/atomic_file.hpp"
#include "core/error.hpp"
#include "core/rng.hpp"
#include "preprocess/model_fit.hpp"
#include "preprocess/pipeline.hpp"

namespace fs = std::filesystem;

namespace qcal::preprocess {
namespace {

// Image statistics that decide colour order need a clear colour cast: 8 grey levels between the
// blue and red means of the image, 2 levels between the tensor's channels (in pixel units).
constexpr double kMinImageCast = 8.0;
constexpr double kMinTensorCast = 2.0;

std::string fmt(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.4g", v);
  return buf;
}

std::string recipe_label(const Recipe& r) {
  return r.name.empty() ? std::string("the expected recipe") : "preset '" + r.name + "'";
}

struct Range {
  double lo;
  double hi;
};

// Output range of a recipe for 8-bit input 0..255, over all channels.
Range recipe_range(const Recipe& r, int channels) {
  const AffineMap m = arithmetic_affine(r, channels);
  Range out{1e300, -1e300};
  for (std::size_t c = 0; c < m.scale.size(); ++c) {
    const double a = m.offset[c];
    const double b = m.scale[c] * 255.0 + m.offset[c];
    out.lo = std::min({out.lo, a, b});
    out.hi = std::max({out.hi, a, b});
  }
  return out;
}

cv::Mat tensor_to_image(const Tensor& t, const ShapeInfo& info, const AffineMap& m,
                        const std::string& order) {
  const int h = static_cast<int>(info.shape[static_cast<std::size_t>(info.height_axis)]);
  const int w = static_cast<int>(info.shape[static_cast<std::size_t>(info.width_axis)]);
  const int c = info.channels;
  std::vector<std::int64_t> strides(info.shape.size(), 1);
  for (std::size_t k = info.shape.size(); k-- > 1;) strides[k - 1] = strides[k] * info.shape[k];
  const std::int64_t sh = strides[static_cast<std::size_t>(info.height_axis)];
  const std::int64_t sw = strides[static_cast<std::size_t>(info.width_axis)];
  const std::int64_t sc = strides[static_cast<std::size_t>(info.channel_axis)];
  cv::Mat out(h, w, CV_8UC3);
  for (int y = 0; y < h; ++y) {
    auto* row = out.ptr<std::uint8_t>(y);
    for (int x = 0; x < w; ++x) {
      for (int d = 0; d < 3; ++d) {
        // Display channel d (B, G, R) comes from tensor channel `pos`.
        int pos = c == 1 ? 0 : (order == "RGB" ? 2 - d : d);
        const std::int64_t idx = y * sh + x * sw + pos * sc;
        const double v =
            t.dtype() == DType::kFloat32 ? t.data<float>()[idx] : t.data<std::uint8_t>()[idx];
        const auto p = static_cast<std::size_t>(pos);
        const double pix = m.scale[p] != 0 ? (v - m.offset[p]) / m.scale[p] : 0;
        row[x * 3 + d] = cv::saturate_cast<std::uint8_t>(std::isfinite(pix) ? pix : 0);
      }
    }
  }
  return out;
}

cv::Mat side_by_side(const cv::Mat& original, const cv::Mat& tensor_img,
                     const std::string& caption) {
  // Small tensors (112x112) are enlarged with nearest-neighbour so their pixels stay visible.
  constexpr int kMinHeight = 256;
  cv::Mat right = tensor_img;
  if (right.rows < kMinHeight) {
    const double up = static_cast<double>(kMinHeight) / right.rows;
    cv::resize(tensor_img, right,
               cv::Size(std::max(1, static_cast<int>(tensor_img.cols * up)), kMinHeight), 0, 0,
               cv::INTER_NEAREST);
  }
  const int h = right.rows;
  cv::Mat left;
  const double scale = static_cast<double>(h) / original.rows;
  cv::resize(original, left, cv::Size(std::max(1, static_cast<int>(original.cols * scale)), h), 0,
             0, cv::INTER_AREA);
  constexpr int kGap = 8;
  constexpr int kCaption = 22;
  constexpr double kFont = 0.45;
  int baseline = 0;
  const int caption_w =
      cv::getTextSize(caption, cv::FONT_HERSHEY_SIMPLEX, kFont, 1, &baseline).width + 8;
  const int width = left.cols + kGap + std::max(right.cols, caption_w);
  cv::Mat canvas(h + kCaption, width, CV_8UC3, cv::Scalar::all(40));
  left.copyTo(canvas(cv::Rect(0, kCaption, left.cols, h)));
  right.copyTo(canvas(cv::Rect(left.cols + kGap, kCaption, right.cols, h)));
  cv::putText(canvas, "original", cv::Point(4, 16), cv::FONT_HERSHEY_SIMPLEX, kFont,
              cv::Scalar(230, 230, 230), 1, cv::LINE_AA);
  cv::putText(canvas, caption, cv::Point(left.cols + kGap + 4, 16), cv::FONT_HERSHEY_SIMPLEX, kFont,
              cv::Scalar(230, 230, 230), 1, cv::LINE_AA);
  return canvas;
}

// A coloured band above `panel` saying PASS (green) or FAIL (red) and what: each panel names
// its image, and the contact sheet says how many samples failed, so a failing check never
// looks like a passing one.
cv::Mat with_status_band(const cv::Mat& panel, bool ok, const std::string& text) {
  constexpr int kBand = 26;
  constexpr double kFont = 0.5;
  cv::Mat out(panel.rows + kBand, panel.cols, CV_8UC3,
              ok ? cv::Scalar(52, 123, 30) : cv::Scalar(30, 38, 179));  // BGR green / red
  panel.copyTo(out(cv::Rect(0, kBand, panel.cols, panel.rows)));
  cv::putText(out, (ok ? "PASS  " : "FAIL  ") + text, cv::Point(6, 18), cv::FONT_HERSHEY_SIMPLEX,
              kFont, cv::Scalar(255, 255, 255), 1, cv::LINE_AA);
  return out;
}

void write_png(const fs::path& path, const cv::Mat& img) {
  std::vector<std::uint8_t> buf;
  if (!cv::imencode(".png", img, buf))
    throw Error(ErrorCode::kIo, "PNG encoding failed").with("file", path.string());
  write_file_atomic(path, std::string_view(reinterpret_cast<const char*>(buf.data()), buf.size()));
}

}  // namespace

bool CheckReport::ok() const {
  if (!problems.empty()) return false;
  return std::all_of(samples.begin(), samples.end(),
                     [](const SampleReport& s) { return s.problems.empty(); });
}

std::vector<ChannelStats> channel_stats(const Tensor& t, int channel_axis) {
  const Shape& s = t.shape();
  const std::int64_t channels = channel_axis >= 0 ? s[static_cast<std::size_t>(channel_axis)] : 1;
  std::int64_t inner = 1;
  for (std::size_t k = static_cast<std::size_t>(std::max(channel_axis, 0)) + 1; k < s.size(); ++k)
    inner *= s[k];
  if (channel_axis < 0) inner = t.numel();
  std::vector<ChannelStats> out(static_cast<std::size_t>(channels));
  std::vector<double> sum(out.size(), 0.0);
  std::vector<double> sum_sq(out.size(), 0.0);
  std::vector<std::int64_t> count(out.size(), 0);
  for (auto& c : out) {
    c.min = 1e300;
    c.max = -1e300;
  }
  for (std::int64_t i = 0; i < t.numel(); ++i) {
    const auto c = static_cast<std::size_t>((i / inner) % channels);
    const double v = t.dtype() == DType::kFloat32 ? static_cast<double>(t.data<float>()[i])
                                                  : static_cast<double>(t.data<std::uint8_t>()[i]);
    ChannelStats& st = out[c];
    if (std::isnan(v)) {
      ++st.nan;
      continue;
    }
    if (std::isinf(v)) {
      ++st.inf;
      continue;
    }
    st.min = std::min(st.min, v);
    st.max = std::max(st.max, v);
    sum[c] += v;
    sum_sq[c] += v * v;
    ++count[c];
  }
  for (std::size_t c = 0; c < out.size(); ++c) {
    if (count[c] == 0) {
      out[c].min = out[c].max = std::nan("");
      continue;
    }
    const double n = static_cast<double>(count[c]);
    out[c].mean = sum[c] / n;
    out[c].std = std::sqrt(std::max(0.0, sum_sq[c] / n - out[c].mean * out[c].mean));
  }
  return out;
}

namespace {

// Which images to check: all of them, or a seeded sample of num_samples.
std::vector<std::size_t> pick_samples(const std::vector<fs::path>& images, const CheckOptions& o) {
  Rng rng(o.seed);
  std::vector<std::size_t> picks;
  if (images.size() <= static_cast<std::size_t>(o.num_samples)) {
    for (std::size_t i = 0; i < images.size(); ++i) picks.push_back(i);
  } else {
    picks = sample_indices(images.size(), static_cast<std::size_t>(o.num_samples), rng);
  }
  return picks;
}

// The tensor's shape against the model's input shape, with a layout hint.
void check_shape(SampleReport& s, const CheckOptions& o) {
  if (!o.expected_shape || shape_feeds(s.shape, *o.expected_shape)) return;
  std::string hint;
  const auto tl = guess_layout(s.shape);
  const auto ml = guess_layout(*o.expected_shape);
  if (tl && ml && *tl != *ml)
    hint = std::string(" (layout: the tensor is ") + layout_name(*tl) + ", the input " +
           layout_name(*ml) + ")";
  s.problems.push_back("shape " + shape_to_string(s.shape) + " does not match " +
                       o.expected_source + " " + shape_to_string(*o.expected_shape) + hint);
}

// NaN, Inf and constant channels; [vmin, vmax] over the finite channels.
void check_channels(SampleReport& s, double& vmin, double& vmax) {
  for (std::size_t c = 0; c < s.channels.size(); ++c) {
    const ChannelStats& st = s.channels[c];
    if (st.nan || st.inf) {
      s.problems.push_back("channel " + std::to_string(c) + " has " + std::to_string(st.nan) +
                           " NaN and " + std::to_string(st.inf) + " Inf values");
    } else if (st.min == st.max) {
      s.problems.push_back("channel " + std::to_string(c) + " is constant (" + fmt(st.min) +
                           "): a wrong convertColor, normalize or an empty crop");
    }
    if (!std::isnan(st.min)) {
      vmin = std::min(vmin, st.min);
      vmax = std::max(vmax, st.max);
    }
  }
}

// The values' span against the range the expected preset produces.
void check_range(SampleReport& s, const CheckOptions& o, const ShapeInfo& info, double vmin,
                 double vmax) {
  if (!o.expected || vmin > vmax) return;
  const Range want = recipe_range(*o.expected, info.channels);
  const double tol = 0.01 * (want.hi - want.lo);
  const std::string name = recipe_label(*o.expected);
  if (vmax > want.hi + tol || vmin < want.lo - tol) {
    std::string hint;
    if (vmax > 2.0 && want.hi <= 1.5)
      hint = ": 0..255 data where " + name + " expects small values (missing div 255 / normalize?)";
    s.problems.push_back("values span [" + fmt(vmin) + ", " + fmt(vmax) + "], outside the range [" +
                         fmt(want.lo) + ", " + fmt(want.hi) + "] of " + name + hint);
  } else if (want.hi > 2.0 && vmax <= 1.0 + 1e-6) {
    s.problems.push_back("values span [" + fmt(vmin) + ", " + fmt(vmax) + "] but " + name +
                         " expects 0..255 (an extra div or normalize?)");
  } else if (want.lo < -0.5 && vmin >= 0.0) {
    s.problems.push_back("values span [" + fmt(vmin) + ", " + fmt(vmax) + "] but " + name +
                         " expects [" + fmt(want.lo) + ", " + fmt(want.hi) +
                         "] (missing normalize mean/std?)");
  }
}

// Colour-order evidence from the data.
void check_color_order(SampleReport& s, const CheckOptions& o, const ShapeInfo& info,
                       const std::string& order, const cv::Mat& img) {
  if (info.channels != 3 || (order != "RGB" && order != "BGR") || s.channels.size() != 3) return;
  const cv::Scalar means = cv::mean(img);  // B, G, R of the decoded image
  const AffineMap m = arithmetic_affine(o.recipe, 3);
  const double t0 = (s.channels[0].mean - m.offset[0]) / m.scale[0];
  const double t2 = (s.channels[2].mean - m.offset[2]) / m.scale[2];
  const double cast = means[0] - means[2];
  if (std::fabs(cast) >= kMinImageCast && std::fabs(t0 - t2) >= kMinTensorCast) {
    s.color_evidence = ((t0 - t2) > 0) == (cast > 0) ? "BGR" : "RGB";
    if (o.expected) {
      const std::string want = output_color_order(*o.expected);
      if ((want == "RGB" || want == "BGR") && want != s.color_evidence) {
        s.problems.push_back("channel means suggest " + s.color_evidence +
                             " order (channel 0 follows the image's " +
                             (s.color_evidence == "RGB" ? "red" : "blue") + ") but " +
                             recipe_label(*o.expected) + " expects " + want);
      }
    }
  }
}

// The sample beside the tensor mapped back to an image, written as sample_<k>.png.
cv::Mat visualize_sample(SampleReport& s, const CheckOptions& o, const ShapeInfo& info,
                         const std::string& order, const cv::Mat& img, const Tensor& t,
                         std::size_t k, double vmin, double vmax) {
  const AffineMap m = arithmetic_affine(o.recipe, info.channels);
  const cv::Mat back = tensor_to_image(t, info, m, order);
  const std::string caption = "tensor " + shape_to_string(s.shape) + " " + order + " [" +
                              fmt(vmin) + ", " + fmt(vmax) + "]";
  std::string status = s.image.filename().string();
  if (!s.problems.empty()) status += ": " + s.problems.front();
  cv::Mat panel = with_status_band(side_by_side(img, back, caption), s.problems.empty(), status);
  char name[32];
  std::snprintf(name, sizeof name, "sample_%02zu.png", k);
  s.visualization = o.output_dir / name;
  write_png(s.visualization, panel);
  return panel;
}

// Contact sheet: every panel scaled to a common width, stacked.
void write_contact_sheet(const std::vector<cv::Mat>& panels, const CheckOptions& o,
                         CheckReport& report) {
  constexpr int kWidth = 900;
  std::vector<cv::Mat> rows;
  for (const auto& p : panels) {
    cv::Mat r;
    const double scale = static_cast<double>(kWidth) / p.cols;
    cv::resize(p, r, cv::Size(kWidth, std::max(1, static_cast<int>(p.rows * scale))), 0, 0,
               cv::INTER_AREA);
    rows.push_back(r);
    rows.emplace_back(4, kWidth, CV_8UC3, cv::Scalar::all(0));
  }
  cv::Mat sheet;
  cv::vconcat(rows, sheet);
  const std::size_t failed = static_cast<std::size_t>(
      std::count_if(report.samples.begin(), report.samples.end(),
                    [](const SampleReport& r) { return !r.problems.empty(); }));
  std::string summary = std::to_string(report.samples.size() - failed) + " of " +
                        std::to_string(report.samples.size()) + " samples pass";
  if (!report.problems.empty()) summary += "; " + report.problems.front();
  sheet = with_status_band(sheet, report.ok(), summary);
  report.contact_sheet = o.output_dir / "contact_sheet.png";
  write_png(report.contact_sheet, sheet);
}

}  // namespace

CheckReport run_check(const std::vector<fs::path>& images, const CheckOptions& o) {
  CheckReport report;
  if (images.empty()) throw Error(ErrorCode::kInvalidArgument, "no images to check");
  if (o.num_samples <= 0)
    throw Error(ErrorCode::kInvalidArgument, "--num-samples must be positive");
  const Pipeline pipeline(o.recipe);
  const std::string order = output_color_order(o.recipe);

  if (o.expected) {
    const std::string want = output_color_order(*o.expected);
    if (want != order) {
      report.problems.push_back("the recipe feeds " + order + " but " + recipe_label(*o.expected) +
                                " expects " + want);
    }
  }
  if (o.visualize) {
    std::error_code ec;
    fs::create_directories(o.output_dir, ec);
    if (ec)
      throw Error(ErrorCode::kIo, "cannot create output folder: " + ec.message())
          .with("path", o.output_dir.string());
  }

  const std::vector<std::size_t> picks = pick_samples(images, o);

  std::vector<cv::Mat> panels;
  for (std::size_t k = 0; k < picks.size(); ++k) {
    SampleReport s;
    s.image = images[picks[k]];
    cv::Mat img;
    Tensor t;
    try {
      img = decode_image(s.image);
      t = pipeline.run(img);
    } catch (const Error& e) {
      s.problems.push_back(e.message());
      report.samples.push_back(s);
      continue;
    }
    const ShapeInfo info = pipeline.output_info(img.rows, img.cols);
    s.shape = t.shape();
    s.dtype = t.dtype();
    s.channels = channel_stats(t, info.channel_axis);
    check_shape(s, o);
    double vmin = 1e300;
    double vmax = -1e300;
    check_channels(s, vmin, vmax);
    check_range(s, o, info, vmin, vmax);
    check_color_order(s, o, info, order, img);
    if (o.visualize) panels.push_back(visualize_sample(s, o, info, order, img, t, k, vmin, vmax));
    report.samples.push_back(s);
  }
  if (o.visualize && !panels.empty()) write_contact_sheet(panels, o, report);
  return report;
}

}  // namespace qcal::preprocess
