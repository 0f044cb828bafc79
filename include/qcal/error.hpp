// qcal::Error: the one exception type of qcal and of its public API, with a code and context
// entries (file, image, node, op, tensor) added where they are known.
#pragma once

#include <exception>
#include <string>
#include <utility>
#include <vector>

namespace qcal {

enum class ErrorCode {
  kInvalidArgument,  // a user-supplied value is wrong (flag, recipe step, shape)
  kIo,               // a file could not be opened, read or written
  kFormat,           // a file was read but its content is malformed (npy, ONNX, CSV, JSON)
  kUnsupported,      // valid input that qcal does not handle (op, opset, dtype)
  kLimit,            // a size exceeds qcal's safety limits (allocation, dimensions)
  kNumeric,          // NaN/Inf or another numerical failure in data
  kCancelled,        // the caller's cancellation flag was set (public API)
  kInternal,         // a bug in qcal
};

const char* error_code_name(ErrorCode code);

class Error : public std::exception {
 public:
  Error(ErrorCode code, std::string message);

  // Adds a context entry ("file", path) and returns *this, for `e.with(...); throw;`.
  Error& with(std::string key, std::string value);

  ErrorCode code() const { return code_; }
  const std::string& message() const { return message_; }
  const std::vector<std::pair<std::string, std::string>>& context() const { return context_; }
  // message followed by "key: value" lines, as main prints it.
  std::string describe() const;
  const char* what() const noexcept override { return what_.c_str(); }

 private:
  void refresh_what();

  ErrorCode code_;
  std::string message_;
  std::vector<std::pair<std::string, std::string>> context_;
  std::string what_;
};

}  // namespace qcal
