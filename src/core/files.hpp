// File listing helpers: recursive search by extension (any letter case), sorted, list files.
#pragma once

#include <array>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace qcal {

inline constexpr std::array<std::string_view, 7> kImageExtensions = {"jpg", "jpeg", "png", "bmp",
                                                                     "tif", "tiff", "webp"};
inline constexpr std::array<std::string_view, 5> kVideoExtensions = {"mp4", "mov", "avi", "mkv",
                                                                     "webm"};

// Lower-cased extension without the dot ("MOV" -> "mov"); empty when none.
std::string extension_lower(const std::filesystem::path& path);
bool has_extension(const std::filesystem::path& path,
                   std::span<const std::string_view> extensions_lower);

// Regular files under root (recursively) whose extension matches, in byte-wise sorted order of
// their generic path string, so every machine lists them the same. Symbolic links are followed,
// but each real folder is entered once and each real file (device + inode) listed once, so a
// link loop or a second link to a folder adds nothing. A file root is returned as-is when it
// matches. Throws kIo when root does not exist or a folder under it cannot be read (naming the
// folder and the reason, e.g. "Permission denied").
std::vector<std::filesystem::path> list_files(const std::filesystem::path& root,
                                              std::span<const std::string_view> extensions_lower);

}  // namespace qcal
