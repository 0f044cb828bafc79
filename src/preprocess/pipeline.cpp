// Recipe execution. Numerical contract (docs/formats.md): image steps are OpenCV's own calls
// (cv::resize, cv::cvtColor, cv::copyMakeBorder) or Pillow's resample; arithmetic is float32,
// operands rounded to float32, in recipe order, as numpy does on a float32 array.
#include "preprocess/pipeline.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstring>
#include <type_traits>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "core/checked.hpp"
#include "core/error.hpp"
#include "preprocess/pil_resize.hpp"

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

Letterbox letterbox_geometry(const cv::Mat& img, const Step& s) {
  const int th = s.size > 0 ? s.size : s.height;
  const int tw = s.size > 0 ? s.size : s.width;
  const int h = img.rows;
  const int w = img.cols;
  const double r = std::min(static_cast<double>(th) / h, static_cast<double>(tw) / w);
  const int unpad_w = static_cast<int>(py_round(w * r));
  const int unpad_h = static_cast<int>(py_round(h * r));
  double dw = tw - unpad_w;
  double dh = th - unpad_h;
  const bool center = upper(s.pad_location) != "CORNER";
  if (center) {
    dw /= 2;
    dh /= 2;
  }
  Letterbox lb;
  if (unpad_w != w || unpad_h != h) {
    cv::resize(img, lb.resized, cv::Size(unpad_w, unpad_h), 0, 0, cv_interpolation(s.interpolation));
  } else {
    lb.resized = img;
  }
  lb.top = center ? static_cast<int>(py_round(dh - 0.1)) : 0;
  lb.bottom = static_cast<int>(py_round(dh + 0.1));
  lb.left = center ? static_cast<int>(py_round(dw - 0.1)) : 0;
  lb.right = static_cast<int>(py_round(dw + 0.1));
  return lb;
}

cv::Mat letterbox(const cv::Mat& img, const Step& s) {
  const Letterbox lb = letterbox_geometry(img, s);
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
  if (s.mode == ResizeMode::kTorchvision) return pil_resize(img, out_w, out_h, pil_filter(s.interpolation));
  cv::Mat out;
  cv::resize(img, out, cv::Size(out_w, out_h), 0, 0, cv_interpolation(s.interpolation));
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
          case StepKind::kMul: v = v * static_cast<float>(s.x); break;
          case StepKind::kAdd: v = v + static_cast<float>(s.x); break;
          case StepKind::kSubtract: v = v - static_cast<float>(s.x); break;
          case StepKind::kDiv: v = v / static_cast<float>(s.x); break;
          case StepKind::kNormalize: v = (v - param_at(s.mean, cc)) / param_at(s.std, cc); break;
          default: break;
        }
      }
    }
  }
}

inline float apply_chain(float v, const std::vector<std::pair<StepKind, std::pair<float, float>>>& chain) {
  for (const auto& [kind, p] : chain) {
    switch (kind) {
      case StepKind::kMul: v = v * p.first; break;
      case StepKind::kAdd: v = v + p.first; break;
      case StepKind::kSubtract: v = v - p.first; break;
      case StepKind::kDiv: v = v / p.first; break;
      case StepKind::kNormalize: v = (v - p.first) / p.second; break;
      default: break;
    }
  }
  return v;
}

}  // namespace

cv::Mat decode_image(const std::filesystem::path& path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) {
    Error e(ErrorCode::kIo, "image file does not exist");
    e.with("image", path.string());
    throw e;
  }
  cv::Mat img;
  try {
    img = cv::imread(path.string(), cv::IMREAD_COLOR);
  } catch (const cv::Exception& ex) {
    Error e(ErrorCode::kIo, std::string("image does not decode: ") + ex.what());
    e.with("image", path.string());
    throw e;
  }
  if (img.empty()) {
    Error e(ErrorCode::kIo, "image does not decode (not an image OpenCV can read, or truncated)");
    e.with("image", path.string());
    throw e;
  }
  return img;
}

