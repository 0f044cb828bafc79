// Image quality measurements and sub-scores. Statistics are summed in exact integer arithmetic,
// so scores are bit-identical whatever the thread count or machine.
#include "dataset/image_quality.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <sstream>

#include "core/atomic_file.hpp"
#include "core/checked.hpp"
#include "core/error.hpp"
#include "core/image_file.hpp"

namespace qcal::dataset {

namespace {

// Sub-score constants (README.md documents the same numbers).
constexpr double kSharpnessHalf = 200.0;  // Laplacian variance scoring 50
constexpr double kBrightLow = 70.0;       // full brightness score for mean grey in [70, 185]
constexpr double kBrightHigh = 185.0;
constexpr double kContrastFull = 64.0;  // grey std scoring 100
constexpr double kColorfulFull = 40.0;  // colourfulness scoring 100 (H&S: "quite colourful")
// Largest image qcal decodes: 2^28 pixels (16384 x 16384).
constexpr std::int64_t kMaxPixels = std::int64_t{1} << 28;

std::uint32_t be16(const std::string& b, std::size_t i) {
  return (static_cast<std::uint32_t>(static_cast<unsigned char>(b[i])) << 8) |
         static_cast<unsigned char>(b[i + 1]);
}

Error file_error(ErrorCode code, const std::string& message, const std::filesystem::path& path) {
  Error e(code, message);
  e.with("image", path.string());
  return e;
}

}  // namespace

QualityWeights parse_weights(const std::string& text) {
  std::vector<double> values;
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, ',')) {
    try {
      std::size_t used = 0;
      double v = std::stod(item, &used);
      if (item.find_first_not_of(" \t", used) != std::string::npos)
        throw std::invalid_argument(item);
      values.push_back(v);
    } catch (const std::exception&) {
      throw_invalid("--weights: '" + item +
                    "' is not a number (expected five numbers such as 35,20,20,15,10)");
    }
  }
  if (values.size() != 5) {
    throw_invalid(
        "--weights needs five comma-separated numbers (sharpness, brightness, contrast, "
        "resolution, colourfulness), got " +
        std::to_string(values.size()));
  }
  double largest = 0.0;
  for (double v : values) {
    if (!std::isfinite(v) || v < 0) throw_invalid("--weights must be non-negative numbers");
    largest = std::max(largest, v);
  }
  if (largest <= 0) throw_invalid("--weights must not all be zero");
  // Weights are relative: scaled to sum to 100 (divided by the largest first, so 1e308 neither
  // overflows the sum nor a product with a sub-score, and 1e-320 does not underflow). Weights
  // that already sum to 100, such as the defaults, are kept exactly.
  double sum = 0.0;
  for (double v : values) sum += v;
  if (sum != 100.0) {
    double scaled_sum = 0.0;
    for (double& v : values) scaled_sum += (v /= largest);
    for (double& v : values) v = 100.0 * v / scaled_sum;
  }
  return {values[0], values[1], values[2], values[3], values[4]};
}

bool read_image_size(const std::string& b, int& width, int& height) {
  if (b.size() >= 24 && static_cast<unsigned char>(b[0]) == 0x89 && b.compare(1, 3, "PNG") == 0 &&
      b.compare(12, 4, "IHDR") == 0) {
    width = static_cast<int>((be16(b, 16) << 16) | be16(b, 18));
    height = static_cast<int>((be16(b, 20) << 16) | be16(b, 22));
    return width > 0 && height > 0;
  }
  if (b.size() < 4 || static_cast<unsigned char>(b[0]) != 0xFF ||
      static_cast<unsigned char>(b[1]) != 0xD8) {
    return false;
  }
  // Walk the JPEG markers to the first start-of-frame (SOF0..SOF15 except DHT/JPG/DAC).
  std::size_t i = 2;
  while (i + 4 <= b.size()) {
    if (static_cast<unsigned char>(b[i]) != 0xFF) return false;
    const unsigned marker = static_cast<unsigned char>(b[i + 1]);
    if (marker == 0xFF) {  // fill byte
      ++i;
      continue;
    }
    if (marker == 0xD8 || (marker >= 0xD0 && marker <= 0xD7) || marker == 0x01) {
      i += 2;
      continue;
    }
    const std::size_t length = be16(b, i + 2);
    if (marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 && marker != 0xCC) {
      if (i + 9 > b.size()) return false;
      height = static_cast<int>(be16(b, i + 5));
      width = static_cast<int>(be16(b, i + 7));
      return width > 0 && height > 0;
    }
    if (marker == 0xDA || length < 2) return false;  // scan data before any frame header
    i += 2 + length;
  }
  return false;
}

