// The fused epilogue y = act(conv + bias + residual) on the reference: every activation against values
// computed independently (double precision, to 16 digits), the residual added before the activation in
// every op, descriptors that carry it, and the C API's field.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "dsconv/dsconv.h"
#include "dsconv/dsconv.hpp"

namespace dsconv {
namespace {

// act(v) for v = -1, 1, 2, -4, 4, to 16 significant digits (mpmath/NumPy in double).
struct Known {
  Activation act;
  double at[5];
};
// clang-format off
const Known kKnown[] = {
  {Activation::kNone,     {-1, 1, 2, -4, 4}},
  {Activation::kRelu,     {0, 1, 2, 0, 4}},
  {Activation::kRelu6,    {0, 1, 2, 0, 4}},
  {Activation::kSilu,     {-0.2689414213699951, 0.7310585786300049, 1.7615941559557646, -0.07194483984836623, 3.928055160151634}},
  {Activation::kHswish,   {-0.3333333333333333, 0.6666666666666666, 1.6666666666666667, 0.0, 4.0}},
  {Activation::kGelu,     {-0.15865525393145707, 0.8413447460685429, 1.9544997361036416, -0.00012668496733247991, 3.9998733150326675}},
  {Activation::kGeluTanh, {-0.15880800939172324, 0.8411919906082768, 1.954597694087775, -7.024594819227126e-05, 3.9999297540518075}},
};
// clang-format on

// A 1x1 depthwise filter of 1 over [1,1,5,1]: y = act(x + 0.25 + r) with x + 0.25 + r = -1, 1, 2, -4, 4.
TEST(Epilogue, EveryActivationMatchesIndependentValues) {
  const std::vector<float> x = {-0.5f, 0.5f, 1.0f, -2.0f, 2.0f}, r = {-0.75f, 0.25f, 0.75f, -2.25f, 1.75f};
  const std::vector<float> w = {1.0f}, b = {0.25f};
  for (const Known& k : kKnown) {
    SCOPED_TRACE(to_string(k.act));
    ProblemDesc d;
    d.width = 5;
    d.has_bias = true;
    d.has_residual = true;
    d.activation = k.act;
    const Problem p = *Problem::create(d);
    Result<Plan> plan = Plan::create(p, "cpu-ref");
    ASSERT_TRUE(plan.is_ok()) << plan.status().to_string();
    std::vector<float> y(5, std::numeric_limits<float>::quiet_NaN());
    const TensorArgs args = TensorArgs()
                                .set(Arg::kInput, x.data())
                                .set(Arg::kFilter, w.data())
                                .set(Arg::kBias, b.data())
                                .set(Arg::kResidual, r.data())
                                .set(Arg::kOutput, y.data());
    ASSERT_TRUE(plan->run(args, nullptr, 0).is_ok());
    for (int i = 0; i < 5; ++i) {
      // The reference computes in double and rounds once to f32.
      EXPECT_EQ(y[static_cast<size_t>(i)], static_cast<float>(k.at[i])) << "at element " << i;
    }
  }
}

TEST(Epilogue, NanPassesThroughEveryActivation) {
  for (const Known& k : kKnown) {
    ProblemDesc d;
    d.activation = k.act;
    const Problem p = *Problem::create(d);
    Result<Plan> plan = Plan::create(p, "cpu-ref");
    ASSERT_TRUE(plan.is_ok());
    const float x = std::numeric_limits<float>::quiet_NaN(), w = 1.0f;
    float y = 0.0f;
    ASSERT_TRUE(plan->run(Tensors{&x, &w, nullptr, nullptr, &y}, nullptr, 0).is_ok());
    EXPECT_TRUE(std::isnan(y)) << to_string(k.act);
  }
}

// For conv2d and separable too: the residual goes in before the activation. The expected values come from
// the same problem run without the epilogue, then act(y + r) in double here.
double gelu_tanh(double v) { return 0.5 * v * (1.0 + std::tanh(std::sqrt(2.0 / M_PI) * (v + 0.044715 * v * v * v))); }

TEST(Epilogue, ResidualGoesInBeforeTheActivationInEveryOp) {
  for (Op op : {Op::kDepthwise, Op::kConv2d, Op::kSeparable}) {
    for (Layout layout : {Layout::kNHWC, Layout::kNCHW}) {
      SCOPED_TRACE(std::string(to_string(op)) + " " + to_string(layout));
      ProblemDesc d;
      d.op = op;
      d.batch = 2, d.height = 5, d.width = 4, d.channels = 3;
      d.kernel_h = d.kernel_w = 3;
      d.padding = PaddingMode::kSame;
      d.layout = layout;
      if (op != Op::kDepthwise) d.out_channels = 2;
      d.has_bias = true;
      const Problem plain = *Problem::create(d);
      d.has_residual = true;
      d.activation = Activation::kGeluTanh;
      const Problem full = *Problem::create(d);
      // Seed 3: a fixed LCG, never zero.
      uint32_t state = 3;
      auto next = [&] {
        state = state * 1664525u + 1013904223u;
        return (static_cast<float>(state >> 9) / static_cast<float>(1u << 23) - 0.5f) * 2.0f + 0.01f;
      };
      auto filled = [&](int64_t n) {
        std::vector<float> v(static_cast<size_t>(n));
        for (float& e : v) e = next();
        return v;
      };
      const std::vector<float> x = filled(plain.input_elements()), w = filled(plain.filter_elements());
      const std::vector<float> pw = filled(plain.pointwise_elements()), b = filled(plain.bias_elements());
      const std::vector<float> r = filled(plain.output_elements());
      std::vector<float> y0(static_cast<size_t>(plain.output_elements())), y1(y0.size());
      const float* pwp = pw.empty() ? nullptr : pw.data();
      ASSERT_TRUE(
          Plan::create(plain, "cpu-ref")->run(Tensors{x.data(), w.data(), pwp, b.data(), y0.data()}, nullptr, 0));
      const TensorArgs args =
          TensorArgs(Tensors{x.data(), w.data(), pwp, b.data(), y1.data()}).set(Arg::kResidual, r.data());
      ASSERT_TRUE(Plan::create(full, "cpu-ref")->run(args, nullptr, 0));
      for (size_t i = 0; i < y0.size(); ++i) {
        const double want = gelu_tanh(static_cast<double>(y0[i]) + static_cast<double>(r[i]));
        // y0 was rounded to f32 once before the residual: allow that rounding, scaled by gelu's slope.
        EXPECT_NEAR(y1[i], want, 4e-7 * (std::fabs(y0[i]) + std::fabs(r[i]) + 1.0)) << "element " << i;
      }
    }
  }
}

TEST(Epilogue, DescriptorsCarryTheResidualAndEveryActivation) {
  Result<Problem> p = Problem::parse("depthwise_n1h8w8c4_k3x3_res_gelutanh_bias");
  ASSERT_TRUE(p.is_ok()) << p.status().to_string();
  EXPECT_TRUE(p->has_residual());
  EXPECT_EQ(p->activation(), Activation::kGeluTanh);
  EXPECT_EQ(p->arg_use(Arg::kResidual), ArgUse::kRead);
  EXPECT_EQ(p->arg_shape(Arg::kResidual), p->output_shape());
  const std::string text = p->descriptor();
  EXPECT_NE(text.find("_bias_res_gelutanh"), std::string::npos) << text;
  EXPECT_EQ(*Problem::parse(text), *p);
  for (const char* act : {"silu", "hswish", "gelu", "relu6"}) {
    Result<Problem> q = Problem::parse(std::string("conv2d_n1h6w6c3_k3x3_o2_res_") + act);
    ASSERT_TRUE(q.is_ok()) << q.status().to_string();
    EXPECT_EQ(*Problem::parse(q->descriptor()), *q) << q->descriptor();
  }
}

TEST(Epilogue, MissingResidualIsNamedAndNothingIsWritten) {
  const Problem p = *Problem::parse("depthwise_n1h4w4c2_k3x3_res_silu");
  Result<Plan> plan = Plan::create(p, "cpu-ref");
  ASSERT_TRUE(plan.is_ok());
  std::vector<float> x(32, 1.0f), w(18, 1.0f), y(8, -7.0f);
  const Status s = plan->run(Tensors{x.data(), w.data(), nullptr, nullptr, y.data()}, nullptr, 0);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("tensors.residual is null but the problem has a residual"), std::string::npos)
      << s.message();
  EXPECT_EQ(y, std::vector<float>(8, -7.0f));
}

TEST(Epilogue, CApiCarriesTheResidual) {
  dsconv_problem_desc_t d;
  dsconv_problem_desc_init(&d);
  EXPECT_EQ(d.has_residual, 0);
  d.width = 5;
  d.has_residual = 1;
  d.activation = DSCONV_ACTIVATION_SILU;
  dsconv_problem_t problem = nullptr;
  ASSERT_EQ(dsconv_problem_create(&problem, &d), DSCONV_STATUS_SUCCESS) << dsconv_last_error();
  dsconv_plan_t plan = nullptr;
  ASSERT_EQ(dsconv_plan_create(&plan, problem, "cpu-ref"), DSCONV_STATUS_SUCCESS) << dsconv_last_error();
  float x[5] = {-0.5f, 0.5f, 1.0f, -2.0f, 2.0f}, w[1] = {1.0f}, r[5] = {-0.5f, 0.5f, 1.0f, -2.0f, 2.0f}, y[5] = {};
  // In place: the output holds the residual.
  for (int i = 0; i < 5; ++i) y[i] = r[i];
  dsconv_exec_arg_t args[] = {
      {DSCONV_ARG_INPUT, x}, {DSCONV_ARG_FILTER, w}, {DSCONV_ARG_RESIDUAL, y}, {DSCONV_ARG_OUTPUT, y}};
  ASSERT_EQ(dsconv_plan_execute(plan, 4, args, nullptr, 0, nullptr), DSCONV_STATUS_SUCCESS) << dsconv_last_error();
  for (int i = 0; i < 5; ++i) {
    const double v = 2.0 * static_cast<double>(x[i]);  // x + r with r = x
    EXPECT_EQ(y[i], static_cast<float>(v / (1.0 + std::exp(-v)))) << i;
  }
  dsconv_plan_destroy(plan);
  dsconv_problem_destroy(problem);
}

}  // namespace
}  // namespace dsconv
