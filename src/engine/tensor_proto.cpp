// onnx.TensorProto -> qcal::Tensor: raw and typed payloads, external data (confined to the
// model folder), checked sizes; and the .pb reader the conformance tests use.
#include "engine/tensor_proto.hpp"

#include <cstring>
#include <fstream>
#include <iterator>
#include <limits>

#include "core/checked.hpp"
#include "core/error.hpp"
#include "engine/model.hpp"

namespace qcal::engine {
namespace detail {
namespace {

Error tensor_error(ErrorCode code, const std::string& message, const onnx::TensorProto& proto) {
  Error e(code, message);
  e.with("tensor", proto.name().empty() ? "<unnamed>" : proto.name());
  return e;
}

// Copies `count` typed values from a repeated field, converting each to T.
template <typename T, typename Field>
void copy_typed(const Field& field, std::int64_t count, void* dst) {
  T* out = static_cast<T*>(dst);
  for (std::int64_t i = 0; i < count; ++i) out[i] = static_cast<T>(field.Get(static_cast<int>(i)));
}

// Reads an external-data payload. Paths must be relative, without "..", and resolve (symlinks
// included) to a file inside base_dir: a model must not read files outside its folder.
std::string read_external(const onnx::TensorProto& proto, const std::filesystem::path& base_dir,
                          std::int64_t expected_bytes) {
  std::string location;
  std::int64_t offset = 0;
  std::int64_t length = -1;
  for (const auto& kv : proto.external_data()) {
    try {
      if (kv.key() == "location")
        location = kv.value();
      else if (kv.key() == "offset")
        offset = std::stoll(kv.value());
      else if (kv.key() == "length")
        length = std::stoll(kv.value());
    } catch (const std::exception&) {
      throw tensor_error(ErrorCode::kFormat,
                         "external data " + kv.key() + " '" + kv.value() + "' is not a number",
                         proto);
    }
  }
  if (base_dir.empty()) {
    throw tensor_error(ErrorCode::kFormat, "external data is not allowed here", proto);
  }
  if (location.empty())
    throw tensor_error(ErrorCode::kFormat, "external data without a location", proto);
  const std::filesystem::path rel(location);
  bool escapes = rel.is_absolute() || rel.has_root_name() || rel.has_root_directory();
  for (const auto& part : rel) escapes = escapes || part == "..";
  std::error_code ec;
  const auto base = std::filesystem::weakly_canonical(base_dir, ec);
  const auto full = std::filesystem::weakly_canonical(base_dir / rel, ec);
  if (!escapes && !ec) {
    auto b = base.begin();
    auto f = full.begin();
    for (; b != base.end(); ++b, ++f) {
      if (f == full.end() || *b != *f) {
        escapes = true;
        break;
      }
    }
  }
  if (escapes) {
    throw tensor_error(
        ErrorCode::kFormat,
        "external data path '" + location + "' escapes the model folder " + base_dir.string(),
        proto);
  }
  if (offset < 0 || (length >= 0 && length != expected_bytes)) {
    throw tensor_error(ErrorCode::kFormat,
                       "external data offset/length (" + std::to_string(offset) + ", " +
                           std::to_string(length) + ") do not match the tensor's " +
                           std::to_string(expected_bytes) + " bytes",
                       proto);
  }
  std::ifstream in(full, std::ios::binary);
  if (!in) {
    throw tensor_error(ErrorCode::kIo, "cannot open external data file " + full.string(), proto);
  }
  in.seekg(0, std::ios::end);
  const std::int64_t file_size = static_cast<std::int64_t>(in.tellg());
  if (checked_add(offset, expected_bytes, "external data") > file_size) {
    throw tensor_error(ErrorCode::kFormat,
                       "external data file " + full.string() + " is " + std::to_string(file_size) +
                           " bytes, too short for offset " + std::to_string(offset) + " + " +
                           std::to_string(expected_bytes),
                       proto);
  }
  std::string bytes(static_cast<std::size_t>(expected_bytes), '\0');
  in.seekg(offset);
  in.read(bytes.data(), static_cast<std::streamsize>(expected_bytes));
  if (!in) throw tensor_error(ErrorCode::kIo, "cannot read external data " + full.string(), proto);
  return bytes;
}

}  // namespace

DType dtype_from_onnx(int onnx_type) {
  switch (onnx_type) {
    case onnx::TensorProto::FLOAT:
      return DType::kFloat32;
    case onnx::TensorProto::DOUBLE:
      return DType::kFloat64;
    case onnx::TensorProto::FLOAT16:
      return DType::kFloat16;
    case onnx::TensorProto::INT8:
      return DType::kInt8;
    case onnx::TensorProto::UINT8:
      return DType::kUInt8;
    case onnx::TensorProto::INT16:
      return DType::kInt16;
    case onnx::TensorProto::UINT16:
      return DType::kUInt16;
    case onnx::TensorProto::INT32:
      return DType::kInt32;
    case onnx::TensorProto::UINT32:
      return DType::kUInt32;
    case onnx::TensorProto::INT64:
      return DType::kInt64;
    case onnx::TensorProto::UINT64:
      return DType::kUInt64;
    case onnx::TensorProto::BOOL:
      return DType::kBool;
    default:
      return DType::kUndefined;
  }
}

std::string onnx_dtype_name(int onnx_type) {
  switch (onnx_type) {
    case onnx::TensorProto::UNDEFINED:
      return "undefined";
    case onnx::TensorProto::STRING:
      return "string";
    case onnx::TensorProto::COMPLEX64:
      return "complex64";
    case onnx::TensorProto::COMPLEX128:
      return "complex128";
    case onnx::TensorProto::BFLOAT16:
      return "bfloat16";
    // Newer than the onnx.proto Debian ships: the numbers are fixed by the ONNX spec.
    case 17:
      return "float8e4m3fn";
    case 18:
      return "float8e4m3fnuz";
    case 19:
      return "float8e5m2";
    case 20:
      return "float8e5m2fnuz";
    case 21:
      return "uint4";
    case 22:
      return "int4";
    default: {
      const DType d = dtype_from_onnx(onnx_type);
      return d == DType::kUndefined ? "type " + std::to_string(onnx_type)
                                    : std::string(dtype_name(d));
    }
  }
}

Tensor tensor_from_proto(const onnx::TensorProto& proto, const std::filesystem::path& base_dir) {
  const DType dtype = dtype_from_onnx(proto.data_type());
  if (dtype == DType::kUndefined) {
    // bfloat16 in particular is never read as its uint16 bits: that would be silently wrong.
    throw tensor_error(
        ErrorCode::kUnsupported,
        "tensor data type " + onnx_dtype_name(proto.data_type()) + " (" +
            std::to_string(proto.data_type()) +
            ") is not supported (qcal handles float32/64, float16, integer and bool tensors)",
        proto);
  }
  if (proto.has_segment()) {
    throw tensor_error(ErrorCode::kUnsupported, "segmented tensors are not supported", proto);
  }
  Shape shape(proto.dims().begin(), proto.dims().end());
  std::int64_t numel = 0;
  std::int64_t bytes = 0;
  try {
    numel = checked_numel(shape, "tensor");
    bytes = checked_mul(numel, static_cast<std::int64_t>(dtype_size(dtype)), "tensor bytes");
    check_alloc(static_cast<std::uint64_t>(bytes), "tensor " + shape_to_string(shape));
  } catch (Error& e) {
    e.with("tensor", proto.name());
    throw;
  }
  const auto mismatch = [&](std::int64_t got, const char* field) {
    return tensor_error(ErrorCode::kFormat,
                        std::string(field) + " holds " + std::to_string(got) +
                            " values but the shape " + shape_to_string(shape) + " needs " +
                            std::to_string(numel),
                        proto);
  };
  if (proto.data_location() == onnx::TensorProto::EXTERNAL) {
    const std::string payload = read_external(proto, base_dir, bytes);
    Tensor t(dtype, std::move(shape));
    if (bytes) std::memcpy(t.raw_data(), payload.data(), static_cast<std::size_t>(bytes));
    return t;
  }
  if (proto.has_raw_data()) {
    if (static_cast<std::int64_t>(proto.raw_data().size()) != bytes) {
      throw tensor_error(ErrorCode::kFormat,
                         "raw_data has " + std::to_string(proto.raw_data().size()) +
                             " bytes but the shape " + shape_to_string(shape) + " needs " +
                             std::to_string(bytes),
                         proto);
    }
    Tensor t(dtype, std::move(shape));
    if (bytes) std::memcpy(t.raw_data(), proto.raw_data().data(), static_cast<std::size_t>(bytes));
    return t;
  }
  // Typed fields (the ONNX spec says which repeated field each dtype uses).
  std::int64_t have = 0;
  switch (dtype) {
    case DType::kFloat32:
      have = proto.float_data_size();
      break;
    case DType::kFloat64:
      have = proto.double_data_size();
      break;
    case DType::kInt64:
      have = proto.int64_data_size();
      break;
    case DType::kUInt32:
    case DType::kUInt64:
      have = proto.uint64_data_size();
      break;
    default:
      have = proto.int32_data_size();
      break;
  }
  if (have != numel) throw mismatch(have, "typed data");
  Tensor t(dtype, std::move(shape));
  void* dst = t.raw_data();
  switch (dtype) {
    case DType::kFloat32:
      copy_typed<float>(proto.float_data(), numel, dst);
      break;
    case DType::kFloat64:
      copy_typed<double>(proto.double_data(), numel, dst);
      break;
    case DType::kInt64:
      copy_typed<std::int64_t>(proto.int64_data(), numel, dst);
      break;
    case DType::kUInt32:
      copy_typed<std::uint32_t>(proto.uint64_data(), numel, dst);
      break;
    case DType::kUInt64:
      copy_typed<std::uint64_t>(proto.uint64_data(), numel, dst);
      break;
    case DType::kInt32:
      copy_typed<std::int32_t>(proto.int32_data(), numel, dst);
      break;
    case DType::kInt16:
      copy_typed<std::int16_t>(proto.int32_data(), numel, dst);
      break;
    case DType::kUInt16:
    case DType::kFloat16:  // float16 bits are stored in int32_data
      copy_typed<std::uint16_t>(proto.int32_data(), numel, dst);
      break;
    case DType::kInt8:
      copy_typed<std::int8_t>(proto.int32_data(), numel, dst);
      break;
    case DType::kUInt8:
      copy_typed<std::uint8_t>(proto.int32_data(), numel, dst);
      break;
    case DType::kBool: {
      auto* out = static_cast<std::uint8_t*>(dst);
      for (std::int64_t i = 0; i < numel; ++i) out[i] = proto.int32_data(static_cast<int>(i)) != 0;
      break;
    }
    case DType::kUndefined:
      break;
  }
  return t;
}

}  // namespace detail

namespace {

onnx::TensorProto parse_tensor_pb(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(ErrorCode::kIo, "cannot open tensor file").with("file", path.string());
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  onnx::TensorProto proto;
  if (bytes.size() > static_cast<std::size_t>(std::numeric_limits<int>::max()) ||
      !proto.ParseFromString(bytes)) {
    throw Error(ErrorCode::kFormat, "not a valid onnx.TensorProto").with("file", path.string());
  }
  return proto;
}

}  // namespace

Tensor read_tensor_pb(const std::filesystem::path& path) {
  const onnx::TensorProto proto = parse_tensor_pb(path);
  try {
    return detail::tensor_from_proto(proto, path.parent_path());
  } catch (Error& e) {
    e.with("file", path.string());
    throw;
  }
}

std::string read_tensor_pb_name(const std::filesystem::path& path) {
  return parse_tensor_pb(path).name();
}

}  // namespace qcal::engine
