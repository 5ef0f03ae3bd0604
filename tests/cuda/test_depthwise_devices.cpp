// Kernel selection knows the device it runs on: the depthwise offers size their kernels for the described
// device (shared memory per block and per SM), so a plan made for an sm_86 card never launches a kernel
// that only an sm_90 block could hold. Selection is checked for every known architecture on any machine
// (select_for_device); on the emulator the plans also run while it impersonates sm_86 and sm_90
// (DSCONV_EMU_DEVICE), with the launch limits of that device enforced.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string>

#include "cuda/common/known_devices.hpp"
#include "dsconv/dsconv.hpp"
#include "src/dispatch/backend.hpp"
#include "support/emulated_device.hpp"
#include "support/tester.hpp"

namespace dsconv::testing {
namespace {

// One output row of 8 at stride 4 reads 29 rows x 31 columns of 32 channels: 115,456 bytes of shared
// memory for a single filter row, more than a block can have on sm_86/sm_89 (99 KiB), less than on sm_80
// (163 KiB) and sm_90 (227 KiB).
ProblemDesc strided_problem() {
  ProblemDesc d;
  d.op = Op::kDepthwise;
  d.batch = 2, d.height = 41, d.width = 37, d.channels = 32;
  d.kernel_h = d.kernel_w = 3;
  d.stride_h = d.stride_w = 4;
  d.has_bias = true;
  d.activation = Activation::kRelu6;
  return d;
}

// The specialized 7x7 stride-2 tile stages 62.7 KiB: above the 48 KiB a kernel gets without opting in,
// within every architecture's maximum.
ProblemDesc k7s2_problem() {
  ProblemDesc d;
  d.op = Op::kDepthwise;
  d.batch = 1, d.height = 23, d.width = 19, d.channels = 40;
  d.kernel_h = d.kernel_w = 7;
  d.stride_h = d.stride_w = 2;
  d.padding = PaddingMode::kSame;
  return d;
}

std::string explain(const detail::Selection& s) {
  std::string out;
  for (const Rejection& r : s.rejections) out += r.implementation + ": " + r.reason + "\n";
  return out;
}

detail::Selection select_on(const char* arch, const ProblemDesc& d) {
  const detail::Backend* cuda = detail::find_backend("cuda");
  EXPECT_NE(cuda, nullptr);
  const detail::DeviceInfo* device = cuda::known_device(arch);
  EXPECT_NE(device, nullptr) << arch;
  Result<Problem> p = Problem::create(d);
  EXPECT_TRUE(p.is_ok()) << p.status().to_string();
  return detail::select_for_device(*cuda, *p, PlanOptions{{"ref"}}, *device, /*prepare=*/false);
}

TEST(DepthwiseDevices, KnownArchitecturesHaveTheirLimits) {
  ASSERT_NE(cuda::known_device("sm_86"), nullptr);
  EXPECT_EQ(cuda::known_device("sm_86")->smem_per_block_optin, 99 * 1024);
  EXPECT_EQ(cuda::known_device("90")->smem_per_block_optin, 227 * 1024);
  EXPECT_EQ(cuda::known_device("sm_80")->arch(), 80);
  EXPECT_EQ(cuda::known_device("sm_89")->sm_count, 58);
  EXPECT_EQ(cuda::known_device("sm_75")->smem_per_block_optin, 64 * 1024);  // impersonated, not in the list
  EXPECT_EQ(cuda::known_device("sm_70"), nullptr);
  EXPECT_EQ(cuda::known_device("sm_9"), nullptr);
}

TEST(DepthwiseDevices, AStagingTileTooBigForTheDeviceFallsToTheDirectKernel) {
  for (const char* arch : {"sm_80", "sm_90"}) {
    const detail::Selection s = select_on(arch, strided_problem());
    ASSERT_NE(s.impl, nullptr) << arch << "\n" << explain(s);
    EXPECT_EQ(s.impl->name().rfind("dw_fwd_nhwc_generic_f32", 0), 0u) << arch << " chose " << s.impl->name();
  }
  for (const char* arch : {"sm_86", "sm_89"}) {
    const detail::Selection s = select_on(arch, strided_problem());
    ASSERT_NE(s.impl, nullptr) << arch << "\n" << explain(s);
    EXPECT_EQ(s.impl->name(), "dw_fwd_nhwc_direct_f32") << arch;
    bool named = false;
    for (const Rejection& r : s.rejections)
      named = named || (r.implementation.rfind("dw_fwd_nhwc_generic", 0) == 0 &&
                        r.reason.find("over the 101376 a block can have on " + std::string(arch)) != std::string::npos);
    EXPECT_TRUE(named) << arch << ": the rejection names the device's limit\n" << explain(s);
  }
}

TEST(DepthwiseDevices, EveryArchitectureTakesTheSpecializedKernelsThatFit) {
  for (const detail::DeviceInfo& device : cuda::kKnownDevices) {
    const std::string arch(device.name, 0, 5);
    // Batch 1: 6 tiles of 8x8, far under a block per SM, so the small 4x8 tile; batch 64 fills every device.
    ProblemDesc d = k7s2_problem();
    const detail::Selection s = select_on(arch.c_str(), d);
    ASSERT_NE(s.impl, nullptr) << arch << "\n" << explain(s);
    EXPECT_EQ(s.impl->name(), "dw_fwd_nhwc_k7s2_f32x4_tile4x8") << arch;
    d.batch = 64;
    const detail::Selection big = select_on(arch.c_str(), d);
    ASSERT_NE(big.impl, nullptr) << arch << "\n" << explain(big);
    EXPECT_EQ(big.impl->name(), "dw_fwd_nhwc_k7s2_f32x4_tile8x8") << arch;
  }
}

// The small tile serves grids of the large one that leave at least half the SMs without a block, per
// device: 48 large tiles (28x28x192, 3x3) are more than half an sm_86's 72 SMs but not of an sm_90's 132;
// 84 (ConvNeXt's 56x56x96, 7x7) keep the large tile on sm_90.
TEST(DepthwiseDevices, SmallSpecializedTileWhereTheLargeOneLeavesSmsIdle) {
  ProblemDesc d;
  d.op = Op::kDepthwise;
  d.batch = 1, d.height = 28, d.width = 28, d.channels = 192;
  d.kernel_h = d.kernel_w = 3;
  d.padding = PaddingMode::kSame;
  const detail::Selection on90 = select_on("sm_90", d);
  ASSERT_NE(on90.impl, nullptr) << explain(on90);
  EXPECT_EQ(on90.impl->name(), "dw_fwd_nhwc_k3s1_f32x4_tile8x8");
  const detail::Selection on86 = select_on("sm_86", d);
  ASSERT_NE(on86.impl, nullptr) << explain(on86);
  EXPECT_EQ(on86.impl->name(), "dw_fwd_nhwc_k3s1_f32x4_tile8x16");
  ProblemDesc convnext = d;
  convnext.height = convnext.width = 56, convnext.channels = 96;
  convnext.kernel_h = convnext.kernel_w = 7;
  const detail::Selection stage1 = select_on("sm_90", convnext);
  ASSERT_NE(stage1.impl, nullptr) << explain(stage1);
  EXPECT_EQ(stage1.impl->name(), "dw_fwd_nhwc_k7s1_f32x4_tile8x16");
  convnext.height = convnext.width = 28, convnext.channels = 192;  // stage 2: 48 large tiles
  const detail::Selection stage2 = select_on("sm_90", convnext);
  ASSERT_NE(stage2.impl, nullptr) << explain(stage2);
  EXPECT_EQ(stage2.impl->name(), "dw_fwd_nhwc_k7s1_f32x4_tile8x8");
}

// The grid-stride loops of the tiled kernels add gridDim.x to an int tile index: more than 2^30 tiles
// go to the 64-bit direct kernel with the bound named (selection only; nothing is allocated).
TEST(DepthwiseDevices, MoreThan2To30TilesGoDirect) {
  ProblemDesc d;
  d.op = Op::kDepthwise;
  d.batch = int64_t{1} << 25, d.height = 16, d.width = 32, d.channels = 320;  // 4 tiles x 10 chunks per image
  d.kernel_h = d.kernel_w = 3;
  d.padding = PaddingMode::kSame;
  const detail::Selection s = select_on("sm_90", d);
  ASSERT_NE(s.impl, nullptr) << explain(s);
  EXPECT_EQ(s.impl->name(), "dw_fwd_nhwc_direct_f32");
  EXPECT_NE(explain(s).find("tiles 1342177280 exceed the 2^30 bound"), std::string::npos) << explain(s);
}

// MobileNetV3's 5x5 rate-2 segmentation layer: 14x14x672, SAME, at batch n (f32).
ProblemDesc mobilenet_v3_dw5x5_d2(int64_t n) {
  ProblemDesc d;
  d.op = Op::kDepthwise;
  d.batch = n, d.height = 14, d.width = 14, d.channels = 672;
  d.kernel_h = d.kernel_w = 5;
  d.dilation_h = d.dilation_w = 2;
  d.padding = PaddingMode::kSame;
  return d;
}

// The lattice's grid rule. On a grid of at most one block per SM that the lattice does not widen, a 3x3
// filter takes the dense tile (shorter chain, reads within 5%), and so does any filter where the staging goes
// through registers (sm_75: no cp.async); past 3x3 with cp.async the lattice's sliding reads win.
// MobileNetV3's 5x5 rate-2 layer on 14x14x672 at N=1 is 84 blocks either way.
TEST(DepthwiseDevices, TheLatticeGivesWayToTheDenseTileOnGridsOfOneBlockPerSm) {
  ProblemDesc d = mobilenet_v3_dw5x5_d2(1);
  const detail::Selection h100 = select_on("sm_90", d);
  ASSERT_NE(h100.impl, nullptr) << explain(h100);
  EXPECT_EQ(h100.impl->name(), "dw_fwd_nhwc_lattice_slidew_f32x4_tile8x8_step2x2");
  const detail::Selection l4 = select_on("sm_89", d);
  ASSERT_NE(l4.impl, nullptr) << explain(l4);
  EXPECT_EQ(l4.impl->name(), "dw_fwd_nhwc_lattice_slidew_f32x4_tile8x8_step2x2");
  {
    ProblemDesc three = d;  // 3x3: 48 blocks either way
    three.channels = 384, three.kernel_h = three.kernel_w = 3;
    const detail::Selection s = select_on("sm_90", three);
    ASSERT_NE(s.impl, nullptr) << explain(s);
    EXPECT_EQ(s.impl->name(), "dw_fwd_nhwc_generic_f32x4_tile8x8");
    EXPECT_NE(explain(s).find("a grid of 48 dense blocks for 132 SMs, and no more on the lattice (steps 2x2: 48)"),
              std::string::npos)
        << explain(s);
    ProblemDesc five = d;  // 5x5 on a T4's 40 SMs: 32 blocks either way, staged through registers
    five.channels = 256;
    const detail::Selection t4 = select_on("sm_75", five);
    ASSERT_NE(t4.impl, nullptr) << explain(t4);
    EXPECT_EQ(t4.impl->name(), "dw_fwd_nhwc_generic_f32x4_tile8x8");
    const detail::Selection h = select_on("sm_90", five);
    ASSERT_NE(h.impl, nullptr) << explain(h);
    EXPECT_EQ(h.impl->name(), "dw_fwd_nhwc_lattice_slidew_f32x4_tile8x8_step2x2");
  }
  // More blocks on the lattice than dense (33x33x256 rate 6: 288 against 200) keep it on any card.
  d.height = d.width = 33, d.channels = 256, d.kernel_h = d.kernel_w = 3, d.dilation_h = d.dilation_w = 6;
  const detail::Selection more = select_on("sm_90", d);
  ASSERT_NE(more.impl, nullptr) << explain(more);
  EXPECT_EQ(more.impl->name(), "dw_fwd_nhwc_lattice_slidew_f32x4_tile8x8_step6x6");
  // At N=4 (336 dense blocks) the map decides.
  d.height = d.width = 14, d.channels = 672, d.kernel_h = d.kernel_w = 5, d.dilation_h = d.dilation_w = 2;
  d.batch = 4;
  const detail::Selection n4 = select_on("sm_90", d);
  ASSERT_NE(n4.impl, nullptr) << explain(n4);
  EXPECT_EQ(n4.impl->name(), "dw_fwd_nhwc_lattice_slidew_f32x4_tile8x8_step2x2");
}

// The narrow lattice tile on every architecture: classes at most 8 outputs wide take the 8x8 one-strip tile,
// 9 wide the 8x16 (MobileNetV3's 5x5 rate-2 layer at N=32 in f16: four 7x7 classes; an 18x18 map's are 9).
TEST(DepthwiseDevices, NarrowLatticeClassesTakeTheNarrowTile) {
  ProblemDesc d = mobilenet_v3_dw5x5_d2(32);
  d.dtype = DType::kF16;
  for (const char* arch : {"sm_80", "sm_86", "sm_89", "sm_90"}) {
    SCOPED_TRACE(arch);
    const detail::Selection s = select_on(arch, d);
    ASSERT_NE(s.impl, nullptr) << explain(s);
    EXPECT_EQ(s.impl->name(), "dw_fwd_nhwc_lattice_slidew_f16x8_tile8x8_step2x2");
    ProblemDesc wide = d;
    wide.height = wide.width = 18;  // 9-wide classes
    const detail::Selection w = select_on(arch, wide);
    ASSERT_NE(w.impl, nullptr) << explain(w);
    EXPECT_EQ(w.impl->name(), "dw_fwd_nhwc_lattice_slidew_f16x8_tile8x16_step2x2");
    wide.height = wide.width = 16;  // 8-wide classes: narrow again
    const detail::Selection n = select_on(arch, wide);
    ASSERT_NE(n.impl, nullptr) << explain(n);
    EXPECT_EQ(n.impl->name(), "dw_fwd_nhwc_lattice_slidew_f16x8_tile8x8_step2x2");
  }
}

// The NCHW rows kernel on every architecture: groups of lanes as wide as the map (rounded up to a power of two,
// or to whole warps), whole planes per block where their strips fit, fewer planes where the grid would leave
// SMs without two blocks; a dilation along H whose row classes need more groups than a block has, or a band
// over the device's staging budget, goes to the generic kernel, saying why.
ProblemDesc nchw_problem(int64_t n, int64_t hw, int64_t c, int64_t k, int64_t s) {
  ProblemDesc d;
  d.op = Op::kDepthwise;
  d.batch = n, d.height = d.width = hw, d.channels = c;
  d.kernel_h = d.kernel_w = k;
  d.stride_h = d.stride_w = s;
  d.padding = PaddingMode::kSame;
  d.layout = Layout::kNCHW;
  return d;
}

TEST(DepthwiseDevices, NchwRowsBlocksFitTheMapAndTheDevice) {
  struct Row {
    ProblemDesc d;
    const char* name;
  };
  const Row rows[] = {
      {nchw_problem(32, 112, 32, 3, 1), "dw_fwd_nchw_k3s1_f32_band8"},           // 112 lanes of 128
      {nchw_problem(32, 112, 96, 3, 2), "dw_fwd_nchw_k3s2_f32_band8"},           // 2 x 64 lanes, 4 rows each
      {nchw_problem(32, 28, 192, 5, 1), "dw_fwd_nchw_k5s1_f32_band32"},          // 4 x 32 lanes: a whole plane
      {nchw_problem(32, 14, 576, 3, 1), "dw_fwd_nchw_k3s1_f32_band16x4planes"},  // 8 x 16 lanes
      {nchw_problem(32, 7, 960, 3, 1), "dw_fwd_nchw_k3s1_f32_band8x16planes"},   // 16 x 8 lanes
  };
  for (const char* arch : {"sm_80", "sm_86", "sm_89", "sm_90"}) {
    SCOPED_TRACE(arch);
    for (const Row& r : rows) {
      const detail::Selection s = select_on(arch, r.d);
      ASSERT_NE(s.impl, nullptr) << explain(s);
      EXPECT_EQ(s.impl->name(), r.name);
    }
    // At N=1, 960 planes of 7x7 in blocks of 16 would be 60 blocks: fewer planes a block, at least two blocks
    // an SM.
    const detail::Selection one = select_on(arch, nchw_problem(1, 7, 960, 3, 1));
    ASSERT_NE(one.impl, nullptr) << explain(one);
    const int64_t sms = cuda::known_device(arch)->sm_count;
    const std::string name = one.impl->name();
    const size_t x = name.find("x", name.find("_band"));
    const int64_t planes = x == std::string::npos ? 1 : std::stoll(name.substr(x + 1));
    EXPECT_GE((960 + planes - 1) / planes, 2 * sms) << name;
    EXPECT_LT(960 / (2 * planes), 2 * sms) << name << ": twice the planes would also have filled the device";
  }
  // DeepLab's rate 12 on 33x33: 12 row classes, two groups of 64 lanes a block.
  ProblemDesc aspp = nchw_problem(1, 33, 64, 3, 1);
  aspp.dilation_h = aspp.dilation_w = 12;
  const detail::Selection a = select_on("sm_90", aspp);
  ASSERT_NE(a.impl, nullptr) << explain(a);
  EXPECT_EQ(a.impl->name().rfind("dw_fwd_nchw_generic_f32", 0), 0u) << a.impl->name();
  EXPECT_NE(explain(a).find("dilation 12 along H: its row classes need 12 groups of 64 lanes, a block has 2"),
            std::string::npos)
      << explain(a);
  // 1200 columns of f32: a band of 8 rows stages 10 rows, 48,000 bytes; within sm_90's budget (72 KiB), over
  // sm_86's (a third of its 100 KiB).
  ProblemDesc wide = nchw_problem(1, 1200, 2, 3, 1);
  wide.height = 40;
  const detail::Selection w90 = select_on("sm_90", wide);
  ASSERT_NE(w90.impl, nullptr) << explain(w90);
  EXPECT_EQ(w90.impl->name(), "dw_fwd_nchw_k3s1_f32_band8");
  const detail::Selection w86 = select_on("sm_86", wide);
  ASSERT_NE(w86.impl, nullptr) << explain(w86);
  EXPECT_EQ(w86.impl->name().rfind("dw_fwd_nchw_generic_slidew_f32", 0), 0u) << w86.impl->name();
  EXPECT_NE(explain(w86).find("stages more than the"), std::string::npos) << explain(w86);
}

#if defined(DSCONV_CUDA_EMULATION)

void run_on(const char* arch, const ProblemDesc& d, const std::string& expect, DType dtype) {
  EmulatedDevice device(arch);
  SCOPED_TRACE(std::string("DSCONV_EMU_DEVICE=") + arch);
  ConvTester t;
  t.desc(d).dtype(dtype).seed(86).data(DataKind::kSmallIntegers);
  const TestReport r = t.test("cuda", PlanOptions{{"ref"}});
  EXPECT_EQ(r.implementation.rfind(expect, 0), 0u) << r.implementation;
}

// DeepLab's rate 12 on a small map: the lattice kernel, steps below the rate.
ProblemDesc atrous_problem() {
  ProblemDesc d;
  d.op = Op::kDepthwise;
  d.batch = 1, d.height = 33, d.width = 33, d.channels = 8;
  d.kernel_h = d.kernel_w = 3;
  d.dilation_h = d.dilation_w = 12;
  d.padding = PaddingMode::kSame;
  d.has_bias = true;
  return d;
}

TEST(DepthwiseDevices, PlansRunOnTheImpersonatedSm86) {
  run_on("sm_86", strided_problem(), "dw_fwd_nhwc_direct_f32", DType::kF32);
  run_on("sm_86", k7s2_problem(), "dw_fwd_nhwc_k7s2_f16", DType::kF16);
  run_on("sm_86", atrous_problem(), "dw_fwd_nhwc_lattice_bf16x8_tile8x8_step4x6", DType::kBF16);
  ProblemDesc narrow = atrous_problem();  // 7-wide classes of a 14x14 5x5 rate-2 map: the narrow tile
  narrow.height = narrow.width = 14, narrow.channels = 40, narrow.batch = 2;
  narrow.kernel_h = narrow.kernel_w = 5, narrow.dilation_h = narrow.dilation_w = 2;
  run_on("sm_86", narrow, "dw_fwd_nhwc_lattice_slidew_f16x8_tile8x8_step2x2", DType::kF16);
  run_on("sm_86", nchw_problem(2, 21, 6, 5, 2), "dw_fwd_nchw_k5s2_f16_pairs_band", DType::kF16);
}

TEST(DepthwiseDevices, PlansRunOnTheImpersonatedSm90) {
  run_on("sm_90", strided_problem(), "dw_fwd_nhwc_generic_f32", DType::kF32);
  // Stride 5: one filter row stages 36 rows x 38 columns x 32 channels, 175 KiB, 86 16-byte copies a
  // thread: cp.async in groups, never more than two in flight.
  ProblemDesc wide = strided_problem();
  wide.stride_h = wide.stride_w = 5;
  wide.height = 50, wide.width = 46;
  run_on("sm_90", wide, "dw_fwd_nhwc_generic_f32x4", DType::kF32);
  run_on("sm_90", k7s2_problem(), "dw_fwd_nhwc_k7s2_bf16", DType::kBF16);
  run_on("sm_90", atrous_problem(), "dw_fwd_nhwc_lattice_f16x8_tile8x8_step4x6", DType::kF16);
  ProblemDesc narrow = atrous_problem();
  narrow.height = narrow.width = 14, narrow.channels = 40, narrow.batch = 2;
  narrow.kernel_h = narrow.kernel_w = 5, narrow.dilation_h = narrow.dilation_w = 2;
  run_on("sm_90", narrow, "dw_fwd_nhwc_lattice_slidew_bf16x8_tile8x8_step2x2", DType::kBF16);
  run_on("sm_90", nchw_problem(2, 21, 6, 7, 1), "dw_fwd_nchw_k7s1_bf16_pairs_band", DType::kBF16);
}

// A device without cp.async (sm_75): the specialized, generic and NCHW rows kernels stage their input through
// registers in batches, the path kept for it; the 16-byte vectors and the small tile still apply.
TEST(DepthwiseDevices, PlansRunOnTheImpersonatedSm75WithoutCpAsync) {
  ProblemDesc d;
  d.op = Op::kDepthwise;
  d.batch = 1, d.height = 19, d.width = 21, d.channels = 40;  // 12 large tiles for 40 SMs: the small one
  d.kernel_h = d.kernel_w = 3;
  d.padding = PaddingMode::kSame;
  d.has_bias = true;
  run_on("sm_75", d, "dw_fwd_nhwc_k3s1_f32x4_tile8x8", DType::kF32);
  run_on("sm_75", d, "dw_fwd_nhwc_k3s1_bf16x8_tile8x8", DType::kBF16);
  d.kernel_h = d.kernel_w = 5, d.stride_h = d.stride_w = 2, d.batch = 40;  // 120 tiles: the large one
  run_on("sm_75", d, "dw_fwd_nhwc_k5s2_f16x8_tile8x8", DType::kF16);
  d.kernel_h = d.kernel_w = 9, d.stride_h = d.stride_w = 1, d.batch = 2;  // the generic kernel's batches
  run_on("sm_75", d, "dw_fwd_nhwc_generic_slidew_f32x4", DType::kF32);
  d.kernel_h = d.kernel_w = 3, d.dilation_h = d.dilation_w = 2;
  run_on("sm_75", d, "dw_fwd_nhwc_generic_bf16x8", DType::kBF16);
  // The NCHW rows kernel stages element by element, kStageBatch loads in flight.
  run_on("sm_75", nchw_problem(2, 19, 5, 3, 1), "dw_fwd_nchw_k3s1_f32_band", DType::kF32);
  run_on("sm_75", nchw_problem(1, 23, 4, 5, 2), "dw_fwd_nchw_k5s2_f16_pairs_band", DType::kF16);
}

// A problem, the device it is planned on, and the whole name of the plan it must get.
struct PlanRow {
  const char* arch;
  ProblemDesc d;
  DType dt;
  const char* name;
};

// Each row on its device against the reference, on small integers and on uniform data (seeds from `seed` up):
// the plan's exact name, every output.
template <size_t N>
void run_plan_rows(const PlanRow (&rows)[N], uint64_t seed) {
  for (const PlanRow& r : rows) {
    EmulatedDevice device(r.arch);
    SCOPED_TRACE(std::string("DSCONV_EMU_DEVICE=") + r.arch);
    for (DataKind data : {DataKind::kSmallIntegers, DataKind::kUniform}) {
      ConvTester t;
      t.desc(r.d).dtype(r.dt).seed(seed++).data(data);
      const TestReport rep = t.test("cuda", PlanOptions{{"ref"}});
      if (::testing::Test::HasFatalFailure()) return;
      EXPECT_EQ(rep.implementation, r.name);
    }
  }
}

// Narrow NCHW maps (outputs at most 16 wide) in 16-bit data on a one-SM slice, so that blocks take whole planes,
// several a warp: pairs where their reads cost fewer shared wavefronts per output (adjacent pairs read as
// words, at stride 1 and 2; pairs dilation_w apart), one column where they do not, a warp's planes spread to
// share their 16-byte lead, 5x5 outputs through shared memory (14 wide, and 7 wide where a warp holds 8 planes; the
// 7-wide rows of a whole sm_90 at 2 planes a block store by shuffled words instead), planes of odd sizes (every parity
// of a span's first element, and first elements left of the block's shared memory), explicit padding, the last pair of
// an odd width half outside the map, a residual in place of the output (silu, hswish), rows dilation_h apart, word
// reads rotated (3x3 and 5x5, stride 1 and 2) and straight, and the element-wise staging of sm_75. The names are the
// whole plan: pairs, band, planes, spread and rot.
TEST(DepthwiseDevices, NchwRowsNarrowMapsRunPairsAndSpreadPlanes) {
  const auto prob = [](int64_t n, int64_t h, int64_t w, int64_t c, int64_t k, int64_t s) {
    ProblemDesc d = nchw_problem(n, h, c, k, s);
    d.width = w;
    return d;
  };
  ProblemDesc padded = prob(1, 15, 15, 13, 5, 1);
  padded.padding = PaddingMode::kExplicit;
  padded.pad_top = 2, padded.pad_bottom = 1, padded.pad_left = 3, padded.pad_right = 0;
  ProblemDesc fused = prob(1, 14, 14, 64, 5, 1);
  fused.has_bias = true, fused.has_residual = true, fused.activation = Activation::kSilu;
  fused.filter_layout = FilterLayout::kOIHW;
  ProblemDesc rate3 = prob(1, 12, 12, 19, 5, 1);  // pairs 3 apart (at rate 2: quads, below)
  rate3.dilation_h = rate3.dilation_w = 3;
  ProblemDesc valid = prob(1, 16, 15, 48, 5, 1);
  valid.padding = PaddingMode::kValid;
  ProblemDesc fused7 = prob(2, 7, 7, 37, 5, 1);  // every other row and plane starts mid-word
  fused7.has_bias = true, fused7.has_residual = true, fused7.activation = Activation::kHswish;
  ProblemDesc rows2 = prob(2, 9, 9, 9, 5, 1);  // a thread's rows 2 apart: their ends not joined
  rows2.dilation_h = 2;
  const PlanRow rows[] = {
      {"sm_90:1", prob(2, 7, 7, 9, 5, 1), DType::kF16, "dw_fwd_nchw_k5s1_f16_pairs_band8x16planes_rot"},
      {"sm_90:1", prob(2, 7, 7, 37, 5, 1), DType::kBF16, "dw_fwd_nchw_k5s1_bf16_pairs_band8x16planes_rot"},
      {"sm_90:1", prob(1, 14, 14, 40, 5, 1), DType::kBF16, "dw_fwd_nchw_k5s1_bf16_pairs_band16x8planes_spread"},
      {"sm_90:1", fused, DType::kF16, "dw_fwd_nchw_k5s1_f16_pairs_band16x8planes_spread"},
      {"sm_90:1", prob(2, 14, 14, 23, 3, 1), DType::kF16, "dw_fwd_nchw_k3s1_f16_pairs_band16x8planes_rot"},
      {"sm_90:1", prob(2, 14, 14, 21, 5, 2), DType::kF16, "dw_fwd_nchw_k5s2_f16_pairs_band8x16planes_rot"},
      {"sm_90:1", prob(1, 13, 13, 24, 3, 2), DType::kBF16, "dw_fwd_nchw_k3s2_bf16_pairs_band8x16planes"},
      {"sm_90:1", prob(2, 11, 9, 17, 7, 2), DType::kBF16, "dw_fwd_nchw_k7s2_bf16_pairs_band8x16planes"},
      {"sm_90:1", prob(1, 9, 11, 33, 7, 1), DType::kF16, "dw_fwd_nchw_k7s1_f16_pairs_band16x8planes_spread"},
      {"sm_90:1", padded, DType::kF16, "dw_fwd_nchw_k5s1_f16_pairs_band16x8planes_spread"},
      {"sm_90:1", valid, DType::kF16, "dw_fwd_nchw_k5s1_f16_pairs_band16x8planes"},
      {"sm_90:1", rate3, DType::kF16, "dw_fwd_nchw_k5s1_f16_pairs_band24x5planes"},
      {"sm_90:1", fused7, DType::kBF16, "dw_fwd_nchw_k5s1_bf16_pairs_band8x16planes_rot"},
      {"sm_90:1", rows2, DType::kF16, "dw_fwd_nchw_k5s1_f16_pairs_band16x8planes_spread"},
      {"sm_90:1", prob(1, 7, 7, 40, 3, 1), DType::kF16, "dw_fwd_nchw_k3s1_f16_pairs_band8x16planes_rot"},
      {"sm_90", prob(16, 11, 11, 96, 3, 2), DType::kBF16, "dw_fwd_nchw_k3s2_bf16_pairs_band8x4planes_rot"},
      {"sm_90", prob(1, 7, 7, 960, 5, 1), DType::kF16, "dw_fwd_nchw_k5s1_f16_pairs_band8x2planes"},
      {"sm_90", prob(1, 14, 14, 960, 5, 2), DType::kBF16, "dw_fwd_nchw_k5s2_bf16_pairs_band8x2planes"},
      {"sm_90:1", prob(1, 14, 14, 40, 3, 2), DType::kF16, "dw_fwd_nchw_k3s2_f16_band8x8planes_spread"},
      {"sm_75:1", prob(2, 7, 7, 37, 5, 1), DType::kF16, "dw_fwd_nchw_k5s1_f16_pairs_band8x16planes_rot"},
      {"sm_75:1", prob(1, 14, 14, 40, 5, 1), DType::kBF16, "dw_fwd_nchw_k5s1_bf16_pairs_band16x8planes_spread"},
  };
  run_plan_rows(rows, 500);
}

// Rate 2 along W in 16-bit data: quads, four adjacent columns a lane slot read as words, on one-SM slices (whole
// planes, several a warp) and a whole device. Outputs through shared memory (14 wide at 5x5, 3x3 up to 31 wide),
// and by words through shuffles: odd widths (every other row mid-word, a row's last column joined with the next
// row's first), rows 2 and 3 apart (not joined); explicit and VALID padding, a residual in
// place of the output with silu and OIHW, rotated and straight reads, sm_86 and the element-wise staging of sm_75.
// The names are the whole plan.
TEST(DepthwiseDevices, NchwRowsRate2MapsRunQuads) {
  const auto prob = [](int64_t n, int64_t h, int64_t w, int64_t c, int64_t k, int64_t dh, int64_t dw) {
    ProblemDesc d = nchw_problem(n, h, c, k, 1);
    d.width = w;
    d.dilation_h = dh, d.dilation_w = dw;
    return d;
  };
  ProblemDesc padded = prob(1, 15, 15, 13, 5, 2, 2);
  padded.padding = PaddingMode::kExplicit;
  padded.pad_top = 3, padded.pad_bottom = 1, padded.pad_left = 5, padded.pad_right = 2;
  ProblemDesc fused = prob(2, 13, 13, 24, 5, 2, 2);
  fused.has_bias = true, fused.has_residual = true, fused.activation = Activation::kSilu;
  fused.filter_layout = FilterLayout::kOIHW;
  ProblemDesc valid = prob(1, 16, 17, 40, 5, 2, 2);
  valid.padding = PaddingMode::kValid;
  const PlanRow rows[] = {
      {"sm_90:1", prob(2, 14, 14, 21, 5, 2, 2), DType::kF16, "dw_fwd_nchw_k5s1_f16_quads_band16x8planes_spread"},
      {"sm_90:1", prob(1, 13, 13, 19, 5, 2, 2), DType::kBF16, "dw_fwd_nchw_k5s1_bf16_quads_band16x8planes_rot"},
      {"sm_90:1", prob(1, 12, 12, 19, 5, 2, 2), DType::kF16, "dw_fwd_nchw_k5s1_f16_quads_band16x8planes_rot"},
      {"sm_90:1", prob(2, 7, 7, 37, 3, 2, 2), DType::kBF16, "dw_fwd_nchw_k3s1_bf16_quads_band8x16planes_rot"},
      {"sm_90:1", prob(2, 9, 9, 13, 5, 1, 2), DType::kF16, "dw_fwd_nchw_k5s1_f16_quads_band12x10planes_rot"},
      {"sm_90:1", prob(1, 11, 11, 30, 3, 3, 2), DType::kBF16, "dw_fwd_nchw_k3s1_bf16_quads_band12x10planes_rot"},
      {"sm_90:1", prob(1, 20, 20, 8, 3, 2, 2), DType::kF16, "dw_fwd_nchw_k3s1_f16_quads_band24x2planes"},
      {"sm_90:1", padded, DType::kF16, "dw_fwd_nchw_k5s1_f16_quads_band16x8planes_rot"},
      {"sm_90:1", fused, DType::kBF16, "dw_fwd_nchw_k5s1_bf16_quads_band16x8planes_rot"},
      {"sm_90:1", valid, DType::kF16, "dw_fwd_nchw_k5s1_f16_quads_band8x16planes"},
      {"sm_90", prob(16, 14, 14, 96, 5, 2, 2), DType::kF16, "dw_fwd_nchw_k5s1_f16_quads_band16x4planes_spread"},
      {"sm_86:1", prob(2, 14, 14, 21, 5, 2, 2), DType::kF16, "dw_fwd_nchw_k5s1_f16_quads_band16x8planes_spread"},
      {"sm_75:1", prob(2, 13, 13, 21, 5, 2, 2), DType::kBF16, "dw_fwd_nchw_k5s1_bf16_quads_band16x8planes_rot"},
  };
  run_plan_rows(rows, 700);
}

TEST(DepthwiseDevices, AnUnknownEmulatedDeviceIsNoDevice) {
  EmulatedDevice device("sm_70");
  std::string why;
  EXPECT_FALSE(backend_available("cuda", &why));
  EXPECT_NE(why.find("no CUDA device"), std::string::npos) << why;
  Result<Problem> p = Problem::create(k7s2_problem());
  ASSERT_TRUE(p.is_ok());
  Result<Plan> plan = Plan::create(*p, "cuda");
  ASSERT_FALSE(plan.is_ok());
  EXPECT_EQ(plan.status().code(), StatusCode::kNoDevice) << plan.status().to_string();
}

#endif  // DSCONV_CUDA_EMULATION

}  // namespace
}  // namespace dsconv::testing
