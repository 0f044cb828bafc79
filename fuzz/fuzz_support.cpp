// The shared driver logic (qcal::Error must name the input) and the scratch folder the targets
// write their input files into.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <stdexcept>

#include "core/error.hpp"
#include "fuzz_targets.hpp"

namespace qcal::fuzz {
namespace {

// Owns the private folder; its destructor (at exit) removes it with whatever is left.
class ScratchDir {
 public:
  ScratchDir() {
    const char* base = std::getenv("TMPDIR");
    std::string pattern = std::string(base && *base ? base : "/tmp") + "/qcal-fuzz-XXXXXX";
    if (::mkdtemp(pattern.data()) == nullptr) {
      throw std::runtime_error("cannot create a scratch folder from " + pattern);
    }
    path_ = pattern;
  }
  ~ScratchDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

}  // namespace

const std::filesystem::path& scratch_dir() {
  static const ScratchDir dir;
  return dir.path();
}

bool run_target(const Target& target, std::string_view bytes) {
  try {
    target.run(bytes);
    return true;
  } catch (const Error& e) {
    // Readers of files must say which file; the in-memory model loader has none to name.
    if (std::string_view(target.name) != "model_loader") check_error_names_input(target.name, e);
    return false;
  }
}

void check_error_names_input(const char* target, const Error& error) {
  if (error.describe().find(scratch_dir().string()) == std::string::npos) {
    throw std::logic_error(std::string("target ") + target +
                           ": the error does not name the input file: " + error.describe());
  }
}

InputFile::InputFile(std::string_view bytes, const std::string& name)
    : path_(scratch_dir() / name) {
  std::FILE* f = std::fopen(path_.c_str(), "wb");
  if (f == nullptr) throw std::runtime_error("cannot write " + path_.string());
  const bool ok = std::fwrite(bytes.data(), 1, bytes.size(), f) == bytes.size();
  if (std::fclose(f) != 0 || !ok) throw std::runtime_error("cannot write " + path_.string());
}

InputFile::~InputFile() {
  std::error_code ec;
  std::filesystem::remove(path_, ec);
}

}  // namespace qcal::fuzz
