// Image quality for calibration sets: five sub-scores (sharpness, brightness, contrast,
// resolution, colourfulness), each 0..100, and their weighted total. The formulas are in
// README.md ("qcal select") and next to the code; they are measured on an analysis image that
// JPEGs decode directly at 1/2, 1/4 or 1/8 scale (see kAnalysisLongSide).
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace qcal::dataset {

// Raw measurements of one image.
struct ImageMeasures {
  int width = 0;  // full-resolution size (from the file header, orientation applied)
  int height = 0;
  int analysis_scale = 1;      // the analysis image is 1/analysis_scale of the full size
  double laplacian_var = 0.0;  // variance of the 4-neighbour Laplacian of the analysis grey image
  double mean_luma = 0.0;      // mean grey level, 0..255 (BT.601 luma as OpenCV's BGR2GRAY)
  double std_luma = 0.0;       // standard deviation of the grey level
  double colorfulness = 0.0;   // Hasler & Suesstrunk (2003) M3 on the analysis colour image
};

struct SubScores {
  double sharpness = 0.0;
  double brightness = 0.0;
  double contrast = 0.0;
  double resolution = 0.0;
  double colorfulness = 0.0;
};

struct QualityWeights {
  double sharpness = 35.0;
  double brightness = 20.0;
  double contrast = 20.0;
  double resolution = 15.0;
  double colorfulness = 10.0;
};

// Parses "35,20,20,15,10" (five non-negative numbers, not all zero); throws kInvalidArgument.
QualityWeights parse_weights(const std::string& text);

// The analysis image keeps its longer side at least this long: the largest scale s in
// {1, 2, 4, 8} with max(W, H) / s >= 640 (so 1080p is analysed at 960x540, 4K at 960x540,
// 640x480 and smaller at full size).
inline constexpr int kAnalysisLongSide = 640;
// Side of the colour thumbnail used as the `diverse` strategy's descriptor (8x8x3 values).
inline constexpr int kDescriptorSide = 8;

// Reads and measures an image; fills descriptor (kDescriptorSide^2 * 3 bytes: the BGR
// thumbnail's 8-bit values) when given. Throws kIo / kFormat naming the file when it cannot be
// read or decoded.
ImageMeasures measure_image(const std::filesystem::path& path,
                            std::vector<std::uint8_t>* descriptor);

// Width and height from a JPEG's SOF or a PNG's IHDR without decoding; false for other formats
// or a malformed header.
bool read_image_size(const std::string& bytes, int& width, int& height);

// Sub-scores for a model input of input_width x input_height.
SubScores score_measures(const ImageMeasures& m, int input_width, int input_height);
// Weighted mean of the sub-scores (weights normalised to sum 1), 0..100.
double total_score(const SubScores& s, const QualityWeights& w);

}  // namespace qcal::dataset
