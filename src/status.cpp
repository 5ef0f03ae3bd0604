#include <cstring>

#include "dsconv/config.h"
#include "dsconv/dsconv.hpp"

namespace dsconv {

const char* to_string(StatusCode code) { return dsconv_status_string(static_cast<dsconv_status_t>(code)); }

std::string Status::to_string() const {
  std::string s = dsconv::to_string(code_);
  if (!message_.empty()) s += ": " + message_;
  return s;
}

const char* version() { return DSCONV_VERSION_STRING; }

}  // namespace dsconv

extern "C" const char* dsconv_status_string(dsconv_status_t status) {
  // Read as the int a C caller passed: any int may arrive, and an unknown one must not be read through the
  // enum type (undefined in C++ outside the enumerators' range).
  int code;
  static_assert(sizeof code == sizeof status, "the C API's enums are int-sized");
  std::memcpy(&code, &status, sizeof code);
  switch (code) {
    case DSCONV_STATUS_SUCCESS:
      return "success";
    case DSCONV_STATUS_INVALID_ARGUMENT:
      return "invalid argument";
    case DSCONV_STATUS_NOT_SUPPORTED:
      return "not supported";
    case DSCONV_STATUS_BACKEND_UNAVAILABLE:
      return "backend unavailable";
    case DSCONV_STATUS_NO_DEVICE:
      return "no CUDA device";
    case DSCONV_STATUS_INSUFFICIENT_WORKSPACE:
      return "insufficient workspace";
    case DSCONV_STATUS_DEVICE_ERROR:
      return "device error";
    case DSCONV_STATUS_IO_ERROR:
      return "I/O error";
    case DSCONV_STATUS_FORMAT_ERROR:
      return "format error";
    case DSCONV_STATUS_INTERNAL_ERROR:
      return "internal error";
  }
  return "unknown status";
}
