// The CPU reference (the oracle of every other test): hand-computed cases, an independent naive
// implementation on random problems, layout and dtype equivalences, op composition, and the host
// f16/bf16 conversions it relies on.
#include <algorithm>
#include <cctype>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "dsconv/dsconv.hpp"
#include "src/half.hpp"
#include "support/tester.hpp"

namespace dsconv {
namespace {

using testing::ConvTester;
using testing::DataKind;
using testing::HostData;

std::vector<float> run_ref(const Problem& p, const HostData& data) {
  Result<Plan> plan = Plan::create(p, "cpu-ref");
  EXPECT_TRUE(plan.is_ok()) << plan.status().to_string();
  if (!plan) return {};
  Result<std::vector<float>> out = testing::run_plan(*plan, data);
  EXPECT_TRUE(out.is_ok()) << out.status().to_string();
  return out ? *out : std::vector<float>{};
}

Problem make(const ProblemDesc& d) {
  Result<Problem> p = Problem::create(d);
  EXPECT_TRUE(p.is_ok()) << p.status().to_string();
  return p ? *p : Problem();
}

// ---------------------------------------------------------------------------------------------
// Layout transforms written for the tests (NHWC/TF are the canonical forms).
// ---------------------------------------------------------------------------------------------

std::vector<float> nhwc_to_nchw(const std::vector<float>& v, int64_t n, int64_t h, int64_t w, int64_t c) {
  std::vector<float> out(v.size());
  for (int64_t in = 0; in < n; ++in)
    for (int64_t y = 0; y < h; ++y)
      for (int64_t x = 0; x < w; ++x)
        for (int64_t ch = 0; ch < c; ++ch)
          out[static_cast<size_t>(((in * c + ch) * h + y) * w + x)] =
              v[static_cast<size_t>(((in * h + y) * w + x) * c + ch)];
  return out;
}

std::vector<float> nchw_to_nhwc(const std::vector<float>& v, int64_t n, int64_t h, int64_t w, int64_t c) {
  std::vector<float> out(v.size());
  for (int64_t in = 0; in < n; ++in)
    for (int64_t y = 0; y < h; ++y)
      for (int64_t x = 0; x < w; ++x)
        for (int64_t ch = 0; ch < c; ++ch)
          out[static_cast<size_t>(((in * h + y) * w + x) * c + ch)] =
              v[static_cast<size_t>(((in * c + ch) * h + y) * w + x)];
  return out;
}

// [KH,KW,C,L] -> [C*L,1,KH,KW] (depthwise, L = M, o = c*M + m) or [L,C,KH,KW] (conv2d, L = O).
std::vector<float> tf_to_oihw(const std::vector<float>& v, int64_t kh, int64_t kw, int64_t c, int64_t l,
                              bool depthwise) {
  std::vector<float> out(v.size());
  for (int64_t i = 0; i < kh; ++i)
    for (int64_t j = 0; j < kw; ++j)
      for (int64_t ch = 0; ch < c; ++ch)
        for (int64_t k = 0; k < l; ++k) {
          const int64_t dst = depthwise ? ((ch * l + k) * kh + i) * kw + j : ((k * c + ch) * kh + i) * kw + j;
          out[static_cast<size_t>(dst)] = v[static_cast<size_t>(((i * kw + j) * c + ch) * l + k)];
        }
  return out;
}

// ---------------------------------------------------------------------------------------------
// An independent naive implementation (NHWC, TF filters): one output element at a time, straight
// from TF's definition with explicit padding. Double accumulation; for small-integer data every
// partial sum is exact, so the reference must agree bit for bit.
// ---------------------------------------------------------------------------------------------

std::vector<float> naive_nhwc_tf(const Problem& p, const HostData& d) {
  const int64_t N = p.n(), H = p.h(), W = p.w(), C = p.c(), M = p.m(), KH = p.kh(), KW = p.kw();
  const int64_t OH = p.out_h(), OW = p.out_w(), O = p.out_channels(), CM = p.mid_channels();
  auto x_at = [&](int64_t n, int64_t y, int64_t x, int64_t c) -> double {
    if (y < 0 || y >= H || x < 0 || x >= W) return 0.0;
    return d.input[static_cast<size_t>(((n * H + y) * W + x) * C + c)];
  };
  // Depthwise channel k = c*M + m at one output pixel.
  auto depthwise_at = [&](int64_t n, int64_t oy, int64_t ox, int64_t k) {
    const int64_t c = k / M, m = k % M;
    double s = 0.0;
    for (int64_t i = 0; i < KH; ++i)
      for (int64_t j = 0; j < KW; ++j)
        s += x_at(n, oy * p.stride_h() + i * p.dilation_h() - p.pad_top(),
                  ox * p.stride_w() + j * p.dilation_w() - p.pad_left(), c) *
             d.filter[static_cast<size_t>(((i * KW + j) * C + c) * M + m)];
    return s;
  };
  std::vector<float> out(static_cast<size_t>(N * OH * OW * O));
  for (int64_t n = 0; n < N; ++n)
    for (int64_t oy = 0; oy < OH; ++oy)
      for (int64_t ox = 0; ox < OW; ++ox)
        for (int64_t o = 0; o < O; ++o) {
          double s = 0.0;
          if (p.op() == Op::kDepthwise) {
            s = depthwise_at(n, oy, ox, o);
          } else if (p.op() == Op::kSeparable) {
            for (int64_t k = 0; k < CM; ++k)
              s += depthwise_at(n, oy, ox, k) * d.pointwise[static_cast<size_t>(k * O + o)];
          } else {
            for (int64_t i = 0; i < KH; ++i)
              for (int64_t j = 0; j < KW; ++j)
                for (int64_t c = 0; c < C; ++c)
                  s += x_at(n, oy * p.stride_h() + i * p.dilation_h() - p.pad_top(),
                            ox * p.stride_w() + j * p.dilation_w() - p.pad_left(), c) *
                       d.filter[static_cast<size_t>(((i * KW + j) * C + c) * O + o)];
          }
          if (p.has_bias()) s += d.bias[static_cast<size_t>(o)];
          if (p.activation() != Activation::kNone && s < 0.0) s = 0.0;
          if (p.activation() == Activation::kRelu6 && s > 6.0) s = 6.0;
          out[static_cast<size_t>(((n * OH + oy) * OW + ox) * O + o)] = static_cast<float>(s);
        }
  return out;
}

// ---------------------------------------------------------------------------------------------
// The worked example: x [1,4,4,2], channel 0 = 1,2,3,4 along each row, channel 1 = ones;
// filter [3,3,2,2] with [:,:,0,0]=0, [:,:,1,0]=1, [:,:,0,1]=2, [:,:,1,1]=3; VALID, stride 1.
// ---------------------------------------------------------------------------------------------

HostData worked_example_data(bool channel0_varies_along_width) {
  HostData d;
  d.input.resize(1 * 4 * 4 * 2);
  for (int i = 0; i < 4; ++i)
    for (int j = 0; j < 4; ++j) {
      d.input[static_cast<size_t>((i * 4 + j) * 2 + 0)] = static_cast<float>((channel0_varies_along_width ? j : i) + 1);
      d.input[static_cast<size_t>((i * 4 + j) * 2 + 1)] = 1.0f;
    }
  const float f[2][2] = {{0.0f, 2.0f}, {1.0f, 3.0f}};  // f[c][last]
  d.filter.resize(3 * 3 * 2 * 2);
  for (int t = 0; t < 9; ++t)
    for (int c = 0; c < 2; ++c)
      for (int k = 0; k < 2; ++k) d.filter[static_cast<size_t>((t * 2 + c) * 2 + k)] = f[c][k];
  return d;
}

ProblemDesc worked_example_desc(Op op) {
  ProblemDesc d;
  d.op = op;
  d.batch = 1, d.height = 4, d.width = 4, d.channels = 2;
  d.kernel_h = d.kernel_w = 3;
  d.multiplier = op == Op::kDepthwise ? 2 : 1;
  d.out_channels = op == Op::kDepthwise ? 0 : 2;
  d.padding = PaddingMode::kValid;
  return d;
}

TEST(ReferenceWorkedExample, Depthwise) {
  const Problem p = make(worked_example_desc(Op::kDepthwise));
  ASSERT_EQ(p.output_shape(), (std::vector<int64_t>{1, 2, 2, 4}));
  // Channel order c*M + m: (c0,m0)=0*x0, (c0,m1)=2*x0, (c1,m0)=1*ones, (c1,m1)=3*ones.
  const std::vector<float> expected = {0, 36, 9, 27, 0, 54, 9, 27, 0, 36, 9, 27, 0, 54, 9, 27};
  EXPECT_EQ(run_ref(p, worked_example_data(true)), expected);
  // The same data transposed spatially gives the transposed output.
  const std::vector<float> transposed = {0, 36, 9, 27, 0, 36, 9, 27, 0, 54, 9, 27, 0, 54, 9, 27};
  EXPECT_EQ(run_ref(p, worked_example_data(false)), transposed);
}

TEST(ReferenceWorkedExample, Conv2d) {
  const Problem p = make(worked_example_desc(Op::kConv2d));
  ASSERT_EQ(p.output_shape(), (std::vector<int64_t>{1, 2, 2, 2}));
  // HWIO: out0 = 0*x0 + 1*ones = 9; out1 = 2*x0 + 3*ones = 2*18+27 | 2*27+27.
  const std::vector<float> expected = {9, 63, 9, 81, 9, 63, 9, 81};
  EXPECT_EQ(run_ref(p, worked_example_data(true)), expected);
}

TEST(ReferenceWorkedExample, AllLayoutsAndDtypes) {
  for (Op op : {Op::kDepthwise, Op::kConv2d}) {
    const HostData nhwc = worked_example_data(true);
    const Problem base = make(worked_example_desc(op));
    const std::vector<float> expected = run_ref(base, nhwc);
    for (Layout layout : {Layout::kNHWC, Layout::kNCHW})
      for (FilterLayout fl : {FilterLayout::kTF, FilterLayout::kOIHW})
        for (DType dt : {DType::kF32, DType::kF16, DType::kBF16}) {
          ProblemDesc d = worked_example_desc(op);
          d.layout = layout, d.filter_layout = fl, d.dtype = dt;
          const Problem p = make(d);
          SCOPED_TRACE(p.descriptor());
          HostData data = nhwc;
          if (layout == Layout::kNCHW) data.input = nhwc_to_nchw(nhwc.input, 1, 4, 4, 2);
          if (fl == FilterLayout::kOIHW) data.filter = tf_to_oihw(nhwc.filter, 3, 3, 2, 2, op == Op::kDepthwise);
          std::vector<float> got = run_ref(p, data);
          if (layout == Layout::kNCHW) got = nchw_to_nhwc(got, 1, 2, 2, p.out_channels());
          EXPECT_EQ(got, expected);  // every value is an integer below 256: exact in all three dtypes
        }
  }
}

// ---------------------------------------------------------------------------------------------
// Hand-computed cases for padding, multiplier order, bias and activations
// ---------------------------------------------------------------------------------------------

TEST(ReferenceHand, SamePaddingPutsTheOddPixelAfter) {
  // x[i][j] = 1 + 4i + j (4x4, one channel), 3x3 ones, stride 2, SAME: out 2x2, pad total 1 = 0 before + 1 after.
  ProblemDesc d;
  d.height = d.width = 4;
  d.kernel_h = d.kernel_w = 3;
  d.stride_h = d.stride_w = 2;
  d.padding = PaddingMode::kSame;
  const Problem p = make(d);
  ASSERT_EQ(p.pad_top(), 0);
  ASSERT_EQ(p.pad_bottom(), 1);
  HostData data;
  for (int v = 1; v <= 16; ++v) data.input.push_back(static_cast<float>(v));
  data.filter.assign(9, 1.0f);
  // [0,0]: rows 0-2 x cols 0-2 = 6+18+30; [0,1]: rows 0-2 x cols 2-3 = 7+15+23;
  // [1,0]: rows 2-3 x cols 0-2 = 30+42; [1,1]: rows 2-3 x cols 2-3 = 11+12+15+16.
  EXPECT_EQ(run_ref(p, data), (std::vector<float>{54, 45, 72, 54}));

  // Explicit padding 1 before, 0 after (the other asymmetry) reads the other border.
  d.padding = PaddingMode::kExplicit;
  d.pad_top = d.pad_left = 1;
  d.pad_bottom = d.pad_right = 0;
  // [0,0]: rows 0-1 x cols 0-1 = 1+2+5+6; [0,1]: rows 0-1 x cols 1-3 = 9+21; [1,0]: rows 1-3 x cols 0-1
  // = 11+19+27; [1,1]: rows 1-3 x cols 1-3 = 21+33+45.
  EXPECT_EQ(run_ref(make(d), data), (std::vector<float>{14, 30, 57, 99}));
}

TEST(ReferenceHand, ChannelMultiplierOrder) {
  // 1x1 depthwise, C=3, M=2: output channel c*M + m = x[c] * w[c][m].
  ProblemDesc d;
  d.channels = 3;
  d.multiplier = 2;
  HostData data;
  data.input = {1, 10, 100};
  data.filter = {1, 2, 3, 4, 5, 6};  // TF [1,1,C,M]: w[c][m] = 2c + m + 1
  const std::vector<float> expected = {1, 2, 30, 40, 500, 600};
  EXPECT_EQ(run_ref(make(d), data), expected);
  d.filter_layout = FilterLayout::kOIHW;  // [C*M,1,1,1]: row o = c*M + m, so the same flat order
  EXPECT_EQ(run_ref(make(d), data), expected);
  // NCHW with one pixel is the same flat order too; a second pixel tells the layouts apart.
  d.width = 2;
  d.layout = Layout::kNCHW;
  data.input = {1, 2, 10, 20, 100, 200};  // NCHW: channel planes
  EXPECT_EQ(run_ref(make(d), data), (std::vector<float>{1, 2, 2, 4, 30, 60, 40, 80, 500, 1000, 600, 1200}));
}

TEST(ReferenceHand, BiasAndActivations) {
  // 1x1 depthwise, C=4, weights 1: output = x + bias, then the activation.
  ProblemDesc d;
  d.channels = 4;
  d.width = 2;
  d.has_bias = true;
  HostData data;
  data.input = {-3.0f, 0.25f, 5.5f, 7.0f, -0.5f, 2.0f, 10.0f, 5.75f};
  data.filter = {1, 1, 1, 1};
  data.bias = {1.0f, -0.5f, 0.25f, 0.0f};
  const std::vector<float> plain = {-2.0f, -0.25f, 5.75f, 7.0f, 0.5f, 1.5f, 10.25f, 5.75f};
  d.activation = Activation::kNone;
  EXPECT_EQ(run_ref(make(d), data), plain);
  d.activation = Activation::kRelu;
  EXPECT_EQ(run_ref(make(d), data), (std::vector<float>{0.0f, 0.0f, 5.75f, 7.0f, 0.5f, 1.5f, 10.25f, 5.75f}));
  d.activation = Activation::kRelu6;
  EXPECT_EQ(run_ref(make(d), data), (std::vector<float>{0.0f, 0.0f, 5.75f, 6.0f, 0.5f, 1.5f, 6.0f, 5.75f}));
  // Bias belongs to the final output channels: conv2d with O=2 uses bias[o], not bias[c].
  ProblemDesc c;
  c.op = Op::kConv2d;
  c.channels = 3;
  c.out_channels = 2;
  c.has_bias = true;
  HostData cd;
  cd.input = {1, 2, 3};
  cd.filter = {1, 10, 1, 10, 1, 10};  // [1,1,C=3,O=2]
  cd.bias = {0.5f, -100.0f};
  EXPECT_EQ(run_ref(make(c), cd), (std::vector<float>{6.5f, -40.0f}));
}

// ---------------------------------------------------------------------------------------------
// Random problems against the naive implementation
// ---------------------------------------------------------------------------------------------

TEST(ReferenceRandom, MatchesNaiveImplementationExactly) {
  const uint64_t seed = 977;
  std::mt19937_64 rng(seed);
  auto pick = [&rng](int64_t lo, int64_t hi) { return lo + static_cast<int64_t>(rng() % uint64_t(hi - lo + 1)); };
  int tested = 0;
  for (int iter = 0; iter < 300; ++iter) {
    ProblemDesc d;
    d.op = static_cast<Op>(iter % 3);
    d.batch = pick(1, 2);
    d.height = pick(1, 12);
    d.width = pick(1, 12);
    d.channels = pick(1, 5);
    d.kernel_h = pick(1, 4);
    d.kernel_w = pick(1, 4);
    d.multiplier = d.op == Op::kConv2d ? 1 : pick(1, 3);
    d.out_channels = d.op == Op::kDepthwise ? 0 : pick(1, 4);
    d.stride_h = pick(1, 3);
    d.stride_w = pick(1, 3);
    d.dilation_h = pick(1, 3);
    d.dilation_w = pick(1, 3);
    d.padding = static_cast<PaddingMode>(pick(0, 2));
    d.pad_top = pick(0, 3), d.pad_bottom = pick(0, 3), d.pad_left = pick(0, 3), d.pad_right = pick(0, 3);
    d.has_bias = pick(0, 1) != 0;
    d.activation = static_cast<Activation>(pick(0, 2));
    Result<Problem> p = Problem::create(d);
    if (!p) continue;
    const uint64_t data_seed = seed * 1000 + static_cast<uint64_t>(iter);
    SCOPED_TRACE(p->descriptor() + " data seed " + std::to_string(data_seed));
    const HostData data = testing::random_data(*p, DataKind::kSmallIntegers, data_seed);
    ASSERT_EQ(run_ref(*p, data), naive_nhwc_tf(*p, data));
    ++tested;
  }
  EXPECT_GT(tested, 150);
}

// ---------------------------------------------------------------------------------------------
// Equivalences
// ---------------------------------------------------------------------------------------------

TEST(ReferenceEquivalence, LayoutsGiveIdenticalResults) {
  for (Op op : {Op::kDepthwise, Op::kConv2d, Op::kSeparable})
    for (DataKind kind : {DataKind::kSmallIntegers, DataKind::kUniform}) {
      ProblemDesc d;
      d.op = op;
      d.batch = 2, d.height = 9, d.width = 7, d.channels = 5;
      d.kernel_h = 3, d.kernel_w = 2;
      d.multiplier = op == Op::kConv2d ? 1 : 2;
      d.out_channels = op == Op::kDepthwise ? 0 : 3;
      d.stride_h = 2, d.dilation_w = 2;
      d.padding = PaddingMode::kSame;
      d.has_bias = true;
      const Problem base = make(d);
      SCOPED_TRACE(base.descriptor() + " data " + testing::to_string(kind));
      const HostData data = testing::random_data(base, kind, 5);
      const std::vector<float> expected = run_ref(base, data);
      ASSERT_EQ(expected.size(), static_cast<size_t>(base.output_elements()));
      for (Layout layout : {Layout::kNHWC, Layout::kNCHW})
        for (FilterLayout fl : {FilterLayout::kTF, FilterLayout::kOIHW}) {
          ProblemDesc v = d;
          v.layout = layout, v.filter_layout = fl;
          const Problem p = make(v);
          HostData t = data;
          if (layout == Layout::kNCHW) t.input = nhwc_to_nchw(data.input, p.n(), p.h(), p.w(), p.c());
          if (fl == FilterLayout::kOIHW) {
            const bool dw = op != Op::kConv2d;
            t.filter = tf_to_oihw(data.filter, p.kh(), p.kw(), p.c(), dw ? p.m() : p.out_channels(), dw);
            if (op == Op::kSeparable)  // [1,1,CM,O] -> [O,CM,1,1]
              t.pointwise = tf_to_oihw(data.pointwise, 1, 1, p.mid_channels(), p.out_channels(), false);
          }
          std::vector<float> got = run_ref(p, t);
          if (layout == Layout::kNCHW) got = nchw_to_nhwc(got, p.n(), p.out_h(), p.out_w(), p.out_channels());
          // Same values, same accumulation order: identical, also for non-integer data.
          EXPECT_EQ(got, expected) << "layout " << to_string(layout) << ", filters " << to_string(fl);
        }
    }
}

TEST(ReferenceEquivalence, HalfTypesRoundTheF32Result) {
  // The reference accumulates in f64 and rounds once into the output type (via f32), so its f16/bf16
  // output must equal its f32 output on the same values, rounded to that type.
  for (Op op : {Op::kDepthwise, Op::kConv2d, Op::kSeparable})
    for (DType dt : {DType::kF16, DType::kBF16}) {
      ProblemDesc d;
      d.op = op;
      d.batch = 1, d.height = 11, d.width = 13, d.channels = 6;
      d.kernel_h = d.kernel_w = 3;
      d.multiplier = op == Op::kConv2d ? 1 : 2;
      d.out_channels = op == Op::kDepthwise ? 0 : 4;
      d.dilation_h = 2;
      d.padding = PaddingMode::kSame;
      d.has_bias = true;
      d.activation = Activation::kRelu6;
      d.dtype = dt;
      const Problem p = make(d);
      SCOPED_TRACE(p.descriptor());
      const HostData data = testing::random_data(p, DataKind::kUniform, 11);  // values already in dt
      Result<std::vector<float>> f32 = testing::reference_f32(p, data);
      ASSERT_TRUE(f32.is_ok()) << f32.status().to_string();
      const std::vector<float> got = run_ref(p, data);
      EXPECT_EQ(got, testing::round_to(dt, *f32));
    }
}

TEST(ReferenceEquivalence, HalfTypesWithinToleranceOfF32) {
  // Through the shared tester: f16/bf16 storage against the f32 oracle, uniform data.
  for (DType dt : {DType::kF16, DType::kBF16}) {
    for (Op op : {Op::kDepthwise, Op::kConv2d, Op::kSeparable}) {
      const testing::TestReport r = ConvTester()
                                        .op(op)
                                        .batch(2)
                                        .size(13, 11)
                                        .channels(17)
                                        .kernel(3, 3)
                                        .multiplier(op == Op::kConv2d ? 1 : 2)
                                        .out_channels(op == Op::kDepthwise ? 0 : 8)
                                        .stride(2, 1)
                                        .dilation(1, 2)
                                        .padding_same()
                                        .layout(Layout::kNCHW)
                                        .dtype(dt)
                                        .bias(true)
                                        .activation(Activation::kRelu)
                                        .data(DataKind::kUniform)
                                        .seed(3)
                                        .test("cpu-ref");
      EXPECT_FALSE(r.exact);
      EXPECT_GT(r.max_abs_error, 0.0) << "rounding to " << to_string(dt) << " should show";
      EXPECT_LE(r.max_error_ratio, 1.0);
      EXPECT_EQ(r.implementation, "ref_direct_f64acc");
    }
  }
}

TEST(ReferenceEquivalence, SeparableEqualsDepthwiseThenPointwise) {
  for (Layout layout : {Layout::kNHWC, Layout::kNCHW}) {
    ProblemDesc sep;
    sep.op = Op::kSeparable;
    sep.batch = 2, sep.height = 10, sep.width = 9, sep.channels = 4;
    sep.kernel_h = sep.kernel_w = 3;
    sep.multiplier = 2;
    sep.out_channels = 5;
    sep.stride_h = sep.stride_w = 2;
    sep.dilation_h = 1, sep.dilation_w = 2;
    sep.padding = PaddingMode::kSame;
    sep.layout = layout;
    sep.has_bias = true;
    sep.activation = Activation::kRelu6;
    const Problem ps = make(sep);
    SCOPED_TRACE(ps.descriptor());
    const HostData data = testing::random_data(ps, DataKind::kSmallIntegers, 21);

    ProblemDesc dw = sep;  // the depthwise stage: no bias, no activation (those belong to the end)
    dw.op = Op::kDepthwise;
    dw.out_channels = 0;
    dw.has_bias = false;
    dw.activation = Activation::kNone;
    const Problem pd = make(dw);
    const std::vector<float> mid = run_ref(pd, HostData{data.input, data.filter, {}, {}});
    ASSERT_EQ(mid.size(), static_cast<size_t>(pd.output_elements()));

    ProblemDesc pw;  // 1x1 conv2d over the intermediate
    pw.op = Op::kConv2d;
    pw.batch = pd.n(), pw.height = pd.out_h(), pw.width = pd.out_w(), pw.channels = pd.out_channels();
    pw.out_channels = sep.out_channels;
    pw.layout = layout;
    pw.has_bias = true;
    pw.activation = Activation::kRelu6;
    const Problem pp = make(pw);
    const std::vector<float> composed = run_ref(pp, HostData{mid, data.pointwise, {}, data.bias});
    const std::vector<float> fused = run_ref(ps, data);
    ASSERT_FALSE(fused.empty());
    EXPECT_EQ(fused, composed);
    // relu6 clips most integer results; the comparison is only meaningful if some are not clipped.
    int64_t interior = 0;
    for (float v : fused) interior += (v > 0.0f && v < 6.0f) ? 1 : 0;
    EXPECT_GT(interior, 0);
  }
}

TEST(ReferencePerformance, MobileNetLayerRunsInSeconds) {
  ProblemDesc d;
  d.height = d.width = 112;
  d.channels = 32;
  d.kernel_h = d.kernel_w = 3;
  d.padding = PaddingMode::kSame;
  const Problem p = make(d);
  const HostData data = testing::random_data(p, DataKind::kUniform, 1);
  Result<Plan> plan = Plan::create(p, "cpu-ref");
  ASSERT_TRUE(plan.is_ok()) << plan.status().to_string();
  const auto start = std::chrono::steady_clock::now();
  Result<std::vector<float>> out = testing::run_plan(*plan, data);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  ASSERT_TRUE(out.is_ok()) << out.status().to_string();
  EXPECT_LT(seconds, 5.0) << p.descriptor();
  for (float v : *out) ASSERT_TRUE(std::isfinite(v));
}

// ---------------------------------------------------------------------------------------------
// The f16 / bf16 conversions (src/half.hpp)
// ---------------------------------------------------------------------------------------------

TEST(HalfConversion, EveryHalfRoundTrips) {
  for (uint32_t h = 0; h < 0x10000u; ++h) {
    const uint16_t bits = static_cast<uint16_t>(h);
    const float f = detail::half_to_float(bits);
    const bool nan = (bits & 0x7c00u) == 0x7c00u && (bits & 0x3ffu) != 0;
    if (nan) {
      ASSERT_TRUE(std::isnan(f)) << std::hex << h;
      ASSERT_TRUE(std::isnan(detail::half_to_float(detail::float_to_half(f))));
      continue;
    }
    ASSERT_EQ(detail::float_to_half(f), bits) << std::hex << h;
  }
  EXPECT_EQ(detail::half_to_float(0x3c00), 1.0f);
  EXPECT_EQ(detail::half_to_float(0x7bff), 65504.0f);
  EXPECT_EQ(detail::half_to_float(0x0001), 0x1.0p-24f);
  EXPECT_EQ(detail::half_to_float(0xc000), -2.0f);
}

// Nearest half by search over all finite halves: slow but obviously right. Ties go to the even code.
uint16_t nearest_half_by_search(float f, const std::vector<double>& table) {
  if (std::isnan(f)) return 0x7e00;
  const double v = f;
  const uint16_t sign = std::signbit(f) ? 0x8000 : 0;
  const double a = std::fabs(v);
  if (a >= 65520.0) return static_cast<uint16_t>(sign | 0x7c00);  // past the midpoint to 2^16: infinity
  uint16_t best = 0;
  double best_err = std::numeric_limits<double>::infinity();
  // table is increasing in the code; binary search then check neighbours.
  size_t lo = 0, hi = table.size() - 1;
  while (hi - lo > 1) {
    const size_t mid = (lo + hi) / 2;
    (table[mid] <= a ? lo : hi) = mid;
  }
  for (size_t c : {lo, hi}) {
    const double err = std::fabs(table[c] - a);
    if (err < best_err || (err == best_err && (c & 1u) == 0)) best = static_cast<uint16_t>(c), best_err = err;
  }
  return static_cast<uint16_t>(sign | best);
}

TEST(HalfConversion, FloatToHalfRoundsToNearestEven) {
  std::vector<double> table(0x7c00);  // every finite non-negative half, by code
  for (uint32_t c = 0; c < 0x7c00u; ++c) table[c] = detail::half_to_float(static_cast<uint16_t>(c));
  std::vector<float> samples = {0.0f,
                                -0.0f,
                                1.0f,
                                65504.0f,
                                65519.99f,
                                65520.0f,
                                1e9f,
                                0x1.0p-24f,
                                0x1.0p-25f,
                                0x1.8p-25f,
                                0x1.0p-26f,
                                0x1.0p-14f,
                                0x1.ff8p-15f,
                                1.0f + 0x1.0p-11f,
                                1.0f + 0x1.8p-11f,
                                1.0f + 0x1.0p-11f + 0x1.0p-10f,
                                2049.0f,
                                2051.0f,
                                -3.14159f};
  std::mt19937_64 rng(42);
  for (int i = 0; i < 200000; ++i) {
    // Random bit patterns concentrated on the half range (exponents 2^-26 .. 2^17).
    const uint32_t exp = 101u + static_cast<uint32_t>(rng() % 43u);
    const uint32_t bits = static_cast<uint32_t>(rng() & 0x807fffffu) | (exp << 23);
    float f;
    std::memcpy(&f, &bits, 4);
    samples.push_back(f);
  }
  for (uint32_t c = 0; c < 0x7bffu; c += 7) {  // exact midpoints between neighbouring halves
    samples.push_back(static_cast<float>((table[c] + table[c + 1]) / 2));
  }
  for (float f : samples) {
    ASSERT_EQ(detail::float_to_half(f), nearest_half_by_search(f, table)) << std::hexfloat << f;
#if defined(__FLT16_MAX__)
    // The compiler's own conversion, where it has one, is a second independent opinion.
    const _Float16 h = static_cast<_Float16>(f);
    uint16_t hb;
    std::memcpy(&hb, &h, 2);
    ASSERT_EQ(detail::float_to_half(f), hb) << std::hexfloat << f;
#endif
  }
  EXPECT_EQ(detail::float_to_half(std::numeric_limits<float>::infinity()), 0x7c00);
  EXPECT_EQ(detail::float_to_half(-std::numeric_limits<float>::infinity()), 0xfc00);
  EXPECT_TRUE(std::isnan(detail::half_to_float(detail::float_to_half(std::nanf("")))));
}

TEST(HalfConversion, Bfloat16RoundsToNearestEven) {
  std::mt19937_64 rng(7);
  for (int i = 0; i < 500000; ++i) {
    const uint32_t bits = static_cast<uint32_t>(rng());
    float f;
    std::memcpy(&f, &bits, 4);
    const uint16_t b = detail::float_to_bf16(f);
    if (std::isnan(f)) {
      ASSERT_TRUE(std::isnan(detail::bf16_to_float(b))) << std::hex << bits;
      continue;
    }
    // The two bf16 neighbours of f are the truncation and the next code up; pick by distance, ties even.
    const uint32_t down = bits >> 16, up = down + 1;
    const double fd = f, vd = detail::bf16_to_float(static_cast<uint16_t>(down));
    const double vu = detail::bf16_to_float(static_cast<uint16_t>(up));
    uint32_t expect;
    if (std::isinf(f)) {
      expect = down;
    } else if (std::isinf(vu)) {
      // Past the largest finite bf16: RNE overflows to infinity at and beyond the midpoint 0x7f7f8000.
      expect = (bits & 0x7fffffffu) >= 0x7f7f8000u ? up : down;
    } else {
      const double ed = std::fabs(fd - vd), eu = std::fabs(fd - vu);
      expect = ed < eu ? down : eu < ed ? up : ((down & 1u) ? up : down);
    }
    ASSERT_EQ(b, expect) << std::hex << bits;
    ASSERT_EQ(detail::float_to_bf16(detail::bf16_to_float(b)), b);
  }
  EXPECT_EQ(detail::float_to_bf16(1.0f), 0x3f80);
  EXPECT_EQ(detail::float_to_bf16(1.0f + 0x1.0p-8f), 0x3f80);  // tie, even stays
  EXPECT_EQ(detail::float_to_bf16(1.0f + 0x1.8p-7f), 0x3f82);  // tie, odd goes up
}

// The tester's own sweep machinery on the reference, for the storage types whose conversions matter.
class ReferenceSweep : public ::testing::TestWithParam<testing::ConvCase> {};

TEST_P(ReferenceSweep, HalfTypesAgainstF32) {
  const testing::TestReport r = ConvTester(GetParam()).test("cpu-ref");
  EXPECT_LE(r.max_error_ratio, 1.0);
}

std::vector<testing::ConvCase> reference_sweep_cases() {
  testing::Sweep s;
  s.base.desc.batch = 1;
  s.base.desc.channels = 3;
  s.base.desc.multiplier = 2;
  s.base.desc.has_bias = true;
  s.base.data = DataKind::kUniform;
  s.base.seed = 100;
  s.sizes = {{13, 11}, {6, 7}};
  s.kernels = {{3, 3}, {5, 2}};
  s.strides = {{1, 1}, {2, 3}};
  s.dilations = {{1, 1}, {3, 2}};
  s.paddings = {PaddingMode::kSame, PaddingMode::kValid};
  s.layouts = {Layout::kNHWC, Layout::kNCHW};
  s.dtypes = {DType::kF16, DType::kBF16};
  return s.cases();
}

INSTANTIATE_TEST_SUITE_P(Cases, ReferenceSweep, ::testing::ValuesIn(reference_sweep_cases()), testing::ConvCaseName());

TEST(TesterSweep, ExpandsAndDropsInvalidCombinations) {
  testing::Sweep s;
  s.base.desc.height = s.base.desc.width = 4;
  s.kernels = {{1, 1}, {3, 3}, {5, 5}};
  s.paddings = {PaddingMode::kValid, PaddingMode::kSame};
  s.dtypes = {DType::kF32, DType::kF16};
  const std::vector<testing::ConvCase> cases = s.cases();
  // 3 * 2 * 2 = 12 combinations, of which k5 under VALID (2 dtypes) does not fit a 4x4 input.
  ASSERT_EQ(cases.size(), 10u);
  std::vector<std::string> names;
  for (size_t i = 0; i < cases.size(); ++i) {
    EXPECT_EQ(cases[i].seed, s.base.seed + i);
    names.push_back(testing::case_name(cases[i]));
    for (char ch : names.back()) EXPECT_TRUE(std::isalnum(static_cast<unsigned char>(ch)) || ch == '_') << names.back();
  }
  std::sort(names.begin(), names.end());
  EXPECT_EQ(std::unique(names.begin(), names.end()), names.end()) << "case names must be unique";
}

TEST(TesterCompare, CatchesNaNAndErrorsBeyondTheBound) {
  ProblemDesc d;
  d.width = 4;
  const Problem p = make(d);  // 4 outputs
  const std::vector<float> expected = {1.0f, -2.0f, 0.0f, 4.0f}, magnitude = {1.0f, 2.0f, 0.0f, 4.0f};
  EXPECT_EQ(testing::compare_outputs(p, expected, expected, magnitude, 0.0, 0.0).failures, 0);
  std::vector<float> got = expected;
  got[1] = -2.0f + 2.0f * 1e-3f;  // relative error 1e-3 of the magnitude
  EXPECT_EQ(testing::compare_outputs(p, got, expected, magnitude, 2e-3, 0.0).failures, 0);
  const testing::Comparison tight = testing::compare_outputs(p, got, expected, magnitude, 5e-4, 0.0);
  EXPECT_EQ(tight.failures, 1);
  EXPECT_NE(tight.failures_text.find("[n0 y0 x1 c0]"), std::string::npos) << tight.failures_text;
  got = expected;
  got[2] = std::numeric_limits<float>::quiet_NaN();
  const testing::Comparison nan = testing::compare_outputs(p, got, expected, magnitude, 1.0, 1.0);
  EXPECT_EQ(nan.failures, 1);
  EXPECT_TRUE(std::isinf(nan.max_bound_ratio));
  got[2] = 1e-30f;  // magnitude 0: only the absolute slack applies
  EXPECT_EQ(testing::compare_outputs(p, got, expected, magnitude, 1.0, 0.0).failures, 1);
  EXPECT_EQ(testing::compare_outputs(p, got, expected, magnitude, 1.0, 1e-20).failures, 0);
  got.pop_back();
  EXPECT_EQ(testing::compare_outputs(p, got, expected, magnitude, 1.0, 1.0).failures, 1);
}

}  // namespace
}  // namespace dsconv