Pipeline::Pipeline(Recipe recipe) : recipe_(std::move(recipe)) {
  validate_recipe(recipe_);
  // Append the layout steps the recipe implies when it spells none out.
  const bool has_layout = std::any_of(recipe_.steps.begin(), recipe_.steps.end(), [](const Step& s) {
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
}

ShapeInfo Pipeline::output_info(int height, int width) const {
  return infer_shape(recipe_, std::array<int, 2>{height, width});
}

cv::Mat Pipeline::run_image_steps(const cv::Mat& image) const { return run_steps(image, tail_begin_); }

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
      throw Error(ErrorCode::kInvalidArgument, std::string("recipe step ") + std::to_string(i) + " (" +
                                                   step_kind_name(s.kind) + ") failed in OpenCV: " + ex.what());
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
  const ShapeInfo info = output_info(image.rows, image.cols);
  const std::int64_t numel = shape_numel(info.shape);
  if (static_cast<std::size_t>(numel) * dtype_size(recipe_.dtype) != dst_bytes) {
    throw Error(ErrorCode::kInternal, "pipeline output buffer size mismatch");
  }
  // When the last image step is a letterbox of an 8-bit image, its border is written straight
  // into the output (the same values copyMakeBorder would give) instead of padding a copy.
  cv::Mat img;
  int pad_top = 0;
  int pad_bottom = 0;
  int pad_left = 0;
  int pad_right = 0;
  cv::Scalar pad_value;
  const Step* last = tail_begin_ > 0 ? &recipe_.steps[tail_begin_ - 1] : nullptr;
  bool fused_pad = false;
  if (last && last->kind == StepKind::kResize && last->mode == ResizeMode::kPad) {
    cv::Mat before = run_steps(image, tail_begin_ - 1);
    if (before.depth() == CV_8U) {
      Letterbox lb;
      try {
        lb = letterbox_geometry(before, *last);
      } catch (const cv::Exception& ex) {
        throw Error(ErrorCode::kInvalidArgument, std::string("recipe step ") + std::to_string(tail_begin_ - 1) +
                                                     " (resize) failed in OpenCV: " + ex.what());
      }
      img = lb.resized;
      pad_top = lb.top;
      pad_bottom = lb.bottom;
      pad_left = lb.left;
      pad_right = lb.right;
      pad_value = pad_scalar(*last, before.channels());
      fused_pad = true;
    } else {
      img = run_image_steps(image);
    }
  } else {
    img = run_image_steps(image);
  }
  const int channels = img.channels();
  const int rows = img.rows + pad_top + pad_bottom;
  const int cols = img.cols + pad_left + pad_right;
  if (channels != info.channels || rows != info.shape[static_cast<std::size_t>(info.height_axis)] ||
      cols != info.shape[static_cast<std::size_t>(info.width_axis)]) {
    throw Error(ErrorCode::kInternal, "pipeline image does not match the inferred shape " + shape_to_string(info.shape));
  }

  // Fold the tail: channel swaps become a permutation `cur` (output position -> image channel),
  // arithmetic becomes a per-image-channel chain applied in recipe order.
  std::vector<int> cur(static_cast<std::size_t>(channels));
  for (int c = 0; c < channels; ++c) cur[static_cast<std::size_t>(c)] = c;
  std::vector<std::vector<std::pair<StepKind, std::pair<float, float>>>> chain(static_cast<std::size_t>(channels));
  for (std::size_t i = tail_begin_; i < recipe_.steps.size(); ++i) {
    const Step& s = recipe_.steps[i];
    if (is_swap(s)) {
      std::swap(cur[0], cur[static_cast<std::size_t>(channels - 1)]);
    } else if (is_arithmetic(s.kind)) {
      for (int pos = 0; pos < channels; ++pos) {
        const auto p = static_cast<std::size_t>(pos);
        std::pair<float, float> v{static_cast<float>(s.x), 0.0f};
        if (s.kind == StepKind::kNormalize) v = {param_at(s.mean, p), param_at(s.std, p)};
        chain[static_cast<std::size_t>(cur[p])].push_back({s.kind, v});
      }
    }
  }

  // Output strides of H, W and channel position, from the inferred (row-major) shape.
  std::vector<std::int64_t> strides(info.shape.size(), 1);
  for (std::size_t k = info.shape.size(); k-- > 1;) strides[k - 1] = strides[k] * info.shape[k];
  const std::int64_t s_h = strides[static_cast<std::size_t>(info.height_axis)];
  const std::int64_t s_w = strides[static_cast<std::size_t>(info.width_axis)];
  const std::int64_t s_c = strides[static_cast<std::size_t>(info.channel_axis)];

  if (img.depth() == CV_8U) {
    // 8-bit input: the float32 chain is a function of (channel, value), so a 256-entry table per
    // channel gives exactly the per-element result (uint8 output: the identity).
    const bool as_float = recipe_.dtype == DType::kFloat32;
    std::vector<std::array<float, 256>> lut(static_cast<std::size_t>(channels));
    for (int c = 0; c < channels; ++c) {
      for (int v = 0; v < 256; ++v) {
        lut[static_cast<std::size_t>(c)][static_cast<std::size_t>(v)] =
            apply_chain(static_cast<float>(v), chain[static_cast<std::size_t>(c)]);
      }
    }
    auto write_rows = [&](auto* out) {
      using T = std::remove_pointer_t<decltype(out)>;
      auto value_of = [&](int src_c, std::uint8_t v) -> T {
        if constexpr (std::is_same_v<T, float>) {
          return lut[static_cast<std::size_t>(src_c)][v];
        } else {
          return v;
        }
      };
      // Per output position: the table, and the border value it maps to.
      std::vector<T> border(static_cast<std::size_t>(channels));
      for (int pos = 0; pos < channels; ++pos) {
        const int src_c = cur[static_cast<std::size_t>(pos)];
        border[static_cast<std::size_t>(pos)] = value_of(src_c, cv::saturate_cast<std::uint8_t>(pad_value[src_c]));
      }
      for (int y = 0; y < rows; ++y) {
        const int iy = y - pad_top;
        const bool pad_row = iy < 0 || iy >= img.rows;
        const std::uint8_t* in = pad_row ? nullptr : img.ptr<std::uint8_t>(iy);
        if (!pad_row && channels == 3 && s_w == 1) {
          // Planar 3-channel output (NCHW): one pass over the row, three output planes.
          T* o[3];
          for (int pos = 0; pos < 3; ++pos) o[pos] = out + y * s_h + pos * s_c;
          const int c0 = cur[0];
          const int c1 = cur[1];
          const int c2 = cur[2];
          for (int pos = 0; pos < 3; ++pos) {
            for (int x = 0; x < pad_left; ++x) o[pos][x] = border[static_cast<std::size_t>(pos)];
            for (int x = img.cols + pad_left; x < cols; ++x) o[pos][x] = border[static_cast<std::size_t>(pos)];
          }
          T* b0 = o[0] + pad_left;
          T* b1 = o[1] + pad_left;
          T* b2 = o[2] + pad_left;
          if constexpr (std::is_same_v<T, float>) {
            const float* t0 = lut[static_cast<std::size_t>(c0)].data();
            const float* t1 = lut[static_cast<std::size_t>(c1)].data();
            const float* t2 = lut[static_cast<std::size_t>(c2)].data();
            for (int x = 0; x < img.cols; ++x) {
              const std::uint8_t* px = in + 3 * x;
              b0[x] = t0[px[c0]];
              b1[x] = t1[px[c1]];
              b2[x] = t2[px[c2]];
            }
          } else {
            for (int x = 0; x < img.cols; ++x) {
              const std::uint8_t* px = in + 3 * x;
              b0[x] = px[c0];
              b1[x] = px[c1];
              b2[x] = px[c2];
            }
          }
          continue;
        }
        for (int pos = 0; pos < channels; ++pos) {
          const int src_c = cur[static_cast<std::size_t>(pos)];
          T* o = out + y * s_h + pos * s_c;
          const T b = border[static_cast<std::size_t>(pos)];
          if (pad_row) {
            for (int x = 0; x < cols; ++x) o[x * s_w] = b;
            continue;
          }
          for (int x = 0; x < pad_left; ++x) o[x * s_w] = b;
          T* body = o + pad_left * s_w;
          if (s_w == 1 && channels == 3) {
            for (int x = 0; x < img.cols; ++x) body[x] = value_of(src_c, in[x * 3 + src_c]);
          } else {
            for (int x = 0; x < img.cols; ++x) body[x * s_w] = value_of(src_c, in[x * channels + src_c]);
          }
          for (int x = img.cols + pad_left; x < cols; ++x) o[x * s_w] = b;
        }
      }
    };
    if (as_float) {
      write_rows(static_cast<float*>(dst));
    } else {
      write_rows(static_cast<std::uint8_t*>(dst));
    }
    return info.shape;
  }

  if (fused_pad) throw Error(ErrorCode::kInternal, "fused letterbox on a float image");
  auto* out = static_cast<float*>(dst);
  for (int y = 0; y < rows; ++y) {
    const auto* in = img.ptr<float>(y);
    for (int pos = 0; pos < channels; ++pos) {
      const int src_c = cur[static_cast<std::size_t>(pos)];
      const auto& ch = chain[static_cast<std::size_t>(src_c)];
      float* o = out + y * s_h + pos * s_c;
      for (int x = 0; x < cols; ++x) o[x * s_w] = apply_chain(in[x * channels + src_c], ch);
    }
  }
  return info.shape;
}

}  // namespace qcal::preprocess