namespace {

// Per-thread buffers reused from image to image: fresh multi-megabyte buffers cost a page fault
// per 4 KiB on first touch, which on VMs cost more than the scoring itself. (The decoded image
// is not reused: cv::imdecode leaves a reused destination untouched when the header is bad, so a
// corrupt file would be scored as the previous image.)
struct Scratch {
  std::vector<unsigned char> bytes;
  cv::Mat reduced;
  std::vector<std::uint8_t> gray;
};

Scratch& scratch() {
  thread_local Scratch s;
  return s;
}

// Reflect-101 border index (the border OpenCV's filters use by default): -1 -> 1, n -> n - 2.
int reflect101(int i, int n) {
  if (n == 1) return 0;
  if (i < 0) return -i;
  if (i >= n) return 2 * n - 2 - i;
  return i;
}

// Reads, checks and decodes the file, reduced so its long side is near kAnalysisLongSide; fills
// m's width and height (the full image's, after any EXIF rotation) and analysis_scale.
cv::Mat decode_for_analysis(const std::filesystem::path& path, Scratch& sc, ImageMeasures& m) {
  // The check every verb applies: readable, not empty, not a truncated JPEG.
  read_image_file(path, sc.bytes);
  const std::size_t size = sc.bytes.size();
  const std::string header(reinterpret_cast<const char*>(sc.bytes.data()),
                           std::min<std::size_t>(size, 64 * 1024));
  int header_w = 0;
  int header_h = 0;
  const bool have_size = read_image_size(header, header_w, header_h);
  const bool is_jpeg = have_size && static_cast<unsigned char>(header[0]) == 0xFF;
  if (have_size && checked_mul(header_w, header_h) > kMaxPixels) {
    throw file_error(ErrorCode::kLimit,
                     "image is " + std::to_string(header_w) + "x" + std::to_string(header_h) +
                         ", larger than the limit of 2^28 pixels",
                     path);
  }
  int scale = 1;
  if (have_size) {
    while (scale < 8 && std::max(header_w, header_h) / (scale * 2) >= kAnalysisLongSide) scale *= 2;
  }
  // JPEG decodes at 1/scale directly in the DCT domain (libjpeg scaled IDCT): the cheap path.
  int flags = cv::IMREAD_COLOR;
  if (is_jpeg && scale == 2) flags = cv::IMREAD_REDUCED_COLOR_2;
  if (is_jpeg && scale == 4) flags = cv::IMREAD_REDUCED_COLOR_4;
  if (is_jpeg && scale == 8) flags = cv::IMREAD_REDUCED_COLOR_8;
  cv::Mat image;
  try {
    const cv::Mat raw(1, static_cast<int>(size), CV_8U, sc.bytes.data());
    image = cv::imdecode(raw, flags);
  } catch (const cv::Exception&) {
    image.release();
  }
  if (image.empty() || image.type() != CV_8UC3) {
    throw file_error(ErrorCode::kFormat, "cannot decode image (corrupt or not an image)", path);
  }
  if (have_size) {
    m.width = header_w;
    m.height = header_h;
    // EXIF orientation may have rotated the decoded image by 90 degrees.
    if ((image.cols > image.rows) != (header_w > header_h) && image.cols != image.rows) {
      std::swap(m.width, m.height);
    }
  } else {
    m.width = image.cols;
    m.height = image.rows;
    while (scale < 8 && std::max(m.width, m.height) / (scale * 2) >= kAnalysisLongSide) scale *= 2;
  }
  if (!is_jpeg && scale > 1) {
    cv::resize(image, sc.reduced,
               cv::Size(std::max(1, image.cols / scale), std::max(1, image.rows / scale)), 0, 0,
               cv::INTER_AREA);
    image = sc.reduced;
  }
  m.analysis_scale = scale;
  return image;
}

// Exact integer sums over an image and its grey version.
struct PixelSums {
  std::int64_t g = 0, gg = 0, l = 0, ll = 0, rg = 0, rgrg = 0, yb = 0, ybyb = 0;
};

PixelSums sum_pixels(const cv::Mat& image, const cv::Mat& gray) {
  const int rows = image.rows;
  const int cols = image.cols;
  // One pass, exact integer sums: grey, grey^2, Laplacian, Laplacian^2, rg, rg^2, yb2 (= 2*yb),
  // yb2^2. The Laplacian is the 4-neighbour kernel [0 1 0; 1 -4 1; 0 1 0] with reflect-101
  // borders, the same values as cv::Laplacian(ksize = 1).
  PixelSums s;
  for (int y = 0; y < rows; ++y) {
    const auto* px = image.ptr<std::uint8_t>(y);
    const auto* g = gray.ptr<std::uint8_t>(y);
    const auto* up = gray.ptr<std::uint8_t>(reflect101(y - 1, rows));
    const auto* dn = gray.ptr<std::uint8_t>(reflect101(y + 1, rows));
    // Border pixels by reflection; the interior in chunks small enough for 32-bit sums
    // (2048 * 1020^2 < 2^31), two simple loops that the compiler vectorises.
    auto lap_at = [&](int x, int left, int right) {
      return up[x] + dn[x] + left + right - 4 * g[x];
    };
    const int l0 = lap_at(0, g[reflect101(-1, cols)], g[reflect101(1, cols)]);
    std::int64_t r_g = 0, r_gg = 0, r_rg = 0, r_rgrg = 0, r_yb = 0, r_ybyb = 0;
    std::int64_t r_l = l0, r_ll = static_cast<std::int64_t>(l0) * l0;
    if (cols > 1) {
      const int ln = lap_at(cols - 1, g[cols - 2], g[reflect101(cols, cols)]);
      r_l += ln;
      r_ll += static_cast<std::int64_t>(ln) * ln;
    }
    constexpr int kChunk = 2048;
    for (int x0 = 0; x0 < cols; x0 += kChunk) {
      const int x1 = std::min(cols, x0 + kChunk);
      std::int32_t c_g = 0, c_gg = 0, c_rg = 0, c_rgrg = 0, c_yb = 0, c_ybyb = 0, c_l = 0, c_ll = 0;
      for (int x = x0; x < x1; ++x) {
        const int gv = g[x];
        c_g += gv;
        c_gg += gv * gv;
      }
      const int lx0 = std::max(x0, 1);
      const int lx1 = std::min(x1, cols - 1);
      for (int x = lx0; x < lx1; ++x) {
        const int lv = up[x] + dn[x] + g[x - 1] + g[x + 1] - 4 * g[x];
        c_l += lv;
        c_ll += lv * lv;
      }
      for (int x = x0; x < x1; ++x) {
        const int b = px[3 * x];
        const int gr = px[3 * x + 1];
        const int r = px[3 * x + 2];
        const int rg = r - gr;
        const int yb2 = r + gr - 2 * b;  // 2 * (0.5 (R + G) - B), kept integral
        c_rg += rg;
        c_rgrg += rg * rg;
        c_yb += yb2;
        c_ybyb += yb2 * yb2;
      }
      r_g += c_g;
      r_gg += c_gg;
      r_l += c_l;
      r_ll += c_ll;
      r_rg += c_rg;
      r_rgrg += c_rgrg;
      r_yb += c_yb;
      r_ybyb += c_ybyb;
    }
    s.g += r_g;
    s.gg += r_gg;
    s.l += r_l;
    s.ll += r_ll;
    s.rg += r_rg;
    s.rgrg += r_rgrg;
    s.yb += r_yb;
    s.ybyb += r_ybyb;
  }
  return s;
}

// Luma mean and spread, sharpness (Laplacian variance) and colourfulness of the decoded image.
void measure_pixels(const cv::Mat& image, Scratch& sc, ImageMeasures& m) {
  const int rows = image.rows;
  const int cols = image.cols;
  if (sc.gray.size() < image.total()) sc.gray.resize(image.total());
  cv::Mat gray(rows, cols, CV_8U, sc.gray.data());
  cv::cvtColor(image, gray, cv::COLOR_BGR2GRAY);  // writes in place: gray already has the size
  const PixelSums s = sum_pixels(image, gray);
  const double n = static_cast<double>(image.total());
  auto variance = [n](std::int64_t sum, std::int64_t sum_sq) {
    const double mean = static_cast<double>(sum) / n;
    return std::max(0.0, static_cast<double>(sum_sq) / n - mean * mean);
  };
  m.mean_luma = static_cast<double>(s.g) / n;
  m.std_luma = std::sqrt(variance(s.g, s.gg));
  m.laplacian_var = variance(s.l, s.ll);
  const double mean_rg = static_cast<double>(s.rg) / n;
  const double mean_yb = static_cast<double>(s.yb) / n / 2.0;
  const double var_rg = variance(s.rg, s.rgrg);
  const double var_yb = variance(s.yb, s.ybyb) / 4.0;
  m.colorfulness =
      std::sqrt(var_rg + var_yb) + 0.3 * std::sqrt(mean_rg * mean_rg + mean_yb * mean_yb);
}

// The descriptor: a kDescriptorSide^2 BGR thumbnail, 8-bit values (distances between them are
// exact integers, so the diverse strategy is exact and vectorises).
void fill_descriptor(const cv::Mat& image, std::vector<std::uint8_t>& descriptor) {
  cv::Mat thumb;
  cv::resize(image, thumb, cv::Size(kDescriptorSide, kDescriptorSide), 0, 0, cv::INTER_AREA);
  descriptor.assign(thumb.total() * 3, 0);
  for (int y = 0; y < thumb.rows; ++y) {
    const auto* px = thumb.ptr<std::uint8_t>(y);
    std::copy(px, px + thumb.cols * 3, descriptor.begin() + y * thumb.cols * 3);
  }
}

}  // namespace

