// NumPy .npz archives: a streaming writer (stored ZIP members, ZIP64, so members past 4 GiB
// work; the file appears under its final name only after finish()) and a reader for stored and
// deflated members (np.savez and np.savez_compressed) with checked sizes and CRCs.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/atomic_file.hpp"
#include "core/npy.hpp"
#include "core/tensor.hpp"

namespace qcal {

class NpzWriter {
 public:
  explicit NpzWriter(const std::filesystem::path& path);

  // Starts a streamed array `name` (stored as "<name>.npy") of shape [rows, row_shape...]; rows
  // are appended with append_rows and counted; end_array() patches the header and CRC.
  void begin_array(const std::string& name, DType dtype, Shape row_shape);
  void append_rows(const void* data, std::int64_t rows);
  void end_array();
  // Writes a whole array in one go.
  void add(const std::string& name, const Tensor& tensor);
  // Writes the central directory and renames the file into place.
  void finish();
  // Writes the central directory only: the archive is complete under its temporary name, for
  // commit_together() with other files of the same output.
  void end_archive();
  AtomicFile& file() { return file_; }

 private:
  struct Member {
    std::string filename;
    std::uint64_t header_offset = 0;
    std::uint64_t size = 0;
    std::uint32_t crc = 0;
  };
  void write_local_header(const std::string& filename);

  AtomicFile file_;
  std::vector<Member> members_;
  bool in_array_ = false;
  // State of the open streamed member.
  DType dtype_ = DType::kUndefined;
  Shape row_shape_;
  std::int64_t row_bytes_ = 0;
  std::int64_t rows_ = 0;
  std::uint64_t npy_header_size_ = 0;
  std::uint64_t data_start_ = 0;
  std::uint32_t data_crc_ = 0;
  std::uint64_t data_size_ = 0;
};

// Reads every array of an .npz, in archive order, keyed by member name without ".npy".
// Throws kIo / kFormat naming the file and member.
std::vector<std::pair<std::string, Tensor>> read_npz(const std::filesystem::path& path);

// Names of the arrays in an .npz (member names without ".npy"), in archive order.
std::vector<std::string> npz_array_names(const std::filesystem::path& path);

// Rows of one array of an .npz, streamed: memory is the rows asked for plus fixed buffers,
// whatever the array's size (calibration sets of thousands of images). Stored members
// (np.savez, qcal pack) are read in place; deflated members (np.savez_compressed) inflate
// forward and restart from the member's start when an earlier row is asked for. Opening
// verifies the member's size and CRC in one streaming pass, so a corrupt archive fails before
// any row is used. Throws kIo / kFormat naming the file and member.
class NpzArrayReader {
 public:
  NpzArrayReader(const std::filesystem::path& path, const std::string& array);
  ~NpzArrayReader();
  NpzArrayReader(const NpzArrayReader&) = delete;
  NpzArrayReader& operator=(const NpzArrayReader&) = delete;

  const NpyHeader& header() const;  // data_offset is relative to the member's start
  std::int64_t rows() const;
  // Rows [first, first + count) as a tensor of shape [count, rest...].
  Tensor read_rows(std::int64_t first, std::int64_t count);

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace qcal
