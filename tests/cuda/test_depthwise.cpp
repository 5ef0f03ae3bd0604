// The cuda backend's depthwise kernels (cuda/depthwise/) against the CPU reference, on the emulator or
// a GPU. Every sweep row runs through ConvTester on backend "cuda" with the reference skipped, poisons
// the output with NaN and checks every element; each row also asserts which kernel the selection chose,
// so a sweep meant for a specialized kernel fails if another kernel (or backend) ran it.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include "cuda/depthwise/offers.hpp"
#include "cuda/device_api.hpp"
#include "dsconv/dsconv.hpp"
#include "support/emulated_device.hpp"
#include "support/tester.hpp"

namespace dsconv::testing {
namespace {

// Skipping "ref" makes a plan fail rather than reach any reference implementation.
PlanOptions no_reference() { return PlanOptions{{"ref"}}; }

struct DwCase {
  ConvCase c;
  std::string expect;  // prefix of the implementation the selection must choose
  std::vector<std::string> skip = {"ref"};
};

void PrintTo(const DwCase& c, std::ostream* os) {
  PrintTo(c.c, os);
  *os << " expect=" << c.expect;
}

std::string dw_case_name(const ::testing::TestParamInfo<DwCase>& info) {
  return case_name(info.param.c) + "_" + std::to_string(info.index);
}

ProblemDesc depthwise(int64_t n, int64_t h, int64_t w, int64_t c, int64_t kh, int64_t kw) {
  ProblemDesc d;
  d.op = Op::kDepthwise;
  d.batch = n, d.height = h, d.width = w, d.channels = c, d.kernel_h = kh, d.kernel_w = kw;
  return d;
}

const DType kDtypes[] = {DType::kF32, DType::kF16, DType::kBF16};

// Rotates padding, bias, activation, filter layout, batch and data kind with `v`, so a sweep covers
// their combinations across its rows without multiplying its length.
void vary(ProblemDesc* d, ConvCase* c, int v) {
  switch (v % 3) {
    case 0:
      d->padding = PaddingMode::kSame;
      break;
    case 1:
      d->padding = PaddingMode::kValid;
      break;
    default:
      d->padding = PaddingMode::kExplicit;
      d->pad_top = 1, d->pad_bottom = 2, d->pad_left = 0, d->pad_right = 3;
  }
  // VALID and explicit padding need the dilated filter to fit the (padded) input; SAME always does.
  if (!Problem::create(*d).is_ok()) d->padding = PaddingMode::kSame;
  d->has_bias = v % 2 == 1;
  d->activation = v % 4 == 1 ? Activation::kRelu : v % 4 == 3 ? Activation::kRelu6 : Activation::kNone;
  d->filter_layout = (v / 2) % 2 == 0 ? FilterLayout::kTF : FilterLayout::kOIHW;
  if (v % 5 == 2) d->batch = 2;
  // A handful of outputs through relu is all zero too often to test anything.
  if (Result<Problem> p = Problem::create(*d); p.is_ok() && p->output_elements() < 32)
    d->activation = Activation::kNone;
  // f32 with small integers is compared exactly; the 16-bit types alternate with uniform data.
  c->data = d->dtype != DType::kF32 && v % 2 == 1 ? DataKind::kUniform : DataKind::kSmallIntegers;
  c->seed = 1000 + static_cast<uint64_t>(v);
}

std::string dtype_vec(DType dt, int64_t c, int64_t m) {
  const int64_t vec = dt == DType::kF32 ? 4 : 8;
  return std::string(to_string(dt)) + "x" + std::to_string(m == 1 && c % vec == 0 ? vec : 1);
}

class DepthwiseCuda : public ::testing::TestWithParam<DwCase> {};

TEST_P(DepthwiseCuda, MatchesReference) {
  DSCONV_REQUIRE_CUDA();
  const DwCase& p = GetParam();
  PlanOptions options;
  options.skip_implementations = p.skip;
  const TestReport r = ConvTester(p.c).test("cuda", options);
  if (HasFatalFailure()) return;
  EXPECT_EQ(r.backend, "cuda");
  EXPECT_EQ(r.implementation.compare(0, p.expect.size(), p.expect), 0)
      << "chose " << r.implementation << ", expected " << p.expect << "...";
}

// --- specialized NHWC: every (kernel, stride) x tile x dtype, channels 1..96, odd sizes --------------

// The large and the small tile of specialization (k, s): their names' "_tile..." parts.
std::pair<std::string, std::string> specialized_tiles(int s) {
  return s == 1 ? std::pair<std::string, std::string>{"_tile8x16", "_tile8x8"}
                : std::pair<std::string, std::string>{"_tile8x8", "_tile4x8"};
}

// The specialized kernels' input width in their names: elements per 16-byte load where C allows it, else
// per 8-byte load (C a multiple of half as many), else per 4-byte load for 16-bit data (C even), else 1.
std::string specialized_vec(DType dt, int64_t c) {
  const int64_t vec = dt == DType::kF32 ? 4 : 8;
  const int64_t e = c % vec == 0 ? vec : c % (vec / 2) == 0 ? vec / 2 : vec == 8 && c % 2 == 0 ? 2 : 1;
  return std::string(to_string(dt)) + "x" + std::to_string(e);
}

std::vector<DwCase> specialized_cases() {
  const int64_t channels[] = {1, 6, 17, 33, 64, 96, 12, 10};
  const std::pair<int64_t, int64_t> sizes[] = {{13, 11}, {20, 17}, {7, 9}, {16, 16}, {11, 20}, {5, 6}};
  std::vector<DwCase> out;
  int v = 0;
  for (int k : {3, 5, 7}) {
    for (int s : {1, 2}) {
      for (DType dt : kDtypes) {
        for (int i = 0; i < 6; ++i, ++v) {
          const int64_t c = channels[(i + k + s) % 8];
          ProblemDesc d = depthwise(1, sizes[i].first, sizes[i].second, c, k, k);
          d.stride_h = d.stride_w = s;
          d.dtype = dt;
          DwCase dc;
          vary(&d, &dc.c, v);
          dc.c.desc = d;
          // Each tile in turn, the other one skipped through the options (these small grids pick the small
          // tile by themselves).
          const std::string prefix =
              "dw_fwd_nhwc_k" + std::to_string(k) + "s" + std::to_string(s) + "_" + specialized_vec(dt, c);
          const auto [large, small] = specialized_tiles(s);
          for (const bool take_small : {false, true}) {
            dc.expect = prefix + (take_small ? small : large);
            dc.skip = {"ref", prefix + (take_small ? large : small)};
            out.push_back(dc);
          }
        }
      }
    }
  }
  return out;
}
INSTANTIATE_TEST_SUITE_P(SpecializedNhwc, DepthwiseCuda, ::testing::ValuesIn(specialized_cases()), dw_case_name);

// --- generic kernels: shapes the specialized ones do not take ----------------------------------------

struct Shape {
  int64_t kh, kw, sh, sw, dh, dw, m;
};
// clang-format off
const Shape kGenericShapes[] = {
  {3, 3, 1, 1, 2, 2, 1}, {3, 3, 1, 1, 1, 1, 2}, {3, 3, 2, 2, 1, 1, 3}, {5, 5, 1, 1, 3, 3, 1},
  {3, 3, 3, 3, 1, 1, 1}, {3, 3, 1, 2, 4, 1, 1}, {1, 1, 1, 1, 1, 1, 4}, {2, 2, 1, 1, 1, 1, 1},
  {4, 3, 2, 1, 1, 2, 2}, {9, 9, 1, 1, 1, 1, 1}, {1, 7, 1, 1, 1, 1, 1}, {7, 1, 2, 2, 1, 1, 1},
  {3, 3, 2, 2, 2, 2, 1}, {5, 5, 3, 3, 1, 1, 1}, {3, 3, 1, 1, 4, 4, 4}, {11, 11, 1, 1, 1, 1, 1},
  {3, 3, 2, 1, 1, 1, 2}, {3, 5, 1, 1, 2, 1, 1}, {3, 3, 1, 3, 1, 3, 1}, {6, 6, 2, 3, 1, 1, 1},
};
// Shapes the NHWC list specializes: NCHW also runs them on its generic kernel (the rows kernel skipped).
const Shape kDenseShapes[] = {{3, 3, 1, 1, 1, 1, 1}, {3, 3, 2, 2, 1, 1, 1}, {5, 5, 1, 1, 1, 1, 1},
                              {5, 5, 2, 2, 1, 1, 1}, {7, 7, 1, 1, 1, 1, 1}, {7, 7, 2, 2, 1, 1, 1}};
// clang-format on

std::vector<DwCase> generic_cases(Layout layout) {
  const int64_t channels[] = {1, 3, 17, 33, 5, 64};
  const std::pair<int64_t, int64_t> sizes[] = {{13, 11}, {9, 17}, {20, 19}, {6, 7}, {15, 8}, {12, 12}};
  std::vector<Shape> shapes(std::begin(kGenericShapes), std::end(kGenericShapes));
  if (layout == Layout::kNCHW) shapes.insert(shapes.end(), std::begin(kDenseShapes), std::end(kDenseShapes));
  std::vector<DwCase> out;
  int v = 0;
  for (const Shape& sh : shapes) {
    for (DType dt : kDtypes) {
      for (int i = 0; i < 2; ++i, ++v) {
        const auto size = sizes[v % 6];
        // Channels times multiplier kept small: the emulator runs a block's threads one at a time.
        const int64_t c = channels[(v / 2) % 6] / (sh.m > 2 && channels[(v / 2) % 6] > 17 ? 2 : 1);
        ProblemDesc d = depthwise(1, size.first, size.second, c, sh.kh, sh.kw);
        d.stride_h = sh.sh, d.stride_w = sh.sw, d.dilation_h = sh.dh, d.dilation_w = sh.dw, d.multiplier = sh.m;
        d.layout = layout;
        d.dtype = dt;
        DwCase dc;
        vary(&d, &dc.c, v);
        dc.c.desc = d;
        const bool slide = sh.sw == 1 && sh.dw == 1;
        dc.expect =
            std::string("dw_fwd_") + to_string(layout) + "_generic" + (slide ? "_slidew_" : "_") + to_string(dt);
        // Dilated stride-1 NHWC shapes go to the lattice kernel by default, and square NCHW filters of the
        // list to the NCHW rows kernel (their own sweeps below): skipped here so that the generic kernels keep
        // their coverage.
        dc.skip = {"ref", "dw_fwd_nhwc_lattice", "dw_fwd_nchw_k"};
        out.push_back(dc);
      }
    }
  }
  return out;
}
INSTANTIATE_TEST_SUITE_P(GenericNhwc, DepthwiseCuda, ::testing::ValuesIn(generic_cases(Layout::kNHWC)), dw_case_name);
INSTANTIATE_TEST_SUITE_P(GenericNchw, DepthwiseCuda, ::testing::ValuesIn(generic_cases(Layout::kNCHW)), dw_case_name);

// --- NCHW rows: square 3/5/7 filters at stride 1/2, bands of whole rows ------------------------------

struct RowsShape {
  int64_t n, h, w, c, k, s, dh, dw, m;
};

// Every (kernel, stride) in every dtype on maps that give the kernel's cases: several planes per block (7x7
// to 14x14, planes of different images in one block at N=2), bands of a plane (tall maps), widths that are
// not whole 16-byte vectors (every plane's run starts and ends mid-vector), a width over the block's 128
// lanes (each lane takes two columns), dilation along H (row classes in one band) and along W (the 16-bit pairs
// kernels' columns dilation_w apart), multipliers,
// and vary()'s paddings (explicit: 1 row above and 2 below, 3 columns on the right) and filter layouts.
std::vector<DwCase> nchw_rows_cases() {
  // clang-format off
  const RowsShape shapes[] = {
    {2, 7, 7, 9, 3, 1, 1, 1, 1},    {1, 14, 14, 6, 3, 2, 1, 1, 1},  {1, 40, 9, 3, 5, 1, 1, 1, 1},
    {2, 11, 13, 5, 5, 2, 1, 1, 2},  {1, 21, 19, 2, 7, 1, 1, 1, 1},  {1, 30, 24, 2, 7, 2, 1, 1, 1},
    {1, 6, 150, 2, 3, 1, 1, 1, 1},  {1, 14, 14, 4, 5, 1, 2, 2, 1},  {1, 19, 17, 3, 3, 1, 3, 2, 3},
    {1, 9, 267, 1, 3, 2, 1, 1, 1},  {3, 5, 6, 7, 3, 1, 1, 3, 1},    {1, 33, 35, 2, 5, 2, 1, 1, 1},
    {1, 12, 45, 2, 3, 1, 1, 3, 1},  {1, 10, 37, 3, 5, 1, 2, 4, 1},  {2, 13, 13, 5, 5, 1, 1, 2, 1},
  };
  // clang-format on
  std::vector<DwCase> out;
  int v = 0;
  for (const RowsShape& sh : shapes) {
    for (DType dt : kDtypes) {
      ProblemDesc d = depthwise(sh.n, sh.h, sh.w, sh.c, sh.k, sh.k);
      d.stride_h = d.stride_w = sh.s, d.dilation_h = sh.dh, d.dilation_w = sh.dw, d.multiplier = sh.m;
      d.layout = Layout::kNCHW;
      d.dtype = dt;
      DwCase dc;
      vary(&d, &dc.c, 3200 + v++);
      d.batch = sh.n;  // vary() may set 2; the shapes say which batches cross images
      dc.c.desc = d;
      // 16-bit data at stride 1 on outputs more than 16 wide: two columns a lane (dilation_w apart), odd widths
      // leaving the last pair's second column past the map. On narrower 16-bit outputs, and at stride 2, the offer
      // weighs pairs against one column by their shared wavefronts, and at dilation_w 2 (3x3, 5x5) quads against
      // both (any may run here; test_depthwise_devices.cpp names the plan on a one-SM slice).
      Result<Problem> made = Problem::create(d);
      const bool quads = made.is_ok() && dt != DType::kF32 && sh.s == 1 && sh.dw == 2 && sh.k <= 5;
      const bool pairs = made.is_ok() && dt != DType::kF32 && sh.s == 1 && made->out_w() > 16;
      const bool either = made.is_ok() && dt != DType::kF32 && (made->out_w() <= 16 || quads || sh.s == 2);
      dc.expect = "dw_fwd_nchw_k" + std::to_string(sh.k) + "s" + std::to_string(sh.s) + "_" + to_string(dt) +
                  (either  ? "_"
                   : pairs ? "_pairs_band"
                           : "_band");
      out.push_back(dc);
    }
  }
  return out;
}
INSTANTIATE_TEST_SUITE_P(NchwRows, DepthwiseCuda, ::testing::ValuesIn(nchw_rows_cases()), dw_case_name);

// --- large filters, large dilations, tap skipping, several filter-row chunks ------------------------

std::vector<DwCase> large_cases() {
  std::vector<DwCase> out;
  // The 16-bit large filters these rows give the generic kernels go to the tensor-core kernel by default
  // (tests/cuda/test_depthwise_mma.cpp): it is skipped here so that the generic kernels keep this coverage.
  auto add = [&](ProblemDesc d, DataKind kind, const std::string& expect) {
    DwCase dc;
    dc.c.desc = d;
    dc.c.data = kind;
    dc.c.seed = 77 + out.size();
    dc.expect = expect;
    dc.skip = {"ref", "dw_fwd_nhwc_lk_mma"};
    out.push_back(dc);
  };
  for (Layout layout : {Layout::kNHWC, Layout::kNCHW}) {
    const std::string g = std::string("dw_fwd_") + to_string(layout) + "_generic_";
    // 31x31 (the generic kernels stage it in several chunks of filter rows), SAME on an odd map.
    ProblemDesc big = depthwise(1, 33, 35, 5, 31, 31);
    big.layout = layout;
    big.padding = PaddingMode::kSame;
    big.has_bias = true;
    add(big, DataKind::kSmallIntegers, g + "slidew_f32");
    big.dtype = DType::kF16;
    big.filter_layout = FilterLayout::kOIHW;
    big.activation = Activation::kRelu6;
    add(big, DataKind::kUniform, g + "slidew_f16");
    // 31x31 with 33 channels: two channel chunks (NHWC), stride 2.
    ProblemDesc big2 = depthwise(1, 19, 21, 33, 31, 31);
    big2.layout = layout;
    big2.padding = PaddingMode::kSame;
    big2.stride_h = big2.stride_w = 2;
    big2.dtype = DType::kBF16;
    add(big2, DataKind::kUniform, g + "bf16");
    // Atrous rate 18 on 33x33 (DeepLab's ASPP at output stride 16): most taps read padding only.
    ProblemDesc aspp = depthwise(2, 33, 33, 17, 3, 3);
    aspp.layout = layout;
    aspp.padding = PaddingMode::kSame;
    aspp.dilation_h = aspp.dilation_w = 18;
    aspp.has_bias = true;
    aspp.activation = Activation::kRelu;
    // NHWC: the lattice kernel (step 6x6, the filter dilated by 3 in the staged tile).
    const std::string lat = layout == Layout::kNHWC ? "dw_fwd_nhwc_lattice_" : g;
    add(aspp, DataKind::kSmallIntegers, lat + "f32");
    if (layout == Layout::kNHWC) {  // and the generic kernel, which the lattice kernel is preferred to
      add(aspp, DataKind::kSmallIntegers, g + "f32");
      out.back().skip.push_back("dw_fwd_nhwc_lattice");
    }
    aspp.dtype = DType::kF16;
    add(aspp, DataKind::kUniform, lat + "f16");
    // Explicit padding wider than the filter reach: rows of outputs that see only padding (= bias).
    ProblemDesc wide = depthwise(1, 6, 7, 9, 3, 3);
    wide.layout = layout;
    wide.padding = PaddingMode::kExplicit;
    wide.pad_top = 5, wide.pad_bottom = 4, wide.pad_left = 6, wide.pad_right = 1;
    wide.has_bias = true;
    add(wide, DataKind::kSmallIntegers,
        layout == Layout::kNHWC ? "dw_fwd_nhwc_k3s1_f32x1_tile" : "dw_fwd_nchw_k3s1_f32_band");
    // Stride 3 with dilation 8: an NHWC pass of one filter row is over the staging budget (one row at
    // a time, with more shared memory).
    ProblemDesc over = depthwise(1, 17, 19, 5, 3, 3);
    over.layout = layout;
    over.padding = PaddingMode::kSame;
    over.stride_h = over.stride_w = 3;
    over.dilation_h = over.dilation_w = 8;
    add(over, DataKind::kSmallIntegers, g + "f32");
    // A non-square filter with different dilations per dimension.
    ProblemDesc rect = depthwise(1, 23, 14, 6, 15, 3);
    rect.layout = layout;
    rect.padding = PaddingMode::kSame;
    rect.dilation_w = 6;
    rect.multiplier = 2;
    add(rect, DataKind::kSmallIntegers, layout == Layout::kNHWC ? "dw_fwd_nhwc_lattice_f32" : g + "f32");
    // (6 blocks dense, 6 on the lattice: the grid rule takes the dense kernel; see DepthwiseDevices.)
    if (layout == Layout::kNHWC) out.back().skip.push_back("dw_fwd_nhwc_generic");
  }
  return out;
}
INSTANTIATE_TEST_SUITE_P(Large, DepthwiseCuda, ::testing::ValuesIn(large_cases()), dw_case_name);

// --- the lattice kernel: dilated, stride 1, NHWC -----------------------------------------------------

struct LatShape {
  int64_t h, w, c, kh, kw, dh, dw, m;
};

// Every shape in every dtype at N=1 (vary() rotates the rest from `seed_base`), the dense generic kernel
// forbidden: small maps at N=1 are grids of one block per SM, where it would be preferred. `expect` gives
// the implementation's prefix; `no_valid` turns VALID padding into SAME.
template <size_t kShapes, class Expect>
std::vector<DwCase> lattice_sweep(const LatShape (&shapes)[kShapes], int seed_base, bool no_valid, Expect expect) {
  std::vector<DwCase> out;
  int v = 0;
  for (const LatShape& sh : shapes) {
    for (DType dt : kDtypes) {
      ProblemDesc d = depthwise(1, sh.h, sh.w, sh.c, sh.kh, sh.kw);
      d.dilation_h = sh.dh, d.dilation_w = sh.dw, d.multiplier = sh.m;
      d.dtype = dt;
      DwCase dc;
      vary(&d, &dc.c, seed_base + v++);
      if (no_valid && d.padding == PaddingMode::kValid) d.padding = PaddingMode::kSame;
      dc.c.desc = d;
      dc.expect = expect(sh, dt);
      dc.skip = {"ref", "dw_fwd_nhwc_generic"};
      out.push_back(dc);
    }
  }
  return out;
}

// Steps equal to the dilation (a dense filter in the staged tile, sliding window), steps below it (the
// filter still dilated by the rest: DeepLab's 33x33 at rates 12 and 18), one dimension dilated only,
// maps smaller than the dilation (residue classes with no outputs), multipliers, both filter layouts,
// every padding kind and dtype.
std::vector<DwCase> lattice_cases() {
  // clang-format off
  const LatShape shapes[] = {
    {33, 33, 17, 3, 3, 6, 6, 1},   {33, 33, 8, 3, 3, 12, 12, 1}, {33, 33, 5, 3, 3, 18, 18, 1},
    {20, 23, 16, 3, 3, 2, 2, 1},   {26, 21, 3, 5, 5, 3, 2, 2},   {17, 29, 9, 3, 5, 1, 4, 1},
    {25, 9, 24, 5, 1, 4, 1, 1},    {24, 21, 33, 3, 3, 4, 4, 1},    {19, 21, 6, 2, 3, 6, 10, 3},
    {65, 14, 4, 3, 3, 12, 3, 1},
  };
  // clang-format on
  return lattice_sweep(shapes, 3000, false, [](const LatShape&, DType) { return std::string("dw_fwd_nhwc_lattice_"); });
}
INSTANTIATE_TEST_SUITE_P(Lattice, DepthwiseCuda, ::testing::ValuesIn(lattice_cases()), dw_case_name);

// The narrow lattice tile (8x8, one strip of eight one-row strips): residue classes at most 8 outputs wide
// on the sliding kernel (the steps equal the dilation). 7- and 8-wide classes, a 3x3 filter whose 10 staged
// columns take an 11-slot row pitch in 16-bit (odd_pitch), a 4-wide filter (11 columns, already odd),
// a multiplier (element-wise staging at the padded pitch), C off the vector width; every dtype. VALID
// would shrink these maps to classes of 3 to 4 outputs, where no lattice step stages less than the dense
// tile (the sweep above has VALID): SAME instead. The steps are the cost rule's (LatticeStepsFitTheMap):
// 12x22 at rates 2x3 takes 1x3.
std::vector<DwCase> narrow_lattice_cases() {
  // clang-format off
  const LatShape shapes[] = {
    {14, 14, 24, 5, 5, 2, 2, 1}, {16, 16, 20, 3, 3, 2, 2, 1}, {15, 14, 6, 3, 3, 2, 2, 2},
    {12, 22, 16, 3, 4, 2, 3, 1},
  };
  // clang-format on
  return lattice_sweep(shapes, 3100, true, [](const LatShape& sh, DType dt) {
    return "dw_fwd_nhwc_lattice_slidew_" + dtype_vec(dt, sh.c, sh.m) + "_tile8x8_step";
  });
}
INSTANTIATE_TEST_SUITE_P(LatticeNarrow, DepthwiseCuda, ::testing::ValuesIn(narrow_lattice_cases()), dw_case_name);

// --- the direct kernel: forced by skipping the tiled ones, and chosen where they cannot stage -------

std::vector<DwCase> direct_cases() {
  std::vector<DwCase> out;
  const std::vector<std::string> skip_tiled = {"ref", "dw_fwd_nhwc_k", "dw_fwd_nhwc_generic", "dw_fwd_nchw_k",
                                               "dw_fwd_nchw_generic"};
  int v = 0;
  for (Layout layout : {Layout::kNHWC, Layout::kNCHW}) {
    for (DType dt : kDtypes) {
      ProblemDesc d = depthwise(2, 11, 9, 7, 3, 5);
      d.layout = layout;
      d.dtype = dt;
      d.stride_h = 2, d.dilation_w = 2, d.multiplier = 2;
      DwCase dc;
      vary(&d, &dc.c, v++);
      dc.c.desc = d;
      dc.expect = std::string("dw_fwd_") + to_string(layout) + "_direct_" + to_string(dt);
      dc.skip = skip_tiled;
      out.push_back(dc);
    }
  }
  // Stride 3 with dilation 100: one filter row of an NHWC 8x8 tile stages more than a block can hold.
  ProblemDesc d = depthwise(1, 10, 9, 3, 3, 3);
  d.stride_h = d.stride_w = 3;
  d.dilation_h = d.dilation_w = 100;
  d.padding = PaddingMode::kSame;
  DwCase dc;
  dc.c.desc = d;
  dc.expect = "dw_fwd_nhwc_direct_f32";
  out.push_back(dc);
  return out;
}
INSTANTIATE_TEST_SUITE_P(Direct, DepthwiseCuda, ::testing::ValuesIn(direct_cases()), dw_case_name);

// --- every combination of stride, dilation and multiplier, both layouts (the shared Sweep) ---------

// The implementation the list must choose, restated from cuda/depthwise/README.md.
std::string expected_family(const ProblemDesc& d) {
  const bool dense_square = d.kernel_h == d.kernel_w && d.stride_h == d.stride_w && d.dilation_h == 1 &&
                            d.dilation_w == 1 && d.multiplier == 1;
  const bool listed = (d.kernel_h == 3 || d.kernel_h == 5 || d.kernel_h == 7) && (d.stride_h == 1 || d.stride_h == 2);
  if (d.layout == Layout::kNHWC && dense_square && listed) return "dw_fwd_nhwc_k";
  // NCHW rows: square, equal strides, any dilation whose row classes fit a block's groups of lanes (the output
  // width rounded up to a power of two, at most 32 here: 128 / that many groups), any multiplier.
  if (d.layout == Layout::kNCHW && d.kernel_h == d.kernel_w && d.stride_h == d.stride_w && listed) {
    Result<Problem> p = Problem::create(d);
    int64_t lanes = 1;
    while (p.is_ok() && lanes < p->out_w()) lanes *= 2;
    if (p.is_ok() && p->out_w() <= 32 && d.dilation_h <= 128 / lanes)
      return "dw_fwd_nchw_k" + std::to_string(d.kernel_h) + "s" + std::to_string(d.stride_h) + "_";
  }
  if (d.layout == Layout::kNHWC && d.stride_h == 1 && d.stride_w == 1 && (d.dilation_h > 1 || d.dilation_w > 1)) {
    // The lattice kernel unless its cost rule finds no step that loads less (tested on its own below).
    Result<Problem> p = Problem::create(d);
    if (p.is_ok() && cuda::depthwise_lattice_steps(*p, cuda::device_sm_count()) != std::pair<int64_t, int64_t>{1, 1})
      return "dw_fwd_nhwc_lattice_";
  }
  const bool slide = d.stride_w == 1 && d.dilation_w == 1;
  return std::string("dw_fwd_") + to_string(d.layout) + "_generic_" + (slide ? "slidew_" : "") + to_string(d.dtype);
}

std::vector<DwCase> interaction_cases() {
  Sweep sweep;
  sweep.base.desc = depthwise(2, 13, 11, 17, 3, 3);
  sweep.base.desc.padding = PaddingMode::kSame;
  sweep.base.desc.has_bias = true;
  sweep.base.seed = 500;
  sweep.kernels = {{3, 3}, {5, 5}, {2, 3}};
  sweep.strides = {{1, 1}, {2, 2}, {3, 3}, {1, 2}};
  sweep.dilations = {{1, 1}, {2, 2}, {3, 1}};
  sweep.multipliers = {1, 3};
  sweep.layouts = {Layout::kNHWC, Layout::kNCHW};
  sweep.paddings = {PaddingMode::kSame, PaddingMode::kValid};
  std::vector<DwCase> out;
  for (const ConvCase& c : sweep.cases()) {
    DwCase dc;
    dc.c = c;
    dc.expect = expected_family(c.desc);
    out.push_back(dc);
  }
  return out;
}
INSTANTIATE_TEST_SUITE_P(Interactions, DepthwiseCuda, ::testing::ValuesIn(interaction_cases()), dw_case_name);

// --- selection -------------------------------------------------------------------------------------

Plan cuda_plan(const ProblemDesc& d, const PlanOptions& options = no_reference()) {
  Result<Problem> p = Problem::create(d);
  EXPECT_TRUE(p.is_ok()) << p.status().to_string();
  Result<Plan> plan = Plan::create(*p, "cuda", options);
  EXPECT_TRUE(plan.is_ok()) << plan.status().to_string();
  return std::move(plan).value();
}

TEST(DepthwiseCudaSelection, NamesSayTheVariant) {
  DSCONV_REQUIRE_CUDA();
  ProblemDesc d = depthwise(32, 112, 112, 32, 3, 3);
  d.padding = PaddingMode::kSame;
  d.dtype = DType::kF16;
  EXPECT_EQ(cuda_plan(d).implementation(), "dw_fwd_nhwc_k3s1_f16x8_tile8x16");
  {
    ProblemDesc one = depthwise(1, 28, 28, 192, 3, 3);  // 48 large tiles: under a block per SM
    one.padding = PaddingMode::kSame;
    one.dtype = DType::kF16;
    EXPECT_EQ(cuda_plan(one).implementation(), "dw_fwd_nhwc_k3s1_f16x8_tile8x8");
  }
  d.channels = 17;
  EXPECT_EQ(cuda_plan(d).implementation(), "dw_fwd_nhwc_k3s1_f16x1_tile8x16");
  d = depthwise(32, 56, 56, 144, 5, 5);
  d.padding = PaddingMode::kSame;
  d.stride_h = d.stride_w = 2;
  EXPECT_EQ(cuda_plan(d).implementation(), "dw_fwd_nhwc_k5s2_f32x4_tile8x8");
  d.dtype = DType::kBF16;
  d.kernel_h = d.kernel_w = 7;
  EXPECT_EQ(cuda_plan(d).implementation(), "dw_fwd_nhwc_k7s2_bf16x8_tile8x8");
  d = depthwise(32, 56, 56, 128, 31, 31);
  d.padding = PaddingMode::kSame;
  EXPECT_EQ(cuda_plan(d).implementation(), "dw_fwd_nhwc_generic_slidew_f32x4_tile8x16");
  d.dilation_h = d.dilation_w = 2;
  d.kernel_h = d.kernel_w = 3;
  EXPECT_EQ(cuda_plan(d).implementation(), "dw_fwd_nhwc_lattice_slidew_f32x4_tile8x16_step2x2");
  d.stride_h = d.stride_w = 2;
  EXPECT_EQ(cuda_plan(d).implementation(), "dw_fwd_nhwc_generic_f32x4_tile8x8");
  d.stride_h = d.stride_w = 1;
  d.layout = Layout::kNCHW;
  // NCHW, 56 columns: groups of 64 lanes, two a block; at rate 2 the two row classes of one band of 16 rows.
  EXPECT_EQ(cuda_plan(d).implementation(), "dw_fwd_nchw_k3s1_f32_band16");
  d.dilation_h = d.dilation_w = 1;
  EXPECT_EQ(cuda_plan(d).implementation(), "dw_fwd_nchw_k3s1_f32_band16");
  d.kernel_h = 5;  // not square: the generic kernel
  EXPECT_EQ(cuda_plan(d).implementation().rfind("dw_fwd_nchw_generic_slidew_f32_tile", 0), 0u);
  // Small maps put several planes in one NCHW block.
  d = depthwise(32, 5, 6, 64, 3, 3);
  d.layout = Layout::kNCHW;
  d.padding = PaddingMode::kSame;
  EXPECT_EQ(cuda_plan(d).implementation(), "dw_fwd_nchw_k3s1_f32_band8x4planes");
  d.kernel_w = 5;
  const std::string small = cuda_plan(d).implementation();
  EXPECT_EQ(small.rfind("dw_fwd_nchw_generic_slidew_f32_tile", 0), 0u) << small;
  EXPECT_NE(small.find("planes"), std::string::npos) << small;
}

// The lattice steps DeepLab's atrous layers get (offers.cpp, lattice_steps): the step is the divisor of
// the rate whose tiles load the least, so small maps keep part of the dilation in the staged tile.
TEST(DepthwiseCudaSelection, LatticeStepsFitTheMap) {
  DSCONV_REQUIRE_CUDA();
  const struct {
    int64_t hw, rate;
    const char* name;
  } rows[] = {
      {33, 6, "dw_fwd_nhwc_lattice_slidew_f32x4_tile8x8_step6x6"},  // 6-wide classes: the narrow tile
      {33, 12, "dw_fwd_nhwc_lattice_f32x4_tile8x8_step4x6"},
      {33, 18, "dw_fwd_nhwc_lattice_f32x4_tile8x8_step6x6"},
      {65, 6, "dw_fwd_nhwc_lattice_slidew_f32x4_tile8x16_step6x6"},
      {65, 12, "dw_fwd_nhwc_lattice_slidew_f32x4_tile8x8_step12x12"},
      {65, 18, "dw_fwd_nhwc_lattice_f32x4_tile8x8_step9x9"},
  };
  for (const auto& row : rows) {
    ProblemDesc d = depthwise(1, row.hw, row.hw, 2048, 3, 3);
    d.padding = PaddingMode::kSame;
    d.dilation_h = d.dilation_w = row.rate;
    EXPECT_EQ(cuda_plan(d).implementation(), row.name) << row.hw << "x" << row.hw << " rate " << row.rate;
  }
  // A 1x1 map: every step stages the same single pixel, so the dense kernel takes it and says why.
  ProblemDesc one = depthwise(1, 1, 1, 32, 3, 3);
  one.padding = PaddingMode::kSame;
  one.dilation_h = one.dilation_w = 4;
  const Plan plan = cuda_plan(one);
  EXPECT_EQ(plan.implementation(), "dw_fwd_nhwc_generic_f32x4_tile8x8");
  EXPECT_NE(plan.explain().find("the dense tile loads no more than any lattice step"), std::string::npos)
      << plan.explain();
  // Stride 2: not a lattice.
  one.height = one.width = 9;
  one.stride_h = one.stride_w = 2;
  EXPECT_NE(cuda_plan(one).explain().find("the lattice kernel takes stride 1"), std::string::npos);
}

TEST(DepthwiseCudaSelection, RejectionsSayWhy) {
  DSCONV_REQUIRE_CUDA();
  ProblemDesc d = depthwise(1, 20, 20, 32, 3, 3);
  d.dilation_h = d.dilation_w = 2;
  d.padding = PaddingMode::kSame;
  const Plan plan = cuda_plan(d);
  // 9 dense blocks, 8 on the lattice: a grid of one block per SM on any GPU, so the dense kernel, saying why.
  EXPECT_EQ(plan.implementation(), "dw_fwd_nhwc_generic_f32x4_tile8x8");
  EXPECT_NE(plan.explain().find("a grid of 9 dense blocks for"), std::string::npos) << plan.explain();
  bool found = false;
  for (const Rejection& r : plan.rejections()) {
    if (r.backend == "cuda" && r.implementation == "dw_fwd_nhwc_k{K}s{S}") {
      found = true;
      EXPECT_NE(r.reason.find("dilation 2x2"), std::string::npos) << r.reason;
    }
  }
  EXPECT_TRUE(found) << plan.explain();

  d = depthwise(1, 20, 20, 32, 9, 9);
  const Plan nine = cuda_plan(d);
  EXPECT_NE(nine.explain().find("no specialization for kernel 9"), std::string::npos) << nine.explain();
}

TEST(DepthwiseCudaSelection, SkippingEverythingFailsClearly) {
  DSCONV_REQUIRE_CUDA();
  Result<Problem> p = Problem::create(depthwise(1, 8, 8, 4, 3, 3));
  ASSERT_TRUE(p.is_ok());
  Result<Plan> plan = Plan::create(*p, "cuda", PlanOptions{{"ref", "dw_"}});
  ASSERT_FALSE(plan.is_ok());
  EXPECT_EQ(plan.status().code(), StatusCode::kNotSupported);
  EXPECT_NE(plan.status().message().find("skipped by options"), std::string::npos) << plan.status().to_string();
  EXPECT_NE(plan.status().message().find("dw_fwd_nhwc_direct_f32"), std::string::npos) << plan.status().to_string();
}

TEST(DepthwiseCudaSelection, SkippingTheSpecializedKernelsFallsToGeneric) {
  DSCONV_REQUIRE_CUDA();
  const ProblemDesc d = depthwise(1, 13, 11, 17, 3, 3);
  const TestReport r = ConvTester().desc(d).test("cuda", PlanOptions{{"ref", "dw_fwd_nhwc_k"}});
  EXPECT_EQ(r.implementation.rfind("dw_fwd_nhwc_generic_slidew_f32", 0), 0u) << r.implementation;
}

// Sizes beyond the tiled kernels' 32-bit indexing go to the 64-bit direct kernel, and the rejections
// say which bound was exceeded (selection only: nothing is allocated or run).
TEST(DepthwiseCudaSelection, BeyondInt32GoesDirect) {
  DSCONV_REQUIRE_CUDA();
  ProblemDesc d = depthwise(1, 50000, 50000, 1, 3, 3);  // 2.5e9 elements in one image
  d.padding = PaddingMode::kSame;
  for (Layout layout : {Layout::kNHWC, Layout::kNCHW}) {
    d.layout = layout;
    const Plan plan = cuda_plan(d);
    EXPECT_EQ(plan.implementation(), std::string("dw_fwd_") + to_string(layout) + "_direct_f32");
    EXPECT_NE(plan.explain().find("elements per image 2500000000 exceed the 32-bit indexing"), std::string::npos)
        << plan.explain();
  }
  // Many small images: each fits, the number of tiles does not.
  d = depthwise(int64_t{1} << 27, 16, 32, 128, 3, 3);  // 2x2 tiles x 4 channel chunks per image: 2^31 tiles
  const Plan many = cuda_plan(d);
  EXPECT_EQ(many.implementation(), "dw_fwd_nhwc_direct_f32");
  EXPECT_NE(many.explain().find("tiles"), std::string::npos) << many.explain();
}

// A cuda plan runs on the device backend, with the depthwise kernels, needing no workspace (OIHW
// filters are read in place); a run that silently used another backend would fail here.
TEST(DepthwiseCudaSelection, CudaPlansRunOnTheDevice) {
  DSCONV_REQUIRE_CUDA();
  for (Layout layout : {Layout::kNHWC, Layout::kNCHW}) {
    for (FilterLayout fl : {FilterLayout::kTF, FilterLayout::kOIHW}) {
      ProblemDesc d = depthwise(1, 9, 9, 8, 3, 3);
      d.layout = layout;
      d.filter_layout = fl;
      const Plan plan = cuda_plan(d);
      EXPECT_EQ(plan.backend(), "cuda");
      EXPECT_EQ(plan.memory_space(), MemorySpace::kDevice);
      EXPECT_EQ(plan.implementation().rfind("dw_fwd_", 0), 0u) << plan.implementation();
      EXPECT_EQ(plan.workspace_bytes(), 0u);
    }
  }
}

// --- misaligned views and odd channel counts --------------------------------------------------------

// Runs `d` with every tensor placed `offset` elements past a 256-byte aligned address (as a view into
// a larger buffer would be), on small-integer data so that the result is exact in every dtype.
void run_with_offset(const ProblemDesc& d, size_t offset, const std::string& expect,
                     const std::vector<std::string>& skip = {"ref"}) {
  Result<Problem> created = Problem::create(d);
  ASSERT_TRUE(created.is_ok()) << created.status().to_string();
  const Problem& p = *created;
  SCOPED_TRACE(p.descriptor() + " offset " + std::to_string(offset) + " seed 4242");
  Result<Plan> made = Plan::create(p, "cuda", PlanOptions{skip});
  ASSERT_TRUE(made.is_ok()) << made.status().to_string();
  const Plan& plan = *made;
  EXPECT_EQ(plan.implementation().rfind(expect, 0), 0u) << plan.implementation();

  const HostData data = random_data(p, DataKind::kSmallIntegers, 4242);
  Result<std::vector<float>> expected = reference_f32(p, data);
  ASSERT_TRUE(expected.is_ok()) << expected.status().to_string();
  const size_t es = dtype_size(p.dtype());
  const size_t pad = offset * es;

  auto place = [&](const std::vector<float>& values, Buffer* buf) -> void* {
    const std::vector<uint8_t> bytes = encode(p.dtype(), values);
    Result<Buffer> b = Buffer::create(plan.memory_space(), pad + bytes.size() + 64);
    EXPECT_TRUE(b.is_ok());
    *buf = std::move(b).value();
    EXPECT_TRUE(buf->upload(bytes.data(), bytes.size(), pad).is_ok());
    return static_cast<char*>(buf->data()) + pad;
  };
  Buffer in, filter, bias, out;
  Tensors t;
  t.input = place(data.input, &in);
  t.filter = place(data.filter, &filter);
  if (p.has_bias()) t.bias = place(data.bias, &bias);
  const size_t out_bytes = static_cast<size_t>(p.output_elements()) * es;
  {
    Result<Buffer> b = Buffer::create(plan.memory_space(), pad + out_bytes + 64);
    ASSERT_TRUE(b.is_ok());
    out = std::move(b).value();
    std::vector<uint8_t> poison(pad + out_bytes + 64, 0xA5);
    const std::vector<uint8_t> nan = nan_poison(p.dtype(), p.output_elements());
    std::copy(nan.begin(), nan.end(), poison.begin() + static_cast<std::ptrdiff_t>(pad));
    ASSERT_TRUE(out.upload(poison.data(), poison.size()).is_ok());
    t.output = static_cast<char*>(out.data()) + pad;
  }
  Result<Stream> stream = Stream::create(plan.memory_space());
  ASSERT_TRUE(stream.is_ok()) << stream.status().to_string();
  const Status s = plan.run(t, nullptr, 0, stream->get());
  ASSERT_TRUE(s.is_ok()) << s.to_string();
  ASSERT_TRUE(stream->synchronize().is_ok());

  std::vector<uint8_t> got_bytes(pad + out_bytes + 64);
  ASSERT_TRUE(out.download(got_bytes.data(), got_bytes.size()).is_ok());
  for (size_t i = 0; i < pad; ++i) ASSERT_EQ(got_bytes[i], 0xA5) << "write before the output";
  for (size_t i = pad + out_bytes; i < got_bytes.size(); ++i) ASSERT_EQ(got_bytes[i], 0xA5) << "write after the output";
  const std::vector<float> got = decode(p.dtype(), got_bytes.data() + pad, p.output_elements());
  int64_t bad = 0;
  for (int64_t i = 0; i < p.output_elements(); ++i) {
    const float e = (*expected)[static_cast<size_t>(i)], g = got[static_cast<size_t>(i)];
    if (!(g == e)) {  // exact: small integers; NaN (unwritten) never equals
      if (++bad <= 5) ADD_FAILURE() << "element " << i << ": got " << g << ", expected " << e;
    }
  }
  EXPECT_EQ(bad, 0);
}

TEST(DepthwiseCudaAlignment, MisalignedTensorsTakeTheCheckedPath) {
  DSCONV_REQUIRE_CUDA();
  for (DType dt : kDtypes) {
    for (size_t offset : {size_t{0}, size_t{1}}) {
      // C = 16 allows 16-byte loads by size; the pointer offset forbids them at run time.
      ProblemDesc d = depthwise(2, 9, 10, 16, 3, 3);
      d.dtype = dt;
      d.padding = PaddingMode::kSame;
      d.has_bias = true;
      run_with_offset(d, offset,
                      "dw_fwd_nhwc_k3s1_" + std::string(to_string(dt)) + "x" + (dt == DType::kF32 ? "4" : "8"));
      d.kernel_h = d.kernel_w = 5;
      d.stride_h = d.stride_w = 2;
      run_with_offset(d, offset, "dw_fwd_nhwc_k5s2_");
      d.dilation_h = 2;
      d.stride_h = d.stride_w = 1;
      run_with_offset(d, offset, "dw_fwd_nhwc_lattice_slidew_" + std::string(to_string(dt)),
                      {"ref", "dw_fwd_nhwc_generic"});
      d.stride_w = 2;
      run_with_offset(d, offset, "dw_fwd_nhwc_generic_" + std::string(to_string(dt)));
      // NCHW with OW % 4 == 0: the generic kernel's vector stores by size, refused for the offset output;
      // the rows kernel's cp.async staging by size, element by element for the offset input.
      ProblemDesc n = depthwise(1, 7, 12, 5, 3, 3);
      n.layout = Layout::kNCHW;
      n.dtype = dt;
      n.padding = PaddingMode::kSame;
      run_with_offset(n, offset, "dw_fwd_nchw_generic_slidew_", {"ref", "dw_fwd_nchw_k"});
      run_with_offset(n, offset, "dw_fwd_nchw_k3s1_");
      n.kernel_h = n.kernel_w = 5, n.stride_h = n.stride_w = 2, n.height = 19;
      run_with_offset(n, offset, "dw_fwd_nchw_k5s2_");
      // Narrow maps (whole planes, a row's lanes within a warp): 16-bit adjacent pairs go out as aligned words
      // through shuffles, the offset output's rows of an even width all starting mid-word, odd widths' every
      // other row (and the whole-plane 16-byte stores of vec_out refused for the offset output).
      for (int64_t hw : {14, 7}) {
        ProblemDesc m = depthwise(2, hw, hw, 12, 5, 5);
        m.layout = Layout::kNCHW;
        m.dtype = dt;
        m.padding = PaddingMode::kSame;
        m.has_bias = true;
        run_with_offset(m, offset,
                        std::string("dw_fwd_nchw_k5s1_") + to_string(dt) + (dt == DType::kF32 ? "" : "_pairs"));
        // Rate 2 (16-bit): quads, two words a lane a row, on a one-SM slice of the emulated device (on a whole one
        // the offer keeps more blocks with pairs 2 apart at this size).
        m.dilation_h = m.dilation_w = 2;
#if defined(DSCONV_CUDA_EMULATION)
        EmulatedDevice slice("sm_90:1");
        run_with_offset(m, offset,
                        std::string("dw_fwd_nchw_k5s1_") + to_string(dt) + (dt == DType::kF32 ? "" : "_quads"));
#else
        run_with_offset(m, offset, "dw_fwd_nchw_k5s1_");
#endif
      }
    }
  }
}

// Narrower vectors: C = 6 (f32: 8-byte loads; 16-bit: 4-byte), C = 12 (16-bit: 8-byte), each also from a
// view that only 4 bytes align (under the same name: element-wise, or the 4-byte loads of 16-bit C = 6),
// and C = 16 from a view 8-byte aligned (16-byte loads refused at run time, 8-byte ones taken).
TEST(DepthwiseCudaAlignment, NarrowVectorsWhereCOrThePointerForbidSixteenBytes) {
  DSCONV_REQUIRE_CUDA();
  for (DType dt : kDtypes) {
    const size_t es = dtype_size(dt);
    for (int64_t c : {6, 12}) {
      ProblemDesc d = depthwise(2, 9, 10, c, 3, 3);
      d.dtype = dt;
      d.padding = PaddingMode::kSame;
      d.has_bias = true;
      const std::string name = "dw_fwd_nhwc_k3s1_" + specialized_vec(dt, c);
      EXPECT_NE(name.back(), '1') << name;
      run_with_offset(d, 0, name);
      run_with_offset(d, 4 / es, name);
      d.kernel_h = d.kernel_w = 5, d.stride_h = d.stride_w = 2;
      run_with_offset(d, 0, "dw_fwd_nhwc_k5s2_" + specialized_vec(dt, c));
    }
    ProblemDesc d = depthwise(2, 9, 10, 16, 3, 3);
    d.dtype = dt;
    d.padding = PaddingMode::kSame;
    run_with_offset(d, 8 / es, "dw_fwd_nhwc_k3s1_" + specialized_vec(dt, 16));
  }
}

TEST(DepthwiseCudaAlignment, OddChannelCounts) {
  DSCONV_REQUIRE_CUDA();
  for (DType dt : kDtypes) {
    for (int64_t c : {1, 7, 31, 33}) {
      ProblemDesc d = depthwise(1, 7, 9, c, 3, 3);
      d.dtype = dt;
      d.padding = PaddingMode::kSame;
      d.has_bias = true;
      run_with_offset(d, 0, "dw_fwd_nhwc_k3s1_" + std::string(to_string(dt)) + "x1");
      d.multiplier = 3;
      run_with_offset(d, 1, "dw_fwd_nhwc_generic_slidew_" + std::string(to_string(dt)) + "x1");
    }
  }
}

}  // namespace
}  // namespace dsconv::testing
