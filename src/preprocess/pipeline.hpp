// Runs a recipe on an OpenCV image: image steps with OpenCV (bit-identical to cv2), then the
// arithmetic, channel swaps and layout steps fused into one pass into the output tensor.
#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <opencv2/core.hpp>
#include <optional>
#include <utility>
#include <vector>

#include "core/tensor.hpp"
#include "preprocess/recipe.hpp"
#include "preprocess/row_convert.hpp"

namespace qcal::preprocess {

// Reads an image as OpenCV's cv2.imread(path) does (IMREAD_COLOR: 3-channel BGR, EXIF
// orientation applied). Throws naming the image when it cannot be read (the system's reason),
// is empty, is a truncated or damaged JPEG (see core/image_file.hpp), or does not decode.
cv::Mat decode_image(const std::filesystem::path& path);
// The same pixels (cv::imdecode runs the decoder imread runs and applies the EXIF orientation as
// imread does), for a loop over many images: the file is read whole into `bytes` (reused across
// calls) with one open and one read, where imread opens the file twice (signature, then decode)
// and libjpeg reads it 4 KiB at a time. JPEGs are decoded by decode_jpeg_bgr (the same
// libjpeg-turbo, straight into BGR, into image's buffer when it can be reused): measured ~20%
// less CPU than imread on 768x576 JPEGs. Falls back to decode_image for what imdecode cannot
// read from memory, so errors name the file as decode_image's do. image's buffer is written in
// place only when no other Mat shares it.
void decode_image_into(const std::filesystem::path& path, std::vector<unsigned char>& bytes,
                       cv::Mat& image);

// An image after the recipe's image steps: the expensive per-image part of a run (decode aside),
// which write_plane_rows / write_all then turn into output values. Reused across images, its
// resize buffer is not reallocated when the size stays the same.
struct PreparedImage {
  cv::Mat image;    // HWC, 8-bit or float32; without the letterbox border when that is fused
  cv::Mat resized;  // the letterbox's resize buffer (image may share it)
  ShapeInfo info;   // the output sample's shape
  int pad_top = 0;
  int pad_bottom = 0;
  int pad_left = 0;
  int pad_right = 0;
};

// Where the decoded image sits in the recipe's output: what its resize step applied (letterbox
// scale and padding, or a plain resize's gains), so that boxes predicted in network-input pixels
// map back to the image.
struct ImageGeometry {
  int image_w = 0, image_h = 0;       // the decoded image
  int input_w = 0, input_h = 0;       // the network input
  double gain_x = 1.0, gain_y = 1.0;  // input pixels per image pixel
  int pad_left = 0, pad_top = 0;      // padding before the image
};

// The geometry of an image of image_w x image_h under `recipe`: its one resize step (letterbox or
// plain resize; none: the image is the input). nullopt when no such inverse exists: a crop,
// torchvision's short-side resize, or several resizes.
std::optional<ImageGeometry> recipe_geometry(const Recipe& recipe, int image_w, int image_h);

class Pipeline {
 public:
  explicit Pipeline(Recipe recipe);  // validates; throws kInvalidArgument

  const Recipe& recipe() const { return recipe_; }
  // Shape of one sample for an image of height x width.
  ShapeInfo output_info(int height, int width) const;
  // The image after the image steps (resize, crop, colour; arithmetic only where an image step
  // follows it): HWC, 8-bit or float. For visualisation.
  cv::Mat run_image_steps(const cv::Mat& image) const;
  // The whole recipe: a tensor of output_info(image).shape and the recipe's dtype.
  Tensor run(const cv::Mat& image) const;
  // Same, writing into dst, which holds exactly the output's bytes for this image (the caller
  // checked output_info). Returns the shape written.
  Shape run_into(const cv::Mat& image, void* dst, std::size_t dst_bytes) const;

  // The same run in two parts, so a caller can produce the output in cache-sized pieces (pack
  // hashes and writes each piece while it is still in cache): prepare() runs the image steps,
  // then write_plane_rows (planar outputs) or write_all gives the bytes run_into would.
  void prepare(const cv::Mat& image, PreparedImage& out) const;
  // True when the output is planar: channel, height, width in that order (unit axes anywhere).
  bool planar() const { return planar_; }
  // Rows [y0, y1) of output channel `plane` of a planar output: (y1 - y0) * width elements of
  // the recipe's dtype, contiguous in dst.
  void write_plane_rows(const PreparedImage& p, int plane, int y0, int y1, void* dst) const;
  // The whole sample, any layout; dst holds exactly its bytes.
  void write_all(const PreparedImage& p, void* dst) const;

 private:
  cv::Mat run_steps(const cv::Mat& image, std::size_t end) const;

  Recipe recipe_;
  std::size_t tail_begin_ = 0;  // steps[tail_begin_..] are fused into the final pass
  bool planar_ = false;
  // The fused tail, folded once: output channel position -> image channel (channel swaps), per
  // image channel the arithmetic chain in recipe order, its 256-entry table for 8-bit images,
  // and per output position the letterbox border value (8-bit and float32 outputs).
  int channels_ = 0;
  std::vector<int> source_channel_;
  std::vector<ArithmeticChain> chain_;
  std::vector<std::array<float, 256>> lut_;
  bool vector_ok_ = false;  // the vectorised conversion matches lut_ exactly
  std::vector<float> border_f32_;
  std::vector<std::uint8_t> border_u8_;
};

}  // namespace qcal::preprocess
