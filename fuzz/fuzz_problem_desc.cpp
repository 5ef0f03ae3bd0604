// Fuzz target: Problem::create (and dsconv_problem_create) on arbitrary ProblemDesc values: every field,
// enums included, from the fuzzer's bytes (sizes biased towards the edges of int32 and int64). Either an
// invalid-argument status naming a field, or a problem whose every size and byte count fits
// (fuzz_support.hpp); the C API must give the same verdict as the C++ API.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "dsconv/dsconv.h"
#include "dsconv/npy.hpp"
#include "fuzz/fuzz_support.hpp"

namespace {

// An enum field from the fuzzer: mostly its valid values and their neighbours, sometimes any int.
int enum_value(dsconv::fuzz::ByteReader& r) {
  const uint8_t sel = r.u8();
  if (sel < 0xf0) return static_cast<int>(sel % 5) - 1;  // -1 .. 3
  return static_cast<int>(r.u32());
}

// Stores an int into a C enum field without an enum-typed expression (C callers may store any int;
// C++ code must not form an out-of-range value of an unscoped enum).
template <class E>
void store_enum(E* field, int v) {
  static_assert(sizeof(E) == sizeof(int), "C enums are int-sized");
  std::memcpy(field, &v, sizeof v);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace dsconv;
  fuzz::ByteReader r(data, size);
  ProblemDesc d;
  const int op = enum_value(r), padding = enum_value(r), layout = enum_value(r), filter_layout = enum_value(r),
            dtype = enum_value(r), activation = enum_value(r), direction = enum_value(r);
  d.op = static_cast<Op>(op);  // scoped enums with a fixed int type hold any int
  d.padding = static_cast<PaddingMode>(padding);
  d.layout = static_cast<Layout>(layout);
  d.filter_layout = static_cast<FilterLayout>(filter_layout);
  d.dtype = static_cast<DType>(dtype);
  d.activation = static_cast<Activation>(activation);
  d.direction = static_cast<Direction>(direction);
  d.batch = r.size_field();
  d.height = r.size_field();
  d.width = r.size_field();
  d.channels = r.size_field();
  d.kernel_h = r.size_field();
  d.kernel_w = r.size_field();
  d.multiplier = r.size_field();
  d.out_channels = r.size_field();
  d.stride_h = r.size_field();
  d.stride_w = r.size_field();
  d.dilation_h = r.size_field();
  d.dilation_w = r.size_field();
  d.pad_top = r.size_field();
  d.pad_bottom = r.size_field();
  d.pad_left = r.size_field();
  d.pad_right = r.size_field();
  const uint8_t flags = r.u8();
  d.has_bias = (flags & 1) != 0;
  d.has_residual = (flags & 2) != 0;

  Result<Problem> p = Problem::create(d);

  // The same desc through the C API.
  dsconv_problem_desc_t c;
  dsconv_problem_desc_init(&c);
  store_enum(&c.op, op);
  store_enum(&c.padding, padding);
  store_enum(&c.layout, layout);
  store_enum(&c.filter_layout, filter_layout);
  store_enum(&c.dtype, dtype);
  store_enum(&c.activation, activation);
  store_enum(&c.direction, direction);
  c.batch = d.batch, c.height = d.height, c.width = d.width, c.channels = d.channels;
  c.kernel_h = d.kernel_h, c.kernel_w = d.kernel_w, c.multiplier = d.multiplier, c.out_channels = d.out_channels;
  c.stride_h = d.stride_h, c.stride_w = d.stride_w, c.dilation_h = d.dilation_h, c.dilation_w = d.dilation_w;
  c.pad_top = d.pad_top, c.pad_bottom = d.pad_bottom, c.pad_left = d.pad_left, c.pad_right = d.pad_right;
  c.has_bias = (flags & 1) != 0 ? static_cast<int>(flags) : 0;  // any nonzero int is true
  c.has_residual = (flags & 2) != 0 ? 2 : 0;
  dsconv_problem_t handle = nullptr;
  const dsconv_status_t st = dsconv_problem_create(&handle, &c);
  FUZZ_CHECK((st == DSCONV_STATUS_SUCCESS) == p.is_ok(),
             "C and C++ disagree: C says " + std::string(dsconv_status_string(st)) + " (" + dsconv_last_error() +
                 "), C++ says " + (p ? p->descriptor() : p.status().to_string()));
  if (!p) {
    FUZZ_CHECK(st == DSCONV_STATUS_INVALID_ARGUMENT && handle == nullptr, "a rejected desc left a handle");
    FUZZ_CHECK(p.status().code() == StatusCode::kInvalidArgument, "a bad desc gave " + p.status().to_string());
    FUZZ_CHECK(!p.status().message().empty(), "a bad desc gave an empty message");
    return 0;
  }
  int64_t dims[4] = {0, 0, 0, 0};
  FUZZ_CHECK(dsconv_problem_output_shape(handle, dims) == DSCONV_STATUS_SUCCESS, "output shape query");
  const std::vector<int64_t> shape = p->output_shape();
  FUZZ_CHECK(dims[0] == shape[0] && dims[1] == shape[1] && dims[2] == shape[2] && dims[3] == shape[3],
             "C output shape disagrees with " + npy::shape_string(shape));
  FUZZ_CHECK(dsconv_problem_destroy(handle) == DSCONV_STATUS_SUCCESS, "destroy");
  fuzz::check_problem_invariants(*p);
  fuzz::run_small_reference(*p);
  return 0;
}
