// One test per defect the fuzz targets (fuzz/) found, beside the corpus file that found it
// (fuzz/corpus/<target>/regression-*, replayed by the FuzzCorpus.<target> tests). Under the asan preset
// (AddressSanitizer + UndefinedBehaviorSanitizer) each of these failed before its fix.
#include <cstdint>
#include <cstring>
#include <string>

#include <gtest/gtest.h>

#include "dsconv/dsconv.h"
#include "dsconv/dsconv.hpp"

namespace dsconv {
namespace {

// A C caller may store any int in an enum field; C++ code must not form such a value of the unscoped C
// enum type, so the tests store it byte-wise as C would.
template <class E>
void store_int(E* field, int v) {
  static_assert(sizeof(E) == sizeof(int), "C enums are int-sized");
  std::memcpy(field, &v, sizeof v);
}

// regression-c-enum-out-of-range (problem_desc): the C API read enum fields through their C enum type,
// undefined in C++ for values outside the enumerators' range (UndefinedBehaviorSanitizer: "load of value
// 4294967295, which is not a valid value for type 'dsconv_op_t'"). Now read as int and rejected by name.
TEST(FuzzRegression, OutOfRangeCEnumsAreReadAsIntAndRejectedByName) {
  const std::pair<int, const char*> cases[] = {{-1, "op has invalid value -1"}, {7, "op has invalid value 7"}};
  for (const auto& [value, message] : cases) {
    dsconv_problem_desc_t d;
    dsconv_problem_desc_init(&d);
    store_int(&d.op, value);
    dsconv_problem_t p = nullptr;
    EXPECT_EQ(dsconv_problem_create(&p, &d), DSCONV_STATUS_INVALID_ARGUMENT);
    EXPECT_NE(std::string(dsconv_last_error()).find(message), std::string::npos) << dsconv_last_error();
    EXPECT_EQ(p, nullptr);
  }
  dsconv_problem_desc_t d;
  dsconv_problem_desc_init(&d);
  for (int field = 0; field < 7; ++field) {
    dsconv_problem_desc_init(&d);
    const int bad = 1 << 20;
    switch (field) {
      case 0:
        store_int(&d.padding, bad);
        break;
      case 1:
        store_int(&d.layout, bad);
        break;
      case 2:
        store_int(&d.filter_layout, bad);
        break;
      case 3:
        store_int(&d.dtype, bad);
        break;
      case 4:
        store_int(&d.activation, bad);
        break;
      case 5:
        store_int(&d.direction, bad);
        break;
      default:
        store_int(&d.op, bad);
        break;
    }
    dsconv_problem_t p = nullptr;
    EXPECT_EQ(dsconv_problem_create(&p, &d), DSCONV_STATUS_INVALID_ARGUMENT) << field;
    EXPECT_NE(std::string(dsconv_last_error()).find("invalid value 1048576"), std::string::npos) << dsconv_last_error();
  }
  // An execute slot, likewise. (dsconv_status_string reads its argument as int too; only C code can pass it
  // an out-of-range value without undefined behaviour of its own, so that is not tested from here.)
  dsconv_problem_t problem = nullptr;
  ASSERT_EQ(dsconv_problem_parse(&problem, "depthwise_n1h4w4c2_k3x3"), DSCONV_STATUS_SUCCESS);
  dsconv_plan_t plan = nullptr;
  ASSERT_EQ(dsconv_plan_create(&plan, problem, "cpu-ref"), DSCONV_STATUS_SUCCESS);
  float x[32] = {};
  dsconv_exec_arg_t arg;
  store_int(&arg.arg, -3);
  arg.data = x;
  EXPECT_EQ(dsconv_plan_execute(plan, 1, &arg, nullptr, 0, nullptr), DSCONV_STATUS_INVALID_ARGUMENT);
  EXPECT_NE(std::string(dsconv_last_error()).find("args[0].arg has invalid value -3"), std::string::npos)
      << dsconv_last_error();
  EXPECT_EQ(dsconv_plan_destroy(plan), DSCONV_STATUS_SUCCESS);
  EXPECT_EQ(dsconv_problem_destroy(problem), DSCONV_STATUS_SUCCESS);
}

// regression-19-digit-descriptor (problem_desc): Problem::create accepted a stride of 2305843009213693952
// (19 digits) but the descriptor parser read at most 18, so the problem's own descriptor did not parse.
TEST(FuzzRegression, NineteenDigitValuesRoundTripThroughTheDescriptor) {
  ProblemDesc d;
  d.op = Op::kSeparable;
  d.batch = 4, d.height = 1, d.width = 5, d.channels = 5;
  d.kernel_h = 2, d.kernel_w = 1;
  d.out_channels = 2;
  d.stride_h = 3, d.stride_w = 2305843009213693952;
  d.padding = PaddingMode::kSame;
  Result<Problem> p = Problem::create(d);
  ASSERT_TRUE(p.is_ok()) << p.status().to_string();
  Result<Problem> again = Problem::parse(p->descriptor());
  ASSERT_TRUE(again.is_ok()) << p->descriptor() << ": " << again.status().to_string();
  EXPECT_EQ(*again, *p);
  // INT64_MAX reads back; one more is refused by name, not wrapped.
  EXPECT_TRUE(Problem::parse("depthwise_n1h1w1c1_k1x1_s9223372036854775807").is_ok());
  Result<Problem> over = Problem::parse("depthwise_n1h1w1c1_k1x1_s9223372036854775808");
  ASSERT_FALSE(over.is_ok());
  EXPECT_NE(over.status().message().find("is not a valid stride"), std::string::npos) << over.status().message();
}

// regression-cudnn-padded-elements-overflow (descriptor) and regression-cudnn-conv2d-stage-overflow
// (problem_desc): cuDNN's static_rejection multiplied N*C*padded H*padded W and, for conv2d, N*C*OH*OW
// in int64, which overflows for problems whose every tensor fits (explicit padding far beyond the input
// with a huge stride; many input channels with one output channel). Checked in tests/cuda/test_cudnn.cpp
// (CudnnGeometry.CountsBeyondInt64AreRejectedWithoutOverflow) where cuDNN is built, and by the corpus
// replays (which compile the mapping, cuda/cudnn/geometry.cpp, into every build's fuzz targets).

}  // namespace
}  // namespace dsconv
