// The fuzz targets: one per reader of user files, each feeding a file's bytes to the library
// function the CLI uses. Shared by the libFuzzer executables and the corpus regression test.
#pragma once

#include <filesystem>
#include <span>
#include <string>
#include <string_view>

namespace qcal {
class Error;
}

namespace qcal::fuzz {

// Runs one input through a reader. Returns normally or throws qcal::Error (the user-error
// outcome); any other exception, crash or sanitizer report is a finding.
using TargetFunction = void (*)(std::string_view bytes);

struct Target {
  const char* name;  // also the corpus folder name: fuzz/corpus/<name>/
  TargetFunction run;
};

std::span<const Target> all_targets();
// nullptr when no target has that name.
const Target* find_target(std::string_view name);

// Runs a target the way both drivers do: qcal::Error is a normal outcome, but it must name the
// input file (the reader's error context or message); one that does not is a finding, thrown
// as std::logic_error. Returns true when the input was accepted, false when it was refused.
bool run_target(const Target& target, std::string_view bytes);

// Throws std::logic_error (a finding) when a reader's error does not name the input file.
void check_error_names_input(const char* target, const qcal::Error& error);

// The input as a file: a private folder created once per process and removed at exit, holding
// at most the current input. The file is removed when the InputFile goes out of scope.
class InputFile {
 public:
  // `name` is the file name inside the private folder (readers may look at the extension).
  InputFile(std::string_view bytes, const std::string& name);
  ~InputFile();
  InputFile(const InputFile&) = delete;
  InputFile& operator=(const InputFile&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

// The private folder itself (created on first use).
const std::filesystem::path& scratch_dir();

}  // namespace qcal::fuzz
