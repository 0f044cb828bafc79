// Evaluation data against calibration data: calibrate writes calibration_samples.json beside
// the QDQ model (each calibration sample's tensor fingerprint, and its file for image data);
// eval reads it and counts the evaluation samples that are calibration samples, by content
// (the same preprocessed tensor) or by path (the same image file).
#pragma once

#include <cstddef>
#include <filesystem>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace qcal::eval {

inline constexpr const char* kCalibrationSamplesName = "calibration_samples.json";

// Hex XXH3-64 (seed 0) of a sample's bytes: the tensor as the model takes it, so the same image
// through the same recipe, or the same row of a packed .npy, gives the same fingerprint.
std::string sample_fingerprint(const void* bytes, std::size_t size);

// calibration_samples.json (format "qcal.calibration_samples/1"): the data description, one
// fingerprint per sample in order, and the samples' files (absolute, image data only).
std::string format_calibration_samples(const std::string& data,
                                       const std::vector<std::string>& fingerprints,
                                       const std::vector<std::string>& files);

struct CalibrationSamples {
  std::filesystem::path file;  // the manifest read
  std::string data;            // what calibrate was given
  std::set<std::string> fingerprints;
  std::set<std::string> files;  // absolute, lexically normal
};

// The manifest beside `model` (a QDQ model calibrate wrote); nullopt when there is none.
// Throws kFormat naming the file when it exists but cannot be read.
std::optional<CalibrationSamples> read_calibration_samples(const std::filesystem::path& model);

// How much of the evaluation data calibration saw.
struct OverlapResult {
  std::filesystem::path manifest;
  std::string calibration_data;
  std::size_t checked = 0;      // evaluation samples compared
  std::size_t overlapping = 0;  // by content or by path
  std::size_t by_content = 0;
  std::size_t by_path = 0;
  std::vector<std::string> examples;  // the first few overlapping samples' names
  // "N of M evaluation samples are calibration samples (...)"; empty when none overlap.
  std::string warning() const;
};

class OverlapCheck {
 public:
  explicit OverlapCheck(CalibrationSamples calibration);
  // One evaluation sample: its name, its file (empty for tensor data) and its input bytes.
  void add(const std::string& name, const std::string& file, const void* bytes, std::size_t size);
  const OverlapResult& result() const { return result_; }

 private:
  CalibrationSamples calibration_;
  OverlapResult result_;
};

// An absolute, lexically normal path (the form both sides compare).
std::string normal_path(const std::filesystem::path& path);

}  // namespace qcal::eval
