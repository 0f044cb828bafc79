// NumPy .npy files: whole-file read/write, a row-streaming reader and a streaming writer whose
// leading dimension is patched when the stream ends (memory stays flat whatever N).
#pragma once

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>

#include "core/atomic_file.hpp"
#include "core/tensor.hpp"

namespace qcal {

struct NpyHeader {
  DType dtype = DType::kUndefined;
  Shape shape;
  std::uint64_t data_offset = 0;  // bytes from file start to the first element
};

// Parses the header of an .npy held in memory or at the start of a file. Throws kFormat naming
// what is wrong (magic, version, descr, fortran_order, shape).
NpyHeader parse_npy_header(std::string_view bytes);
// Serialises a version 1.0 header (little-endian descr, C order), padded to a multiple of 64.
// min_header_len reserves room so a streaming writer can rewrite the shape in place.
std::string make_npy_header(DType dtype, std::span<const std::int64_t> shape,
                            std::size_t min_header_len = 0);

Tensor read_npy(const std::filesystem::path& path);
// Parses a whole .npy held in memory (as stored in an .npz member).
Tensor parse_npy(std::string_view bytes, const std::string& what);
void write_npy(const std::filesystem::path& path, const Tensor& tensor);  // atomic
std::string serialize_npy(const Tensor& tensor);

// Reads rows (slices along the first dimension) of a large .npy without loading it whole.
class NpyReader {
 public:
  explicit NpyReader(const std::filesystem::path& path);
  ~NpyReader();
  NpyReader(const NpyReader&) = delete;
  NpyReader& operator=(const NpyReader&) = delete;

  const NpyHeader& header() const { return header_; }
  std::int64_t rows() const { return header_.shape.empty() ? 1 : header_.shape[0]; }
  // Rows [first, first + count) as a tensor of shape [count, rest...].
  Tensor read_rows(std::int64_t first, std::int64_t count);

 private:
  void check_header();  // reads header_ and checks the file holds the data it describes

  std::filesystem::path path_;
  std::FILE* file_ = nullptr;
  NpyHeader header_;
  std::int64_t row_bytes_ = 0;
};

// Streams rows into an .npy; the file appears under its final name only after finish().
class NpyWriter {
 public:
  // row_shape: the shape of one row (e.g. [3, 640, 640]); the file's shape is [rows, row_shape...].
  NpyWriter(const std::filesystem::path& path, DType dtype, Shape row_shape);
  // Appends `rows` rows of contiguous data (rows * row_bytes bytes).
  void append(const void* data, std::int64_t rows);
  void append(const Tensor& rows_tensor);  // shape [k, row_shape...] or row_shape (one row)
  std::int64_t rows() const { return rows_; }
  void finish();

 private:
  AtomicFile file_;
  DType dtype_;
  Shape row_shape_;
  std::int64_t row_bytes_ = 0;
  std::int64_t rows_ = 0;
  std::size_t header_len_ = 0;
};

}  // namespace qcal
