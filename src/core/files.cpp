// File listing helpers implementation.
#include "core/files.hpp"

#include <dirent.h>
#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <set>

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

namespace {

struct FileId {
  dev_t device;
  ino_t inode;
  auto operator<=>(const FileId&) const = default;
};

struct FoundFile {
  fs::path path;
  FileId id;
};

[[noreturn]] void throw_listing(const std::string& message, const fs::path& path) {
  Error e(ErrorCode::kIo, message);
  e.with("path", path.string());
  throw e;
}

// The entry names of one folder, sorted byte-wise so the walk is the same on every filesystem.
std::vector<std::string> folder_entries(const fs::path& dir) {
  DIR* d = ::opendir(dir.c_str());
  if (!d) throw_listing(std::string("cannot list folder: ") + std::strerror(errno), dir);
  std::vector<std::string> names;
  errno = 0;
  while (const dirent* entry = ::readdir(d)) {
    const std::string_view name = entry->d_name;
    if (name != "." && name != "..") names.emplace_back(name);
  }
  const int read_errno = errno;
  ::closedir(d);
  if (read_errno != 0) {
    throw_listing(std::string("cannot list folder: ") + std::strerror(read_errno), dir);
  }
  std::sort(names.begin(), names.end());
  return names;
}

// Depth-first walk from root following symbolic links, but entering each real folder (device +
// inode) once, so a link back to an ancestor (a loop) or a second link to a folder adds nothing.
// Entries that vanish or are dangling links are skipped; an unreadable folder is an error.
std::vector<FoundFile> walk_files(const fs::path& root,
                                  std::span<const std::string_view> extensions_lower) {
  std::vector<FoundFile> found;
  std::set<FileId> entered;
  std::vector<fs::path> pending = {root};
  struct stat st {};
  if (::stat(root.c_str(), &st) == 0) entered.insert({st.st_dev, st.st_ino});
  while (!pending.empty()) {
    const fs::path dir = std::move(pending.back());
    pending.pop_back();
    std::vector<fs::path> subfolders;
    for (const std::string& name : folder_entries(dir)) {
      const fs::path path = dir / name;
      if (::stat(path.c_str(), &st) != 0) continue;  // dangling link, link loop, or gone
      const FileId id{st.st_dev, st.st_ino};
      if (S_ISDIR(st.st_mode)) {
        if (entered.insert(id).second) subfolders.push_back(path);
      } else if (S_ISREG(st.st_mode) && has_extension(path, extensions_lower)) {
        found.push_back({path, id});
      }
    }
    // Reversed onto the stack: the first subfolder is walked next.
    pending.insert(pending.end(), subfolders.rbegin(), subfolders.rend());
  }
  return found;
}

}  // namespace

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
  std::vector<FoundFile> found = walk_files(root, extensions_lower);
  std::sort(found.begin(), found.end(), [](const FoundFile& a, const FoundFile& b) {
    return a.path.generic_string() < b.path.generic_string();
  });
  // Each real file once (hard links, or a file reached through two linked folders): under the
  // first of its names in the sorted order.
  std::set<FileId> listed;
  for (FoundFile& f : found) {
    if (listed.insert(f.id).second) out.push_back(std::move(f.path));
  }
  return out;
}

}  // namespace qcal
