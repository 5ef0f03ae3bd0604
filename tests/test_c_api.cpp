// The C API: the worked example end to end, every status it can return, dsconv_last_error's text
// and lifetime, handle checks, and the status strings.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "dsconv/config.h"
#include "dsconv/dsconv.h"
#include "dsconv/dsconv.hpp"

namespace {

// The worked example: x [1,4,4,2] NHWC; every row of channel 0 reads 1,2,3,4 (x[0,i,j,0] = j+1),
// channel 1 is all ones. Filter [3,3,2,2]: [:,:,0,0]=0, [:,:,1,0]=1, [:,:,0,1]=2, [:,:,1,1]=3.
std::vector<float> example_input(bool values_follow_rows = false) {
  std::vector<float> x(32);
  for (int i = 0; i < 4; ++i)
    for (int j = 0; j < 4; ++j) {
      x[static_cast<size_t>((i * 4 + j) * 2 + 0)] = static_cast<float>((values_follow_rows ? i : j) + 1);
      x[static_cast<size_t>((i * 4 + j) * 2 + 1)] = 1.0f;
    }
  return x;
}
std::vector<float> example_filter() {
  std::vector<float> w(36);
  const float v[2][2] = {{0, 2}, {1, 3}};  // v[c][k] = filter[:,:,c,k]
  for (int t = 0; t < 9; ++t)
    for (int c = 0; c < 2; ++c)
      for (int k = 0; k < 2; ++k) w[static_cast<size_t>((t * 2 + c) * 2 + k)] = v[c][k];
  return w;
}
// depthwise: [[[[0,36,9,27],[0,54,9,27]],[[0,36,9,27],[0,54,9,27]]]]
const std::vector<float> kDepthwiseExpected = {0, 36, 9, 27, 0, 54, 9, 27, 0, 36, 9, 27, 0, 54, 9, 27};
// conv2d: [[[[9,63],[9,81]],[[9,63],[9,81]]]]
const std::vector<float> kConv2dExpected = {9, 63, 9, 81, 9, 63, 9, 81};

dsconv_problem_desc_t example_desc(dsconv_op_t op) {
  dsconv_problem_desc_t d;
  dsconv_problem_desc_init(&d);
  d.op = op;
  d.height = 4;
  d.width = 4;
  d.channels = 2;
  d.kernel_h = 3;
  d.kernel_w = 3;
  if (op == DSCONV_OP_DEPTHWISE) {
    d.multiplier = 2;
  } else {
    d.out_channels = 2;
  }
  return d;
}

std::string last_error() { return dsconv_last_error(); }

// Problem + cpu-ref plan + run of the worked example; returns the output.
std::vector<float> run_example(dsconv_op_t op, const std::vector<float>& x) {
  const dsconv_problem_desc_t d = example_desc(op);
  dsconv_problem_t problem = nullptr;
  EXPECT_EQ(dsconv_problem_create(&problem, &d), DSCONV_STATUS_SUCCESS) << last_error();
  int64_t dims[4] = {0, 0, 0, 0};
  EXPECT_EQ(dsconv_problem_output_shape(problem, dims), DSCONV_STATUS_SUCCESS) << last_error();
  const int64_t out_c = op == DSCONV_OP_DEPTHWISE ? 4 : 2;
  EXPECT_EQ(std::vector<int64_t>(dims, dims + 4), (std::vector<int64_t>{1, 2, 2, out_c}));

  dsconv_plan_t plan = nullptr;
  EXPECT_EQ(dsconv_plan_create(&plan, problem, "cpu-ref"), DSCONV_STATUS_SUCCESS) << last_error();
  const char* backend = nullptr;
  const char* impl = nullptr;
  EXPECT_EQ(dsconv_plan_backend(plan, &backend), DSCONV_STATUS_SUCCESS);
  EXPECT_EQ(dsconv_plan_implementation(plan, &impl), DSCONV_STATUS_SUCCESS);
  EXPECT_STREQ(backend, "cpu-ref");
  EXPECT_TRUE(impl != nullptr && std::strlen(impl) > 0);
  int on_device = -1;
  EXPECT_EQ(dsconv_plan_uses_device_memory(plan, &on_device), DSCONV_STATUS_SUCCESS);
  EXPECT_EQ(on_device, 0);
  size_t ws = 1;
  EXPECT_EQ(dsconv_plan_workspace_size(plan, &ws), DSCONV_STATUS_SUCCESS);
  std::vector<unsigned char> workspace(ws + 1);

  const std::vector<float> w = example_filter();
  std::vector<float> y(static_cast<size_t>(4 * out_c), std::numeric_limits<float>::quiet_NaN());
  EXPECT_EQ(dsconv_plan_run(plan, x.data(), w.data(), nullptr, nullptr, y.data(), workspace.data(), ws, nullptr),
            DSCONV_STATUS_SUCCESS)
      << last_error();
  EXPECT_EQ(dsconv_plan_destroy(plan), DSCONV_STATUS_SUCCESS);
  EXPECT_EQ(dsconv_problem_destroy(problem), DSCONV_STATUS_SUCCESS);
  return y;
}

TEST(CApi, WorkedExampleDepthwise) { EXPECT_EQ(run_example(DSCONV_OP_DEPTHWISE, example_input()), kDepthwiseExpected); }

TEST(CApi, WorkedExampleConv2d) { EXPECT_EQ(run_example(DSCONV_OP_CONV2D, example_input()), kConv2dExpected); }

TEST(CApi, WorkedExampleTransposedInputGivesTransposedOutput) {
  // With x[0,i,j,0] = i+1 the column sums become row sums: output [oy][ox] swaps with [ox][oy].
  EXPECT_EQ(run_example(DSCONV_OP_DEPTHWISE, example_input(true)),
            (std::vector<float>{0, 36, 9, 27, 0, 36, 9, 27, 0, 54, 9, 27, 0, 54, 9, 27}));
  EXPECT_EQ(run_example(DSCONV_OP_CONV2D, example_input(true)), (std::vector<float>{9, 63, 9, 63, 9, 81, 9, 81}));
}

TEST(CApi, DescInitSetsTheDocumentedDefaults) {
  dsconv_problem_desc_t d;
  std::memset(&d, 0x5a, sizeof d);
  dsconv_problem_desc_init(&d);
  EXPECT_EQ(d.op, DSCONV_OP_DEPTHWISE);
  for (int64_t v : {d.batch, d.height, d.width, d.channels, d.kernel_h, d.kernel_w, d.multiplier, d.stride_h,
                    d.stride_w, d.dilation_h, d.dilation_w})
    EXPECT_EQ(v, 1);
  EXPECT_EQ(d.out_channels, 0);
  EXPECT_EQ(d.padding, DSCONV_PADDING_VALID);
  EXPECT_EQ(d.pad_top + d.pad_bottom + d.pad_left + d.pad_right, 0);
  EXPECT_EQ(d.layout, DSCONV_LAYOUT_NHWC);
  EXPECT_EQ(d.filter_layout, DSCONV_FILTER_TF);
  EXPECT_EQ(d.dtype, DSCONV_F32);
  EXPECT_EQ(d.has_bias, 0);
  EXPECT_EQ(d.activation, DSCONV_ACTIVATION_NONE);
  EXPECT_EQ(d.struct_size, sizeof(dsconv_problem_desc_t));
  dsconv_plan_options_t o;
  std::memset(&o, 0x5a, sizeof o);
  dsconv_plan_options_init(&o);
  EXPECT_EQ(o.struct_size, sizeof(dsconv_plan_options_t));
  EXPECT_EQ(o.skip_count + o.only_count, 0u);
  EXPECT_EQ(o.autotune + o.deterministic + o.allow_tf32, 0);
}

// The structs carry the caller's sizeof: a struct not filled by its init (struct_size 0) or of another
// layout is refused by name, and an init given a size it does not know writes nothing past struct_size.
TEST(CApi, StructSizesAreChecked) {
  dsconv_problem_desc_t d = example_desc(DSCONV_OP_DEPTHWISE);
  dsconv_problem_t problem = nullptr;
  for (size_t size : {size_t{0}, sizeof d - 8, sizeof d + 8}) {
    d.struct_size = size;
    EXPECT_EQ(dsconv_problem_create(&problem, &d), DSCONV_STATUS_INVALID_ARGUMENT);
    EXPECT_EQ(problem, nullptr);
    EXPECT_NE(last_error().find("desc->struct_size is " + std::to_string(size) +
                                "; this library's "
                                "dsconv_problem_desc_t is " +
                                std::to_string(sizeof d) + " bytes"),
              std::string::npos)
        << last_error();
  }
  d.struct_size = sizeof d;
  ASSERT_EQ(dsconv_problem_create(&problem, &d), DSCONV_STATUS_SUCCESS) << last_error();
  dsconv_plan_options_t o;
  dsconv_plan_options_init(&o);
  o.struct_size = sizeof o + 16;
  dsconv_plan_t plan = nullptr;
  EXPECT_EQ(dsconv_plan_create_with_options(&plan, problem, "cpu-ref", &o), DSCONV_STATUS_INVALID_ARGUMENT);
  EXPECT_EQ(plan, nullptr);
  EXPECT_NE(last_error().find("options->struct_size is " + std::to_string(sizeof o + 16)), std::string::npos)
      << last_error();
  o.struct_size = sizeof o;
  ASSERT_EQ(dsconv_plan_create_with_options(&plan, problem, "cpu-ref", &o), DSCONV_STATUS_SUCCESS) << last_error();
  EXPECT_EQ(dsconv_plan_destroy(plan), DSCONV_STATUS_SUCCESS);
  EXPECT_EQ(dsconv_problem_destroy(problem), DSCONV_STATUS_SUCCESS);

  // A newer header's larger struct: only struct_size is written, the rest stays as it was.
  std::vector<unsigned char> bytes(sizeof d + 32, 0xab);
  auto* bigger = reinterpret_cast<dsconv_problem_desc_t*>(bytes.data());
  dsconv_problem_desc_init_sized(bigger, sizeof d + 32);
  EXPECT_NE(last_error().find("desc_size is " + std::to_string(sizeof d + 32)), std::string::npos) << last_error();
  size_t recorded = 0;
  std::memcpy(&recorded, bytes.data(), sizeof recorded);
  EXPECT_EQ(recorded, sizeof d + 32);
  for (size_t i = sizeof(size_t); i < bytes.size(); ++i) ASSERT_EQ(bytes[i], 0xab) << "byte " << i << " written";
  // Smaller than struct_size itself: nothing at all.
  std::fill(bytes.begin(), bytes.end(), 0xab);
  dsconv_plan_options_init_sized(reinterpret_cast<dsconv_plan_options_t*>(bytes.data()), 4);
  for (size_t i = 0; i < bytes.size(); ++i) ASSERT_EQ(bytes[i], 0xab) << "byte " << i << " written";
  EXPECT_NE(last_error().find("options_size is 4"), std::string::npos) << last_error();
}

TEST(CApi, EveryDescFieldReachesTheProblem) {
  dsconv_problem_desc_t d;
  dsconv_problem_desc_init(&d);
  d.op = DSCONV_OP_SEPARABLE;
  d.batch = 2;
  d.height = 13;
  d.width = 11;
  d.channels = 17;
  d.kernel_h = 5;
  d.kernel_w = 3;
  d.multiplier = 2;
  d.out_channels = 8;
  d.stride_h = 2;
  d.stride_w = 1;
  d.dilation_h = 1;
  d.dilation_w = 3;
  d.padding = DSCONV_PADDING_EXPLICIT;
  d.pad_top = 1;
  d.pad_bottom = 2;
  d.pad_left = 0;
  d.pad_right = 3;
  d.layout = DSCONV_LAYOUT_NCHW;
  d.filter_layout = DSCONV_FILTER_OIHW;
  d.dtype = DSCONV_BF16;
  d.has_bias = 1;
  d.activation = DSCONV_ACTIVATION_RELU6;
  dsconv_problem_t p = nullptr;
  ASSERT_EQ(dsconv_problem_create(&p, &d), DSCONV_STATUS_SUCCESS) << last_error();
  size_t need = 0;
  ASSERT_EQ(dsconv_problem_descriptor(p, nullptr, 0, &need), DSCONV_STATUS_SUCCESS) << last_error();
  std::string buf(need, 'x');
  ASSERT_EQ(dsconv_problem_descriptor(p, buf.data(), buf.size(), &need), DSCONV_STATUS_SUCCESS) << last_error();
  EXPECT_EQ(buf.back(), '\0');
  buf.pop_back();
  EXPECT_EQ(buf, "separable_n2h13w11c17_k5x3_m2_o8_s2x1_d1x3_pt1b2l0r3_nchw_oihw_bf16_bias_relu6");
  int64_t dims[4];
  ASSERT_EQ(dsconv_problem_output_shape(p, dims), DSCONV_STATUS_SUCCESS);
  // NCHW: N, O, OH = (13+3-5)/2+1 = 6, OW = (11+3-7)/1+1 = 8
  EXPECT_EQ(std::vector<int64_t>(dims, dims + 4), (std::vector<int64_t>{2, 8, 6, 8}));

  // The descriptor parses back into the same problem.
  dsconv_problem_t q = nullptr;
  ASSERT_EQ(dsconv_problem_parse(&q, buf.c_str()), DSCONV_STATUS_SUCCESS) << last_error();
  std::string buf2(need, 'y');
  ASSERT_EQ(dsconv_problem_descriptor(q, buf2.data(), buf2.size(), nullptr), DSCONV_STATUS_SUCCESS);
  EXPECT_STREQ(buf2.c_str(), buf.c_str());
  EXPECT_EQ(dsconv_problem_destroy(q), DSCONV_STATUS_SUCCESS);
  EXPECT_EQ(dsconv_problem_destroy(p), DSCONV_STATUS_SUCCESS);
}

TEST(CApi, DescriptorBufferTooSmallWritesNothing) {
  const dsconv_problem_desc_t d = example_desc(DSCONV_OP_DEPTHWISE);
  dsconv_problem_t p = nullptr;
  ASSERT_EQ(dsconv_problem_create(&p, &d), DSCONV_STATUS_SUCCESS);
  size_t need = 0;
  ASSERT_EQ(dsconv_problem_descriptor(p, nullptr, 0, &need), DSCONV_STATUS_SUCCESS);
  ASSERT_GT(need, 10u);
  std::string buf(need - 1, '#');
  size_t need2 = 0;
  EXPECT_EQ(dsconv_problem_descriptor(p, buf.data(), buf.size(), &need2), DSCONV_STATUS_INVALID_ARGUMENT);
  EXPECT_EQ(need2, need);
  EXPECT_EQ(buf, std::string(need - 1, '#'));
  EXPECT_NE(last_error().find("buf_size is " + std::to_string(need - 1)), std::string::npos) << last_error();

  EXPECT_EQ(dsconv_problem_descriptor(p, nullptr, 8, &need2), DSCONV_STATUS_INVALID_ARGUMENT);
  EXPECT_NE(last_error().find("buf is null"), std::string::npos) << last_error();
  EXPECT_EQ(dsconv_problem_descriptor(p, nullptr, 0, nullptr), DSCONV_STATUS_INVALID_ARGUMENT);
  EXPECT_NE(last_error().find("needed"), std::string::npos) << last_error();
  dsconv_problem_destroy(p);
}

// Expects `status` to be `want` and dsconv_last_error() to start with `func` and contain `needle`.
#define EXPECT_C_ERROR(call, want, func, needle)                                                \
  do {                                                                                          \
    const dsconv_status_t st_ = (call);                                                         \
    EXPECT_EQ(st_, want) << #call << ": " << dsconv_status_string(st_) << ": " << last_error(); \
    EXPECT_EQ(last_error().rfind(std::string(func) + ": ", 0), 0u) << last_error();             \
    EXPECT_NE(last_error().find(needle), std::string::npos)                                     \
        << "last error: " << last_error() << "\nexpected to contain: " << needle;               \
  } while (0)

TEST(CApi, NullArgumentsAreNamed) {
  const dsconv_problem_desc_t d = example_desc(DSCONV_OP_DEPTHWISE);
  dsconv_problem_t p = nullptr;
  EXPECT_C_ERROR(dsconv_problem_create(nullptr, &d), DSCONV_STATUS_INVALID_ARGUMENT, "dsconv_problem_create",
                 "problem is null");
  p = reinterpret_cast<dsconv_problem_t>(0x1);  // must be reset on failure
  EXPECT_C_ERROR(dsconv_problem_create(&p, nullptr), DSCONV_STATUS_INVALID_ARGUMENT, "dsconv_problem_create",
                 "desc is null");
  EXPECT_EQ(p, nullptr);
  EXPECT_C_ERROR(dsconv_problem_parse(nullptr, "depthwise_n1h4w4c2"), DSCONV_STATUS_INVALID_ARGUMENT,
                 "dsconv_problem_parse", "problem is null");
  EXPECT_C_ERROR(dsconv_problem_parse(&p, nullptr), DSCONV_STATUS_INVALID_ARGUMENT, "dsconv_problem_parse",
                 "descriptor is null");
  int64_t dims[4];
  EXPECT_C_ERROR(dsconv_problem_output_shape(nullptr, dims), DSCONV_STATUS_INVALID_ARGUMENT,
                 "dsconv_problem_output_shape", "problem is null");
  size_t need;
  EXPECT_C_ERROR(dsconv_problem_descriptor(nullptr, nullptr, 0, &need), DSCONV_STATUS_INVALID_ARGUMENT,
                 "dsconv_problem_descriptor", "problem is null");

  ASSERT_EQ(dsconv_problem_create(&p, &d), DSCONV_STATUS_SUCCESS);
  EXPECT_C_ERROR(dsconv_problem_output_shape(p, nullptr), DSCONV_STATUS_INVALID_ARGUMENT, "dsconv_problem_output_shape",
                 "dims is null");
  dsconv_plan_t plan = nullptr;
  EXPECT_C_ERROR(dsconv_plan_create(nullptr, p, "cpu-ref"), DSCONV_STATUS_INVALID_ARGUMENT, "dsconv_plan_create",
                 "plan is null");
  EXPECT_C_ERROR(dsconv_plan_create(&plan, nullptr, "cpu-ref"), DSCONV_STATUS_INVALID_ARGUMENT, "dsconv_plan_create",
                 "problem is null");
  ASSERT_EQ(dsconv_plan_create(&plan, p, "cpu-ref"), DSCONV_STATUS_SUCCESS) << last_error();

  size_t bytes;
  const char* name;
  int on_device;
  EXPECT_C_ERROR(dsconv_plan_workspace_size(nullptr, &bytes), DSCONV_STATUS_INVALID_ARGUMENT,
                 "dsconv_plan_workspace_size", "plan is null");
  EXPECT_C_ERROR(dsconv_plan_workspace_size(plan, nullptr), DSCONV_STATUS_INVALID_ARGUMENT,
                 "dsconv_plan_workspace_size", "bytes is null");
  EXPECT_C_ERROR(dsconv_plan_backend(nullptr, &name), DSCONV_STATUS_INVALID_ARGUMENT, "dsconv_plan_backend",
                 "plan is null");
  EXPECT_C_ERROR(dsconv_plan_backend(plan, nullptr), DSCONV_STATUS_INVALID_ARGUMENT, "dsconv_plan_backend",
                 "name is null");
  EXPECT_C_ERROR(dsconv_plan_implementation(nullptr, &name), DSCONV_STATUS_INVALID_ARGUMENT,
                 "dsconv_plan_implementation", "plan is null");
  EXPECT_C_ERROR(dsconv_plan_implementation(plan, nullptr), DSCONV_STATUS_INVALID_ARGUMENT,
                 "dsconv_plan_implementation", "name is null");
  EXPECT_C_ERROR(dsconv_plan_uses_device_memory(nullptr, &on_device), DSCONV_STATUS_INVALID_ARGUMENT,
                 "dsconv_plan_uses_device_memory", "plan is null");
  EXPECT_C_ERROR(dsconv_plan_uses_device_memory(plan, nullptr), DSCONV_STATUS_INVALID_ARGUMENT,
                 "dsconv_plan_uses_device_memory", "on_device is null");

  const std::vector<float> x = example_input(), w = example_filter();
  std::vector<float> y(16, std::numeric_limits<float>::quiet_NaN());
  EXPECT_C_ERROR(dsconv_plan_run(nullptr, x.data(), w.data(), nullptr, nullptr, y.data(), nullptr, 0, nullptr),
                 DSCONV_STATUS_INVALID_ARGUMENT, "dsconv_plan_run", "plan is null");
  EXPECT_C_ERROR(dsconv_plan_run(plan, nullptr, w.data(), nullptr, nullptr, y.data(), nullptr, 0, nullptr),
                 DSCONV_STATUS_INVALID_ARGUMENT, "dsconv_plan_run", "input is null");
  EXPECT_C_ERROR(dsconv_plan_run(plan, x.data(), nullptr, nullptr, nullptr, y.data(), nullptr, 0, nullptr),
                 DSCONV_STATUS_INVALID_ARGUMENT, "dsconv_plan_run", "filter is null");
  EXPECT_C_ERROR(dsconv_plan_run(plan, x.data(), w.data(), nullptr, nullptr, nullptr, nullptr, 0, nullptr),
                 DSCONV_STATUS_INVALID_ARGUMENT, "dsconv_plan_run", "output is null");
  // A depthwise problem without bias: pointwise and bias must be null.
  EXPECT_C_ERROR(dsconv_plan_run(plan, x.data(), w.data(), w.data(), nullptr, y.data(), nullptr, 0, nullptr),
                 DSCONV_STATUS_INVALID_ARGUMENT, "dsconv_plan_run", "pointwise must be null");
  EXPECT_C_ERROR(dsconv_plan_run(plan, x.data(), w.data(), nullptr, w.data(), y.data(), nullptr, 0, nullptr),
                 DSCONV_STATUS_INVALID_ARGUMENT, "dsconv_plan_run", "bias must be null");
  // Output aliasing the input is refused before anything is written.
  std::vector<float> xy = x;
  EXPECT_C_ERROR(dsconv_plan_run(plan, xy.data(), w.data(), nullptr, nullptr, xy.data(), nullptr, 0, nullptr),
                 DSCONV_STATUS_INVALID_ARGUMENT, "dsconv_plan_run", "overlaps input");
  EXPECT_EQ(xy, x);
  for (float v : y) EXPECT_TRUE(std::isnan(v)) << "a failed run wrote to the output";

  dsconv_plan_destroy(plan);
  dsconv_problem_destroy(p);
}

TEST(CApi, BiasRequiredWhenTheProblemHasOne) {
  dsconv_problem_desc_t d = example_desc(DSCONV_OP_CONV2D);
  d.has_bias = 1;
  dsconv_problem_t p = nullptr;
  ASSERT_EQ(dsconv_problem_create(&p, &d), DSCONV_STATUS_SUCCESS);
  dsconv_plan_t plan = nullptr;
  ASSERT_EQ(dsconv_plan_create(&plan, p, "cpu-ref"), DSCONV_STATUS_SUCCESS);
  const std::vector<float> x = example_input(), w = example_filter(), bias = {-10, 100};
  std::vector<float> y(8, std::numeric_limits<float>::quiet_NaN());
  EXPECT_C_ERROR(dsconv_plan_run(plan, x.data(), w.data(), nullptr, nullptr, y.data(), nullptr, 0, nullptr),
                 DSCONV_STATUS_INVALID_ARGUMENT, "dsconv_plan_run", "bias is null");
  ASSERT_EQ(dsconv_plan_run(plan, x.data(), w.data(), nullptr, bias.data(), y.data(), nullptr, 0, nullptr),
            DSCONV_STATUS_SUCCESS)
      << last_error();
  EXPECT_EQ(y, (std::vector<float>{-1, 163, -1, 181, -1, 163, -1, 181}));
  dsconv_plan_destroy(plan);
  dsconv_problem_destroy(p);
}

TEST(CApi, InvalidProblemsNameTheFieldAndValue) {
  struct Case {
    void (*edit)(dsconv_problem_desc_t*);
    const char* needle;
  };
  const Case cases[] = {
      {[](dsconv_problem_desc_t* d) { d->stride_h = 0; }, "stride_h must be >= 1, got 0"},
      {[](dsconv_problem_desc_t* d) { d->dilation_w = -2; }, "dilation_w must be >= 1, got -2"},
      {[](dsconv_problem_desc_t* d) { d->op = static_cast<dsconv_op_t>(7); }, "op has invalid value 7"},
      {[](dsconv_problem_desc_t* d) { d->dtype = static_cast<dsconv_dtype_t>(-1); }, "dtype has invalid value -1"},
      {[](dsconv_problem_desc_t* d) { d->layout = static_cast<dsconv_layout_t>(2); }, "layout has invalid value 2"},
      {[](dsconv_problem_desc_t* d) { d->kernel_h = 5; }, "exceeds input height 4"},
      {[](dsconv_problem_desc_t* d) { d->out_channels = 3; }, "out_channels must be channels*multiplier = 4"},
      {[](dsconv_problem_desc_t* d) {
         d->padding = DSCONV_PADDING_EXPLICIT;
         d->pad_left = -1;
       },
       "pad_left must be >= 0, got -1"},
  };
  for (const Case& c : cases) {
    dsconv_problem_desc_t d = example_desc(DSCONV_OP_DEPTHWISE);
    c.edit(&d);
    dsconv_problem_t p = reinterpret_cast<dsconv_problem_t>(0x1);
    EXPECT_C_ERROR(dsconv_problem_create(&p, &d), DSCONV_STATUS_INVALID_ARGUMENT, "dsconv_problem_create", c.needle);
    EXPECT_EQ(p, nullptr);
  }
  dsconv_problem_t p = nullptr;
  EXPECT_C_ERROR(dsconv_problem_parse(&p, "depthwise_n1h4w4c2_k3x3_q9"), DSCONV_STATUS_INVALID_ARGUMENT,
                 "dsconv_problem_parse", "'q9' is not recognized");
  EXPECT_C_ERROR(dsconv_problem_parse(&p, ""), DSCONV_STATUS_INVALID_ARGUMENT, "dsconv_problem_parse", "empty");
  EXPECT_EQ(p, nullptr);
}

TEST(CApi, BackendErrors) {
  const dsconv_problem_desc_t d = example_desc(DSCONV_OP_DEPTHWISE);
  dsconv_problem_t p = nullptr;
  ASSERT_EQ(dsconv_problem_create(&p, &d), DSCONV_STATUS_SUCCESS);
  dsconv_plan_t plan = reinterpret_cast<dsconv_plan_t>(0x1);
  EXPECT_C_ERROR(dsconv_plan_create(&plan, p, "tpu"), DSCONV_STATUS_INVALID_ARGUMENT, "dsconv_plan_create", "'tpu'");
  EXPECT_EQ(plan, nullptr);

  // NULL means auto, which always finds a backend for this problem (the reference at worst).
  ASSERT_EQ(dsconv_plan_create(&plan, p, nullptr), DSCONV_STATUS_SUCCESS) << last_error();
  const char* name = nullptr;
  ASSERT_EQ(dsconv_plan_backend(plan, &name), DSCONV_STATUS_SUCCESS);
  const std::vector<std::string> built = dsconv::built_backends();
  EXPECT_NE(std::find(built.begin(), built.end(), name), built.end()) << name;
  dsconv_plan_destroy(plan);

  // A backend that is not compiled in, and one that is but cannot run here.
  int checked = 0;
  for (const char* b : {"cpu", "cuda", "cudnn"}) {
    const bool is_built = std::find(built.begin(), built.end(), b) != built.end();
    std::string why;
    if (!is_built) {
      EXPECT_C_ERROR(dsconv_plan_create(&plan, p, b), DSCONV_STATUS_BACKEND_UNAVAILABLE, "dsconv_plan_create",
                     std::string("'") + b + "' is not built");
      ++checked;
    } else if (!dsconv::backend_available(b, &why)) {
      EXPECT_C_ERROR(dsconv_plan_create(&plan, p, b), DSCONV_STATUS_NO_DEVICE, "dsconv_plan_create", why);
      ++checked;
    }
  }
  dsconv_problem_destroy(p);
  if (checked == 0) GTEST_SKIP() << "every backend is built and available: nothing unavailable to ask for";
}

TEST(CApi, InsufficientWorkspace) {
  // Only a plan that needs workspace can be short of it; look for one among the built backends.
  dsconv_problem_t p = nullptr;
  ASSERT_EQ(dsconv_problem_parse(&p, "separable_n1h16w16c8_k3x3_m2_o8_s1x1_d1x1_psame_nhwc_tf_f32"),
            DSCONV_STATUS_SUCCESS)
      << last_error();
  for (const std::string& b : dsconv::built_backends()) {
    dsconv_plan_t plan = nullptr;
    if (dsconv_plan_create(&plan, p, b.c_str()) != DSCONV_STATUS_SUCCESS) continue;
    size_t ws = 0;
    int on_device = 1;
    ASSERT_EQ(dsconv_plan_workspace_size(plan, &ws), DSCONV_STATUS_SUCCESS);
    ASSERT_EQ(dsconv_plan_uses_device_memory(plan, &on_device), DSCONV_STATUS_SUCCESS);
    if (ws > 0 && on_device == 0) {
      std::vector<float> x(16 * 16 * 8, 1.0f), w(3 * 3 * 8 * 2, 1.0f), pw(16 * 8, 1.0f), y(16 * 16 * 8);
      std::vector<unsigned char> workspace(ws);
      EXPECT_C_ERROR(
          dsconv_plan_run(plan, x.data(), w.data(), pw.data(), nullptr, y.data(), workspace.data(), ws - 1, nullptr),
          DSCONV_STATUS_INSUFFICIENT_WORKSPACE, "dsconv_plan_run", "the plan needs " + std::to_string(ws));
      dsconv_plan_destroy(plan);
      dsconv_problem_destroy(p);
      return;
    }
    dsconv_plan_destroy(plan);
  }
  dsconv_problem_destroy(p);
  GTEST_SKIP() << "no built host backend needs a workspace for a separable problem";
}

TEST(CApi, WrongKindOfHandleIsRejected) {
  const dsconv_problem_desc_t d = example_desc(DSCONV_OP_DEPTHWISE);
  dsconv_problem_t p = nullptr;
  ASSERT_EQ(dsconv_problem_create(&p, &d), DSCONV_STATUS_SUCCESS);
  dsconv_plan_t plan = nullptr;
  ASSERT_EQ(dsconv_plan_create(&plan, p, "cpu-ref"), DSCONV_STATUS_SUCCESS);
  size_t ws;
  EXPECT_C_ERROR(dsconv_plan_workspace_size(reinterpret_cast<dsconv_plan_t>(p), &ws), DSCONV_STATUS_INVALID_ARGUMENT,
                 "dsconv_plan_workspace_size", "plan is not a live dsconv_plan_t");
  int64_t dims[4];
  EXPECT_C_ERROR(dsconv_problem_output_shape(reinterpret_cast<dsconv_problem_t>(plan), dims),
                 DSCONV_STATUS_INVALID_ARGUMENT, "dsconv_problem_output_shape",
                 "problem is not a live dsconv_problem_t");
  EXPECT_C_ERROR(dsconv_problem_destroy(reinterpret_cast<dsconv_problem_t>(plan)), DSCONV_STATUS_INVALID_ARGUMENT,
                 "dsconv_problem_destroy", "not a live");
  EXPECT_EQ(dsconv_plan_destroy(plan), DSCONV_STATUS_SUCCESS);
  EXPECT_EQ(dsconv_problem_destroy(p), DSCONV_STATUS_SUCCESS);
}

TEST(CApi, DestroyAcceptsNullLikeFree) {
  EXPECT_C_ERROR(dsconv_problem_create(nullptr, nullptr), DSCONV_STATUS_INVALID_ARGUMENT, "dsconv_problem_create",
                 "problem is null");
  const std::string before = last_error();
  EXPECT_EQ(dsconv_problem_destroy(nullptr), DSCONV_STATUS_SUCCESS);
  EXPECT_EQ(dsconv_plan_destroy(nullptr), DSCONV_STATUS_SUCCESS);
  EXPECT_EQ(last_error(), before) << "cleanup must not overwrite the error that led to it";
}

TEST(CApi, LastErrorIsPerThreadAndKeptAcrossSuccesses) {
  EXPECT_C_ERROR(dsconv_problem_parse(nullptr, "x"), DSCONV_STATUS_INVALID_ARGUMENT, "dsconv_problem_parse",
                 "problem is null");
  const std::string mine = last_error();
  std::string other_before, other_after;
  std::thread t([&] {
    other_before = dsconv_last_error();
    dsconv_plan_workspace_size(nullptr, nullptr);
    other_after = dsconv_last_error();
  });
  t.join();
  EXPECT_EQ(other_before, "") << "a new thread starts without an error";
  EXPECT_NE(other_after.find("dsconv_plan_workspace_size: plan is null"), std::string::npos) << other_after;
  EXPECT_EQ(last_error(), mine) << "another thread's failure changed this thread's message";

  // A successful call leaves the last failure's message in place.
  dsconv_problem_t p = nullptr;
  const dsconv_problem_desc_t d = example_desc(DSCONV_OP_DEPTHWISE);
  ASSERT_EQ(dsconv_problem_create(&p, &d), DSCONV_STATUS_SUCCESS);
  EXPECT_EQ(last_error(), mine);
  dsconv_problem_destroy(p);
}

TEST(CApi, StatusStringsAreDistinctAndNamed) {
  const std::pair<dsconv_status_t, const char*> expected[] = {
      {DSCONV_STATUS_SUCCESS, "success"},
      {DSCONV_STATUS_INVALID_ARGUMENT, "invalid argument"},
      {DSCONV_STATUS_NOT_SUPPORTED, "not supported"},
      {DSCONV_STATUS_BACKEND_UNAVAILABLE, "backend unavailable"},
      {DSCONV_STATUS_NO_DEVICE, "no CUDA device"},
      {DSCONV_STATUS_INSUFFICIENT_WORKSPACE, "insufficient workspace"},
      {DSCONV_STATUS_DEVICE_ERROR, "device error"},
      {DSCONV_STATUS_IO_ERROR, "I/O error"},
      {DSCONV_STATUS_FORMAT_ERROR, "format error"},
      {DSCONV_STATUS_INTERNAL_ERROR, "internal error"},
  };
  std::set<std::string> seen;
  for (const auto& [code, text] : expected) {
    EXPECT_STREQ(dsconv_status_string(code), text);
    seen.insert(dsconv_status_string(code));
    // The C++ codes are the C codes.
    EXPECT_STREQ(dsconv::to_string(static_cast<dsconv::StatusCode>(code)), text);
  }
  EXPECT_EQ(seen.size(), 10u);
  EXPECT_STREQ(dsconv_status_string(static_cast<dsconv_status_t>(42)), "unknown status");
}

TEST(CApi, Version) {
  EXPECT_STREQ(dsconv_version(), dsconv::version());
  EXPECT_STREQ(dsconv_version(), DSCONV_VERSION_STRING);
}

}  // namespace
