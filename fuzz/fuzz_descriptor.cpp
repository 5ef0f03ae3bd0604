// Fuzz target: the one-line problem descriptor parser (Problem::parse, dsconv_problem_parse). Any text
// is either an invalid-argument status with a message, or a problem that satisfies every invariant of
// fuzz_support.hpp (sizes and byte counts that cannot overflow, a descriptor that parses back to it).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "dsconv/dsconv.h"
#include "fuzz/fuzz_support.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace dsconv;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  Result<Problem> p = Problem::parse(text);

  // The C API reads a NUL-terminated string: it sees the text up to the first NUL and must agree with
  // the C++ parser on that prefix.
  const std::string c_text(text.substr(0, text.find('\0')));
  dsconv_problem_t handle = nullptr;
  const dsconv_status_t st = dsconv_problem_parse(&handle, c_text.c_str());
  const Result<Problem> prefix = c_text.size() == text.size() ? p : Problem::parse(c_text);
  FUZZ_CHECK((st == DSCONV_STATUS_SUCCESS) == prefix.is_ok(), "C and C++ parsers disagree on '" + c_text + "'");
  FUZZ_CHECK((handle != nullptr) == prefix.is_ok(), "dsconv_problem_parse's handle disagrees with its status");
  if (handle != nullptr) {
    size_t need = 0;
    FUZZ_CHECK(dsconv_problem_descriptor(handle, nullptr, 0, &need) == DSCONV_STATUS_SUCCESS, "descriptor size query");
    FUZZ_CHECK(need == prefix->descriptor().size() + 1, "descriptor size disagrees with the C++ descriptor");
  }
  FUZZ_CHECK(dsconv_problem_destroy(handle) == DSCONV_STATUS_SUCCESS, "destroy");

  if (!p) {
    FUZZ_CHECK(p.status().code() == StatusCode::kInvalidArgument, "a bad descriptor gave " + p.status().to_string());
    FUZZ_CHECK(!p.status().message().empty(), "a bad descriptor gave an empty message");
    return 0;
  }
  fuzz::check_problem_invariants(*p);
  fuzz::run_small_reference(*p);
  return 0;
}
