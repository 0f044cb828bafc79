// File listing helpers implementation.
#include "core/files.hpp"

#include <algorithm>
#include <cctype>
#include <fstream>

#include "core/error.hpp"

namespace fs = std::filesystem;

namespace qcal {

std::string extension_lower(const fs::path& path) {
  std::string ext = path.extension().string();
  if (!ext.empty() && ext[0] == '.') ext.erase(0, 1);
  std::transform(ext.begin(), ext.end(), ext.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return ext;
}

bool has_extension(const fs::path& path, std::span<const std::string_view> extensions_lower) {
  const std::string ext = extension_lower(path);
  return std::find(extensions_lower.begin(), extensions_lower.end(), ext) != extensions_lower.end();
}

std::vector<fs::path> list_files(const fs::path& root,
                                 std::span<const std::string_view> extensions_lower) {
  std::error_code ec;
  if (!fs::exists(root, ec)) {
    Error e(ErrorCode::kIo, "path does not exist");
    e.with("path", root.string());
    throw e;
  }
  std::vector<fs::path> out;
  if (fs::is_regular_file(root, ec)) {
    if (has_extension(root, extensions_lower)) out.push_back(root);
    return out;
  }
  for (auto it = fs::recursive_directory_iterator(root,
                                                  fs::directory_options::follow_directory_symlink |
                                                      fs::directory_options::skip_permission_denied,
                                                  ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (it->is_regular_file(ec) && has_extension(it->path(), extensions_lower)) {
      out.push_back(it->path());
    }
  }
  if (ec) {
    Error e(ErrorCode::kIo, "cannot list folder: " + ec.message());
    e.with("path", root.string());
    throw e;
  }
  std::sort(out.begin(), out.end(), [](const fs::path& a, const fs::path& b) {
    return a.generic_string() < b.generic_string();
  });
  return out;
}

}  // namespace qcal
