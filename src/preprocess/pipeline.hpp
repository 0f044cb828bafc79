// Runs a recipe on an OpenCV image: image steps with OpenCV (bit-identical to cv2), then the
// arithmetic, channel swaps and layout steps fused into one pass into the output tensor.
#pragma once

#include <array>
#include <filesystem>
#include <vector>

#include <opencv2/core.hpp>

#include "core/tensor.hpp"
#include "preprocess/recipe.hpp"

namespace qcal::preprocess {

// Reads an image as OpenCV's cv2.imread(path) does (IMREAD_COLOR: 3-channel BGR, EXIF
// orientation applied). Throws kIo naming the file when it is missing or does not decode.
cv::Mat decode_image(const std::filesystem::path& path);

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

 private:
  cv::Mat run_steps(const cv::Mat& image, std::size_t end) const;

  Recipe recipe_;
  std::size_t tail_begin_ = 0;  // steps[tail_begin_..] are fused into the final pass
};

}  // namespace qcal::preprocess
