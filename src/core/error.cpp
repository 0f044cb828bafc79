// qcal::Error implementation.
#include "core/error.hpp"

namespace qcal {

const char* error_code_name(ErrorCode code) {
  switch (code) {
    case ErrorCode::kInvalidArgument:
      return "invalid argument";
    case ErrorCode::kIo:
      return "i/o";
    case ErrorCode::kFormat:
      return "format";
    case ErrorCode::kUnsupported:
      return "unsupported";
    case ErrorCode::kLimit:
      return "limit";
    case ErrorCode::kNumeric:
      return "numeric";
    case ErrorCode::kCancelled:
      return "cancelled";
    case ErrorCode::kInternal:
      return "internal";
  }
  return "unknown";
}

Error::Error(ErrorCode code, std::string message) : code_(code), message_(std::move(message)) {
  refresh_what();
}

Error& Error::with(std::string key, std::string value) {
  context_.emplace_back(std::move(key), std::move(value));
  refresh_what();
  return *this;
}

std::string Error::describe() const {
  std::string out = message_;
  for (const auto& [key, value] : context_) {
    out += "\n  " + key + ": " + value;
  }
  return out;
}

void Error::refresh_what() {
  what_ = message_;
  for (const auto& [key, value] : context_) {
    what_ += " [" + key + ": " + value + "]";
  }
}

void throw_invalid(std::string message) {
  throw Error(ErrorCode::kInvalidArgument, std::move(message));
}
void throw_format(std::string message) { throw Error(ErrorCode::kFormat, std::move(message)); }
void throw_io(std::string message) { throw Error(ErrorCode::kIo, std::move(message)); }

}  // namespace qcal
