// Output-path checks: canonical comparison of every output against every input.
#include "core/output_paths.hpp"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <system_error>

#include "core/error.hpp"

namespace fs = std::filesystem;

namespace qcal {
namespace {

// Absolute, symlinks of the existing part resolved, "." and ".." removed.
fs::path canonical_of(const fs::path& p) {
  std::error_code ec;
  fs::path abs = fs::absolute(p, ec);
  if (ec) return p.lexically_normal();
  fs::path c = fs::weakly_canonical(abs, ec);
  c = ec ? abs.lexically_normal() : c.lexically_normal();
  // "a/b/" and "a/b" are the same place.
  if (c.has_relative_path() && c.filename().empty()) c = c.parent_path();
  return c;
}

// True when `outer` is `inner` or one of its ancestors (component-wise, not by string prefix).
bool contains(const fs::path& outer, const fs::path& inner) {
  auto o = outer.begin();
  auto i = inner.begin();
  for (; o != outer.end(); ++o, ++i) {
    if (i == inner.end() || *o != *i) return false;
  }
  return true;
}

bool same_file(const fs::path& a, const fs::path& b) {
  std::error_code ec;
  return fs::exists(a, ec) && fs::exists(b, ec) && fs::equivalent(a, b, ec) && !ec;
}

[[noreturn]] void refuse(const std::string& message, const fs::path& output,
                         const fs::path& input) {
  throw Error(ErrorCode::kInvalidArgument, message + "; nothing was written")
      .with("output", output.string())
      .with("input", input.string());
}

}  // namespace

RunPaths& RunPaths::input(const fs::path& path, std::string what) {
  if (!path.empty() && path != "-") inputs_.push_back({path, std::move(what), OutputKind::kFile});
  return *this;
}

RunPaths& RunPaths::output(const fs::path& path, std::string what, OutputKind kind) {
  if (!path.empty() && path != "-") outputs_.push_back({path, std::move(what), kind});
  return *this;
}

void RunPaths::check() const {
  std::vector<fs::path> inputs;
  inputs.reserve(inputs_.size());
  for (const auto& in : inputs_) inputs.push_back(canonical_of(in.path));
  for (const auto& out : outputs_) {
    const fs::path o = canonical_of(out.path);
    for (std::size_t k = 0; k < inputs_.size(); ++k) {
      const Entry& in = inputs_[k];
      const fs::path& i = inputs[k];
      std::error_code ec;
      if (o == i || same_file(out.path, in.path)) {
        refuse(out.what + " would overwrite " + in.what, out.path, in.path);
      }
      if (out.kind == OutputKind::kFolderReplaced && contains(o, i)) {
        refuse(out.what + " would replace a folder that holds " + in.what, out.path, in.path);
      }
      if (fs::is_directory(i, ec) && contains(i, o)) {
        refuse(out.what + " lies inside " + in.what +
                   " (a folder this run reads): write it somewhere else",
               out.path, in.path);
      }
    }
  }
}

void check_output_dir(const fs::path& dir, const std::string& what) {
  if (dir.empty()) return;
  std::error_code ec;
  fs::path p = fs::absolute(dir, ec).lexically_normal();
  if (p.has_relative_path() && p.filename().empty()) p = p.parent_path();
  // The deepest part that exists must be a folder qcal may write into.
  while (!fs::exists(p, ec) && p.has_relative_path()) p = p.parent_path();
  if (!fs::is_directory(p, ec)) {
    throw Error(ErrorCode::kIo,
                what + " must be a folder, but '" + p.string() + "' exists and is not a folder")
        .with("path", dir.string());
  }
  if (::access(p.c_str(), W_OK) != 0) {
    throw Error(ErrorCode::kIo,
                what + ": cannot write into '" + p.string() + "': " + std::strerror(errno))
        .with("path", dir.string());
  }
}

void create_output_dir(const fs::path& dir) {
  if (dir.empty()) return;
  std::error_code ec;
  if (fs::is_directory(dir, ec)) return;
  // The first existing ancestor must be a folder.
  for (fs::path p = dir; !p.empty(); p = p.parent_path()) {
    if (fs::exists(p, ec) && !fs::is_directory(p, ec)) {
      throw Error(ErrorCode::kIo, "cannot create the output folder: '" + p.string() +
                                      "' exists and is not a folder")
          .with("path", dir.string());
    }
    if (p == p.parent_path()) break;
  }
  fs::create_directories(dir, ec);
  if (ec) {
    throw Error(ErrorCode::kIo, "cannot create the output folder: " + ec.message())
        .with("path", dir.string());
  }
}

void check_output_file(const fs::path& file, const std::string& what, bool parent_created) {
  std::error_code ec;
  if (fs::is_directory(file, ec)) {
    throw Error(ErrorCode::kIo, what + " names an existing folder; give a file name")
        .with("path", file.string());
  }
  const fs::path parent = file.parent_path().empty() ? fs::path(".") : file.parent_path();
  if (parent_created) {
    check_output_dir(parent, what);
    return;
  }
  if (!fs::is_directory(parent, ec)) {
    throw Error(ErrorCode::kIo, what + ": the folder '" + parent.string() + "' does not exist")
        .with("path", file.string());
  }
  if (::access(parent.c_str(), W_OK) != 0) {
    throw Error(ErrorCode::kIo,
                what + ": cannot write into '" + parent.string() + "': " + std::strerror(errno))
        .with("path", file.string());
  }
}

}  // namespace qcal
