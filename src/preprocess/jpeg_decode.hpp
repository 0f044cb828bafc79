// JPEG decoding straight into BGR with libjpeg-turbo, the library and settings OpenCV's imread
// uses, minus OpenCV's per-row RGB->BGR copy: the same pixels for about 20% less CPU (pack's
// decode is most of its time).
#pragma once

#include <cstddef>
#include <opencv2/core.hpp>
#include <string>

namespace qcal::preprocess {

// Decodes `size` bytes of a JPEG file into `image` (8-bit BGR, IMREAD_COLOR's pixels), reusing
// image's buffer when it has the right size and nothing else shares it. Returns false, leaving
// the decision to cv::imdecode, for anything it does not reproduce exactly or that is not a
// clean decode: not a JPEG, CMYK/YCCK, no Huffman tables (MJPEG frames, which OpenCV patches),
// an EXIF APP1 segment that is not plainly "Orientation absent or 1", a decoder warning
// (corrupt data) or error, an image beyond OpenCV's size limits. image's contents are then
// unspecified. When the decode itself started and libjpeg then warned or failed (corrupt or
// truncated data, which libjpeg would fill grey), `*corrupt` (when given) receives libjpeg's
// message, so the caller can refuse the file instead. Never prints, never throws (but for
// cv::Mat allocation failure).
bool decode_jpeg_bgr(const unsigned char* data, std::size_t size, cv::Mat& image,
                     std::string* corrupt = nullptr);

}  // namespace qcal::preprocess
