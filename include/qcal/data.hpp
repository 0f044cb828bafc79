// qcal::Data: calibration data as files (.npy, .npz, an image folder, image, list file or DX-COM
// config, exactly as the CLI's --data), as an in-memory array of samples, or as a stream that
// yields one sample at a time (a Python iterator), pulled while the calibration runs.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "qcal/array.hpp"

namespace qcal {

// One sample: the model's input, by name ({"images": x}) or unnamed (one entry, name empty),
// shaped as a row of the input ([C, H, W] for [1, C, H, W]) or as the whole input.
struct StreamSample {
  std::vector<std::pair<std::string, Array>> inputs;
};

// Yields samples in order until it returns std::nullopt. Called on the calibrating thread, one
// sample at a time, never again after the end.
class SampleStream {
 public:
  virtual ~SampleStream() = default;
  virtual std::optional<StreamSample> next() = 0;
  // What the stream is, for messages ("a Python generator").
  virtual std::string description() const { return "a sample stream"; }
};

class Data {
 public:
  enum class Kind { kPath, kArray, kStream };
  // Files, as the CLI's --data (images need CalibrateOptions::recipe).
  static Data path(std::string path);
  // Samples along the first axis: [N, C, H, W] for a [1, C, H, W] or [B, C, H, W] input. Not
  // copied: rows are read in place.
  static Data array(Array samples);
  static Data stream(std::shared_ptr<SampleStream> stream);

  Kind kind() const { return kind_; }
  const std::string& path_value() const { return path_; }
  const Array& array_value() const { return array_; }
  const std::shared_ptr<SampleStream>& stream_value() const { return stream_; }

 private:
  Kind kind_ = Kind::kPath;
  std::string path_;
  Array array_;
  std::shared_ptr<SampleStream> stream_;
};

}  // namespace qcal