ImageMeasures measure_image(const std::filesystem::path& path,
                            std::vector<std::uint8_t>* descriptor) {
  Scratch& sc = scratch();
  ImageMeasures m;
  const cv::Mat image = decode_for_analysis(path, sc, m);
  measure_pixels(image, sc, m);
  if (descriptor) fill_descriptor(image, *descriptor);
  return m;
}

SubScores score_measures(const ImageMeasures& m, int input_width, int input_height) {
  SubScores s;
  s.sharpness = 100.0 * m.laplacian_var / (m.laplacian_var + kSharpnessHalf);
  if (m.mean_luma < kBrightLow) {
    s.brightness = 100.0 * m.mean_luma / kBrightLow;
  } else if (m.mean_luma > kBrightHigh) {
    s.brightness = 100.0 * (255.0 - m.mean_luma) / (255.0 - kBrightHigh);
  } else {
    s.brightness = 100.0;
  }
  s.contrast = 100.0 * std::min(1.0, m.std_luma / kContrastFull);
  const double coverage = std::max(static_cast<double>(m.width) / input_width,
                                   static_cast<double>(m.height) / input_height);
  s.resolution = 100.0 * std::min(1.0, coverage);
  s.colorfulness = 100.0 * std::min(1.0, m.colorfulness / kColorfulFull);
  return s;
}

double total_score(const SubScores& s, const QualityWeights& w) {
  const double sum = w.sharpness + w.brightness + w.contrast + w.resolution + w.colorfulness;
  return (w.sharpness * s.sharpness + w.brightness * s.brightness + w.contrast * s.contrast +
          w.resolution * s.resolution + w.colorfulness * s.colorfulness) /
         sum;
}

}  // namespace qcal::dataset
