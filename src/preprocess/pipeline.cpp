// Recipe execution. Numerical contract (docs/formats.md): image steps are OpenCV's own calls
// (cv::resize, cv::cvtColor, cv::copyMakeBorder) or Pillow's resample; arithmetic is float32,
// operands rounded to float32, in recipe order, as numpy does on a float32 array.
#include "preprocess/pipeline.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <type_traits>

#include "core/checked.hpp"
#include "core/error.hpp"
#include "core/image_file.hpp"
#include "preprocess/jpeg_decode.hpp"
#include "preprocess/linear_resize.hpp"
#include "preprocess/pil_resize.hpp"
#include "preprocess/row_convert.hpp"

namespace qcal::preprocess {
namespace {

std::string upper(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  return s;
}

bool is_swap(const Step& s) {
  return s.kind == StepKind::kConvertColor && (s.form == "BGR2RGB" || s.form == "RGB2BGR");
}

bool is_arithmetic(StepKind k) {
  return k == StepKind::kNormalize || k == StepKind::kMul || k == StepKind::kAdd ||
         k == StepKind::kSubtract || k == StepKind::kDiv;
}

bool is_image_step(const Step& s) {
  return (s.kind == StepKind::kConvertColor && !is_swap(s)) || s.kind == StepKind::kResize ||
         s.kind == StepKind::kCenterCrop;
}

int color_code(const std::string& form) {
  static const std::pair<const char*, int> kCodes[] = {
      {"BGR2RGB", cv::COLOR_BGR2RGB},     {"RGB2BGR", cv::COLOR_RGB2BGR},
      {"BGR2GRAY", cv::COLOR_BGR2GRAY},   {"RGB2GRAY", cv::COLOR_RGB2GRAY},
      {"BGR2YCrCb", cv::COLOR_BGR2YCrCb}, {"RGB2YCrCb", cv::COLOR_RGB2YCrCb},
      {"BGR2YUV", cv::COLOR_BGR2YUV},     {"RGB2YUV", cv::COLOR_RGB2YUV},
      {"BGR2HSV", cv::COLOR_BGR2HSV},     {"RGB2HSV", cv::COLOR_RGB2HSV},
      {"BGR2LAB", cv::COLOR_BGR2Lab},     {"RGB2LAB", cv::COLOR_RGB2Lab},
  };
  for (const auto& [name, code] : kCodes) {
    if (form == name) return code;
  }
  throw Error(ErrorCode::kInternal, "convertColor form not mapped: " + form);
}

int cv_interpolation(const std::string& name) {
  const std::string n = upper(name);
  if (n.empty() || n == "LINEAR") return cv::INTER_LINEAR;
  if (n == "NEAREST") return cv::INTER_NEAREST;
  if (n == "CUBIC") return cv::INTER_CUBIC;
  if (n == "AREA") return cv::INTER_AREA;
  if (n == "LANCZOS4") return cv::INTER_LANCZOS4;
  throw Error(ErrorCode::kInternal, "interpolation not mapped: " + name);
}

PilFilter pil_filter(const std::string& name) {
  const std::string n = upper(name);
  if (n.empty() || n == "BILINEAR") return PilFilter::kBilinear;
  if (n == "BICUBIC") return PilFilter::kBicubic;
  if (n == "LANCZOS") return PilFilter::kLanczos;
  if (n == "BOX") return PilFilter::kBox;
  if (n == "HAMMING") return PilFilter::kHamming;
  throw Error(ErrorCode::kInternal, "torchvision interpolation not mapped: " + name);
}

// cv::resize's bytes; 8-bit bilinear through our vectorised copy of it (linear_resize.hpp) where
// it applies (measured 0.6 -> ~0.2 ms for yolo's 768x576 -> 640x480).
void resize_cv(const cv::Mat& src, cv::Mat& dst, int width, int height, int interpolation) {
  if (interpolation == cv::INTER_LINEAR && resize_linear_u8(src, dst, width, height)) return;
  cv::resize(src, dst, cv::Size(width, height), 0, 0, interpolation);
}

// Python's round(): half to even; the default floating-point environment rounds to nearest even.
double py_round(double v) { return std::nearbyint(v); }

cv::Scalar pad_scalar(const Step& s, int channels) {
  if (s.pad_value.empty()) return cv::Scalar::all(114);
  if (s.pad_value.size() == 1) return cv::Scalar::all(s.pad_value[0]);
  cv::Scalar v;
  for (int c = 0; c < channels && c < 4; ++c) v[c] = s.pad_value[static_cast<std::size_t>(c)];
  return v;
}

// Ultralytics LetterBox (ultralytics/data/augment.py): scale by min(new/h, new/w), round the
// unpadded size, split the padding with round(d -/+ 0.1), resize only when the size changes.
struct Letterbox {
  cv::Mat resized;  // the unpadded image
  int top = 0;
  int bottom = 0;
  int left = 0;
  int right = 0;
};

// The letterbox's numbers for an image of w x h: the unpadded size and the padding.
struct LetterboxPlacement {
  double gain = 1.0;
  int unpad_w = 0, unpad_h = 0;
  int top = 0, bottom = 0, left = 0, right = 0;
};

LetterboxPlacement letterbox_placement(int w, int h, const Step& s) {
  const int th = s.size > 0 ? s.size : s.height;
  const int tw = s.size > 0 ? s.size : s.width;
  LetterboxPlacement p;
  p.gain = std::min(static_cast<double>(th) / h, static_cast<double>(tw) / w);
  p.unpad_w = static_cast<int>(py_round(w * p.gain));
  p.unpad_h = static_cast<int>(py_round(h * p.gain));
  double dw = tw - p.unpad_w;
  double dh = th - p.unpad_h;
  const bool center = upper(s.pad_location) != "CORNER";
  if (center) {
    dw /= 2;
    dh /= 2;
  }
  p.top = center ? static_cast<int>(py_round(dh - 0.1)) : 0;
  p.bottom = static_cast<int>(py_round(dh + 0.1));
  p.left = center ? static_cast<int>(py_round(dw - 0.1)) : 0;
  p.right = static_cast<int>(py_round(dw + 0.1));
  return p;
}

// resize_buf: where the resized image goes (reused when its size and type already match).
Letterbox letterbox_geometry(const cv::Mat& img, const Step& s, cv::Mat& resize_buf) {
  const LetterboxPlacement p = letterbox_placement(img.cols, img.rows, s);
  Letterbox lb;
  if (p.unpad_w != img.cols || p.unpad_h != img.rows) {
    resize_cv(img, resize_buf, p.unpad_w, p.unpad_h, cv_interpolation(s.interpolation));
    lb.resized = resize_buf;
  } else {
    lb.resized = img;
  }
  lb.top = p.top;
  lb.bottom = p.bottom;
  lb.left = p.left;
  lb.right = p.right;
  return lb;
}

cv::Mat letterbox(const cv::Mat& img, const Step& s) {
  cv::Mat resized;
  const Letterbox lb = letterbox_geometry(img, s, resized);
  cv::Mat out;
  cv::copyMakeBorder(lb.resized, out, lb.top, lb.bottom, lb.left, lb.right, cv::BORDER_CONSTANT,
                     pad_scalar(s, img.channels()));
  return out;
}

// torchvision.transforms.CenterCrop: zero-pad when the crop is larger, then crop at
// round((size - crop) / 2) (Python rounding).
cv::Mat center_crop(const cv::Mat& img, int cw, int ch) {
  cv::Mat src = img;
  if (cw > src.cols || ch > src.rows) {
    const int l = cw > src.cols ? (cw - src.cols) / 2 : 0;
    const int t = ch > src.rows ? (ch - src.rows) / 2 : 0;
    const int r = cw > src.cols ? (cw - src.cols + 1) / 2 : 0;
    const int b = ch > src.rows ? (ch - src.rows + 1) / 2 : 0;
    cv::Mat padded;
    cv::copyMakeBorder(src, padded, t, b, l, r, cv::BORDER_CONSTANT, cv::Scalar::all(0));
    src = padded;
  }
  const int top = static_cast<int>(py_round((src.rows - ch) / 2.0));
  const int left = static_cast<int>(py_round((src.cols - cw) / 2.0));
  return src(cv::Rect(left, top, cw, ch)).clone();
}

cv::Mat resize_step(const cv::Mat& img, const Step& s) {
  if (s.mode == ResizeMode::kPad) return letterbox(img, s);
  int out_w = s.width;
  int out_h = s.height;
  if (s.size > 0) {
    if (s.mode == ResizeMode::kTorchvision) {
      const double sz = s.size;
      if (img.rows <= img.cols) {
        out_h = s.size;
        out_w = static_cast<int>(sz * img.cols / img.rows);
      } else {
        out_w = s.size;
        out_h = static_cast<int>(sz * img.rows / img.cols);
      }
    } else {
      out_w = out_h = s.size;
    }
  }
  if (s.mode == ResizeMode::kTorchvision)
    return pil_resize(img, out_w, out_h, pil_filter(s.interpolation));
  cv::Mat out;
  resize_cv(img, out, out_w, out_h, cv_interpolation(s.interpolation));
  return out;
}

float param_at(const std::vector<double>& v, std::size_t c) {
  return static_cast<float>(v.size() == 1 ? v[0] : v[c]);
}

// One arithmetic step on a float32 HWC image, in place.
void apply_arithmetic(cv::Mat& f, const Step& s) {
  const int channels = f.channels();
  for (int y = 0; y < f.rows; ++y) {
    float* row = f.ptr<float>(y);
    for (int x = 0; x < f.cols; ++x) {
      for (int c = 0; c < channels; ++c) {
        float& v = row[x * channels + c];
        const auto cc = static_cast<std::size_t>(c);
        switch (s.kind) {
          case StepKind::kMul:
            v = v * static_cast<float>(s.x);
            break;
          case StepKind::kAdd:
            v = v + static_cast<float>(s.x);
            break;
          case StepKind::kSubtract:
            v = v - static_cast<float>(s.x);
            break;
          case StepKind::kDiv:
            v = v / static_cast<float>(s.x);
            break;
          case StepKind::kNormalize:
            v = (v - param_at(s.mean, cc)) / param_at(s.std, cc);
            break;
          default:
            break;
        }
      }
    }
  }
}

// One output row of one plane: border, converted image row, border. body(b) fills the image part.
template <typename T, typename F>
void plane_row(T* o, int pad_left, int body, int cols, T border, F&& fill_body) {
  std::fill(o, o + pad_left, border);
  fill_body(o + pad_left);
  std::fill(o + pad_left + body, o + cols, border);
}

}  // namespace

namespace {

// imread on a file read_image_file accepted; what it cannot decode is an error naming the file.
cv::Mat imread_checked(const std::filesystem::path& path) {
  cv::Mat img;
  try {
    img = cv::imread(path.string(), cv::IMREAD_COLOR);
  } catch (const cv::Exception& ex) {
    Error e(ErrorCode::kFormat, std::string("image does not decode: ") + ex.what());
    e.with("image", path.string());
    throw e;
  }
  if (img.empty()) {
    Error e(ErrorCode::kFormat, "image does not decode (not an image OpenCV can read, or corrupt)");
    e.with("image", path.string());
    throw e;
  }
  return img;
}

}  // namespace

cv::Mat decode_image(const std::filesystem::path& path) {
  std::vector<unsigned char> bytes;
  cv::Mat image;
  decode_image_into(path, bytes, image);
  return image;
}

void decode_image_into(const std::filesystem::path& path, std::vector<unsigned char>& bytes,
                       cv::Mat& image) {
  // The check select applies too: readable (the system's reason otherwise), not empty, not a
  // truncated JPEG.
  read_image_file(path, bytes);
  // JPEGs: libjpeg-turbo straight into BGR (imread's pixels for ~20% less CPU, and the buffer is
  // reused). Damaged data (libjpeg's warnings: it would fill what it cannot decode with grey) is
  // an error; a JPEG it does not take (EXIF rotation, CMYK, MJPEG) goes to imread itself.
  if (bytes.size() >= 3 && bytes[0] == 0xFF && bytes[1] == 0xD8 && bytes[2] == 0xFF) {
    std::string corrupt;
    if (decode_jpeg_bgr(bytes.data(), bytes.size(), image, &corrupt)) return;
    if (!corrupt.empty()) {
      Error e(ErrorCode::kFormat, "JPEG data is damaged: " + corrupt);
      e.with("image", path.string());
      throw e;
    }
    image = imread_checked(path);
    return;
  }
  // Released first: imdecode leaves dst untouched when no decoder takes the bytes or the header
  // does not parse, which would pass the previous image off as this one. (Not reusing the
  // pixels costs nothing measurable: malloc hands the same freed block back.)
  image.release();
  try {
    cv::imdecode(bytes, cv::IMREAD_COLOR, &image);
  } catch (const cv::Exception&) {
    image.release();
  }
  // Not decodable from memory: imread gives the pixels or the error naming the file.
  if (image.empty()) image = imread_checked(path);
}

std::optional<ImageGeometry> recipe_geometry(const Recipe& recipe, int image_w, int image_h) {
  ImageGeometry g;
  g.image_w = g.input_w = image_w;
  g.image_h = g.input_h = image_h;
  int resizes = 0;
  for (const Step& s : recipe.steps) {
    if (s.kind == StepKind::kCenterCrop) return std::nullopt;
    if (s.kind != StepKind::kResize) continue;
    if (++resizes > 1 || s.mode == ResizeMode::kTorchvision) return std::nullopt;
    const int w = s.size > 0 ? s.size : s.width;
    const int h = s.size > 0 ? s.size : s.height;
    if (w <= 0 || h <= 0) return std::nullopt;
    g.input_w = w;
    g.input_h = h;
    if (s.mode == ResizeMode::kPad) {
      const LetterboxPlacement p = letterbox_placement(image_w, image_h, s);
      g.gain_x = g.gain_y = p.gain;
      g.pad_left = p.left;
      g.pad_top = p.top;
    } else {
      g.gain_x = static_cast<double>(w) / image_w;
      g.gain_y = static_cast<double>(h) / image_h;
    }
  }
  return g;
}

Pipeline::Pipeline(Recipe recipe) : recipe_(std::move(recipe)) {
  validate_recipe(recipe_);
  // Append the layout steps the recipe implies when it spells none out.
  const bool has_layout =
      std::any_of(recipe_.steps.begin(), recipe_.steps.end(), [](const Step& s) {
        return s.kind == StepKind::kTranspose || s.kind == StepKind::kExpandDim;
      });
  if (!has_layout) {
    if (recipe_.layout.value_or(Layout::kNCHW) == Layout::kNCHW) {
      Step t;
      t.kind = StepKind::kTranspose;
      t.axis = {2, 0, 1};
      recipe_.steps.push_back(t);
    }
    Step e;
    e.kind = StepKind::kExpandDim;
    e.axis = {0};
    recipe_.steps.push_back(e);
  }
  // The fused tail starts after the last image step; arithmetic before it runs on the image.
  tail_begin_ = 0;
  for (std::size_t i = 0; i < recipe_.steps.size(); ++i) {
    if (is_image_step(recipe_.steps[i])) tail_begin_ = i + 1;
  }
  const ShapeInfo info = infer_shape(recipe_);
  planar_ = info.channel_axis < info.height_axis && info.height_axis < info.width_axis;
  // Fold the tail: channel swaps become a permutation (output position -> image channel),
  // arithmetic becomes a per-image-channel chain applied in recipe order.
  channels_ = info.channels;
  const auto nc = static_cast<std::size_t>(channels_);
  source_channel_.resize(nc);
  for (std::size_t c = 0; c < nc; ++c) source_channel_[c] = static_cast<int>(c);
  chain_.assign(nc, {});
  for (std::size_t i = tail_begin_; i < recipe_.steps.size(); ++i) {
    const Step& s = recipe_.steps[i];
    if (is_swap(s)) {
      std::swap(source_channel_[0], source_channel_[nc - 1]);
    } else if (is_arithmetic(s.kind)) {
      for (std::size_t pos = 0; pos < nc; ++pos) {
        std::pair<float, float> v{static_cast<float>(s.x), 0.0f};
        if (s.kind == StepKind::kNormalize) v = {param_at(s.mean, pos), param_at(s.std, pos)};
        chain_[static_cast<std::size_t>(source_channel_[pos])].push_back({s.kind, v});
      }
    }
  }
  // 8-bit images: the float32 chain is a function of (channel, value), so a 256-entry table per
  // channel gives exactly the per-element result (uint8 output: the identity).
  lut_.resize(nc);
  for (std::size_t c = 0; c < nc; ++c) {
    for (int v = 0; v < 256; ++v) {
      lut_[c][static_cast<std::size_t>(v)] = apply_chain(static_cast<float>(v), chain_[c]);
    }
  }
  // The vectorised row conversion must reproduce the table bit for bit (it would not if the
  // compiler fused operations, e.g. into FMA): checked on every value of every channel, in a row
  // long enough to run the vector body and the scalar tail.
  vector_ok_ = true;
  {
    constexpr std::size_t kRamp = 256 + 13;
    std::vector<std::uint8_t> ramp(kRamp * nc);
    for (std::size_t x = 0; x < kRamp; ++x) {
      for (std::size_t c = 0; c < nc; ++c)
        ramp[x * nc + c] = static_cast<std::uint8_t>((x * 7 + c) % 256);
    }
    std::vector<float> got(kRamp);
    for (std::size_t c = 0; c < nc && vector_ok_; ++c) {
      convert_row_u8_f32(ramp.data(), channels_, static_cast<int>(c), static_cast<int>(kRamp),
                         chain_[c], got.data());
      for (std::size_t x = 0; x < kRamp && vector_ok_; ++x) {
        const float want = lut_[c][ramp[x * nc + c]];
        vector_ok_ = std::memcmp(&got[x], &want, sizeof want) == 0;
      }
    }
  }
  // The fused letterbox's border, per output position, as the image value it pads with.
  const Step* last = tail_begin_ > 0 ? &recipe_.steps[tail_begin_ - 1] : nullptr;
  const cv::Scalar pad = last && last->kind == StepKind::kResize && last->mode == ResizeMode::kPad
                             ? pad_scalar(*last, channels_)
                             : cv::Scalar::all(0);
  border_f32_.resize(nc);
  border_u8_.resize(nc);
  for (std::size_t pos = 0; pos < nc; ++pos) {
    const int src_c = source_channel_[pos];
    const std::uint8_t v = cv::saturate_cast<std::uint8_t>(pad[src_c]);
    border_u8_[pos] = v;
    border_f32_[pos] = lut_[static_cast<std::size_t>(src_c)][v];
  }
}

ShapeInfo Pipeline::output_info(int height, int width) const {
  return infer_shape(recipe_, std::array<int, 2>{height, width});
}

cv::Mat Pipeline::run_image_steps(const cv::Mat& image) const {
  return run_steps(image, tail_begin_);
}

cv::Mat Pipeline::run_steps(const cv::Mat& image, std::size_t end) const {
  cv::Mat img = image;
  for (std::size_t i = 0; i < end; ++i) {
    const Step& s = recipe_.steps[i];
    try {
      if (s.kind == StepKind::kConvertColor) {
        cv::Mat out;
        cv::cvtColor(img, out, color_code(s.form));
        img = out;
      } else if (s.kind == StepKind::kResize) {
        img = resize_step(img, s);
      } else if (s.kind == StepKind::kCenterCrop) {
        img = center_crop(img, s.width, s.height);
      } else if (is_arithmetic(s.kind)) {
        if (img.depth() != CV_32F) {
          cv::Mat f;
          img.convertTo(f, CV_32F);
          img = f;
        } else if (img.data == image.data) {
          img = img.clone();
        }
        apply_arithmetic(img, s);
      }
    } catch (const cv::Exception& ex) {
      throw Error(ErrorCode::kInvalidArgument, std::string("recipe step ") + std::to_string(i) +
                                                   " (" + step_kind_name(s.kind) +
                                                   ") failed in OpenCV: " + ex.what());
    }
  }
  return img;
}

Tensor Pipeline::run(const cv::Mat& image) const {
  const ShapeInfo info = output_info(image.rows, image.cols);
  Tensor out(recipe_.dtype, info.shape);
  run_into(image, out.raw_data(), out.nbytes());
  return out;
}

Shape Pipeline::run_into(const cv::Mat& image, void* dst, std::size_t dst_bytes) const {
  PreparedImage p;
  prepare(image, p);
  if (static_cast<std::size_t>(shape_numel(p.info.shape)) * dtype_size(recipe_.dtype) !=
      dst_bytes) {
    throw Error(ErrorCode::kInternal, "pipeline output buffer size mismatch");
  }
  write_all(p, dst);
  return p.info.shape;
}

void Pipeline::prepare(const cv::Mat& image, PreparedImage& p) const {
  p.info = output_info(image.rows, image.cols);
  p.pad_top = p.pad_bottom = p.pad_left = p.pad_right = 0;
  // When the last image step is a letterbox of an 8-bit image, its border is written straight
  // into the output (the same values copyMakeBorder would give) instead of padding a copy.
  const Step* last = tail_begin_ > 0 ? &recipe_.steps[tail_begin_ - 1] : nullptr;
  bool fused = false;
  if (last && last->kind == StepKind::kResize && last->mode == ResizeMode::kPad) {
    cv::Mat before = run_steps(image, tail_begin_ - 1);
    if (before.depth() == CV_8U) {
      Letterbox lb;
      try {
        lb = letterbox_geometry(before, *last, p.resized);
      } catch (const cv::Exception& ex) {
        throw Error(ErrorCode::kInvalidArgument, std::string("recipe step ") +
                                                     std::to_string(tail_begin_ - 1) +
                                                     " (resize) failed in OpenCV: " + ex.what());
      }
      p.image = lb.resized;
      p.pad_top = lb.top;
      p.pad_bottom = lb.bottom;
      p.pad_left = lb.left;
      p.pad_right = lb.right;
      fused = true;
    }
  }
  if (!fused) p.image = run_image_steps(image);
  const auto& shape = p.info.shape;
  if (p.image.channels() != channels_ || p.info.channels != channels_ ||
      p.image.rows + p.pad_top + p.pad_bottom !=
          shape[static_cast<std::size_t>(p.info.height_axis)] ||
      p.image.cols + p.pad_left + p.pad_right !=
          shape[static_cast<std::size_t>(p.info.width_axis)] ||
      (p.image.depth() != CV_8U && p.image.depth() != CV_32F) ||
      (p.image.depth() == CV_32F && recipe_.dtype != DType::kFloat32)) {
    throw Error(ErrorCode::kInternal,
                "pipeline image does not match the inferred shape " + shape_to_string(shape));
  }
}

void Pipeline::write_plane_rows(const PreparedImage& p, int plane, int y0, int y1,
                                void* dst) const {
  if (!planar_) throw Error(ErrorCode::kInternal, "write_plane_rows on a non-planar output");
  const cv::Mat& img = p.image;
  const int rows = img.rows + p.pad_top + p.pad_bottom;
  const int cols = img.cols + p.pad_left + p.pad_right;
  if (plane < 0 || plane >= channels_ || y0 < 0 || y1 > rows || y0 > y1) {
    throw Error(ErrorCode::kInternal, "write_plane_rows: plane or rows out of range");
  }
  const int ch = channels_;
  const int src_c = source_channel_[static_cast<std::size_t>(plane)];
  for (int y = y0; y < y1; ++y) {
    const int iy = y - p.pad_top;
    const bool pad_row = iy < 0 || iy >= img.rows;
    const std::size_t at = static_cast<std::size_t>(y - y0) * static_cast<std::size_t>(cols);
    if (img.depth() == CV_8U) {
      const std::uint8_t* in = pad_row ? nullptr : img.ptr<std::uint8_t>(iy);
      if (recipe_.dtype == DType::kFloat32) {
        float* o = static_cast<float*>(dst) + at;
        const float border = border_f32_[static_cast<std::size_t>(plane)];
        if (pad_row) {
          std::fill(o, o + cols, border);
          continue;
        }
        const auto sc = static_cast<std::size_t>(src_c);
        plane_row(o, p.pad_left, img.cols, cols, border, [&](float* b) {
          if (vector_ok_) {
            convert_row_u8_f32(in, ch, src_c, img.cols, chain_[sc], b);
          } else {
            const float* t = lut_[sc].data();
            for (int x = 0; x < img.cols; ++x) b[x] = t[in[x * ch + src_c]];
          }
        });
      } else {
        std::uint8_t* o = static_cast<std::uint8_t*>(dst) + at;
        const std::uint8_t border = border_u8_[static_cast<std::size_t>(plane)];
        if (pad_row) {
          std::fill(o, o + cols, border);
          continue;
        }
        plane_row(o, p.pad_left, img.cols, cols, border,
                  [&](std::uint8_t* b) { extract_row_u8(in, ch, src_c, img.cols, b); });
      }
    } else {
      // A float image is never padded here (the letterbox is fused only for 8-bit images).
      const float* in = img.ptr<float>(iy) + src_c;
      const auto& chain = chain_[static_cast<std::size_t>(src_c)];
      float* o = static_cast<float*>(dst) + at;
      for (int x = 0; x < cols; ++x) o[x] = apply_chain(in[x * ch], chain);
    }
  }
}

void Pipeline::write_all(const PreparedImage& p, void* dst) const {
  const cv::Mat& img = p.image;
  const int rows = img.rows + p.pad_top + p.pad_bottom;
  const int cols = img.cols + p.pad_left + p.pad_right;
  if (planar_) {
    const std::size_t plane_bytes =
        static_cast<std::size_t>(rows) * static_cast<std::size_t>(cols) * dtype_size(recipe_.dtype);
    for (int c = 0; c < channels_; ++c) {
      write_plane_rows(
          p, c, 0, rows,
          static_cast<unsigned char*>(dst) + static_cast<std::size_t>(c) * plane_bytes);
    }
    return;
  }
  const ShapeInfo& info = p.info;
  const int channels = channels_;
  // Output strides of H, W and channel position, from the inferred (row-major) shape.
  std::vector<std::int64_t> strides(info.shape.size(), 1);
  for (std::size_t k = info.shape.size(); k-- > 1;) strides[k - 1] = strides[k] * info.shape[k];
  const std::int64_t s_h = strides[static_cast<std::size_t>(info.height_axis)];
  const std::int64_t s_w = strides[static_cast<std::size_t>(info.width_axis)];
  const std::int64_t s_c = strides[static_cast<std::size_t>(info.channel_axis)];
  if (img.depth() == CV_8U) {
    auto write_rows = [&](auto* out, const auto& border, auto&& value_of) {
      for (int y = 0; y < rows; ++y) {
        const int iy = y - p.pad_top;
        const bool pad_row = iy < 0 || iy >= img.rows;
        const std::uint8_t* in = pad_row ? nullptr : img.ptr<std::uint8_t>(iy);
        for (int pos = 0; pos < channels; ++pos) {
          const int src_c = source_channel_[static_cast<std::size_t>(pos)];
          auto* o = out + y * s_h + pos * s_c;
          const auto b = border[static_cast<std::size_t>(pos)];
          if (pad_row) {
            for (int x = 0; x < cols; ++x) o[x * s_w] = b;
            continue;
          }
          for (int x = 0; x < p.pad_left; ++x) o[x * s_w] = b;
          auto* body = o + p.pad_left * s_w;
          for (int x = 0; x < img.cols; ++x)
            body[x * s_w] = value_of(src_c, in[x * channels + src_c]);
          for (int x = img.cols + p.pad_left; x < cols; ++x) o[x * s_w] = b;
        }
      }
    };
    if (recipe_.dtype == DType::kFloat32) {
      write_rows(static_cast<float*>(dst), border_f32_,
                 [&](int c, std::uint8_t v) { return lut_[static_cast<std::size_t>(c)][v]; });
    } else {
      write_rows(static_cast<std::uint8_t*>(dst), border_u8_,
                 [](int, std::uint8_t v) { return v; });
    }
    return;
  }
  auto* out = static_cast<float*>(dst);
  for (int y = 0; y < rows; ++y) {
    const auto* in = img.ptr<float>(y);
    for (int pos = 0; pos < channels; ++pos) {
      const int src_c = source_channel_[static_cast<std::size_t>(pos)];
      const auto& ch = chain_[static_cast<std::size_t>(src_c)];
      float* o = out + y * s_h + pos * s_c;
      for (int x = 0; x < cols; ++x) o[x * s_w] = apply_chain(in[x * channels + src_c], ch);
    }
  }
}

}  // namespace qcal::preprocess
