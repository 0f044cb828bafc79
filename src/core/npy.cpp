// NumPy .npy format (https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html):
// magic "\x93NUMPY", version, little-endian header length, a Python dict literal, then data.
#include "core/npy.hpp"

#include <cstring>
#include <string_view>

#include "core/checked.hpp"
#include "core/error.hpp"

namespace qcal {
namespace {

constexpr char kMagic[] = "\x93NUMPY";

struct DescrEntry {
  std::string_view descr;
  DType dtype;
};
// Little-endian (or byte-order-free) descriptors only; '=' is little-endian on the hosts qcal runs
// on.
constexpr DescrEntry kDescrs[] = {
    {"f4", DType::kFloat32}, {"f8", DType::kFloat64}, {"f2", DType::kFloat16},
    {"i1", DType::kInt8},    {"u1", DType::kUInt8},   {"i2", DType::kInt16},
    {"u2", DType::kUInt16},  {"i4", DType::kInt32},   {"u4", DType::kUInt32},
    {"i8", DType::kInt64},   {"u8", DType::kUInt64},  {"b1", DType::kBool},
};

Error npy_error(const std::string& what, const std::string& message) {
  Error e(ErrorCode::kFormat, "not a valid .npy: " + message);
  e.with("file", what);
  return e;
}

DType parse_descr(std::string_view d, const std::string& what) {
  if (d.size() != 3) throw npy_error(what, "unsupported dtype '" + std::string(d) + "'");
  const char order = d[0];
  std::string_view code = d.substr(1);
  for (const auto& entry : kDescrs) {
    if (entry.descr == code) {
      const bool one_byte = dtype_size(entry.dtype) == 1;
      if (order == '<' || order == '=' || (one_byte && order == '|')) return entry.dtype;
      throw npy_error(what, "big-endian dtype '" + std::string(d) + "' is not supported");
    }
  }
  throw npy_error(what, "unsupported dtype '" + std::string(d) + "'");
}

std::string descr_of(DType dtype) {
  for (const auto& entry : kDescrs) {
    if (entry.dtype == dtype) {
      return std::string(dtype_size(dtype) == 1 ? "|" : "<") + std::string(entry.descr);
    }
  }
  throw Error(ErrorCode::kUnsupported,
              "dtype " + std::string(dtype_name(dtype)) + " has no .npy form");
}

// Value text following "'key':" in the header dict.
std::string_view dict_value(std::string_view dict, std::string_view key, const std::string& what) {
  std::string quoted = "'" + std::string(key) + "'";
  std::size_t pos = dict.find(quoted);
  if (pos == std::string_view::npos) throw npy_error(what, "header has no " + quoted);
  pos = dict.find(':', pos + quoted.size());
  if (pos == std::string_view::npos) throw npy_error(what, "malformed header");
  ++pos;
  while (pos < dict.size() && dict[pos] == ' ') ++pos;
  return dict.substr(pos);
}

}  // namespace

NpyHeader parse_npy_header(std::string_view bytes, const std::string& what);

NpyHeader parse_npy_header(std::string_view bytes) { return parse_npy_header(bytes, "<memory>"); }

NpyHeader parse_npy_header(std::string_view bytes, const std::string& what) {
  if (bytes.size() < 10 || std::memcmp(bytes.data(), kMagic, 6) != 0) {
    throw npy_error(what, "missing \\x93NUMPY magic");
  }
  const auto major = static_cast<unsigned char>(bytes[6]);
  std::uint64_t header_len = 0;
  std::uint64_t prefix = 0;
  if (major == 1) {
    header_len = static_cast<unsigned char>(bytes[8]) | (static_cast<unsigned char>(bytes[9]) << 8);
    prefix = 10;
  } else if (major == 2 || major == 3) {
    if (bytes.size() < 12) throw npy_error(what, "truncated header");
    header_len = 0;
    for (int i = 0; i < 4; ++i)
      header_len |= static_cast<std::uint64_t>(static_cast<unsigned char>(bytes[8 + i])) << (8 * i);
    prefix = 12;
  } else {
    throw npy_error(what, "unsupported format version " + std::to_string(major));
  }
  if (bytes.size() < prefix + header_len) throw npy_error(what, "truncated header");
  std::string_view dict = bytes.substr(prefix, header_len);

  NpyHeader h;
  h.data_offset = prefix + header_len;
  std::string_view descr = dict_value(dict, "descr", what);
  if (descr.empty() || descr[0] != '\'')
    throw npy_error(what, "descr is not a simple dtype string");
  std::size_t end = descr.find('\'', 1);
  if (end == std::string_view::npos) throw npy_error(what, "malformed descr");
  h.dtype = parse_descr(descr.substr(1, end - 1), what);

  std::string_view fortran = dict_value(dict, "fortran_order", what);
  if (fortran.substr(0, 4) == "True")
    throw npy_error(what,
                    "fortran_order=True arrays are not supported; save with np.ascontiguousarray");
  if (fortran.substr(0, 5) != "False") throw npy_error(what, "malformed fortran_order");

  std::string_view shape = dict_value(dict, "shape", what);
  if (shape.empty() || shape[0] != '(') throw npy_error(what, "malformed shape");
  std::size_t close = shape.find(')');
  if (close == std::string_view::npos) throw npy_error(what, "malformed shape");
  std::string_view inner = shape.substr(1, close - 1);
  std::size_t i = 0;
  while (i < inner.size()) {
    while (i < inner.size() && (inner[i] == ' ' || inner[i] == ',')) ++i;
    if (i >= inner.size()) break;
    std::int64_t v = 0;
    std::size_t start = i;
    while (i < inner.size() && inner[i] >= '0' && inner[i] <= '9') {
      if (v > (INT64_MAX - 9) / 10) throw npy_error(what, "shape dimension too large");
      v = v * 10 + (inner[i] - '0');
      ++i;
    }
    if (i == start) throw npy_error(what, "malformed shape '" + std::string(inner) + "'");
    while (i < inner.size() && inner[i] == 'L') ++i;  // Python 2 long suffix
    h.shape.push_back(v);
  }
  try {
    checked_numel(h.shape, "npy shape");
  } catch (const Error&) {
    throw npy_error(what, "shape " + shape_to_string(h.shape) +
                              " has more elements than 64-bit arithmetic can count");
  }
  return h;
}

std::string make_npy_header(DType dtype, std::span<const std::int64_t> shape,
                            std::size_t min_header_len) {
  std::string dict = "{'descr': '" + descr_of(dtype) + "', 'fortran_order': False, 'shape': (";
  for (std::size_t i = 0; i < shape.size(); ++i) {
    dict += std::to_string(shape[i]);
    if (shape.size() == 1 || i + 1 < shape.size()) dict += ",";
    if (i + 1 < shape.size()) dict += " ";
  }
  dict += "), }";
  // Total (10-byte prefix + dict + padding + '\n') is a multiple of 64, as numpy writes it.
  std::size_t total = 10 + dict.size() + 1;
  total = std::max(total, 10 + min_header_len);
  total = (total + 63) / 64 * 64;
  const std::size_t header_len = total - 10;
  if (header_len > 65535) throw Error(ErrorCode::kLimit, "npy header too long");
  dict.append(header_len - dict.size() - 1, ' ');
  dict += '\n';
  std::string out(kMagic, 6);
  out += '\x01';
  out += '\x00';
  out += static_cast<char>(header_len & 0xff);
  out += static_cast<char>((header_len >> 8) & 0xff);
  return out + dict;
}

Tensor parse_npy(std::string_view bytes, const std::string& what) {
  NpyHeader h = parse_npy_header(bytes, what);
  Tensor t(h.dtype, h.shape);
  if (bytes.size() - h.data_offset < t.nbytes())
    throw npy_error(what, "data is truncated: expected " + std::to_string(t.nbytes()) + " bytes");
  std::memcpy(t.raw_data(), bytes.data() + h.data_offset, t.nbytes());
  return t;
}

Tensor read_npy(const std::filesystem::path& path) {
  NpyReader reader(path);
  const NpyHeader& h = reader.header();
  if (h.shape.empty()) {
    Tensor all = reader.read_rows(0, 1);
    return all.reshaped({});
  }
  return reader.read_rows(0, h.shape[0]);
}

std::string serialize_npy(const Tensor& tensor) {
  std::string out = make_npy_header(tensor.dtype(), tensor.shape());
  out.append(static_cast<const char*>(tensor.raw_data()), tensor.nbytes());
  return out;
}

void write_npy(const std::filesystem::path& path, const Tensor& tensor) {
  AtomicFile f(path);
  std::string header = make_npy_header(tensor.dtype(), tensor.shape());
  f.write(header);
  f.write(tensor.raw_data(), tensor.nbytes());
  f.commit();
}

namespace {

// The header of the .npy open in `file` (read from its start).
NpyHeader read_file_header(std::FILE* file, const std::filesystem::path& path) {
  char prefix[12] = {};
  std::size_t got = std::fread(prefix, 1, sizeof prefix, file);
  if (got < 10 || std::memcmp(prefix, kMagic, 6) != 0)
    throw npy_error(path.string(), "missing \\x93NUMPY magic");
  std::uint64_t header_len =
      prefix[6] == 1
          ? (static_cast<unsigned char>(prefix[8]) | (static_cast<unsigned char>(prefix[9]) << 8)) +
                10ULL
          : 12ULL + (static_cast<unsigned char>(prefix[8]) |
                     (static_cast<unsigned char>(prefix[9]) << 8) |
                     (static_cast<std::uint64_t>(static_cast<unsigned char>(prefix[10])) << 16) |
                     (static_cast<std::uint64_t>(static_cast<unsigned char>(prefix[11])) << 24));
  if (header_len > (1u << 20)) throw npy_error(path.string(), "header longer than 1 MiB");
  std::string head(header_len, '\0');
  std::fseek(file, 0, SEEK_SET);
  if (std::fread(head.data(), 1, header_len, file) != header_len)
    throw npy_error(path.string(), "truncated header");
  return parse_npy_header(head, path.string());
}

}  // namespace

NpyReader::NpyReader(const std::filesystem::path& path) : path_(path) {
  file_ = std::fopen(path.c_str(), "rb");
  if (!file_) {
    Error e(ErrorCode::kIo, "cannot open .npy file");
    e.with("file", path.string());
    throw e;
  }
  // The destructor does not run when the constructor throws: close the file here.
  try {
    check_header();
  } catch (Error& e) {
    std::fclose(file_);
    file_ = nullptr;
    e.with("file", path.string());  // once: with() skips an entry already there
    throw;
  } catch (...) {
    std::fclose(file_);
    file_ = nullptr;
    throw;
  }
}

void NpyReader::check_header() {
  header_ = read_file_header(file_, path_);
  Shape row_shape(header_.shape.begin() + (header_.shape.empty() ? 0 : 1), header_.shape.end());
  row_bytes_ =
      checked_mul(checked_numel(row_shape), static_cast<std::int64_t>(dtype_size(header_.dtype)));
  std::error_code ec;
  const auto file_size = std::filesystem::file_size(path_, ec);
  const std::int64_t need =
      checked_add(static_cast<std::int64_t>(header_.data_offset), checked_mul(rows(), row_bytes_));
  if (ec || static_cast<std::int64_t>(file_size) < need) {
    throw npy_error(path_.string(),
                    "data is truncated: header says " + shape_to_string(header_.shape) + " " +
                        std::string(dtype_name(header_.dtype)) + ", needing " +
                        std::to_string(need) + " bytes, file has " + std::to_string(file_size));
  }
}

NpyReader::~NpyReader() {
  if (file_) std::fclose(file_);
}

Tensor NpyReader::read_rows(std::int64_t first, std::int64_t count) {
  if (first < 0 || count < 0 || first > rows() - count) {
    throw Error(ErrorCode::kInvalidArgument, "rows out of range").with("file", path_.string());
  }
  Shape shape = header_.shape.empty() ? Shape{1} : header_.shape;
  shape[0] = count;
  Tensor t(header_.dtype, shape);
  const auto offset =
      static_cast<long>(header_.data_offset + static_cast<std::uint64_t>(first * row_bytes_));
  if (std::fseek(file_, offset, SEEK_SET) != 0 ||
      std::fread(t.raw_data(), 1, t.nbytes(), file_) != t.nbytes()) {
    throw npy_error(path_.string(), "read failed (truncated?)");
  }
  return t;
}

NpyWriter::NpyWriter(const std::filesystem::path& path, DType dtype, Shape row_shape)
    : file_(path), dtype_(dtype), row_shape_(std::move(row_shape)) {
  row_bytes_ =
      checked_mul(checked_numel(row_shape_), static_cast<std::int64_t>(dtype_size(dtype_)));
  Shape shape = row_shape_;
  shape.insert(shape.begin(), 0);
  // Reserve room for a 19-digit leading dimension so finish() can rewrite the header in place.
  std::string header = make_npy_header(dtype_, shape, 0);
  std::string roomy = make_npy_header(dtype_, shape, header.size() - 10 + 20);
  header_len_ = roomy.size();
  file_.write(roomy);
}

void NpyWriter::append(const void* data, std::int64_t rows) {
  file_.write(data, static_cast<std::size_t>(checked_mul(rows, row_bytes_)));
  rows_ += rows;
}

void NpyWriter::append(const Tensor& rows_tensor) {
  if (rows_tensor.dtype() != dtype_)
    throw Error(ErrorCode::kInvalidArgument, "npy writer: dtype mismatch");
  std::int64_t rows = rows_tensor.numel() * static_cast<std::int64_t>(dtype_size(dtype_)) /
                      std::max<std::int64_t>(row_bytes_, 1);
  if (checked_mul(rows, row_bytes_) != static_cast<std::int64_t>(rows_tensor.nbytes())) {
    throw Error(ErrorCode::kInvalidArgument,
                "npy writer: tensor " + shape_to_string(rows_tensor.shape()) +
                    " is not a whole number of rows of " + shape_to_string(row_shape_));
  }
  append(rows_tensor.raw_data(), rows);
}

void NpyWriter::finish() {
  Shape shape = row_shape_;
  shape.insert(shape.begin(), rows_);
  std::string header = make_npy_header(dtype_, shape, header_len_ - 10);
  if (header.size() != header_len_)
    throw Error(ErrorCode::kInternal, "npy header grew past its reserved size");
  file_.write_at(0, header.data(), header.size());
  file_.commit();
}

}  // namespace qcal
