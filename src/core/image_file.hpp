// The one image-file check every verb applies before decoding (select's scoring, pack, check,
// calibrate and eval's preprocessing): read the file whole, with errors that say why (permission
// denied, not a regular file, empty), and refuse a JPEG cut short, which libjpeg would decode with
// its missing part filled grey and only a warning.
#pragma once

#include <cstddef>
#include <filesystem>
#include <vector>

namespace qcal {

// Reads the image file whole into `bytes` (resized to the file's size; its capacity is reused
// across calls), then checks it with check_image_bytes. Throws naming the image: kIo with the
// system's reason ("Permission denied", "No such file or directory") when it cannot be opened or
// read, or when it is not a regular file; kFormat when check_image_bytes refuses it.
void read_image_file(const std::filesystem::path& path, std::vector<unsigned char>& bytes);

// kFormat naming the image when the file is empty or is a JPEG whose scan data has no end-of-image
// marker (truncated). Other formats' damage is their decoder's to report.
void check_image_bytes(const unsigned char* data, std::size_t size,
                       const std::filesystem::path& path);

// True when a JPEG's entropy-coded data is followed by an end-of-image marker (FF D9).
bool jpeg_has_end_marker(const unsigned char* data, std::size_t size);

}  // namespace qcal
