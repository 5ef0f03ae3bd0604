// The cuda backend's conv2d (cuda/conv2d/) and separable (cuda/separable/) kernels against the CPU
// reference, on the emulator or a GPU. Every sweep row runs through ConvTester on backend "cuda" with the
// reference skipped, poisons the output with NaN and checks every element, and asserts which kernel the
// selection chose (fused and two-pass separable are named apart). The sweeps cover odd sizes, C and O
// that are not multiples of the 64 x 64 x 32 tile, strides, dilations up to rates larger than the map,
// every padding mode, both layouts and filter layouts, every dtype and every epilogue.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "cuda/common/known_devices.hpp"
#include "cuda/conv2d/offers.hpp"
#include "dsconv/dsconv.h"
#include "dsconv/dsconv.hpp"
#include "src/dispatch/backend.hpp"
#include "support/emulated_device.hpp"
#include "support/tester.hpp"

namespace dsconv::testing {
namespace {

struct GemmCase {
  ConvCase c;
  std::string expect;  // prefix of the implementation the selection must choose
  std::vector<std::string> skip = {"ref"};
  std::vector<std::string> only;  // when set: the only implementations allowed (a tile the selection would not take)
  bool tf32 = false;              // PlanOptions::allow_tf32
  const char* device = nullptr;   // on the emulator: the device impersonated (DSCONV_EMU_DEVICE), e.g. "sm_90:1"
};

void PrintTo(const GemmCase& c, std::ostream* os) {
  PrintTo(c.c, os);
  *os << " expect=" << c.expect;
}

std::string gemm_case_name(const ::testing::TestParamInfo<GemmCase>& info) {
  return case_name(info.param.c) + "_" + std::to_string(info.index);
}

const DType kDtypes[] = {DType::kF32, DType::kF16, DType::kBF16};
const Activation kActivations[] = {Activation::kNone,   Activation::kRelu, Activation::kRelu6,   Activation::kSilu,
                                   Activation::kHswish, Activation::kGelu, Activation::kGeluTanh};

std::string engine(DType dt) { return std::string(to_string(dt)) + (dt == DType::kF32 ? "_fma" : "_mma"); }

// Rotates padding, bias, activation, residual, filter layout, batch and data kind with `v`.
void vary(ProblemDesc* d, ConvCase* c, int v) {
  switch (v % 4) {
    case 0:
      d->padding = PaddingMode::kSame;
      break;
    case 1:
      d->padding = PaddingMode::kValid;
      break;
    case 2:
      d->padding = PaddingMode::kExplicit;
      d->pad_top = 1, d->pad_bottom = 2, d->pad_left = 0, d->pad_right = 3;
      break;
    default:  // wide enough that whole tiles of outputs read nothing but padding for some taps
      d->padding = PaddingMode::kExplicit;
      d->pad_top = 5, d->pad_bottom = 4, d->pad_left = 6, d->pad_right = 3;
  }
  if (!Problem::create(*d).is_ok()) d->padding = PaddingMode::kSame;
  d->has_bias = v % 2 == 1;
  d->activation = kActivations[(v / 2) % 7];
  d->has_residual = v % 3 == 2;
  d->filter_layout = (v / 3) % 2 == 0 ? FilterLayout::kTF : FilterLayout::kOIHW;
  if (v % 5 == 1) d->batch = 2;
  if (Result<Problem> p = Problem::create(*d); p.is_ok() && p->output_elements() < 32)
    d->activation = Activation::kNone;
  c->data = d->dtype != DType::kF32 && v % 2 == 1 ? DataKind::kUniform : DataKind::kSmallIntegers;
  c->seed = 3000 + static_cast<uint64_t>(v);
}

class GemmCuda : public ::testing::TestWithParam<GemmCase> {};

TEST_P(GemmCuda, MatchesReference) {
  DSCONV_REQUIRE_CUDA();
  const GemmCase& p = GetParam();
  PlanOptions options;
  options.skip_implementations = p.skip;
  options.only_implementations = p.only;
  options.allow_tf32 = p.tf32;
#if defined(DSCONV_CUDA_EMULATION)
  std::optional<EmulatedDevice> device;
  if (p.device != nullptr) device.emplace(p.device);
#endif
  const TestReport r = ConvTester(p.c).test("cuda", options);
  if (HasFatalFailure()) return;
  EXPECT_EQ(r.backend, "cuda");
  EXPECT_EQ(r.implementation.compare(0, p.expect.size(), p.expect), 0)
      << "chose " << r.implementation << ", expected " << p.expect << "...";
}

struct Shape {
  int64_t kh, kw, sh, sw, dh, dw;
};

// --- conv2d ----------------------------------------------------------------------------------------

// clang-format off
const Shape kConvShapes[] = {
  {3, 3, 1, 1, 1, 1}, {3, 3, 1, 1, 2, 2}, {3, 3, 2, 2, 1, 1}, {3, 3, 1, 1, 6, 6}, {3, 3, 1, 1, 12, 12},
  {5, 5, 2, 1, 2, 3}, {1, 1, 1, 1, 1, 1}, {1, 1, 2, 2, 1, 1}, {7, 1, 1, 1, 1, 1}, {2, 3, 3, 2, 2, 1},
  {4, 4, 1, 1, 1, 1}, {3, 3, 2, 2, 3, 3},
};
// clang-format on

// A conv2d of `shape` on an h x w x c input to o channels.
ProblemDesc conv2d(const Shape& shape, int64_t n, int64_t h, int64_t w, int64_t c, int64_t o, Layout layout, DType dt) {
  ProblemDesc d;
  d.op = Op::kConv2d;
  d.batch = n, d.height = h, d.width = w, d.channels = c, d.out_channels = o;
  d.kernel_h = shape.kh, d.kernel_w = shape.kw, d.stride_h = shape.sh, d.stride_w = shape.sw;
  d.dilation_h = shape.dh, d.dilation_w = shape.dw;
  d.layout = layout;
  d.dtype = dt;
  return d;
}

std::vector<GemmCase> conv2d_cases() {
  // (C, O): tile multiples, ragged, single channels, O beyond one 64-wide tile.
  const std::pair<int64_t, int64_t> channels[] = {{37, 70}, {1, 1}, {8, 64}, {3, 17}, {64, 8}, {33, 129}, {16, 24}};
  const std::pair<int64_t, int64_t> sizes[] = {{9, 11}, {13, 7}, {8, 8}, {11, 13}, {5, 6}, {7, 16}};
  std::vector<GemmCase> out;
  int v = 0;
  for (Layout layout : {Layout::kNHWC, Layout::kNCHW}) {
    for (const Shape& sh : kConvShapes) {
      for (DType dt : kDtypes) {
        ++v;
        const auto [c, o] = channels[v % 7];
        const auto [h, w] = sizes[(v / 2) % 6];
        ProblemDesc d = conv2d(sh, 1, h, w, c, o, layout, dt);
        GemmCase gc;
        vary(&d, &gc.c, v);
        gc.c.desc = d;
        gc.expect = std::string("conv2d_fwd_") + to_string(layout) + "_igemm_" + engine(dt) + "_tile64x64x32";
        out.push_back(gc);
      }
    }
  }
  return out;
}
INSTANTIATE_TEST_SUITE_P(Conv2d, GemmCuda, ::testing::ValuesIn(conv2d_cases()), gemm_case_name);

// DeepLab's atrous rates on a small map, several K chunks (C = 70) and tiles: most taps of rate 9 on a
// 12 x 12 map read padding only, for whole tiles, and are skipped.
std::vector<GemmCase> atrous_cases() {
  std::vector<GemmCase> out;
  int v = 0;
  for (int64_t rate : {1, 3, 9, 14}) {
    for (DType dt : kDtypes) {
      ProblemDesc d;
      d.op = Op::kConv2d;
      d.batch = 2, d.height = 12, d.width = 12, d.channels = 70, d.out_channels = 66;
      d.kernel_h = d.kernel_w = 3, d.dilation_h = d.dilation_w = rate;
      d.padding = PaddingMode::kSame;
      d.dtype = dt;
      d.has_bias = true;
      d.activation = Activation::kRelu;
      GemmCase gc;
      gc.c.desc = d;
      gc.c.data = dt == DType::kF32 ? DataKind::kSmallIntegers : DataKind::kUniform;
      gc.c.seed = 4100 + static_cast<uint64_t>(v++);
      gc.expect = "conv2d_fwd_nhwc_igemm_" + engine(dt);
      out.push_back(gc);
    }
  }
  return out;
}
INSTANTIATE_TEST_SUITE_P(Atrous, GemmCuda, ::testing::ValuesIn(atrous_cases()), gemm_case_name);

// The larger 16-bit tiles (wide 128 x 128: 8 warps of 64 x 32; tall 128 x 64: 4 warps of 64 x 32; the
// fused separable kernel's 64 x 256: 8 warps of 32 x 64) are taken by grids that fill the device: these
// small problems ask for them by name. O = 130 spans two column tiles of the first two, and both 64-column
// halves of the wide tile's epilogue; O = 200 and 72 leave the one 64 x 256 column tile (the selection
// takes it only where it holds every output channel) ragged in its fourth and second 64-column quarters.
std::vector<GemmCase> wide_cases() {
  std::vector<GemmCase> out;
  int v = 0;
  for (const char* tile : {"tile128x128x32", "tile128x64x32", "tile64x256x32"}) {
    const bool separable_only = std::string(tile) == "tile64x256x32";
    for (Layout layout : {Layout::kNHWC, Layout::kNCHW}) {
      for (DType dt : {DType::kF16, DType::kBF16}) {
        for (const Shape& sh : {Shape{3, 3, 1, 1, 2, 2}, Shape{3, 3, 2, 2, 1, 1}, Shape{1, 1, 1, 1, 1, 1}}) {
          ++v;
          ProblemDesc d = conv2d(sh, 1 + v % 2, 11, 13, v % 2 ? 40 : 33, v % 3 ? 130 : 72, layout, dt);
          GemmCase gc;
          vary(&d, &gc.c, v);
          gc.c.desc = d;
          gc.expect = std::string("conv2d_fwd_") + to_string(layout) + "_igemm_" + engine(dt) + "_" + tile;
          gc.only = {gc.expect};
          if (!separable_only) out.push_back(gc);

          d.op = Op::kSeparable;
          d.multiplier = v % 3 == 0 ? 2 : 1;
          d.kernel_h = d.kernel_w = 3;
          // Fused on the 64-wide tile: at most two column tiles (kMaxFusedRecompute, separable/offers.cpp).
          if (std::string(tile) == "tile128x64x32") d.out_channels = std::min<int64_t>(d.out_channels, 128);
          if (separable_only && v % 3 != 0) d.out_channels = 200;
          gc.c.desc = d;
          gc.c.seed += 500;
          if (!Problem::create(d).is_ok()) continue;
          gc.expect = "sep_fwd_" + std::string(to_string(layout)) + "_fused_" + engine(dt) + "_" + tile;
          gc.only = {gc.expect};
          out.push_back(gc);
        }
      }
    }
  }
  return out;
}
INSTANTIATE_TEST_SUITE_P(LargeTiles, GemmCuda, ::testing::ValuesIn(wide_cases()), gemm_case_name);

// cp.async staging (NHWC 16-bit conv2d with a TF filter, C and O multiples of 8): 128 x 128 tiles of 4 warps
// and 64 x 128 tiles of 2, each warp 64 x 64 reading fragments with ldmatrix, 3 stages. Asked for by name: a
// problem with fewer chunks than stages (C = 8, 1 x 1), chunks ragged in C (C = 72: the last chunk is one
// vector, the others zero fills), two column tiles (O = 136, 200), several row tiles ending ragged, taps
// skipped for whole tiles, and every epilogue.
std::vector<GemmCase> async_cases() {
  const std::pair<int64_t, int64_t> channels[] = {{16, 24}, {72, 136}, {8, 8}, {40, 200}, {32, 64}};
  std::vector<GemmCase> out;
  int v = 0;
  for (const char* tile : {"tile128x128x32", "tile64x128x32"}) {
    for (const Shape& sh : kConvShapes) {
      for (DType dt : {DType::kF16, DType::kBF16}) {
        ++v;
        const auto [c, o] = channels[v % 5];
        ProblemDesc d = conv2d(sh, 1 + v % 2, 9 + v % 4, 13, c, o, Layout::kNHWC, dt);
        GemmCase gc;
        vary(&d, &gc.c, v);
        d.filter_layout = FilterLayout::kTF;  // cp.async copies filter rows along O
        gc.c.desc = d;
        gc.expect = "conv2d_fwd_nhwc_igemm_" + engine(dt) + "_async3_" + tile;
        gc.only = {gc.expect};
        out.push_back(gc);
      }
    }
  }
  return out;
}
INSTANTIATE_TEST_SUITE_P(AsyncTile, GemmCuda, ::testing::ValuesIn(async_cases()), gemm_case_name);

// f32 on TF32 tensor cores, opted in (PlanOptions::allow_tf32): conv2d and fused separable, both layouts
// and filter layouts, strides, dilations, ragged C and O, every epilogue. Small-integer data is exact in
// TF32 (11 significant bits) and in f32 sums, so the results must equal the reference's exactly: a wrong
// fragment, a missed rounding or a lost term shows.
std::vector<GemmCase> tf32_cases() {
  const std::pair<int64_t, int64_t> channels[] = {{37, 70}, {8, 64}, {3, 17}, {33, 129}, {16, 24}};
  std::vector<GemmCase> out;
  int v = 0;
  for (Layout layout : {Layout::kNHWC, Layout::kNCHW}) {
    for (const Shape& sh : kConvShapes) {
      ++v;
      const auto [c, o] = channels[v % 5];
      ProblemDesc d = conv2d(sh, 1, 9 + v % 3, 11, c, o, layout, DType::kF32);
      GemmCase gc;
      vary(&d, &gc.c, v);
      gc.c.desc = d;
      gc.c.data = DataKind::kSmallIntegers;
      gc.tf32 = true;
      gc.expect = std::string("conv2d_fwd_") + to_string(layout) + "_igemm_f32_tf32_mma_tile64x64x32";
      out.push_back(gc);
      if (v % 3 != 0) continue;
      d.op = Op::kSeparable;
      d.multiplier = v % 2 == 0 ? 2 : 1;
      d.kernel_h = d.kernel_w = 3;
      d.out_channels = std::min<int64_t>(d.out_channels, 128);
      if (!Problem::create(d).is_ok()) continue;
      gc.c.desc = d;
      gc.c.seed += 500;
      gc.expect = "sep_fwd_" + std::string(to_string(layout)) + "_fused_f32_tf32_mma_tile64x64x32";
      // These grids are a tile or two: the two passes would be preferred (kMaxFusedGridShare).
      gc.skip.push_back("sep_fwd_" + std::string(to_string(layout)) + "_twopass");
      out.push_back(gc);
    }
  }
  return out;
}
INSTANTIATE_TEST_SUITE_P(Tf32, GemmCuda, ::testing::ValuesIn(tf32_cases()), gemm_case_name);

// Real-valued data on TF32: each input rounds to 11 significant bits (relative error 2^-11), so a product
// is within 2^-10 of the exact one and the result within about 2^-10 of the sum of |products|, far
// outside f32's tolerance but inside that bound.
TEST(GemmCudaTf32, UniformDataIsWithinTf32sBound) {
  DSCONV_REQUIRE_CUDA();
  for (Layout layout : {Layout::kNHWC, Layout::kNCHW}) {
    ProblemDesc d = conv2d(Shape{3, 3, 1, 1, 2, 2}, 2, 10, 12, 96, 80, layout, DType::kF32);
    d.padding = PaddingMode::kSame;
    d.has_bias = true;
    ConvCase c;
    c.desc = d;
    c.data = DataKind::kUniform;
    c.seed = 6100 + static_cast<uint64_t>(layout == Layout::kNCHW);
    PlanOptions options;
    options.skip_implementations = {"ref"};
    options.allow_tf32 = true;
    const TestReport r = ConvTester(c).test("cuda", options);  // the toolkit's TF32 bound
    if (HasFatalFailure()) return;
    EXPECT_NE(r.implementation.find("_tf32_"), std::string::npos) << r.implementation;
    EXPECT_GT(r.max_abs_error, 0.0) << "rounded inputs should move some output";
  }
}

// TF32 only when asked for: the default keeps f32 on FMA units, a device without TF32 tensor cores keeps
// FMA with the option on, and the C API's field reaches the plan.
TEST(GemmCudaTf32, OnlyWhenOptedIn) {
  const detail::Backend* cuda = detail::find_backend("cuda");
  if (cuda == nullptr) GTEST_SKIP() << "the cuda backend is not built";
  ProblemDesc d = conv2d(Shape{3, 3, 1, 1, 6, 6}, 8, 33, 33, 512, 256, Layout::kNHWC, DType::kF32);
  d.padding = PaddingMode::kSame;
  Result<Problem> p = Problem::create(d);
  ASSERT_TRUE(p.is_ok()) << p.status().to_string();
  detail::DeviceInfo turing = cuda::kKnownDevices[1];
  turing.name = "sm_75 (described)", turing.cc_major = 7, turing.cc_minor = 5;
  for (bool opt_in : {false, true}) {
    PlanOptions options{{"ref"}};
    options.allow_tf32 = opt_in;
    for (const detail::DeviceInfo& dev : cuda::kKnownDevices) {
      const detail::Selection s = detail::select_for_device(*cuda, *p, options, dev, /*prepare=*/false);
      ASSERT_NE(s.impl, nullptr) << s.status.to_string();
      // (with the split tail where the last wave is part full: 548 tiles on 108 or 132 SMs)
      EXPECT_EQ(s.impl->name().rfind(opt_in ? "conv2d_fwd_nhwc_igemm_f32_tf32_mma_tile64x64x32"
                                            : "conv2d_fwd_nhwc_igemm_f32_fma_tile64x64x32",
                                     0),
                0u)
          << dev.name << ": " << s.impl->name();
    }
    const detail::Selection s = detail::select_for_device(*cuda, *p, options, turing, /*prepare=*/false);
    ASSERT_NE(s.impl, nullptr) << s.status.to_string();
    EXPECT_EQ(s.impl->name().rfind("conv2d_fwd_nhwc_igemm_f32_fma_tile64x64x32", 0), 0u) << s.impl->name();
  }

  DSCONV_REQUIRE_CUDA();
  dsconv_problem_desc_t cd;
  dsconv_problem_desc_init(&cd);
  cd.op = DSCONV_OP_CONV2D;
  cd.height = cd.width = 9, cd.channels = 16, cd.out_channels = 24, cd.kernel_h = cd.kernel_w = 3;
  dsconv_problem_t problem = nullptr;
  ASSERT_EQ(dsconv_problem_create(&problem, &cd), DSCONV_STATUS_SUCCESS) << dsconv_last_error();
  for (int opt_in : {0, 1}) {
    dsconv_plan_options_t o;
    dsconv_plan_options_init(&o);
    EXPECT_EQ(o.allow_tf32, 0);
    o.allow_tf32 = opt_in;
    dsconv_plan_t plan = nullptr;
    ASSERT_EQ(dsconv_plan_create_with_options(&plan, problem, "cuda", &o), DSCONV_STATUS_SUCCESS)
        << dsconv_last_error();
    const char* name = nullptr;
    ASSERT_EQ(dsconv_plan_implementation(plan, &name), DSCONV_STATUS_SUCCESS);
    EXPECT_EQ(std::string(name).find("_tf32_") != std::string::npos, opt_in == 1) << name;
    dsconv_plan_destroy(plan);
  }
  dsconv_problem_destroy(problem);
}

// The tile choice counts the taps the kernel skips: at rate 18 on a 33 x 33 map a single-pixel tile runs
// (63/33)^2 of 9 taps per pixel (rows 18.., all, ..14 for the three filter rows; columns alike), a tile of
// a whole image all 9, and tiles of two rows skip by rows only.
TEST(GemmCudaSelection, ExecutedTapFractionFollowsTheKernelsSkipping) {
  ProblemDesc d;
  d.op = Op::kConv2d;
  d.height = d.width = 33, d.channels = 8, d.out_channels = 8;
  d.kernel_h = d.kernel_w = 3, d.dilation_h = d.dilation_w = 18;
  d.padding = PaddingMode::kSame;
  Result<Problem> p = Problem::create(d);
  ASSERT_TRUE(p.is_ok());
  EXPECT_NEAR(cuda::gemm::executed_tap_fraction(*p, 1), (63.0 / 33) * (63.0 / 33) / 9, 1e-12);
  EXPECT_DOUBLE_EQ(cuda::gemm::executed_tap_fraction(*p, 33 * 33), 1.0);
  EXPECT_DOUBLE_EQ(cuda::gemm::executed_tap_fraction(*p, 33), 63.0 / 33 / 3);  // one row each: columns all read
  const double two_rows = cuda::gemm::executed_tap_fraction(*p, 66);
  EXPECT_GT(two_rows, 63.0 / 33 / 3);
  EXPECT_LT(two_rows, 1.0);
  d.dilation_h = d.dilation_w = 1;  // dense SAME 3x3: only the border pixels' tiles skip anything
  p = Problem::create(d);
  ASSERT_TRUE(p.is_ok());
  EXPECT_NEAR(cuda::gemm::executed_tap_fraction(*p, 1), (97.0 / 99) * (97.0 / 99), 1e-12);
}

// Selection for described devices (no run): every architecture dsconv is built for takes the implicit GEMM,
// with a tile sized by its SM count; a device before compute capability 8.0 has no mma.sync m16n8k16, so
// f16 declines there with the reason and f32 stays on the FMA tile.
TEST(GemmCudaSelection, EveryKnownDeviceTakesTheImplicitGemm) {
  const detail::Backend* cuda = detail::find_backend("cuda");
  if (cuda == nullptr) GTEST_SKIP() << "the cuda backend is not built";
  const auto select = [&](const detail::DeviceInfo& dev, const ProblemDesc& d) {
    Result<Problem> p = Problem::create(d);
    EXPECT_TRUE(p.is_ok()) << p.status().to_string();
    return detail::select_for_device(*cuda, *p, PlanOptions{{"ref"}}, dev, /*prepare=*/false);
  };
  ProblemDesc aspp;  // DeepLab's ASPP at rate 12, N = 8
  aspp.op = Op::kConv2d;
  aspp.batch = 8, aspp.height = aspp.width = 33, aspp.channels = 2048, aspp.out_channels = 256;
  aspp.kernel_h = aspp.kernel_w = 3, aspp.dilation_h = aspp.dilation_w = 12;
  aspp.padding = PaddingMode::kSame;
  aspp.dtype = DType::kF16;
  ProblemDesc sep = aspp;
  sep.op = Op::kSeparable;
  for (const detail::DeviceInfo& dev : cuda::kKnownDevices) {
    SCOPED_TRACE(dev.name);
    const detail::Selection c = select(dev, aspp);
    ASSERT_NE(c.impl, nullptr) << c.status.to_string();
    EXPECT_EQ(c.impl->name().rfind("conv2d_fwd_nhwc_igemm_f16_mma_async3_tile", 0), 0u) << c.impl->name();
    if (dev.sm_count == 132) {
      // On 132 SMs the 138 tiles of 128 x 128 would leave 6 SMs a second tile. With the split tail, 132 run
      // whole and the other 6 in 22 slices each (one more wave of 132 slice blocks): the busiest SM does
      // 1 + 1/22 tiles' work, less than 64 x 128's 3 half tiles. 65 x 65 is 530 tiles, 4 waves and 2: those
      // 2 in 63 slices, as many as keep 8 of the 504 executed chunks in each.
      EXPECT_EQ(c.impl->name(), "conv2d_fwd_nhwc_igemm_f16_mma_async3_tile128x128x32_tailsplit22");
      ProblemDesc large = aspp;
      large.height = large.width = 65;
      const detail::Selection l = select(dev, large);
      ASSERT_NE(l.impl, nullptr) << l.status.to_string();
      EXPECT_EQ(l.impl->name(), "conv2d_fwd_nhwc_igemm_f16_mma_async3_tile128x128x32_tailsplit63");
      // A benchmark of whole tiles names the tile and forbids its split tail.
      Result<Problem> p = Problem::create(aspp);
      ASSERT_TRUE(p.is_ok());
      PlanOptions whole{{"ref", "conv2d_fwd_nhwc_igemm_f16_mma_async3_tile64x128x32_tailsplit"},
                        {"conv2d_fwd_nhwc_igemm_f16_mma_async3_tile64x128x32"}};
      const detail::Selection w = detail::select_for_device(*cuda, *p, whole, dev, /*prepare=*/false);
      ASSERT_NE(w.impl, nullptr) << w.status.to_string();
      EXPECT_EQ(w.impl->name(), "conv2d_fwd_nhwc_igemm_f16_mma_async3_tile64x128x32");
      EXPECT_EQ(w.impl->workspace_bytes(), 0u);
      EXPECT_EQ(c.impl->workspace_bytes(), size_t{6} * 22 * 128 * 128 * 4 + 256);
    }
    // cp.async needs 16-byte vectors of channels along K and of filter rows along O: NCHW, an OIHW filter
    // or C off the vector take the register-staged tiles.
    for (int variant = 0; variant < 3; ++variant) {
      ProblemDesc other = aspp;
      if (variant == 0) other.layout = Layout::kNCHW;
      if (variant == 1) other.filter_layout = FilterLayout::kOIHW;
      if (variant == 2) other.channels = 2044;
      const detail::Selection o = select(dev, other);
      ASSERT_NE(o.impl, nullptr) << o.status.to_string();
      EXPECT_EQ(o.impl->name().rfind(std::string("conv2d_fwd_") + to_string(other.layout) + "_igemm_f16_mma_tile", 0),
                0u)
          << o.impl->name();
    }
    // The separable ASPP fused, on the 64 x 256 tile (one tile of columns for O = 256, so each pixel's
    // depthwise values are made once): 137 tiles, whose tail splits as the rule says for the device (on
    // 132 SMs, 5 tiles in 8 slices of 8 of the 64 chunks; on 72 SMs the 65 tail tiles run whole).
    const detail::Selection f = select(dev, sep);
    ASSERT_NE(f.impl, nullptr) << f.status.to_string();
    const std::string fused = "sep_fwd_nhwc_fused_f16_mma_tile64x256x32";
    const cuda::gemm::TailSplit ts = cuda::gemm::tail_split(137, dev.sm_count, 64, 1.0 + 16.0 * 9 / 256);
    EXPECT_EQ(f.impl->name(), cuda::gemm::split_tail_name(fused, ts));
    if (dev.sm_count == 72) EXPECT_EQ(f.impl->name(), fused);
    if (dev.sm_count == 132) {
      EXPECT_EQ(f.impl->name(), fused + "_tailsplit8");
      EXPECT_EQ(f.impl->workspace_bytes(), size_t{5} * 8 * 64 * 256 * 4 + 256);
    }
  }
  detail::DeviceInfo turing = cuda::kKnownDevices[1];
  turing.name = "sm_75 (described)", turing.cc_major = 7, turing.cc_minor = 5;
  const detail::Selection c = select(turing, aspp);
  EXPECT_EQ(c.impl, nullptr);
  bool said = false;
  for (const Rejection& r : c.rejections)
    said |= r.reason.find("mma.sync m16n8k16 needs compute capability 8.0") != std::string::npos;
  EXPECT_TRUE(said) << c.status.to_string();
  ProblemDesc f32 = aspp;
  f32.dtype = DType::kF32;
  const detail::Selection g = select(turing, f32);
  ASSERT_NE(g.impl, nullptr) << g.status.to_string();
  EXPECT_EQ(g.impl->name(), "conv2d_fwd_nhwc_igemm_f32_fma_tile64x64x32");
}

// A dimension past 2^31 is declined with its name even where the pixel bounds hold (3 * 2^30 input rows,
// a stride of 2^31 - 1 and two output rows); the reference takes the problem.
TEST(GemmCudaSelection, ADimensionBeyondInt32IsDeclinedByName) {
  DSCONV_REQUIRE_CUDA();
  ProblemDesc d;
  d.op = Op::kConv2d;
  d.height = int64_t{3} << 30, d.width = 1, d.channels = 1, d.out_channels = 1;
  d.stride_h = 0x7fffffff;
  Result<Problem> p = Problem::create(d);
  ASSERT_TRUE(p.is_ok()) << p.status().to_string();
  ASSERT_EQ(p->out_h(), 2);
  Result<Plan> plan = Plan::create(*p, "cuda", PlanOptions{{"ref"}});
  ASSERT_FALSE(plan.is_ok());
  EXPECT_NE(plan.status().message().find("input rows 3221225472 exceed the implicit GEMM's 32-bit indexing"),
            std::string::npos)
      << plan.status().message();
}

// --- separable -------------------------------------------------------------------------------------

struct SepShape {
  int64_t k, s, d, m;
};
const SepShape kSepShapes[] = {{3, 1, 1, 1}, {3, 1, 2, 1}, {3, 2, 1, 2}, {5, 1, 1, 1}, {3, 1, 6, 1}, {3, 1, 4, 3}};

// A separable problem of shape `sh` on an h x w x c input to o channels.
ProblemDesc separable(const SepShape& sh, int64_t h, int64_t w, int64_t c, int64_t o, Layout layout, DType dt) {
  ProblemDesc d;
  d.op = Op::kSeparable;
  d.height = h, d.width = w, d.channels = c, d.multiplier = sh.m, d.out_channels = o;
  d.kernel_h = d.kernel_w = sh.k, d.stride_h = d.stride_w = sh.s, d.dilation_h = d.dilation_w = sh.d;
  d.layout = layout;
  d.dtype = dt;
  return d;
}

// The cuda backend's selection for `d` on the known device `arch` (not prepared), and its rejections as
// text, one "implementation: reason" a line.
detail::Selection select_on(const char* arch, const ProblemDesc& d, const PlanOptions& options = PlanOptions{{"ref"}}) {
  Result<Problem> p = Problem::create(d);
  EXPECT_TRUE(p.is_ok()) << p.status().to_string();
  return detail::select_for_device(*detail::find_backend("cuda"), *p, options, *cuda::known_device(arch),
                                   /*prepare=*/false);
}

std::string explain(const detail::Selection& s) {
  std::string out;
  for (const Rejection& r : s.rejections) out += r.implementation + ": " + r.reason + "\n";
  return out;
}

// A 3 x 3 SAME f16 separable layer: N x hw x hw x c to o channels.
ProblemDesc same3x3(int64_t n, int64_t hw, int64_t c, int64_t o, Layout layout = Layout::kNHWC) {
  ProblemDesc d = separable(SepShape{3, 1, 1, 1}, hw, hw, c, o, layout, DType::kF16);
  d.batch = n;
  d.padding = PaddingMode::kSame;
  return d;
}

// Expects the selection for `d` on `arch` to take the two passes, `decline` among its rejections.
void expect_two_passes(const char* arch, const ProblemDesc& d, const std::string& decline) {
  SCOPED_TRACE(arch);
  const detail::Selection s = select_on(arch, d);
  ASSERT_NE(s.impl, nullptr) << explain(s);
  const std::string stem = "sep_fwd_" + std::string(to_string(d.layout)) + "_twopass_" + to_string(d.dtype) + "(";
  EXPECT_EQ(s.impl->name().rfind(stem, 0), 0u) << s.impl->name();
  EXPECT_NE(explain(s).find(decline), std::string::npos) << explain(s);
}

std::vector<GemmCase> separable_cases(bool fused) {
  const std::pair<int64_t, int64_t> channels[] = {{16, 24}, {5, 70}, {32, 64}, {3, 7}, {24, 33}, {40, 17}};
  const std::pair<int64_t, int64_t> sizes[] = {{9, 11}, {13, 7}, {8, 8}, {11, 13}, {6, 5}};
  std::vector<GemmCase> out;
  int v = fused ? 0 : 100;
  for (Layout layout : {Layout::kNHWC, Layout::kNCHW}) {
    for (const SepShape& sh : kSepShapes) {
      for (DType dt : kDtypes) {
        ++v;
        const auto [c, o] = channels[v % 6];
        const auto [h, w] = sizes[v % 5];
        ProblemDesc d = separable(sh, h, w, c, o, layout, dt);
        GemmCase gc;
        vary(&d, &gc.c, v);
        gc.c.desc = d;
        const std::string l = to_string(layout);
        if (fused) {
          gc.expect = "sep_fwd_" + l + "_fused_" + engine(dt) + "_tile64x64x32";
          gc.skip = {"ref", "sep_fwd_" + l + "_twopass"};  // a tile or two: the grid rule would take two passes
        } else {
          gc.expect = "sep_fwd_" + l + "_twopass_" + std::string(to_string(dt)) + "(dw_fwd_" + l + "_";
          gc.skip = {"ref", "sep_fwd_" + l + "_fused"};
        }
        out.push_back(gc);
      }
    }
  }
  return out;
}
INSTANTIATE_TEST_SUITE_P(SeparableFused, GemmCuda, ::testing::ValuesIn(separable_cases(true)), gemm_case_name);
INSTANTIATE_TEST_SUITE_P(SeparableTwoPass, GemmCuda, ::testing::ValuesIn(separable_cases(false)), gemm_case_name);

// The resident-A fused kernel (16-bit), both tiles (64 x 256 and 96 x 128, alternating with the filter
// shape), asked for by name: mid channels from 3 to 225 (1 to 8 chunks of K, ragged), 1 to 5 column tiles
// (O up to 520), on an emulated H100 of one SM, whose 2 to 4 block slots take ranges of 2 or 3 row tiles x
// the column tiles: blocks that run several tiles, cross from one row tile to the next (and make A again),
// or run one.
std::vector<GemmCase> resident_cases() {
  const std::pair<int64_t, int64_t> channels[] = {{16, 300}, {5, 70}, {40, 17}, {24, 520}, {75, 33}, {3, 260}};
  const std::pair<int64_t, int64_t> sizes[] = {{13, 11}, {15, 9}, {12, 12}, {11, 13}, {17, 8}};
  std::vector<GemmCase> out;
  int v = 200;
  for (Layout layout : {Layout::kNHWC, Layout::kNCHW}) {
    for (const SepShape& sh : kSepShapes) {
      const bool tall = (&sh - kSepShapes) % 2 == 1;
      for (DType dt : {DType::kF16, DType::kBF16}) {
        ++v;
        const auto [c, o] = channels[v % 6];
        const auto [h, w] = sizes[v % 5];
        ProblemDesc d = separable(sh, h, w, c, o, layout, dt);
        GemmCase gc;
        vary(&d, &gc.c, v);
        gc.c.desc = d;
        gc.expect = "sep_fwd_" + std::string(to_string(layout)) + "_fused_" + engine(dt) +
                    (tall ? "_resident_async4_tile96x128x32" : "_resident_async3_tile64x256x32");
        gc.only = {gc.expect};
        gc.device = "sm_90:1";
        out.push_back(gc);
      }
    }
  }
  return out;
}
INSTANTIATE_TEST_SUITE_P(SeparableResident, GemmCuda, ::testing::ValuesIn(resident_cases()), gemm_case_name);

// Where the fused kernel would recompute the depthwise products too often, the two passes are the default:
// 5 x 5 taps with 260 output channels (f16/bf16: 2 tiles of the widest, 256-column, tile x 25 = 50
// products per mid value; f32's 64 columns, 5 tiles), and 3 x 3 with 512 (the 256-column tile takes only
// problems it holds in one tile, so 4 tiles of 128 x 9 = 36). The resident-A kernel declines both: with 8
// mid channels its blocks are small, and a device holds more of them than there are tiles (its grid rule;
// XceptionTakesTheResidentKernelWhereItFits has it taken). At 130 output channels one 256-column tile holds
// them all (25 products per mid value, the most the fused kernel accepts): f16/bf16 stay fused on that
// tile, f32 (3 tiles of 64) does not.
TEST(SeparableCudaSelection, TwoPassWhenFusedRecomputesTooMuch) {
  DSCONV_REQUIRE_CUDA();
  struct Case {
    int64_t k, o;
    bool fused16, resident16;
  };
  for (DType dt : kDtypes) {
    for (const Case& c : {Case{5, 260, false, false}, Case{3, 512, false, false}, Case{5, 130, true, false}}) {
      const TestReport r = ConvTester()
                               .op(Op::kSeparable)
                               .size(50, 50)  // 40 row tiles: more than a quarter wave on any GPU (the grid rule)
                               .channels(8)
                               .kernel(c.k, c.k)
                               .out_channels(c.o)
                               .padding_same()
                               .bias()
                               .dtype(dt)
                               .seed(4200 + c.o)
                               .test("cuda", PlanOptions{{"ref"}});
      if (HasFatalFailure()) return;
      const std::string dw = "(dw_fwd_nhwc_k" + std::to_string(c.k) + "s1_";
      if (c.fused16 && dt != DType::kF32) {
        EXPECT_EQ(r.implementation, "sep_fwd_nhwc_fused_" + std::string(to_string(dt)) + "_mma_tile64x256x32");
      } else if (c.resident16 && dt != DType::kF32) {
        EXPECT_EQ(r.implementation,
                  "sep_fwd_nhwc_fused_" + std::string(to_string(dt)) + "_mma_resident_async3_tile64x256x32");
      } else {
        EXPECT_EQ(r.implementation.rfind("sep_fwd_nhwc_twopass_" + std::string(to_string(dt)) + dw, 0), 0u)
            << c.k << "x" << c.k << ", O = " << c.o << ": " << r.implementation;
      }
    }
  }
}

// On grids of at most a quarter wave of whole tiles the two passes are the default (kMaxFusedGridShare,
// separable/offers.cpp): MobileNetV1's 28x28 256 -> 256 at N=1 is 13 tiles of 64 x 256, at N=8 98; the
// decline names the grid. A split tail (DeepLab's ASPP at N=1: 18 tiles cut into slices) keeps the fused
// kernel, and so does skipping the two passes. Selection for the sm_90 and sm_86 descriptions.
TEST(SeparableCudaSelection, TwoPassOnGridsOfAQuarterWave) {
  ASSERT_NE(detail::find_backend("cuda"), nullptr);
  ProblemDesc d = same3x3(1, 28, 256, 256);
  for (const char* arch : {"sm_90", "sm_86"}) {
    SCOPED_TRACE(arch);
    const detail::Selection one = select_on(arch, d);
    ASSERT_NE(one.impl, nullptr) << explain(one);
    EXPECT_EQ(one.impl->name().rfind("sep_fwd_nhwc_twopass_f16(", 0), 0u) << one.impl->name();
    EXPECT_NE(explain(one).find("a grid of 13 whole tiles for"), std::string::npos) << explain(one);
    const detail::Selection forced = select_on(arch, d, PlanOptions{{"ref", "sep_fwd_nhwc_twopass"}});
    ASSERT_NE(forced.impl, nullptr) << explain(forced);
    EXPECT_EQ(forced.impl->name(), "sep_fwd_nhwc_fused_f16_mma_tile64x256x32");
    ProblemDesc eight = d;
    eight.batch = 8;  // 98 tiles: more than a quarter wave on either
    const detail::Selection n8 = select_on(arch, eight);
    ASSERT_NE(n8.impl, nullptr) << explain(n8);
    EXPECT_EQ(n8.impl->name().rfind("sep_fwd_nhwc_fused_f16_mma_tile64x256x32", 0), 0u) << n8.impl->name();
  }
  // 14x14 at N=10: 1960 pixels, 31 tiles: at most a quarter of 132 SMs (sm_90), more than a quarter of 72 (sm_86).
  d.batch = 10;
  d.height = d.width = 14;
  const detail::Selection h100 = select_on("sm_90", d), a10 = select_on("sm_86", d);
  ASSERT_NE(h100.impl, nullptr);
  ASSERT_NE(a10.impl, nullptr);
  EXPECT_EQ(h100.impl->name().rfind("sep_fwd_nhwc_twopass_f16(", 0), 0u) << h100.impl->name();
  EXPECT_EQ(a10.impl->name().rfind("sep_fwd_nhwc_fused_f16", 0), 0u) << a10.impl->name();
  // DeepLab's separable ASPP at N=1: 18 tiles, cut into slices: fused.
  ProblemDesc aspp;
  aspp.op = Op::kSeparable;
  aspp.batch = 1, aspp.height = aspp.width = 33, aspp.channels = 2048, aspp.out_channels = 256;
  aspp.kernel_h = aspp.kernel_w = 3;
  aspp.dilation_h = aspp.dilation_w = 6;
  aspp.padding = PaddingMode::kSame;
  aspp.dtype = DType::kF16;
  const detail::Selection s = select_on("sm_90", aspp);
  ASSERT_NE(s.impl, nullptr) << explain(s);
  EXPECT_EQ(s.impl->name().rfind("sep_fwd_nhwc_fused_f16_mma_tile64x256x32_tailsplit", 0), 0u) << s.impl->name();
}

// Xception's middle flow, 33x33 728 -> 728 (the fused kernel would recompute 6 column tiles x 9 taps = 54
// products per mid value): on sm_90 the resident-A kernel's 96 x 128 tile, its A of 23 chunks (138 KiB)
// beside 4 B stages (34 KiB), on a persistent grid of one block per SM over the 91 x 6 tiles at N=8;
// 1152 -> 1152 (36 chunks) takes the 64 x 256 tile, whose A fits. On sm_80 (163 KiB a block) the 96-row A
// does not fit and the 64 x 256 tile (141.5 KiB) runs; on sm_86 (99 KiB) neither fits (the 64 x 256 one
// needs 144,896 bytes), the decline says so, and the two passes run. NCHW takes the two passes too (its A
// is made from scalar channel-plane loads). At N=1 on sm_90 both tiles' grids are under 2 tiles a block slot (72 of
// 96 x 128, 54 of 64 x 256, for 132 slots): two passes, and the decline says why. f32 is declined by name.
TEST(SeparableCudaSelection, XceptionTakesTheResidentKernelWhereItFits) {
  ASSERT_NE(detail::find_backend("cuda"), nullptr);
  ProblemDesc d = same3x3(8, 33, 728, 728);
  const std::string resident = "sep_fwd_nhwc_fused_f16_mma_resident_async3_tile64x256x32";
  const std::string tall = "sep_fwd_nhwc_fused_f16_mma_resident_async4_tile96x128x32";
  const detail::Selection h100 = select_on("sm_90", d);
  ASSERT_NE(h100.impl, nullptr) << explain(h100);
  EXPECT_EQ(h100.impl->name(), tall) << explain(h100);
  EXPECT_NE(explain(h100).find("6 tiles of output channels x 9 taps = 54"), std::string::npos) << explain(h100);
  EXPECT_EQ(h100.impl->workspace_bytes(), 0u);
  EXPECT_EQ(cuda::gemm::kTileResidentTall.resident_smem_bytes(23), 176128);
  EXPECT_EQ(cuda::gemm::kTileResident.resident_smem_bytes(23), 144896);
  ProblemDesc wide = d;
  wide.channels = wide.out_channels = 1152;
  const detail::Selection h100_wide = select_on("sm_90", wide);
  ASSERT_NE(h100_wide.impl, nullptr) << explain(h100_wide);
  EXPECT_EQ(h100_wide.impl->name(), resident) << explain(h100_wide);
  const detail::Selection a100 = select_on("sm_80", d);
  ASSERT_NE(a100.impl, nullptr) << explain(a100);
  EXPECT_EQ(a100.impl->name(), resident) << explain(a100);
  expect_two_passes("sm_86", d, resident + ": 728 mid channels' A for 64 pixels needs 144896 bytes of shared memory");
  ProblemDesc one = d;
  one.batch = 1;
  expect_two_passes("sm_90", one, resident + ": a grid of 54 tiles for 132 block slots (fewer than 2 a block)");
  ProblemDesc nchw = d;
  nchw.layout = Layout::kNCHW;
  expect_two_passes("sm_90", nchw,
                    "sep_fwd_nchw_fused_f16_mma_resident_async3_tile64x256x32: NCHW makes A from scalar");
  ProblemDesc f32 = d;
  f32.dtype = DType::kF32;
  expect_two_passes("sm_90", f32, "sep_fwd_nhwc_fused_f32_fma_resident_async3_tile64x256x32: f32 runs on FMA units");
}

// NCHW separable takes the two passes by default: the fused kernels make A from scalar channel-plane loads,
// a round trip per depthwise tap (modelled on an H100 at 0.38-0.43x the two passes on MobileNetV1's layers
// at N=8). The declines say why; with the two passes excluded the fused kernel runs, as the NCHW sweeps
// do. Selection for the sm_90 description.
TEST(SeparableCudaSelection, NchwTakesTwoPassesUnlessAFusedKernelIsAskedFor) {
  ASSERT_NE(detail::find_backend("cuda"), nullptr);
  ProblemDesc d = same3x3(8, 56, 128, 128, Layout::kNCHW);
  expect_two_passes("sm_90", d,
                    "sep_fwd_nchw_fused_f16_mma_tile128x128x32: NCHW makes A from scalar channel-plane loads");
  const detail::Selection named = select_on("sm_90", d, PlanOptions{{"ref", "sep_fwd_nchw_twopass"}});
  ASSERT_NE(named.impl, nullptr) << explain(named);
  EXPECT_EQ(named.impl->name(), "sep_fwd_nchw_fused_f16_mma_tile128x128x32");
  d.layout = Layout::kNHWC;  // NHWC stays fused
  const detail::Selection n = select_on("sm_90", d);
  ASSERT_NE(n.impl, nullptr) << explain(n);
  EXPECT_EQ(n.impl->name(), "sep_fwd_nhwc_fused_f16_mma_tile128x128x32");
}

// The two-pass plan keeps its intermediate in the caller's workspace and says how much it needs; the fused
// plan needs none.
TEST(SeparableCudaSelection, WorkspaceHoldsTheIntermediateOnlyForTwoPasses) {
  DSCONV_REQUIRE_CUDA();
  ProblemDesc d;
  d.op = Op::kSeparable;
  d.batch = 2, d.height = 9, d.width = 7, d.channels = 24, d.multiplier = 2, d.out_channels = 40;
  d.kernel_h = d.kernel_w = 3;
  d.padding = PaddingMode::kSame;
  d.dtype = DType::kF16;
  Result<Problem> p = Problem::create(d);
  ASSERT_TRUE(p.is_ok());
  // One tile: the grid rule would take two passes; the fused plan is asked for by skipping them.
  Result<Plan> fused = Plan::create(*p, "cuda", PlanOptions{{"ref", "sep_fwd_nhwc_twopass"}});
  ASSERT_TRUE(fused.is_ok()) << fused.status().to_string();
  EXPECT_EQ(fused->implementation().rfind("sep_fwd_nhwc_fused_f16", 0), 0u) << fused->implementation();
  EXPECT_EQ(fused->workspace_bytes(), 0u);
  Result<Plan> two = Plan::create(*p, "cuda", PlanOptions{{"ref", "sep_fwd_nhwc_fused"}});
  ASSERT_TRUE(two.is_ok()) << two.status().to_string();
  EXPECT_EQ(two->implementation().rfind("sep_fwd_nhwc_twopass_f16", 0), 0u) << two->implementation();
  // [2, 9, 7, 48] f16 intermediate, at least.
  EXPECT_GE(two->workspace_bytes(), size_t{2 * 9 * 7 * 48 * 2});
}

// --- misaligned views ---------------------------------------------------------------------------------

// Runs `d` with every tensor `offset` elements past a 256-byte aligned address (a view into a larger
// buffer), on small-integer data whose results are exact in every dtype, and checks every element and the
// guard bytes around the output. With offset 1 the shapes allow 16-byte accesses but the pointers do not:
// the kernels must take their element-wise paths.
void run_with_offset(const ProblemDesc& d, size_t offset, const PlanOptions& options, const std::string& expect) {
  Result<Problem> created = Problem::create(d);
  ASSERT_TRUE(created.is_ok()) << created.status().to_string();
  const Problem& p = *created;
  SCOPED_TRACE(p.descriptor() + " offset " + std::to_string(offset) + " seed 4343");
  Result<Plan> made = Plan::create(p, "cuda", options);
  ASSERT_TRUE(made.is_ok()) << made.status().to_string();
  const Plan& plan = *made;
  EXPECT_EQ(plan.implementation().rfind(expect, 0), 0u) << plan.implementation();

  const HostData data = random_data(p, DataKind::kSmallIntegers, 4343);
  Result<std::vector<float>> reference = reference_f32(p, data);
  ASSERT_TRUE(reference.is_ok()) << reference.status().to_string();
  // Integer sums, exact in f32 accumulation (and the separable intermediate exact in every dtype): the
  // output is the exact value rounded once to the dtype.
  const std::vector<float> expected = tools::round_to(p.dtype(), *reference);
  const size_t es = dtype_size(p.dtype()), pad = offset * es;
  std::vector<Buffer> keep;
  auto place = [&](const std::vector<float>& values) -> void* {
    const std::vector<uint8_t> bytes = encode(p.dtype(), values);
    Result<Buffer> b = Buffer::create(plan.memory_space(), pad + bytes.size() + 64);
    EXPECT_TRUE(b.is_ok());
    keep.push_back(std::move(b).value());
    EXPECT_TRUE(keep.back().upload(bytes.data(), bytes.size(), pad).is_ok());
    return static_cast<char*>(keep.back().data()) + pad;
  };
  TensorArgs args;
  args.set(Arg::kInput, place(data.input)).set(Arg::kFilter, place(data.filter));
  if (p.op() == Op::kSeparable) args.set(Arg::kPointwise, place(data.pointwise));
  if (p.has_bias()) args.set(Arg::kBias, place(data.bias));
  if (p.has_residual()) args.set(Arg::kResidual, place(data.residual));
  const size_t out_bytes = static_cast<size_t>(p.output_elements()) * es;
  Result<Buffer> out = Buffer::create(plan.memory_space(), pad + out_bytes + 64);
  ASSERT_TRUE(out.is_ok());
  std::vector<uint8_t> poison(pad + out_bytes + 64, 0xA5);
  const std::vector<uint8_t> nan = nan_poison(p.dtype(), p.output_elements());
  std::copy(nan.begin(), nan.end(), poison.begin() + static_cast<std::ptrdiff_t>(pad));
  ASSERT_TRUE(out->upload(poison.data(), poison.size()).is_ok());
  args.set(Arg::kOutput, static_cast<char*>(out->data()) + pad);
  // The workspace, when the plan has one, offset too.
  Result<Buffer> ws = Buffer::create(plan.memory_space(), plan.workspace_bytes() + pad + 1);
  ASSERT_TRUE(ws.is_ok());
  void* const workspace = plan.workspace_bytes() > 0 ? static_cast<char*>(ws->data()) + pad : nullptr;

  Result<Stream> stream = Stream::create(plan.memory_space());
  ASSERT_TRUE(stream.is_ok()) << stream.status().to_string();
  const Status st = plan.run(args, workspace, plan.workspace_bytes(), stream->get());
  ASSERT_TRUE(st.is_ok()) << st.to_string();
  ASSERT_TRUE(stream->synchronize().is_ok());

  std::vector<uint8_t> got_bytes(pad + out_bytes + 64);
  ASSERT_TRUE(out->download(got_bytes.data(), got_bytes.size()).is_ok());
  for (size_t i = 0; i < pad; ++i) ASSERT_EQ(got_bytes[i], 0xA5) << "write before the output";
  for (size_t i = pad + out_bytes; i < got_bytes.size(); ++i) ASSERT_EQ(got_bytes[i], 0xA5) << "write after the output";
  const std::vector<float> got = decode(p.dtype(), got_bytes.data() + pad, p.output_elements());
  int64_t bad = 0;
  for (int64_t i = 0; i < p.output_elements(); ++i) {
    const float e = expected[static_cast<size_t>(i)], g = got[static_cast<size_t>(i)];
    if (!(g == e) && ++bad <= 5) ADD_FAILURE() << "element " << i << ": got " << g << ", expected " << e;
  }
  EXPECT_EQ(bad, 0);
}

TEST(GemmCudaAlignment, MisalignedViewsTakeTheElementPaths) {
  DSCONV_REQUIRE_CUDA();
  for (DType dt : kDtypes) {
    for (size_t offset : {size_t{0}, size_t{1}}) {
      // C = 16 and O = 24 allow 16-byte accesses by size in every dtype; offset 1 forbids them per run.
      ProblemDesc d;
      d.op = Op::kConv2d;
      d.batch = 2, d.height = 7, d.width = 9, d.channels = 16, d.out_channels = 24;
      d.kernel_h = d.kernel_w = 3, d.dilation_h = d.dilation_w = 2;
      d.padding = PaddingMode::kSame;
      d.dtype = dt;
      d.has_bias = true, d.has_residual = true;
      d.activation = Activation::kRelu;
      run_with_offset(d, offset, PlanOptions{{"ref"}}, "conv2d_fwd_nhwc_igemm_" + engine(dt));
      if (dt != DType::kF32) {  // the cp.async tiles' synchronous element-wise staging
        for (const char* tile : {"tile128x128x32", "tile64x128x32"}) {
          const std::string async = "conv2d_fwd_nhwc_igemm_" + engine(dt) + "_async3_" + tile;
          run_with_offset(d, offset, PlanOptions{{"ref"}, {async}}, async);
        }
      }
      d.op = Op::kSeparable;
      run_with_offset(d, offset, PlanOptions{{"ref", "sep_fwd_nhwc_twopass"}}, "sep_fwd_nhwc_fused_" + engine(dt));
      run_with_offset(d, offset, PlanOptions{{"ref", "sep_fwd_nhwc_fused"}}, "sep_fwd_nhwc_twopass_");
    }
  }
}

// --- the split tail (offers.cpp, tail_split) ---------------------------------------------------------

TEST(GemmSplitTail, TheRule) {
  using cuda::gemm::busiest_sm_tiles;
  using cuda::gemm::tail_split;
  using cuda::gemm::TailSplit;
  // DeepLab's ASPP at N = 8 in 128 x 128 tiles: 33 x 33 is 138 tiles on 132 SMs; 65 x 65 is 530 (4 waves
  // and 2), whose slices keep 8 of the 504 executed chunks each.
  TailSplit t = tail_split(138, 132, 576);
  EXPECT_EQ(t.dp_tiles, 132);
  EXPECT_EQ(t.split, 22);
  EXPECT_DOUBLE_EQ(busiest_sm_tiles(t, 138, 132), 1.0 + 1.0 / 22);
  t = tail_split(530, 132, 504);
  EXPECT_EQ(t.dp_tiles, 528);
  EXPECT_EQ(t.split, 63);
  // Under one wave every tile is the tail (batch 1: 18 tiles, 7 slices each).
  t = tail_split(18, 132, 576);
  EXPECT_EQ(t.dp_tiles, 0);
  EXPECT_EQ(t.split, 7);
  EXPECT_DOUBLE_EQ(busiest_sm_tiles(t, 18, 132), 1.0 / 7);
  // Whole waves; a last wave too full for two slices a tile; too little K to save 64 chunks on the busiest
  // SM; and 12 whole waves, where a split tail would save under a tenth of the busiest SM's work.
  EXPECT_EQ(tail_split(264, 132, 576).split, 1);
  EXPECT_EQ(tail_split(263, 132, 576).split, 1);
  EXPECT_EQ(tail_split(18, 132, 72).split, 1);
  EXPECT_EQ(tail_split(18, 132, 75).split, 7);  // 75 (1 - 1/7) = 64.3
  t = tail_split(12 * 132 + 1, 132, 576);
  EXPECT_EQ(t.split, 1);
  EXPECT_EQ(t.dp_tiles, 12 * 132 + 1);
  EXPECT_DOUBLE_EQ(busiest_sm_tiles(t, 12 * 132 + 1, 132), 13.0);
  // The fused separable kernel's chunks also make their depthwise values: DeepLab's separable ASPP (33 x 33
  // at N = 8, 3 x 3 depthwise, 2048 mid channels, 256 outputs) on 128 x 128 tiles has 64 chunks of cost
  // 1 + 16 x 9 / 128, and its 6 tail tiles split into 8 slices, which 64 conv2d chunks (56 saved) would not.
  ProblemDesc d = conv2d(Shape{3, 3, 1, 1, 6, 6}, 8, 33, 33, 2048, 256, Layout::kNHWC, DType::kF16);
  d.op = Op::kSeparable;
  d.padding = PaddingMode::kSame;
  Result<Problem> p = Problem::create(d);
  ASSERT_TRUE(p.is_ok()) << p.status().to_string();
  const cuda::gemm::ChunkWork work = cuda::gemm::chunk_work(*p, cuda::gemm::kTileWide);
  EXPECT_EQ(work.chunks, 64);
  EXPECT_DOUBLE_EQ(work.cost, 2.125);
  EXPECT_EQ(tail_split(138, 132, 64).split, 1);
  t = tail_split(138, 132, work.chunks, work.cost);
  EXPECT_EQ(t.dp_tiles, 132);
  EXPECT_EQ(t.split, 8);
  // On the 64 x 256 tile a chunk's depthwise share is half as large (1 + 16 x 9 / 256): 137 tiles, 5 of
  // them in 8 slices; 2 slices would save the busiest SM only 32 x 1.5625 = 50 conv2d chunks, 3 save 66.7.
  const cuda::gemm::ChunkWork wide_out = cuda::gemm::chunk_work(*p, cuda::gemm::kTileWideOut);
  EXPECT_DOUBLE_EQ(wide_out.cost, 1.5625);
  EXPECT_EQ(tail_split(137, 132, 64, wide_out.cost).split, 8);
  EXPECT_EQ(tail_split(3, 6, 64, wide_out.cost).split, 1);
  EXPECT_EQ(tail_split(3, 9, 64, wide_out.cost).split, 3);
  // conv2d's chunks are its executed ones, at cost 1 (the ASPP conv2d at rate 18 on 128 x 128 tiles skips
  // most taps).
  d.op = Op::kConv2d;
  d.dilation_h = d.dilation_w = 18;
  p = Problem::create(d);
  ASSERT_TRUE(p.is_ok()) << p.status().to_string();
  const cuda::gemm::ChunkWork gather = cuda::gemm::chunk_work(*p, cuda::gemm::kTileWide);
  EXPECT_EQ(gather.chunks, cuda::gemm::executed_chunks(*p, 128, 64));
  EXPECT_LT(gather.chunks, 9 * 64);
  EXPECT_DOUBLE_EQ(gather.cost, 1.0);
}

#if defined(DSCONV_CUDA_EMULATION)

// On emulated H100 slices of 4 and 8 SMs (DSCONV_EMU_DEVICE=sm_90:4), small problems have a part-full
// last wave: these run the split tail against the reference (NaN-poisoned output, every element checked),
// with whole tiles before the tail (dp_tiles > 0) and without, in every staging path and both layouts, with
// the epilogues applied after the slices are summed, and taps skipped unevenly across the tail's tiles.
TEST(GemmSplitTail, MatchesTheReferenceOnSmallSlices) {
  struct Case {
    ProblemDesc d;
    std::string expect;             // the whole name
    std::vector<std::string> only;  // a tile named
    bool tf32 = false;
    const char* device = "sm_90:4";
  };
  std::vector<Case> cases;
  {  // cp.async 64 x 128: 5 tiles, 4 whole and 1 in 4 slices of 90 chunks
    ProblemDesc d = conv2d(Shape{3, 3, 1, 1, 1, 1}, 1, 13, 23, 320, 72, Layout::kNHWC, DType::kF16);
    d.padding = PaddingMode::kSame;
    d.has_bias = d.has_residual = true;
    d.activation = Activation::kSilu;
    cases.push_back({d,
                     "conv2d_fwd_nhwc_igemm_f16_mma_async3_tile64x128x32_tailsplit4",
                     {"conv2d_fwd_nhwc_igemm_f16_mma_async3_tile64x128x32"}});
  }
  {  // f32 FMA, OIHW filter, two column tiles: 6 tiles, 4 whole and 2 (the last row's, which skip a filter
     // row) in 2 slices; 136 chunks a tile on average
    ProblemDesc d = conv2d(Shape{3, 3, 1, 1, 2, 2}, 1, 9, 15, 544, 70, Layout::kNHWC, DType::kF32);
    d.padding = PaddingMode::kSame;
    d.filter_layout = FilterLayout::kOIHW;
    d.has_bias = true;
    d.activation = Activation::kRelu6;
    cases.push_back({d, "conv2d_fwd_nhwc_igemm_f32_fma_tile64x64x32_tailsplit2", {}});
    d.activation = Activation::kGeluTanh;  // the same on TF32 tensor cores, opted in
    cases.push_back({d, "conv2d_fwd_nhwc_igemm_f32_tf32_mma_tile64x64x32_tailsplit2", {}, true});
  }
  {  // NCHW bf16, register staging: 2 tiles of 128 x 64, both split in 2 (no whole tile)
    ProblemDesc d = conv2d(Shape{3, 3, 1, 1, 1, 1}, 1, 11, 13, 600, 33, Layout::kNCHW, DType::kBF16);
    d.padding = PaddingMode::kSame;
    d.filter_layout = FilterLayout::kOIHW;
    d.has_residual = true;
    d.activation = Activation::kGelu;
    cases.push_back({d, "conv2d_fwd_nchw_igemm_bf16_mma_tile128x64x32_tailsplit2", {}});
  }
  {  // padding wide enough that the top tiles skip whole filter rows: 18 x 18 outputs, 6 tiles of 64 x 128,
     // 4 whole and 2 split, the slices cut over each tile's own executed chunks (2/3 of the taps on average)
    ProblemDesc d = conv2d(Shape{3, 3, 1, 1, 1, 1}, 1, 11, 11, 736, 24, Layout::kNHWC, DType::kBF16);
    d.padding = PaddingMode::kExplicit;
    d.pad_top = 5, d.pad_bottom = 4, d.pad_left = 6, d.pad_right = 3;
    d.has_bias = true;
    d.activation = Activation::kHswish;
    cases.push_back({d,
                     "conv2d_fwd_nhwc_igemm_bf16_mma_async3_tile64x128x32_tailsplit2",
                     {"conv2d_fwd_nhwc_igemm_bf16_mma_async3_tile64x128x32"}});
  }
  {  // 9 rows of top padding: the first of 3 tiles (8 SMs, none whole) executes only the last filter row, so
     // its slices start past six skipped taps
    ProblemDesc d = conv2d(Shape{3, 3, 1, 1, 1, 1}, 1, 11, 11, 608, 16, Layout::kNHWC, DType::kF16);
    d.padding = PaddingMode::kExplicit;
    d.pad_top = 9, d.pad_bottom = 0, d.pad_left = 0, d.pad_right = 0;
    d.has_residual = true;
    cases.push_back({d,
                     "conv2d_fwd_nhwc_igemm_f16_mma_async3_tile64x128x32_tailsplit2",
                     {"conv2d_fwd_nhwc_igemm_f16_mma_async3_tile64x128x32"},
                     false,
                     "sm_90:8"});
  }
  // The fused separable kernel: slices of the mid channels, each computing its own depthwise values. Its
  // chunks count 1 + 16 taps / bn times a conv2d chunk in the rule (chunk_work).
  {  // f16 NHWC, dilation 2, on the 128 x 128 tile (DeepLab's): 300 pixels in 3 tiles on 2 SMs, 2 whole and 1
     // in 2 slices of 32 of the 64 chunks (2048 mid channels)
    ProblemDesc d = conv2d(Shape{3, 3, 1, 1, 2, 2}, 1, 15, 20, 2048, 64, Layout::kNHWC, DType::kF16);
    d.op = Op::kSeparable;
    d.padding = PaddingMode::kSame;
    d.has_bias = d.has_residual = true;
    d.activation = Activation::kSilu;
    cases.push_back({d,
                     "sep_fwd_nhwc_fused_f16_mma_tile128x128x32_tailsplit2",
                     {"sep_fwd_nhwc_fused_f16_mma_tile128x128x32"},
                     false,
                     "sm_90:2"});
  }
  {  // bf16 NCHW, OIHW filters, multiplier 2 (1536 mid channels), stride 2: 121 pixels, one 128 x 64 tile in
     // 3 slices (the rule's choice: a third of a tile on the busiest SM); named, as NCHW takes two passes
     // by default
    ProblemDesc d = conv2d(Shape{3, 3, 2, 2, 1, 1}, 1, 21, 21, 768, 40, Layout::kNCHW, DType::kBF16);
    d.op = Op::kSeparable;
    d.multiplier = 2;
    d.padding = PaddingMode::kSame;
    d.filter_layout = FilterLayout::kOIHW;
    d.activation = Activation::kGelu;
    cases.push_back({d,
                     "sep_fwd_nchw_fused_bf16_mma_tile128x64x32_tailsplit3",
                     {"sep_fwd_nchw_fused_bf16_mma_tile128x64x32"},
                     false,
                     "sm_90:3"});
  }
  {  // bf16 NCHW on the 64 x 256 tile, dilation 3: 64 pixels, one tile in 3 slices of 20-21 of 62 chunks
    ProblemDesc d = conv2d(Shape{3, 3, 1, 1, 3, 3}, 1, 8, 8, 1984, 200, Layout::kNCHW, DType::kBF16);
    d.op = Op::kSeparable;
    d.padding = PaddingMode::kSame;
    d.has_residual = true;
    d.activation = Activation::kRelu6;
    cases.push_back({d,
                     "sep_fwd_nchw_fused_bf16_mma_tile64x256x32_tailsplit3",
                     {"sep_fwd_nchw_fused_bf16_mma_tile64x256x32"},
                     false,
                     "sm_90:3"});
  }
  {  // f32 FMA, two column tiles: 4 tiles of 64 x 64 on 3 SMs, 3 whole and 1 in 3 slices of 13-14 chunks
    ProblemDesc d = conv2d(Shape{3, 3, 1, 1, 1, 1}, 1, 12, 12, 1280, 96, Layout::kNHWC, DType::kF32);
    d.op = Op::kSeparable;
    d.padding = PaddingMode::kValid;
    d.has_bias = true;
    d.activation = Activation::kHswish;
    cases.push_back({d, "sep_fwd_nhwc_fused_f32_fma_tile64x64x32_tailsplit3", {}, false, "sm_90:3"});
  }
  for (size_t i = 0; i < cases.size(); ++i) {
    const Case& c = cases[i];
    EmulatedDevice device(c.device);
    SCOPED_TRACE(std::string("DSCONV_EMU_DEVICE=") + c.device + ", case " + std::to_string(i));
    PlanOptions options{{"ref"}};
    options.only_implementations = c.only;
    options.allow_tf32 = c.tf32;
    ConvTester t;
    t.desc(c.d).seed(4100 + i);
    t.data(c.d.dtype == DType::kF32 ? DataKind::kSmallIntegers : DataKind::kUniform);
    const TestReport r = t.test("cuda", options);
    if (HasFatalFailure()) return;
    EXPECT_EQ(r.implementation, c.expect);
  }
}

// The split tail's workspace holds the slices' f32 sums (and the slack to align them); the plan runs twice
// to the same bits: the slices are added in a fixed order, with no atomics.
TEST(GemmSplitTail, WorkspaceIsTheSlicesAndTheSumIsDeterministic) {
  EmulatedDevice device("sm_90:4");
  ProblemDesc d = conv2d(Shape{3, 3, 1, 1, 1, 1}, 1, 13, 23, 320, 72, Layout::kNHWC, DType::kF16);
  d.padding = PaddingMode::kSame;
  Result<Problem> p = Problem::create(d);
  ASSERT_TRUE(p.is_ok());
  PlanOptions options{{"ref"}};
  options.only_implementations = {"conv2d_fwd_nhwc_igemm_f16_mma_async3_tile64x128x32"};
  Result<Plan> plan = Plan::create(*p, "cuda", options);
  ASSERT_TRUE(plan.is_ok()) << plan.status().to_string();
  ASSERT_EQ(plan->implementation(), "conv2d_fwd_nhwc_igemm_f16_mma_async3_tile64x128x32_tailsplit4");
  EXPECT_EQ(plan->workspace_bytes(), size_t{1} * 4 * 64 * 128 * 4 + 256);  // 1 tail tile x 4 slices, + alignment
  const TestReport first = ConvTester().desc(d).seed(77).data(DataKind::kUniform).test("cuda", options);
  if (HasFatalFailure()) return;
  const TestReport second = ConvTester().desc(d).seed(77).data(DataKind::kUniform).test("cuda", options);
  if (HasFatalFailure()) return;
  EXPECT_FALSE(first.digest.empty());
  EXPECT_EQ(first.digest, second.digest);
}

#endif  // DSCONV_CUDA_EMULATION

}  // namespace
}  // namespace dsconv::testing
