// The tensor-core depthwise kernel for large filters (cuda/depthwise/nhwc_large_mma.cu): every filter width
// it takes (both k-step counts and the edges of its range), filter heights from 1 to 41, channel counts that
// are and are not whole pixels of 8, every padding, both filter layouts, f16 and bf16, bias, activations and
// the residual, against the reference; which problems it takes and which it leaves to the FMA kernels; and
// misaligned views, which take its element-wise paths.
#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "cuda/common/known_devices.hpp"
#include "dsconv/dsconv.hpp"
#include "src/dispatch/backend.hpp"
#include "support/tester.hpp"

namespace dsconv::testing {
namespace {

const char* const kMma = "dw_fwd_nhwc_lk_mma_";

struct MmaCase {
  ConvCase c;
  std::string expect;
};
void PrintTo(const MmaCase& c, std::ostream* os) {
  PrintTo(c.c, os);
  *os << " expect=" << c.expect;
}
std::string mma_case_name(const ::testing::TestParamInfo<MmaCase>& info) {
  return case_name(info.param.c) + "_" + std::to_string(info.index);
}

std::vector<MmaCase> mma_cases() {
  struct Shape {
    int64_t kh, kw, h, w, c;
  };
  // Widths 13 (the smallest), 17 (the last of 2 k-steps), 18 (the first of 3), 31, 33 (the last of 3), 34
  // (the first of 4) and 41 (the largest); heights 1 to 41; C whole pixels of 8 or not; maps that leave
  // edge tiles in both dimensions. Each case runs one of the four warp tiles in turn (named through the
  // options, as `--impl` does), so every tile meets every k-step count.
  // clang-format off
  const Shape shapes[] = {
      {13, 13, 20, 21, 16}, {13, 13, 9, 35, 13}, {1, 13, 5, 40, 8},   {17, 17, 17, 18, 24},
      {18, 18, 19, 33, 8},  {31, 31, 23, 37, 16}, {7, 31, 12, 20, 3}, {41, 41, 18, 17, 8},
      {13, 27, 16, 32, 40}, {29, 13, 30, 14, 8},  {33, 33, 9, 70, 8},  {20, 34, 21, 70, 16},
  };
  // clang-format on
  const char* const tiles[] = {"_tile16x64", "_tile16x32", "_tile16x16", "_tile8x16"};
  const Activation acts[] = {Activation::kNone, Activation::kRelu6, Activation::kSilu, Activation::kGelu,
                             Activation::kHswish};
  std::vector<MmaCase> out;
  int v = 0;
  for (const Shape& s : shapes) {
    for (DType dt : {DType::kF16, DType::kBF16}) {
      ++v;
      ProblemDesc d;
      d.op = Op::kDepthwise;
      d.batch = 1 + v % 2, d.height = s.h, d.width = s.w, d.channels = s.c;
      d.kernel_h = s.kh, d.kernel_w = s.kw;
      d.dtype = dt;
      switch (v % 3) {
        case 0:
          d.padding = PaddingMode::kSame;
          break;
        case 1:
          d.padding = PaddingMode::kExplicit;
          d.pad_top = s.kh / 2, d.pad_bottom = s.kh - 1 - s.kh / 2 + 2, d.pad_left = s.kw - 1, d.pad_right = 1;
          break;
        default:
          d.padding = PaddingMode::kValid;
      }
      if (!Problem::create(d).is_ok()) d.padding = PaddingMode::kSame;  // VALID needs the filter to fit
      d.filter_layout = v % 4 < 2 ? FilterLayout::kTF : FilterLayout::kOIHW;
      d.has_bias = v % 2 == 0;
      d.has_residual = v % 5 == 1;
      d.activation = acts[v % 5];
      MmaCase m;
      m.c.desc = d;
      m.c.data = v % 3 == 2 ? DataKind::kSmallIntegers : DataKind::kUniform;
      m.c.seed = 300 + static_cast<uint64_t>(v);
      m.expect = std::string(kMma) + to_string(dt) + "x" + (s.c % 8 == 0 ? "8" : "1") + tiles[(v + v / 4) % 4];
      out.push_back(m);
    }
  }
  return out;
}

class DepthwiseMma : public ::testing::TestWithParam<MmaCase> {};

TEST_P(DepthwiseMma, MatchesReference) {
  DSCONV_REQUIRE_CUDA();
  const MmaCase& m = GetParam();
  const TestReport r = ConvTester(m.c).test("cuda", PlanOptions{{"ref"}, {m.expect}});
  if (HasFatalFailure()) return;
  EXPECT_EQ(r.implementation, m.expect);
}

INSTANTIATE_TEST_SUITE_P(LargeFilters, DepthwiseMma, ::testing::ValuesIn(mma_cases()), mma_case_name);

detail::Selection select_on(const detail::DeviceInfo& device, const char* descriptor) {
  const Problem p = *Problem::parse(descriptor);
  return detail::select_for_device(*detail::find_backend("cuda"), p, PlanOptions{{"ref"}}, device, false);
}

std::string reasons(const detail::Selection& s) {
  std::string out;
  for (const Rejection& r : s.rejections) out += r.implementation + ": " + r.reason + "\n";
  return out;
}

// What the tensor-core kernel takes, and what it leaves to the FMA kernels, with the reason.
TEST(DepthwiseMmaSelection, TakesLargeDense16BitFiltersOnly) {
  const detail::DeviceInfo& sm90 = *cuda::known_device("sm_90");
  struct Row {
    const char* descriptor;
    bool mma;
    const char* because;  // part of the tensor-core offer's reason when it declines
  };
  const Row rows[] = {
      {"depthwise_n1h56w56c128_k31x31_psame_f16", true, ""},
      {"depthwise_n1h56w56c128_k13x13_psame_bf16", true, ""},
      {"depthwise_n1h56w56c128_k31x31_psame_f32", false, "dtype f32"},
      {"depthwise_n1h56w56c128_k11x11_psame_f16", false, "widths 13 to 41"},
      {"depthwise_n1h56w56c128_k43x43_psame_f16", false, "widths 13 to 41"},
      {"depthwise_n1h56w56c128_k31x31_s2x2_psame_f16", false, "stride 2x2"},
      {"depthwise_n1h56w56c128_k13x13_d2x2_psame_f16", false, "dilation 2x2"},
      {"depthwise_n1h56w56c64_k13x13_m2_psame_f16", false, "multiplier 2"},
      {"depthwise_n1h56w56c128_k31x31_psame_nchw_f16", false, "layout is nchw"},
  };
  for (const Row& row : rows) {
    const detail::Selection s = select_on(sm90, row.descriptor);
    ASSERT_NE(s.impl, nullptr) << row.descriptor << "\n" << reasons(s);
    EXPECT_EQ(s.impl->name().rfind(kMma, 0) == 0, row.mma) << row.descriptor << " chose " << s.impl->name();
    if (!row.mma) EXPECT_NE(reasons(s).find(row.because), std::string::npos) << row.descriptor << "\n" << reasons(s);
  }
  // A device without mma.sync m16n8k16 (compute capability below 8.0) is left to the FMA kernels.
  detail::DeviceInfo turing = sm90;
  turing.name = "sm_75 (T4)";
  turing.cc_major = 7, turing.cc_minor = 5;
  turing.smem_per_block_optin = 64 * 1024;
  turing.smem_per_sm = 64 * 1024;
  const detail::Selection t = select_on(turing, "depthwise_n1h56w56c128_k13x13_psame_f16");
  ASSERT_NE(t.impl, nullptr);
  EXPECT_EQ(t.impl->name().rfind(kMma, 0), std::string::npos) << t.impl->name();
  EXPECT_NE(reasons(t).find("needs compute capability 8.0; sm_75 (T4) has 7.5"), std::string::npos) << reasons(t);
  // A 5x5 map fills 19% of the smallest (8x16) tile: taken while the grid is under a wave (batch 4), left to
  // the FMA kernels once it fills the device (batch 12: 1.5 waves of 8 blocks per SM). A 7x7 map (38%) is
  // taken at batch 32 too.
  const detail::Selection few = select_on(sm90, "depthwise_n4h5w5c1024_k13x13_psame_f16");
  ASSERT_NE(few.impl, nullptr);
  EXPECT_EQ(few.impl->name(), "dw_fwd_nhwc_lk_mma_f16x8_tile8x16") << reasons(few);
  const detail::Selection many = select_on(sm90, "depthwise_n12h5w5c1024_k13x13_psame_f16");
  ASSERT_NE(many.impl, nullptr);
  EXPECT_EQ(many.impl->name().rfind(kMma, 0), std::string::npos) << many.impl->name();
  EXPECT_NE(
      reasons(many).find("only 19% of its 8x16 tiles hold outputs (5x5 map) and the grid fills the device 1.5 times"),
      std::string::npos)
      << reasons(many);
  // Forbidding the FMA kernel lifts the rule.
  const detail::Selection forced = detail::select_for_device(*detail::find_backend("cuda"),
                                                             *Problem::parse("depthwise_n12h5w5c1024_k13x13_psame_f16"),
                                                             PlanOptions{{"ref", "dw_fwd_nhwc_generic"}}, sm90, false);
  ASSERT_NE(forced.impl, nullptr) << reasons(forced);
  EXPECT_EQ(forced.impl->name(), "dw_fwd_nhwc_lk_mma_f16x8_tile8x16") << reasons(forced);
  const detail::Selection seven = select_on(sm90, "depthwise_n32h7w7c1024_k13x13_psame_f16");
  ASSERT_NE(seven.impl, nullptr);
  EXPECT_EQ(seven.impl->name(), "dw_fwd_nhwc_lk_mma_f16x8_tile8x16") << reasons(seven);
  // 31x31 stages 80 KiB in 16x32 tiles: it fits sm_86's 99 KiB per block. 41x41's filter pairs alone take
  // 54 KiB, and with the smallest tile's input planes 108 KiB: left to the FMA kernels there, with the
  // reason.
  const detail::DeviceInfo& a10 = *cuda::known_device("sm_86");
  const detail::Selection k31 = select_on(a10, "depthwise_n1h56w56c128_k31x31_psame_f16");
  ASSERT_NE(k31.impl, nullptr);
  EXPECT_EQ(k31.impl->name(), "dw_fwd_nhwc_lk_mma_f16x8_tile16x32") << reasons(k31);
  const detail::Selection k41 = select_on(a10, "depthwise_n1h56w56c128_k41x41_psame_f16");
  ASSERT_NE(k41.impl, nullptr);
  EXPECT_EQ(k41.impl->name().rfind(kMma, 0), std::string::npos) << k41.impl->name();
  EXPECT_NE(reasons(k41).find("the smallest tile needs 110400 bytes of shared memory, over the 101376"),
            std::string::npos)
      << reasons(k41);
}

// The warp tile per RepLKNet layer and batch on an H100 (sm_90, 132 SMs): the chooser's pick is the
// shape the performance model finds fastest for each of these (bench/results/2026-12-01-model-h100-lk-mma-v2/,
// where every shape was profiled): wide tiles when the grid fills the device, narrow ones at batch 1 and
// on small maps.
TEST(DepthwiseMmaSelection, WarpTileFitsTheMapAndTheBatch) {
  const detail::DeviceInfo& sm90 = *cuda::known_device("sm_90");
  const std::pair<const char*, const char*> rows[] = {
      {"depthwise_n32h56w56c128_k31x31_psame_f16", "dw_fwd_nhwc_lk_mma_f16x8_tile16x64"},
      {"depthwise_n1h56w56c128_k31x31_psame_f16", "dw_fwd_nhwc_lk_mma_f16x8_tile16x32"},
      {"depthwise_n32h28w28c256_k29x29_psame_f16", "dw_fwd_nhwc_lk_mma_f16x8_tile16x32"},
      {"depthwise_n1h28w28c256_k29x29_psame_f16", "dw_fwd_nhwc_lk_mma_f16x8_tile16x16"},
      {"depthwise_n32h14w14c512_k27x27_psame_f16", "dw_fwd_nhwc_lk_mma_f16x8_tile16x16"},
      {"depthwise_n1h14w14c512_k27x27_psame_f16", "dw_fwd_nhwc_lk_mma_f16x8_tile8x16"},
      {"depthwise_n1h7w7c1024_k13x13_psame_bf16", "dw_fwd_nhwc_lk_mma_bf16x8_tile8x16"},
  };
  for (const auto& [descriptor, expect] : rows) {
    const detail::Selection s = select_on(sm90, descriptor);
    ASSERT_NE(s.impl, nullptr) << descriptor << "\n" << reasons(s);
    EXPECT_EQ(s.impl->name(), expect) << descriptor;
  }
  // A tile named through the options is taken even where the cost prefers another.
  const Problem p = *Problem::parse("depthwise_n32h56w56c128_k31x31_psame_f16");
  const detail::Selection named = detail::select_for_device(
      *detail::find_backend("cuda"), p, PlanOptions{{"ref"}, {"dw_fwd_nhwc_lk_mma_f16x8_tile8x16"}}, sm90, false);
  ASSERT_NE(named.impl, nullptr) << reasons(named);
  EXPECT_EQ(named.impl->name(), "dw_fwd_nhwc_lk_mma_f16x8_tile8x16");
}

// Tensors one element past an aligned address: no 16-byte pixel loads or stores, same results.
TEST(DepthwiseMmaAlignment, MisalignedViewsTakeTheElementPaths) {
  DSCONV_REQUIRE_CUDA();
  const Problem p = *Problem::parse("depthwise_n1h18w34c16_k13x13_psame_f16_bias_res_relu6");
  Result<Plan> plan = Plan::create(p, "cuda", PlanOptions{{"ref"}});
  ASSERT_TRUE(plan.is_ok()) << plan.status().to_string();
  ASSERT_EQ(plan->implementation().rfind(kMma, 0), 0u) << plan->implementation();
  const uint64_t seed = 77;
  SCOPED_TRACE("seed " + std::to_string(seed) + " " + p.descriptor());
  const HostData data = random_data(p, DataKind::kSmallIntegers, seed);
  Result<std::vector<float>> aligned = run_plan(*plan, data);
  ASSERT_TRUE(aligned.is_ok()) << aligned.status().to_string();

  const size_t es = dtype_size(p.dtype());
  std::vector<Buffer> keep;
  auto place = [&](const std::vector<float>& values) -> void* {
    const std::vector<uint8_t> bytes = encode(p.dtype(), values);
    Result<Buffer> b = Buffer::create(plan->memory_space(), bytes.size() + 64);
    EXPECT_TRUE(b.is_ok());
    EXPECT_TRUE(b->upload(bytes.data(), bytes.size(), es).is_ok());
    keep.push_back(std::move(b).value());
    return static_cast<char*>(keep.back().data()) + es;
  };
  void* x = place(data.input);
  void* w = place(data.filter);
  void* b = place(data.bias);
  void* r = place(data.residual);
  void* y = place(std::vector<float>(static_cast<size_t>(p.output_elements()), 0.0f));
  Result<Stream> stream = Stream::create(plan->memory_space());
  ASSERT_TRUE(stream.is_ok());
  const TensorArgs args = TensorArgs()
                              .set(Arg::kInput, x)
                              .set(Arg::kFilter, w)
                              .set(Arg::kBias, b)
                              .set(Arg::kResidual, r)
                              .set(Arg::kOutput, y);
  ASSERT_TRUE(plan->run(args, nullptr, 0, stream->get()).is_ok());
  ASSERT_TRUE(stream->synchronize().is_ok());
  std::vector<uint8_t> got(static_cast<size_t>(p.output_elements()) * es);
  ASSERT_TRUE(keep.back().download(got.data(), got.size(), es).is_ok());
  EXPECT_EQ(decode(p.dtype(), got.data(), p.output_elements()), *aligned);
}

}  // namespace
}  // namespace dsconv::testing
