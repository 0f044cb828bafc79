// Fuzzed readers of core/: .npy and .npz, as calibrate/eval --data and run --input read them.
#include <algorithm>

#include "core/npy.hpp"
#include "core/npz.hpp"
#include "fuzz_readers.hpp"

namespace qcal::fuzz {
namespace {

// Reads a few rows of a streamed array: the first ones and the last, as a batch loop would.
template <typename Reader>
void read_some_rows(Reader& reader) {
  const std::int64_t rows = reader.rows();
  if (rows <= 0) return;
  (void)reader.read_rows(0, std::min<std::int64_t>(rows, 2));
  (void)reader.read_rows(rows - 1, 1);
  (void)reader.read_rows(0, 1);  // backwards: a deflated member restarts
}

}  // namespace

void run_npy(std::string_view bytes) {
  const InputFile file(bytes, "data.npy");
  read_independently("npy", [&] {
    NpyReader reader(file.path());  // calibrate/eval --data
    read_some_rows(reader);
  });
  read_independently("npy", [&] { (void)read_npy(file.path()); });  // run --input
}

void run_npz(std::string_view bytes) {
  const InputFile file(bytes, "data.npz");
  read_independently("npz", [&] {  // calibrate/eval --data: each member streamed
    const auto names = npz_array_names(file.path());
    for (std::size_t k = 0; k < std::min<std::size_t>(names.size(), 4); ++k) {
      NpzArrayReader reader(file.path(), names[k]);
      read_some_rows(reader);
    }
  });
  read_independently("npz", [&] { (void)read_npz(file.path()); });  // whole archive
}

}  // namespace qcal::fuzz
