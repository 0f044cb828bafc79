// Packing calibration tensors: decode + preprocess images in parallel, write them in input order
// to .npy ([N, ...], what ModelOpt reads), .npz (keyed by the model input name) or a folder of
// per-sample .npy files plus dataset.txt (RKNN-Toolkit2), with a metadata sidecar. Streams: memory
// holds a small window of samples whatever N.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "core/tensor.hpp"
#include "preprocess/recipe.hpp"

namespace qcal::preprocess {

enum class PackFormat { kNpy, kNpz, kDirectory };
// By OUT's extension: .npy, .npz, anything without an extension (or an existing folder) is a
// folder. Other extensions are a usage error.
PackFormat pack_format_for(const std::filesystem::path& out);
// The metadata file written with the output: OUT.npy.json / OUT.npz.json, or OUT/pack.json.
std::filesystem::path pack_sidecar_path(const std::filesystem::path& out, PackFormat format);
const char* pack_format_name(PackFormat format);

struct PackOptions {
  Recipe recipe;
  std::string input_name = "input";  // npz key and sidecar entry
  int threads = 1;  // threads in all, the caller's included (it works as one of them)
  // The model input's shape without the batch dimension (-1 = dynamic), when known: every sample
  // must match it.
  std::optional<Shape> expect_sample_shape;
  std::string expect_source;  // names the model in errors
  bool force = false;         // replace an existing output folder
  // Called in order, one call at a time, from whichever worker writes the sample.
  std::function<void(std::int64_t done, std::int64_t total)> progress;
};

struct PackResult {
  std::filesystem::path output;
  std::filesystem::path sidecar;
  PackFormat format = PackFormat::kNpy;
  std::int64_t count = 0;
  Shape shape;  // the stacked shape [N, ...] (per-sample shape for folders, with N prepended)
  DType dtype = DType::kFloat32;
  std::string fingerprint;  // hex XXH3-64 (seed 0) of all tensor bytes in order
  bool synthetic = false;
};

// Stacking rule: a sample with a leading batch axis of 1 is concatenated ([1,C,H,W] -> rows of
// [C,H,W]); any other sample gets a new leading axis.
Shape row_shape_of(const Shape& sample_shape);

// Throws qcal::Error naming the image for one that does not decode or gives a different shape.
PackResult pack_images(const std::vector<std::filesystem::path>& images,
                       const std::filesystem::path& out, const PackOptions& options);

// Uniform [0, 1) float32 samples from the portable RNG (seed), only on explicit request; the
// sidecar says "synthetic": true. sample_shape is one sample's shape (e.g. [1, 3, 640, 640]).
PackResult pack_synthetic(std::int64_t count, const Shape& sample_shape, std::uint64_t seed,
                          const std::filesystem::path& out, const PackOptions& options);

}  // namespace qcal::preprocess
