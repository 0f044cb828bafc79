// List files (one path per line, as `qcal sample`, `qcal config --format rknn` and pack's
// dataset.txt write them, and as pack, calibrate and sample read them). The one rule: a relative
// entry is relative to the folder of the list file. Writers refuse any path the reader would not
// read back as written (docs/formats.md, "List files").
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace qcal {

// Reads a list file: UTF-8 text (a leading byte-order mark is skipped), one path per line; blank
// lines and lines whose first non-blank character is '#' are skipped, surrounding blanks and a
// trailing '\r' dropped. Relative paths are resolved against base_dir. Throws naming the list
// file and the line when the file is not text (a NUL byte, invalid UTF-8, control characters)
// or an entry does not exist.
std::vector<std::filesystem::path> read_list_file(const std::filesystem::path& list_path,
                                                  const std::filesystem::path& base_dir);

// One entry as a list line (without the newline). Throws kInvalidArgument naming the path when
// read_list_file would not read it back: a line break or control character in the name, blanks
// at either end, a leading '#', an empty path, or bytes that are not UTF-8.
std::string list_line(const std::filesystem::path& entry);

// The whole list text: each entry's list_line and a newline.
std::string list_text(const std::vector<std::filesystem::path>& entries);

}  // namespace qcal
