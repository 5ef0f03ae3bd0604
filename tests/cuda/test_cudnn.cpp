// The cudnn backend.
//  - Without a GPU: plan creation and the availability query say "no CUDA device", never crash.
//  - Everywhere: the mapping of a Problem onto cuDNN's descriptors (geometry.hpp) is checked by running
//    a host model of cuDNN's convolution (symmetric padding, KRSC/KCRS filters, groups) over the
//    geometry's pre-pad and filter gathers, against the CPU reference, exactly, for many random problems.
//  - With a GPU: cuDNN's results against the CPU reference over sweeps (ops, layouts, filter layouts,
//    dtypes, kernel/stride/dilation/padding tables, asymmetric SAME, bias + activation fused and not).
#include "dsconv/config.h"

#if defined(DSCONV_HAVE_CUDNN)

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "cuda/cudnn/geometry.hpp"
#include "dsconv/dsconv.h"
#include "dsconv/dsconv.hpp"
#include "support/tester.hpp"

namespace dsconv {
namespace {

using cudnn::ConvShape;
using cudnn::Gather4d;
using cudnn::Geometry;
using cudnn::Pad4d;
using cudnn::PadSplit;
using testing::ConvCase;
using testing::ConvCaseName;
using testing::ConvTester;
using testing::DataKind;
using testing::HostData;
using testing::Sweep;

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

#define SKIP_WITHOUT_CUDNN_DEVICE()                                                            \
  do {                                                                                         \
    std::string why_;                                                                          \
    if (!backend_available("cudnn", &why_)) GTEST_SKIP() << "cudnn cannot run here: " << why_; \
  } while (0)

Problem make(const ProblemDesc& d) {
  Result<Problem> p = Problem::create(d);
  EXPECT_TRUE(p.is_ok()) << p.status().to_string();
  return p.is_ok() ? *p : Problem();
}

// ---------------------------------------------------------------------------------------------
// No device
// ---------------------------------------------------------------------------------------------

TEST(CudnnNoDevice, PlanCreationAndAvailabilitySayNoCudaDevice) {
  std::string why;
  if (backend_available("cudnn", &why)) GTEST_SKIP() << "a CUDA device is present; this checks the CPU-only case";
  EXPECT_TRUE(contains(why, "no CUDA device")) << why;

  const std::vector<std::string> built = built_backends();
  EXPECT_NE(std::find(built.begin(), built.end(), "cudnn"), built.end()) << "cudnn is built in (DSCONV_HAVE_CUDNN)";

  for (const Op op : {Op::kDepthwise, Op::kConv2d, Op::kSeparable}) {
    for (const DType dt : {DType::kF32, DType::kF16, DType::kBF16}) {
      ProblemDesc d;
      d.op = op;
      d.height = d.width = 9;
      d.channels = 4;
      d.kernel_h = d.kernel_w = 3;
      d.out_channels = op == Op::kDepthwise ? 0 : 6;
      d.padding = PaddingMode::kSame;
      d.dtype = dt;
      const Problem p = make(d);
      Result<Plan> plan = Plan::create(p, "cudnn");
      ASSERT_FALSE(plan.is_ok()) << "planned on " << plan->backend();
      EXPECT_EQ(plan.status().code(), StatusCode::kNoDevice) << plan.status().to_string();
      EXPECT_TRUE(contains(plan.status().message(), "cudnn")) << plan.status().message();
      EXPECT_TRUE(contains(plan.status().message(), "no CUDA device")) << plan.status().message();
    }
  }

  // The C API reports the same code and a readable last error.
  dsconv_problem_desc_t desc;
  dsconv_problem_desc_init(&desc);
  desc.height = desc.width = 8;
  desc.channels = 3;
  desc.kernel_h = desc.kernel_w = 3;
  dsconv_problem_t problem = nullptr;
  ASSERT_EQ(dsconv_problem_create(&problem, &desc), DSCONV_STATUS_SUCCESS) << dsconv_last_error();
  dsconv_plan_t plan = nullptr;
  EXPECT_EQ(dsconv_plan_create(&plan, problem, "cudnn"), DSCONV_STATUS_NO_DEVICE);
  EXPECT_TRUE(contains(dsconv_last_error(), "no CUDA device")) << dsconv_last_error();
  EXPECT_EQ(plan, nullptr);
  dsconv_problem_destroy(problem);
}

// ---------------------------------------------------------------------------------------------
// The mapping, checked on the host
// ---------------------------------------------------------------------------------------------

TEST(CudnnGeometry, PaddingSplitsIntoSymmetricPartAndExplicitExcess) {
  struct Case {
    int64_t in, k, s, d, lo, hi, out;
    PadSplit expect;
  };
  // clang-format off
  const Case cases[] = {
      // SAME 3x3 stride 1: (1,1), symmetric.
      {9, 3, 1, 1, 1, 1, 9, {1, 0, 0, 0}},
      // SAME 4 stride 1: total 3 -> (1,2); the extra bottom row is reached: pre-pad it.
      {9, 4, 1, 1, 1, 2, 9, {1, 0, 1, 0}},
      // SAME 3 stride 2 over an even input: total 1 -> (0,1), reached.
      {16, 3, 2, 1, 0, 1, 8, {0, 0, 1, 0}},
      // SAME 2 dilation 3 stride 1: span 4, total 3 -> (1,2).
      {7, 2, 1, 3, 1, 2, 7, {1, 0, 1, 0}},
      // Explicit (1,4) with stride 2: windows reach 2 rows below, 2 of the 4 are dropped.
      {8, 3, 2, 1, 1, 4, 5, {1, 0, 1, 2}},
      // Explicit (3,1): more before than after: the excess before is pre-padded.
      {8, 3, 1, 1, 3, 1, 10, {1, 2, 0, 0}},
      // Explicit (2,5) where none of the padding after is reached.
      {10, 3, 4, 1, 2, 5, 3, {0, 2, 0, 5}},
      // VALID.
      {10, 3, 1, 2, 0, 0, 6, {0, 0, 0, 0}},
  };
  // clang-format on
  for (const Case& c : cases) {
    SCOPED_TRACE("in " + std::to_string(c.in) + " k " + std::to_string(c.k) + " s " + std::to_string(c.s) + " d " +
                 std::to_string(c.d) + " pad (" + std::to_string(c.lo) + "," + std::to_string(c.hi) + ")");
    const PadSplit r = cudnn::split_padding(c.in, c.k, c.s, c.d, c.lo, c.hi, c.out);
    EXPECT_EQ(r.symmetric, c.expect.symmetric);
    EXPECT_EQ(r.extra_before, c.expect.extra_before);
    EXPECT_EQ(r.extra_after, c.expect.extra_after);
    EXPECT_EQ(r.dropped_after, c.expect.dropped_after);
    // What cuDNN computes from the split equals the problem's output size.
    const int64_t padded = c.in + r.extra_before + r.extra_after + 2 * r.symmetric;
    EXPECT_EQ((padded - ((c.k - 1) * c.d + 1)) / c.s + 1, c.out);
  }
}

TEST(CudnnGeometry, ProblemsBeyondCudnnsInt32DescriptorsAreRejectedWithTheReason) {
  ProblemDesc d;
  d.height = d.width = 4096;
  d.channels = 256;
  d.kernel_h = d.kernel_w = 3;
  d.padding = PaddingMode::kSame;  // 2^32 input elements
  const std::string r = cudnn::static_rejection(make(d));
  EXPECT_TRUE(contains(r, "input elements")) << r;
  EXPECT_TRUE(contains(r, std::to_string(int64_t{4096} * 4096 * 256))) << r;
  d.channels = 8;
  EXPECT_EQ(cudnn::static_rejection(make(d)), "");
  d.op = Op::kConv2d;
  d.channels = 70000;
  d.out_channels = 70000;
  d.height = d.width = 1;
  d.kernel_h = d.kernel_w = 1;  // 4.9e9 filter elements
  const std::string f = cudnn::static_rejection(make(d));
  EXPECT_TRUE(contains(f, "filter elements")) << f;
}

// Found by the fuzz targets (fuzz/corpus/*/regression-cudnn-*): counts that are no tensor of the problem,
// the padded input's elements and conv2d's N*C*OH*OW, overflowed int64 (undefined behaviour) for problems
// whose every tensor fits. They saturate now, and the rejection says so.
TEST(CudnnGeometry, CountsBeyondInt64AreRejectedWithoutOverflow) {
  ProblemDesc d;
  d.op = Op::kConv2d;
  d.channels = 1024;  // 1024 * (2^30 + 1)^2 is beyond int64; the output, (2^30 + 1)^2 elements, fits
  d.out_channels = 1;
  d.padding = PaddingMode::kExplicit;
  d.pad_top = d.pad_left = int64_t{1} << 30;
  const std::string r = cudnn::static_rejection(make(d));
  EXPECT_TRUE(contains(r, "input elements (padded) is beyond int64")) << r;
}

// The CPU model of cuDNN's forward cross-correlation, in the terms of its descriptors: x and y in
// NHWC or NCHW, w in KRSC (NHWC) or KCRS (NCHW), `groups` groups of c_per_group input channels, symmetric
// zero padding.
std::vector<double> model_conv(const ConvShape& cs, bool nhwc, const std::vector<double>& x,
                               const std::vector<double>& w) {
  const int64_t N = cs.n, C = cs.c, H = cs.h, W = cs.w, K = cs.k, Cg = cs.c_per_group, R = cs.r, S = cs.s;
  const int64_t OH = cs.out_h, OW = cs.out_w, k_per_group = K / cs.groups;
  auto xi = [&](int64_t n, int64_t c, int64_t h, int64_t ww) {
    return nhwc ? ((n * H + h) * W + ww) * C + c : ((n * C + c) * H + h) * W + ww;
  };
  auto wi = [&](int64_t k, int64_t cg, int64_t r, int64_t s) {
    return nhwc ? ((k * R + r) * S + s) * Cg + cg : ((k * Cg + cg) * R + r) * S + s;
  };
  auto yi = [&](int64_t n, int64_t k, int64_t h, int64_t ww) {
    return nhwc ? ((n * OH + h) * OW + ww) * K + k : ((n * K + k) * OH + h) * OW + ww;
  };
  std::vector<double> y(static_cast<size_t>(N * K * OH * OW), 0.0);
  for (int64_t n = 0; n < N; ++n)
    for (int64_t k = 0; k < K; ++k)
      for (int64_t oy = 0; oy < OH; ++oy)
        for (int64_t ox = 0; ox < OW; ++ox) {
          double acc = 0.0;
          for (int64_t cg = 0; cg < Cg; ++cg)
            for (int64_t r = 0; r < R; ++r)
              for (int64_t s = 0; s < S; ++s) {
                const int64_t iy = oy * cs.stride_h - cs.pad_h + r * cs.dilation_h;
                const int64_t ix = ox * cs.stride_w - cs.pad_w + s * cs.dilation_w;
                if (iy < 0 || iy >= H || ix < 0 || ix >= W) continue;
                acc += x[static_cast<size_t>(xi(n, (k / k_per_group) * Cg + cg, iy, ix))] *
                       w[static_cast<size_t>(wi(k, cg, r, s))];
              }
          y[static_cast<size_t>(yi(n, k, oy, ox))] = acc;
        }
  return y;
}

// What the pre-pad and gather kernels compute, index for index.
std::vector<double> model_pad(const Pad4d& p, const std::vector<double>& src) {
  const int64_t total = p.dst_dims[0] * p.dst_dims[1] * p.dst_dims[2] * p.dst_dims[3];
  std::vector<double> dst(static_cast<size_t>(total));
  for (int64_t i = 0; i < total; ++i) {
    int64_t rem = i, off = 0, stride = 1;
    bool inside = true;
    for (int d = 3; d >= 0; --d) {
      const int64_t c = rem % p.dst_dims[d] - p.before[d];
      rem /= p.dst_dims[d];
      inside = inside && c >= 0 && c < p.src_dims[d];
      off += c * stride;
      stride *= p.src_dims[d];
    }
    dst[static_cast<size_t>(i)] = inside ? src.at(static_cast<size_t>(off)) : 0.0;
  }
  return dst;
}

std::vector<double> model_gather(const Gather4d& g, const std::vector<double>& src) {
  const int64_t total = g.dims[0] * g.dims[1] * g.dims[2] * g.dims[3];
  EXPECT_EQ(static_cast<size_t>(total), src.size()) << "a reorder is a permutation of the whole filter";
  std::vector<double> dst(static_cast<size_t>(total));
  std::vector<int> hits(src.size(), 0);
  for (int64_t i = 0; i < total; ++i) {
    int64_t rem = i, off = 0;
    for (int d = 3; d >= 0; --d) {
      off += (rem % g.dims[d]) * g.src_strides[d];
      rem /= g.dims[d];
    }
    dst[static_cast<size_t>(i)] = src.at(static_cast<size_t>(off));
    ++hits.at(static_cast<size_t>(off));
  }
  EXPECT_TRUE(std::all_of(hits.begin(), hits.end(), [](int h) { return h == 1; })) << "reorder is not a permutation";
  return dst;
}

std::vector<double> widen(const std::vector<float>& v) { return std::vector<double>(v.begin(), v.end()); }

// The whole cudnn pipeline of `g` on the host: pre-pad, reorders, stage(s), epilogue.
std::vector<float> model_pipeline(const Problem& p, const Geometry& g, const HostData& data) {
  std::vector<double> x = widen(data.input);
  if (g.prepad) x = model_pad(g.pad, x);
  std::vector<double> w = widen(data.filter);
  if (g.reorder_filter) w = model_gather(g.filter_gather, w);
  std::vector<double> y = model_conv(g.first, g.nhwc, x, w);
  if (g.separable) {
    std::vector<double> pw = widen(data.pointwise);
    if (g.reorder_pointwise) pw = model_gather(g.pointwise_gather, pw);
    y = model_conv(g.pointwise, g.nhwc, y, pw);
  }
  std::vector<float> out(y.size());
  for (size_t i = 0; i < y.size(); ++i) {
    double v = y[i];
    if (p.has_bias())
      v += data.bias.at(static_cast<size_t>((static_cast<int64_t>(i) / g.epilogue_inner) % g.out_channels));
    if (p.activation() != Activation::kNone && v < 0) v = 0;
    if (p.activation() == Activation::kRelu6 && v > 6) v = 6;
    out[i] = static_cast<float>(v);
  }
  return out;
}

ProblemDesc random_desc(std::mt19937_64& rng) {
  auto pick = [&](int64_t lo, int64_t hi) { return std::uniform_int_distribution<int64_t>(lo, hi)(rng); };
  ProblemDesc d;
  d.op = static_cast<Op>(pick(0, 2));
  d.batch = pick(1, 2);
  d.height = pick(1, 12);
  d.width = pick(1, 12);
  d.channels = pick(1, 5);
  d.kernel_h = pick(1, 5);
  d.kernel_w = pick(1, 5);
  d.multiplier = d.op == Op::kConv2d ? 1 : pick(1, 3);
  d.out_channels = d.op == Op::kDepthwise ? 0 : pick(1, 5);
  d.stride_h = pick(1, 3);
  d.stride_w = pick(1, 3);
  d.dilation_h = pick(1, 3);
  d.dilation_w = pick(1, 3);
  d.padding = static_cast<PaddingMode>(pick(0, 2));
  d.pad_top = pick(0, 4), d.pad_bottom = pick(0, 4), d.pad_left = pick(0, 4), d.pad_right = pick(0, 4);
  d.layout = pick(0, 1) ? Layout::kNHWC : Layout::kNCHW;
  d.filter_layout = pick(0, 1) ? FilterLayout::kTF : FilterLayout::kOIHW;
  d.has_bias = pick(0, 1) == 1;
  d.activation = static_cast<Activation>(pick(0, 2));
  return d;
}

TEST(CudnnGeometry, HostModelOfTheCudnnPipelineMatchesTheReferenceExactly) {
  constexpr uint64_t kSeed = 20250611;
  std::mt19937_64 rng(kSeed);
  int checked = 0, prepadded = 0, dropped = 0, reordered = 0, separable = 0;
  for (int attempt = 0; attempt < 2000 && checked < 400; ++attempt) {
    const ProblemDesc d = random_desc(rng);
    Result<Problem> made = Problem::create(d);
    if (!made) continue;  // e.g. a dilated kernel larger than the input under VALID
    const Problem& p = *made;
    SCOPED_TRACE("seed " + std::to_string(kSeed) + " attempt " + std::to_string(attempt) + ": " + p.descriptor());
    ASSERT_EQ(cudnn::static_rejection(p), "");
    const Geometry g = cudnn::make_geometry(p);

    // What cudnnGetConvolution2dForwardOutputDim will compute must be the problem's output.
    for (const ConvShape* cs : {&g.first, &g.pointwise}) {
      if (cs == &g.pointwise && !g.separable) continue;
      EXPECT_EQ((cs->h + 2 * cs->pad_h - ((cs->r - 1) * cs->dilation_h + 1)) / cs->stride_h + 1, p.out_h());
      EXPECT_EQ((cs->w + 2 * cs->pad_w - ((cs->s - 1) * cs->dilation_w + 1)) / cs->stride_w + 1, p.out_w());
      EXPECT_EQ(cs->c % cs->groups, 0);
      EXPECT_EQ(cs->k % cs->groups, 0);
      EXPECT_EQ(cs->c / cs->groups, cs->c_per_group);
    }
    // Workspace regions: aligned, disjoint, in order, before cuDNN's scratch.
    size_t end = 0;
    for (const cudnn::Region* r : {&g.filter, &g.pointwise_filter, &g.padded_input, &g.mid}) {
      if (r->bytes == 0) continue;
      EXPECT_EQ(r->offset % cudnn::kWorkspaceAlignment, 0u);
      EXPECT_GE(r->offset, end);
      end = r->offset + r->bytes;
    }
    EXPECT_GE(g.scratch_offset, end);
    EXPECT_EQ(g.scratch_offset % cudnn::kWorkspaceAlignment, 0u);
    EXPECT_EQ(g.reorder_filter, g.filter.bytes > 0);
    EXPECT_EQ(g.prepad, g.padded_input.bytes > 0);
    // OIHW depthwise and OIHW conv2d under NCHW need no reorder; everything TF does (except nothing).
    if (p.filter_layout() == FilterLayout::kTF) EXPECT_TRUE(g.reorder_filter);
    if (p.filter_layout() == FilterLayout::kOIHW && (p.op() != Op::kConv2d || p.layout() == Layout::kNCHW))
      EXPECT_FALSE(g.reorder_filter);

    const HostData data = testing::random_data(p, DataKind::kSmallIntegers, kSeed + static_cast<uint64_t>(attempt));
    Result<std::vector<float>> expected = testing::reference_f32(p, data);
    ASSERT_TRUE(expected.is_ok()) << expected.status().to_string();
    const std::vector<float> got = model_pipeline(p, g, data);
    ASSERT_EQ(got.size(), expected->size());
    int64_t mismatches = 0;
    for (size_t i = 0; i < got.size(); ++i) mismatches += got[i] == (*expected)[i] ? 0 : 1;
    EXPECT_EQ(mismatches, 0) << "of " << got.size() << " elements";

    ++checked;
    prepadded += g.prepad ? 1 : 0;
    dropped += g.pad_h.dropped_after + g.pad_w.dropped_after > 0 ? 1 : 0;
    reordered += g.reorder_filter ? 1 : 0;
    separable += g.separable ? 1 : 0;
  }
  // The sample must exercise every path it is meant to check.
  EXPECT_GE(checked, 400);
  EXPECT_GE(prepadded, 40) << "asymmetric padding cases";
  EXPECT_GE(dropped, 20) << "explicit padding that no window reaches";
  EXPECT_GE(reordered, 100);
  EXPECT_GE(separable, 60);
}

// ---------------------------------------------------------------------------------------------
// On a GPU: cuDNN against the CPU reference
// ---------------------------------------------------------------------------------------------

class CudnnSweep : public ::testing::TestWithParam<ConvCase> {};

TEST_P(CudnnSweep, MatchesReference) {
  SKIP_WITHOUT_CUDNN_DEVICE();
  const testing::TestReport r = ConvTester(GetParam()).test("cudnn", PlanOptions{{"ref"}});
  if (HasFatalFailure()) return;
  EXPECT_EQ(r.backend, "cudnn");
  EXPECT_EQ(r.implementation.rfind("cudnn_", 0), 0u) << r.implementation;
}

ConvCase base_case(Op op = Op::kDepthwise) {
  ConvCase c;
  c.desc.op = op;
  c.desc.batch = 2;
  c.desc.height = 13;
  c.desc.width = 11;
  c.desc.channels = 17;
  c.desc.kernel_h = c.desc.kernel_w = 3;
  c.desc.out_channels = op == Op::kDepthwise ? 0 : 9;
  c.desc.padding = PaddingMode::kSame;
  c.seed = 101;
  return c;
}

std::vector<ConvCase> layout_and_type_cases() {
  std::vector<ConvCase> all;
  for (const Op op : {Op::kDepthwise, Op::kConv2d, Op::kSeparable}) {
    Sweep s;
    s.base = base_case(op);
    s.base.desc.multiplier = op == Op::kConv2d ? 1 : 2;
    s.base.desc.pad_top = 2, s.base.desc.pad_bottom = 0, s.base.desc.pad_left = 1, s.base.desc.pad_right = 2;
    s.layouts = {Layout::kNHWC, Layout::kNCHW};
    s.filter_layouts = {FilterLayout::kTF, FilterLayout::kOIHW};
    s.dtypes = {DType::kF32, DType::kF16, DType::kBF16};
    s.paddings = {PaddingMode::kValid, PaddingMode::kSame, PaddingMode::kExplicit};
    for (ConvCase c : s.cases()) {
      c.data = c.desc.dtype == DType::kF32 ? DataKind::kSmallIntegers : DataKind::kUniform;
      all.push_back(c);
    }
  }
  return all;
}

std::vector<ConvCase> geometry_cases() {
  std::vector<ConvCase> all;
  for (const Op op : {Op::kDepthwise, Op::kConv2d, Op::kSeparable}) {
    Sweep s;
    s.base = base_case(op);
    s.base.desc.channels = op == Op::kDepthwise ? 33 : 5;
    s.kernels = {{1, 1}, {3, 3}, {5, 5}, {2, 3}};
    s.strides = {{1, 1}, {2, 2}, {2, 1}};
    s.dilations = {{1, 1}, {2, 2}, {1, 3}};
    s.paddings = {PaddingMode::kValid, PaddingMode::kSame};
    s.multipliers = op == Op::kConv2d ? std::vector<int64_t>{1} : std::vector<int64_t>{1, 3};
    for (const ConvCase& c : s.cases()) all.push_back(c);
  }
  return all;
}

std::vector<ConvCase> epilogue_cases() {
  std::vector<ConvCase> all;
  for (const Op op : {Op::kDepthwise, Op::kConv2d, Op::kSeparable}) {
    Sweep s;
    s.base = base_case(op);
    s.base.desc.channels = 8;
    s.layouts = {Layout::kNHWC, Layout::kNCHW};
    s.dtypes = {DType::kF32, DType::kF16, DType::kBF16};
    s.biases = {false, true};
    s.activations = {Activation::kNone, Activation::kRelu, Activation::kRelu6};
    for (ConvCase c : s.cases()) {
      c.data = c.desc.dtype == DType::kF32 ? DataKind::kSmallIntegers : DataKind::kUniform;
      all.push_back(c);
    }
  }
  return all;
}

// The activations cuDNN cannot fuse (silu, hswish, gelu, gelu_tanh) and the residual (cuDNN's z when it
// fuses, else added by dsconv's epilogue kernel after the convolution went to the workspace), with and
// without bias, in every op, both layouts and every dtype.
std::vector<ConvCase> residual_activation_cases() {
  std::vector<ConvCase> all;
  for (const Op op : {Op::kDepthwise, Op::kConv2d, Op::kSeparable}) {
    Sweep s;
    s.base = base_case(op);
    s.base.desc.channels = 8;
    s.base.desc.multiplier = op == Op::kConv2d ? 1 : 2;
    s.layouts = {Layout::kNHWC, Layout::kNCHW};
    s.dtypes = {DType::kF32, DType::kF16, DType::kBF16};
    s.biases = {true};
    s.activations = {Activation::kSilu, Activation::kHswish, Activation::kGelu, Activation::kGeluTanh,
                     Activation::kRelu};
    s.residuals = {false, true};
    for (ConvCase c : s.cases()) {
      if (!c.desc.has_residual && c.desc.activation == Activation::kRelu) continue;  // in epilogue_cases
      c.data = DataKind::kUniform;
      all.push_back(c);
    }
  }
  return all;
}

// clang-format off
INSTANTIATE_TEST_SUITE_P(LayoutsTypesPadding, CudnnSweep, ::testing::ValuesIn(layout_and_type_cases()), ConvCaseName());
INSTANTIATE_TEST_SUITE_P(KernelStrideDilation, CudnnSweep, ::testing::ValuesIn(geometry_cases()), ConvCaseName());
INSTANTIATE_TEST_SUITE_P(BiasActivation, CudnnSweep, ::testing::ValuesIn(epilogue_cases()), ConvCaseName());
INSTANTIATE_TEST_SUITE_P(ResidualActivation, CudnnSweep, ::testing::ValuesIn(residual_activation_cases()), ConvCaseName());
// clang-format on

TEST(CudnnGpu, AsymmetricSamePaddingIsExactAndUsesThePrePad) {
  SKIP_WITHOUT_CUDNN_DEVICE();
  struct Case {
    const char* what;
    ConvTester t;
    bool prepad;
  };
  const Case cases[] = {
      {"depthwise 4x4 stride 1 SAME: (1,2)", ConvTester().size(9, 10).channels(6).kernel(4, 4).padding_same(), true},
      {"depthwise 3x3 stride 2 SAME over 16x16: (0,1)",
       ConvTester().size(16, 16).channels(5).kernel(3, 3).stride(2).padding_same(), true},
      {"conv2d 2x2 dilation 3 SAME: (1,2)",
       ConvTester().op(Op::kConv2d).size(11, 9).channels(4).out_channels(6).kernel(2, 2).dilation(3).padding_same(),
       true},
      {"separable 5x5 stride 2 SAME over 12x14, NCHW",
       ConvTester()
           .op(Op::kSeparable)
           .size(12, 14)
           .channels(3)
           .multiplier(2)
           .out_channels(5)
           .kernel(5, 5)
           .stride(2)
           .padding_same()
           .layout(Layout::kNCHW),
       true},
      {"explicit (2,0,0,3)", ConvTester().size(8, 7).channels(4).kernel(3, 3).padding(2, 0, 0, 3), true},
      {"explicit (1,4) stride 2: unreachable rows dropped, symmetric",
       ConvTester().size(8, 8).channels(4).kernel(3, 3).stride(2).padding(1, 4, 1, 1), false},
      {"SAME 3x3 stride 1: symmetric", ConvTester().size(8, 8).channels(4).kernel(3, 3).padding_same(), false},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.what);
    const testing::TestReport r = c.t.test("cudnn", PlanOptions{{"ref"}});
    if (HasFatalFailure()) return;
    EXPECT_EQ(contains(r.implementation, "_prepad"), c.prepad) << r.implementation;
  }
}

TEST(CudnnGpu, BiasReluIsFusedOrRunsTheEpilogueKernelAndBothAreRight) {
  SKIP_WITHOUT_CUDNN_DEVICE();
  for (const Op op : {Op::kDepthwise, Op::kConv2d, Op::kSeparable}) {
    for (const DType dt : {DType::kF32, DType::kF16}) {
      ConvTester t = ConvTester()
                         .op(op)
                         .size(10, 9)
                         .channels(6)
                         .multiplier(op == Op::kConv2d ? 1 : 2)
                         .out_channels(op == Op::kDepthwise ? 0 : 7)
                         .kernel(3, 3)
                         .padding_same()
                         .dtype(dt)
                         .bias(true)
                         .activation(Activation::kRelu)
                         .data(dt == DType::kF32 ? DataKind::kSmallIntegers : DataKind::kUniform);
      SCOPED_TRACE(std::string(to_string(op)) + " " + to_string(dt));
      const testing::TestReport fused = t.test("cudnn", PlanOptions{{"ref"}});
      if (HasFatalFailure()) return;
      std::printf("%s %s: %s\n", to_string(op), to_string(dt), fused.implementation.c_str());
      const testing::TestReport plain = t.test("cudnn", PlanOptions{{"ref", "cudnn_fused"}});
      if (HasFatalFailure()) return;
      EXPECT_EQ(plain.implementation.rfind("cudnn_fused", 0), std::string::npos) << plain.implementation;
      EXPECT_TRUE(contains(plain.implementation, "_epilogue")) << plain.implementation;
    }
  }
}

TEST(CudnnGpu, PlanReportsWorkspaceAndChoiceAndSkipsAlgorithmsByName) {
  SKIP_WITHOUT_CUDNN_DEVICE();
  ProblemDesc d;
  d.op = Op::kConv2d;
  d.height = d.width = 16;
  d.channels = 8;
  d.out_channels = 8;
  d.kernel_h = d.kernel_w = 3;
  d.padding = PaddingMode::kSame;
  const Problem p = make(d);  // TF filter under NHWC: the reorder needs workspace
  Result<Plan> plan = Plan::create(p, "cudnn");
  ASSERT_TRUE(plan.is_ok()) << plan.status().to_string();
  EXPECT_EQ(plan->memory_space(), MemorySpace::kDevice);
  EXPECT_GE(plan->workspace_bytes(), static_cast<size_t>(p.filter_elements()) * 4);
  const std::string first = plan->implementation();
  std::printf("%s", plan->explain().c_str());

  // Skipping the chosen algorithm by its full name makes the next one in cuDNN's order win.
  Result<Plan> other = Plan::create(p, "cudnn", PlanOptions{{first}});
  if (other.is_ok()) {
    EXPECT_NE(other->implementation(), first);
    bool noted = false;
    for (const Rejection& r : other->rejections()) noted = noted || contains(r.reason, "skipped");
    EXPECT_TRUE(noted) << other->explain();
  } else {
    EXPECT_EQ(other.status().code(), StatusCode::kNotSupported) << other.status().to_string();
  }
  // Skipping every cudnn implementation is an error, not a fallback.
  Result<Plan> none = Plan::create(p, "cudnn", PlanOptions{{"cudnn"}});
  ASSERT_FALSE(none.is_ok());
  EXPECT_EQ(none.status().code(), StatusCode::kNotSupported) << none.status().to_string();
}

TEST(CudnnGpu, AutotunedCudnnPlanUsesCudnnFindAndIsRight) {
  SKIP_WITHOUT_CUDNN_DEVICE();
  PlanOptions tune{{"ref"}};
  tune.autotune = true;
  ConvTester()
      .op(Op::kConv2d)
      .size(20, 18)
      .channels(8)
      .out_channels(16)
      .kernel(3, 3)
      .dilation(2)
      .padding_same()
      .test("cudnn", tune);
}

}  // namespace
}  // namespace dsconv

#endif  // DSCONV_HAVE_CUDNN
