// The scores file of a sharded `qcal select` (.qsc): one map step's images with their
// measurements, sub-scores, totals and diverse-strategy descriptors, and what they were scored
// against (source, listing, weights, model input), so the reduce step can refuse shards that do
// not belong together. Internal to the dataset module.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "dataset/select.hpp"

namespace qcal::dataset {

inline constexpr std::uint32_t kScoresFormatVersion = 1;

struct ScoresHeader {
  std::string source;             // SRC_DIR as the map step was given it (generic form)
  std::uint32_t shard_index = 0;  // 0-based
  std::uint32_t shard_count = 1;
  std::uint64_t listed = 0;        // images in the whole sorted listing of SRC_DIR
  std::uint64_t listing_hash = 0;  // FNV-1a 64 of the listing's relative paths, each + '\0'
  std::uint64_t first = 0;         // listing position of this shard's first image
  std::uint64_t images = 0;        // images in this shard
  QualityWeights weights;
  int input_width = 0;
  int input_height = 0;
  std::uint32_t descriptor_size = 0;  // bytes per descriptor
};

// FNV-1a 64 of the relative paths, each followed by '\0' (listing_hash).
std::uint64_t hash_listing(const std::vector<std::string>& relative_paths);

// Writes header and images (header.images of them, readable or not) atomically. Layout, all
// integers little-endian, doubles as IEEE-754 bit patterns, str = u32 length + bytes:
//   "QCALSCOR" u32 version, str source, u32 shard_index, u32 shard_count, u64 listed,
//   u64 listing_hash, u64 first, u64 images, 5 x f64 weights (sharpness, brightness, contrast,
//   resolution, colorfulness), i32 input_width, i32 input_height, u32 descriptor_size;
//   per image: str relative, u8 readable, then either str error, or i32 width, i32 height,
//   i32 analysis_scale, 4 x f64 measures (laplacian_var, mean_luma, std_luma, colorfulness),
//   5 x f64 sub-scores (same order as the weights), f64 total, descriptor_size bytes;
//   u32 CRC-32 (zlib) of everything before it.
void write_scores_file(const std::filesystem::path& path, const ScoresHeader& header,
                       const std::vector<ScoredImage>& images);

// Reads only the header (kIo / kFormat naming the file).
ScoresHeader read_scores_header(const std::filesystem::path& path);

// Streams the whole file: each image (path left empty, relative set) goes to on_image in file
// order; the CRC is checked at the end (kFormat naming the file).
ScoresHeader read_scores_file(const std::filesystem::path& path,
                              const std::function<void(ScoredImage&&)>& on_image);

}  // namespace qcal::dataset
