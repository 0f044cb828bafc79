// JPEG decoding with libjpeg-turbo into BGR. What makes it OpenCV's pixels (checked against
// cv::imread in tests/unit/preprocess/pipeline_test.cpp): OpenCV 4.6's JpegDecoder sets nothing
// but out_color_space (JCS_RGB for 1- and 3-component files; default IDCT, fancy upsampling) and
// then swaps each row to BGR; JCS_EXT_BGR runs the same colour conversion with the other byte
// order. imdecode then applies the EXIF orientation from the first APP1 segment, which we only
// accept when it is plainly 1 or absent.
#include "preprocess/jpeg_decode.hpp"

#include <jpeglib.h>

#include <csetjmp>
#include <cstdint>
#include <cstdio>  // jpeglib.h needs FILE
#include <string>

#ifndef JCS_EXTENSIONS
#error "libjpeg-turbo (libjpeg62-turbo-dev) is needed: JCS_EXT_BGR"
#endif

namespace qcal::preprocess {
namespace {

struct ErrorManager {
  jpeg_error_mgr pub;
  std::jmp_buf jump;
  char first_message[JMSG_LENGTH_MAX];  // libjpeg's text of the first warning or the error
};

void keep_message(j_common_ptr cinfo) {
  auto* err = reinterpret_cast<ErrorManager*>(cinfo->err);
  if (err->first_message[0] == '\0') (*cinfo->err->format_message)(cinfo, err->first_message);
}

[[noreturn]] void on_error(j_common_ptr cinfo) {
  keep_message(cinfo);
  std::longjmp(reinterpret_cast<ErrorManager*>(cinfo->err)->jump, 1);
}

// Warnings are counted by libjpeg (err->num_warnings) and kept, not printed: the caller makes
// them an error naming the file. (libjpeg calls output_message for the first warning only.)
void on_warning_output(j_common_ptr cinfo) { keep_message(cinfo); }

// OpenCV's ExifReader reads the first APP1 segment from byte 6 on as TIFF and takes IFD0's
// Orientation (tag 0x0112) as the 16-bit value at entry offset 8, whatever the entry's type.
// True only when that parse clearly finds no orientation other than 1.
bool exif_orientation_is_identity(const unsigned char* seg, std::size_t len) {
  if (len <= 6) return false;
  const unsigned char* t = seg + 6;
  const std::size_t n = len - 6;
  if (n < 8) return false;
  bool little = false;
  if (t[0] == 'I' && t[1] == 'I') {
    little = true;
  } else if (!(t[0] == 'M' && t[1] == 'M')) {
    return false;
  }
  auto u16 = [&](std::size_t at) -> std::uint32_t {
    return little ? static_cast<std::uint32_t>(t[at] | (t[at + 1] << 8))
                  : static_cast<std::uint32_t>((t[at] << 8) | t[at + 1]);
  };
  auto u32 = [&](std::size_t at) -> std::uint32_t {
    return little ? (u16(at) | (u16(at + 2) << 16)) : ((u16(at) << 16) | u16(at + 2));
  };
  if (u16(2) != 0x2A) return false;
  const std::size_t ifd = u32(4);
  if (ifd > n || n - ifd < 2) return false;
  const std::size_t entries = u16(ifd);
  if ((n - ifd - 2) / 12 < entries) return false;
  for (std::size_t e = 0; e < entries; ++e) {
    const std::size_t at = ifd + 2 + 12 * e;
    if (u16(at) == 0x0112 && u16(at + 8) != 1) return false;
  }
  return true;
}

}  // namespace

bool decode_jpeg_bgr(const unsigned char* data, std::size_t size, cv::Mat& image,
                     std::string* corrupt) {
  // OpenCV's JPEG signature.
  if (size < 3 || data[0] != 0xFF || data[1] != 0xD8 || data[2] != 0xFF) return false;
  jpeg_decompress_struct cinfo{};
  ErrorManager err{};
  cinfo.err = jpeg_std_error(&err.pub);
  err.pub.error_exit = on_error;
  err.pub.output_message = on_warning_output;
  volatile bool decoding = false;  // (volatile: read after longjmp) past the header checks: a
                                   // failure now means damaged data
  // Nothing below this point owns resources other than cinfo (destroyed on both paths) and the
  // caller's image, so the longjmp skips no destructor.
  if (setjmp(err.jump) != 0) {
    if (decoding && corrupt) *corrupt = err.first_message;
    jpeg_destroy_decompress(&cinfo);
    return false;
  }
  jpeg_create_decompress(&cinfo);
  jpeg_mem_src(&cinfo, data, static_cast<unsigned long>(size));
  jpeg_save_markers(&cinfo, JPEG_APP0 + 1, 0xFFFF);
  bool ok = jpeg_read_header(&cinfo, TRUE) == JPEG_HEADER_OK && cinfo.num_components != 4 &&
            !(cinfo.ac_huff_tbl_ptrs[0] == nullptr && cinfo.ac_huff_tbl_ptrs[1] == nullptr &&
              cinfo.dc_huff_tbl_ptrs[0] == nullptr && cinfo.dc_huff_tbl_ptrs[1] == nullptr);
  for (jpeg_saved_marker_ptr m = cinfo.marker_list; ok && m; m = m->next) {
    if (m->marker == JPEG_APP0 + 1) {
      ok = exif_orientation_is_identity(m->data, m->data_length);
      break;  // only the first APP1 counts, as in OpenCV
    }
  }
  // OpenCV's limits (CV_IO_MAX_IMAGE_WIDTH/HEIGHT 1 << 20, CV_IO_MAX_IMAGE_PIXELS 1 << 30):
  // beyond them imdecode gives its own error.
  const std::uint64_t w = cinfo.image_width;
  const std::uint64_t h = cinfo.image_height;
  ok = ok && w > 0 && h > 0 && w <= (1u << 20) && h <= (1u << 20) &&
       w * h <= (std::uint64_t{1} << 30);
  if (!ok) {
    jpeg_destroy_decompress(&cinfo);
    return false;
  }
  cinfo.out_color_space = JCS_EXT_BGR;
  decoding = true;
  jpeg_start_decompress(&cinfo);
  const int rows = static_cast<int>(cinfo.output_height);
  const int cols = static_cast<int>(cinfo.output_width);
  if (cinfo.output_components != 3 || static_cast<std::uint64_t>(rows) != h ||
      static_cast<std::uint64_t>(cols) != w) {
    jpeg_destroy_decompress(&cinfo);
    return false;
  }
  // The previous image's buffer is reused when nothing else holds it (a fresh 1.3 MB buffer per
  // image costs page faults, about 0.1 ms per image).
  const bool reuse = image.rows == rows && image.cols == cols && image.type() == CV_8UC3 &&
                     image.isContinuous() && image.u != nullptr && image.u->refcount == 1;
  if (!reuse) {
    image.release();
    try {
      image.create(rows, cols, CV_8UC3);
    } catch (...) {
      jpeg_destroy_decompress(&cinfo);
      throw;
    }
  }
  while (cinfo.output_scanline < cinfo.output_height) {
    JSAMPROW row[4];
    int count = 0;
    for (;
         count < 4 && cinfo.output_scanline + static_cast<JDIMENSION>(count) < cinfo.output_height;
         ++count) {
      row[count] = image.ptr<unsigned char>(static_cast<int>(cinfo.output_scanline) + count);
    }
    jpeg_read_scanlines(&cinfo, row, static_cast<JDIMENSION>(count));
  }
  jpeg_finish_decompress(&cinfo);
  const bool clean = err.pub.num_warnings == 0;
  if (!clean && corrupt) *corrupt = err.first_message;
  jpeg_destroy_decompress(&cinfo);
  return clean;
}

}  // namespace qcal::preprocess
