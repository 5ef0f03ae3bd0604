// The problem type: output shapes and padding (TF's rules), every validation rule, the descriptor.
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "dsconv/dsconv.hpp"

namespace dsconv {
namespace {

constexpr int64_t kMax = std::numeric_limits<int64_t>::max();

// Expected sizes computed by counting window positions, independently of the closed forms in
// src/problem.cpp: output o exists while its last tap o*s + (k-1)*d stays inside the (padded) input.
int64_t count_positions(int64_t padded_in, int64_t k, int64_t s, int64_t d) {
  int64_t n = 0;
  while (n * s + (k - 1) * d <= padded_in - 1) ++n;
  return n;
}

struct DimExpect {
  int64_t out, before, after;
};

DimExpect expect_valid(int64_t in, int64_t k, int64_t s, int64_t d) { return {count_positions(in, k, s, d), 0, 0}; }

DimExpect expect_same(int64_t in, int64_t k, int64_t s, int64_t d) {
  int64_t out = 0;
  while (out * s < in) ++out;  // positions whose window starts inside the input: ceil(in / s)
  const int64_t needed = (out - 1) * s + (k - 1) * d + 1;
  const int64_t total = needed > in ? needed - in : 0;
  return {out, total / 2, total - total / 2};
}

ProblemDesc base_desc() {
  ProblemDesc d;
  d.op = Op::kDepthwise;
  d.batch = 1;
  d.height = 1;
  d.width = 1;
  d.channels = 3;
  return d;
}

// ---------------------------------------------------------------------------------------------
// Output shapes
// ---------------------------------------------------------------------------------------------

TEST(ProblemShape, HandTable) {
  // in, k, s, d, mode, out, before, after (values worked out by hand from TF's documented rules)
  struct Row {
    int64_t in, k, s, d;
    PaddingMode mode;
    int64_t out, before, after;
  };
  // clang-format off
  const Row rows[] = {
      {112, 3, 2, 1, PaddingMode::kSame, 56, 0, 1},   // MobileNet stride-2 layer: odd pixel after
      {112, 3, 1, 1, PaddingMode::kSame, 112, 1, 1},
      {13, 3, 2, 1, PaddingMode::kSame, 7, 1, 1},
      {14, 3, 2, 1, PaddingMode::kSame, 7, 0, 1},
      {5, 4, 1, 1, PaddingMode::kSame, 5, 1, 2},      // even kernel
      {33, 3, 1, 6, PaddingMode::kSame, 33, 6, 6},    // DeepLab ASPP rate 6
      {1, 3, 1, 4, PaddingMode::kSame, 1, 4, 4},
      {10, 1, 3, 1, PaddingMode::kSame, 4, 0, 0},
      {7, 3, 3, 1, PaddingMode::kSame, 3, 1, 1},
      {7, 3, 1, 2, PaddingMode::kValid, 3, 0, 0},     // dilated extent 5
      {11, 5, 3, 1, PaddingMode::kValid, 3, 0, 0},
      {4, 3, 1, 1, PaddingMode::kValid, 2, 0, 0},
      {5, 5, 2, 1, PaddingMode::kValid, 1, 0, 0},
      {9, 3, 2, 4, PaddingMode::kValid, 1, 0, 0},     // extent 9 = input
      {10, 3, 2, 3, PaddingMode::kValid, 2, 0, 0},    // extent 7: starts 0, 2
  };
  // clang-format on
  for (const Row& r : rows) {
    for (bool along_height : {true, false}) {
      ProblemDesc d = base_desc();
      d.padding = r.mode;
      (along_height ? d.height : d.width) = r.in;
      (along_height ? d.kernel_h : d.kernel_w) = r.k;
      (along_height ? d.stride_h : d.stride_w) = r.s;
      (along_height ? d.dilation_h : d.dilation_w) = r.d;
      Result<Problem> p = Problem::create(d);
      SCOPED_TRACE("in " + std::to_string(r.in) + " k " + std::to_string(r.k) + " s " + std::to_string(r.s) + " d " +
                   std::to_string(r.d) + (along_height ? " (height)" : " (width)"));
      ASSERT_TRUE(p.is_ok()) << p.status().to_string();
      EXPECT_EQ(along_height ? p->out_h() : p->out_w(), r.out);
      EXPECT_EQ(along_height ? p->pad_top() : p->pad_left(), r.before);
      EXPECT_EQ(along_height ? p->pad_bottom() : p->pad_right(), r.after);
      // The other dimension is untouched: 1 in, 1 out, no padding.
      EXPECT_EQ(along_height ? p->out_w() : p->out_h(), 1);
    }
  }
}

TEST(ProblemShape, SweepSameValidExplicit) {
  int checked = 0;
  for (int64_t in = 1; in <= 20; ++in)
    for (int64_t k = 1; k <= 5; ++k)
      for (int64_t s = 1; s <= 3; ++s)
        for (int64_t d = 1; d <= 4; ++d) {
          // Height gets (in, k, s, d); width gets a different combination so the two are not confused.
          const int64_t win = in + 3, wk = 6 - k, ws = 4 - s, wd = 5 - d;
          SCOPED_TRACE("h: in " + std::to_string(in) + " k " + std::to_string(k) + " s " + std::to_string(s) + " d " +
                       std::to_string(d));
          ProblemDesc desc = base_desc();
          desc.height = in, desc.kernel_h = k, desc.stride_h = s, desc.dilation_h = d;
          desc.width = win, desc.kernel_w = wk, desc.stride_w = ws, desc.dilation_w = wd;

          desc.padding = PaddingMode::kSame;
          {
            Result<Problem> p = Problem::create(desc);
            ASSERT_TRUE(p.is_ok()) << p.status().to_string();
            const DimExpect eh = expect_same(in, k, s, d), ew = expect_same(win, wk, ws, wd);
            EXPECT_EQ(p->out_h(), eh.out);
            EXPECT_EQ(p->pad_top(), eh.before);
            EXPECT_EQ(p->pad_bottom(), eh.after);
            EXPECT_EQ(p->out_w(), ew.out);
            EXPECT_EQ(p->pad_left(), ew.before);
            EXPECT_EQ(p->pad_right(), ew.after);
          }

          desc.padding = PaddingMode::kValid;
          {
            Result<Problem> p = Problem::create(desc);
            const bool fits = (k - 1) * d + 1 <= in && (wk - 1) * wd + 1 <= win;
            ASSERT_EQ(p.is_ok(), fits) << (p ? "accepted" : p.status().to_string());
            if (fits) {
              EXPECT_EQ(p->out_h(), expect_valid(in, k, s, d).out);
              EXPECT_EQ(p->out_w(), expect_valid(win, wk, ws, wd).out);
              EXPECT_EQ(p->pad_top() + p->pad_bottom() + p->pad_left() + p->pad_right(), 0);
            } else {
              EXPECT_EQ(p.status().code(), StatusCode::kInvalidArgument);
            }
          }

          desc.padding = PaddingMode::kExplicit;
          desc.pad_top = d % 3, desc.pad_bottom = k % 2, desc.pad_left = s - 1, desc.pad_right = 2;
          {
            Result<Problem> p = Problem::create(desc);
            const int64_t ph = in + desc.pad_top + desc.pad_bottom, pw = win + desc.pad_left + desc.pad_right;
            const bool fits = (k - 1) * d + 1 <= ph && (wk - 1) * wd + 1 <= pw;
            ASSERT_EQ(p.is_ok(), fits) << (p ? "accepted" : p.status().to_string());
            if (fits) {
              EXPECT_EQ(p->out_h(), count_positions(ph, k, s, d));
              EXPECT_EQ(p->out_w(), count_positions(pw, wk, ws, wd));
              EXPECT_EQ(p->pad_top(), desc.pad_top);
              EXPECT_EQ(p->pad_bottom(), desc.pad_bottom);
              EXPECT_EQ(p->pad_left(), desc.pad_left);
              EXPECT_EQ(p->pad_right(), desc.pad_right);
            }
          }
          ++checked;
        }
  EXPECT_EQ(checked, 20 * 5 * 3 * 4);
}

TEST(ProblemShape, SameIgnoresExplicitPadFields) {
  ProblemDesc d = base_desc();
  d.height = d.width = 14;
  d.kernel_h = d.kernel_w = 3;
  d.stride_h = d.stride_w = 2;
  d.padding = PaddingMode::kSame;
  d.pad_top = 5, d.pad_bottom = -7;  // not read under SAME, so not an error either
  Result<Problem> p = Problem::create(d);
  ASSERT_TRUE(p.is_ok()) << p.status().to_string();
  EXPECT_EQ(p->pad_top(), 0);
  EXPECT_EQ(p->pad_bottom(), 1);
  ProblemDesc clean = d;
  clean.pad_top = clean.pad_bottom = 0;
  EXPECT_EQ(*p, *Problem::create(clean));
}

TEST(ProblemShape, TensorShapesAndCounts) {
  ProblemDesc d;
  d.op = Op::kSeparable;
  d.batch = 2, d.height = 13, d.width = 11, d.channels = 5;
  d.kernel_h = 3, d.kernel_w = 5;
  d.multiplier = 3;
  d.out_channels = 7;
  d.stride_h = 2, d.stride_w = 1;
  d.padding = PaddingMode::kSame;
  d.has_bias = true;
  Result<Problem> p = Problem::create(d);
  ASSERT_TRUE(p.is_ok()) << p.status().to_string();
  EXPECT_EQ(p->out_h(), 7);
  EXPECT_EQ(p->out_w(), 11);
  EXPECT_EQ(p->mid_channels(), 15);
  EXPECT_EQ(p->out_channels(), 7);
  EXPECT_EQ(p->input_shape(), (std::vector<int64_t>{2, 13, 11, 5}));
  EXPECT_EQ(p->filter_shape(), (std::vector<int64_t>{3, 5, 5, 3}));
  EXPECT_EQ(p->pointwise_shape(), (std::vector<int64_t>{1, 1, 15, 7}));
  EXPECT_EQ(p->bias_shape(), (std::vector<int64_t>{7}));
  EXPECT_EQ(p->output_shape(), (std::vector<int64_t>{2, 7, 11, 7}));
  EXPECT_EQ(p->input_elements(), 2 * 13 * 11 * 5);
  EXPECT_EQ(p->filter_elements(), 3 * 5 * 5 * 3);
  EXPECT_EQ(p->pointwise_elements(), 15 * 7);
  EXPECT_EQ(p->bias_elements(), 7);
  EXPECT_EQ(p->output_elements(), 2 * 7 * 11 * 7);
  // 2 flops per multiply-add: depthwise taps over C*M channels, then C*M -> O pointwise.
  EXPECT_DOUBLE_EQ(p->flops(), 2.0 * 2 * 7 * 11 * (15.0 * 15 + 15.0 * 7));
  EXPECT_DOUBLE_EQ(p->min_bytes(), 4.0 * (2 * 13 * 11 * 5 + 3 * 5 * 5 * 3 + 15 * 7 + 7 + 2 * 7 * 11 * 7));

  d.layout = Layout::kNCHW;
  d.filter_layout = FilterLayout::kOIHW;
  d.dtype = DType::kF16;
  p = Problem::create(d);
  ASSERT_TRUE(p.is_ok()) << p.status().to_string();
  EXPECT_EQ(p->input_shape(), (std::vector<int64_t>{2, 5, 13, 11}));
  EXPECT_EQ(p->filter_shape(), (std::vector<int64_t>{15, 1, 3, 5}));
  EXPECT_EQ(p->pointwise_shape(), (std::vector<int64_t>{7, 15, 1, 1}));
  EXPECT_EQ(p->output_shape(), (std::vector<int64_t>{2, 7, 7, 11}));
  EXPECT_DOUBLE_EQ(p->min_bytes(), 2.0 * (2 * 13 * 11 * 5 + 3 * 5 * 5 * 3 + 15 * 7 + 7 + 2 * 7 * 11 * 7));

  d.op = Op::kConv2d;
  d.multiplier = 1;
  d.has_bias = false;
  p = Problem::create(d);
  ASSERT_TRUE(p.is_ok()) << p.status().to_string();
  EXPECT_EQ(p->filter_shape(), (std::vector<int64_t>{7, 5, 3, 5}));
  EXPECT_TRUE(p->pointwise_shape().empty());
  EXPECT_TRUE(p->bias_shape().empty());
  EXPECT_EQ(p->pointwise_elements(), 0);
  EXPECT_EQ(p->mid_channels(), 5);
  EXPECT_DOUBLE_EQ(p->flops(), 2.0 * 2 * 7 * 11 * 7 * 5 * 15);
  d.filter_layout = FilterLayout::kTF;
  p = Problem::create(d);
  ASSERT_TRUE(p.is_ok()) << p.status().to_string();
  EXPECT_EQ(p->filter_shape(), (std::vector<int64_t>{3, 5, 5, 7}));

  d.op = Op::kDepthwise;
  d.multiplier = 2;
  d.out_channels = 0;  // derived
  p = Problem::create(d);
  ASSERT_TRUE(p.is_ok()) << p.status().to_string();
  EXPECT_EQ(p->out_channels(), 10);
  EXPECT_EQ(p->filter_shape(), (std::vector<int64_t>{3, 5, 5, 2}));
  EXPECT_DOUBLE_EQ(p->flops(), 2.0 * 2 * 7 * 11 * 10 * 15);
  d.out_channels = 10;  // stated, and equal to C*M
  Result<Problem> q = Problem::create(d);
  ASSERT_TRUE(q.is_ok()) << q.status().to_string();
  EXPECT_EQ(*p, *q);
}

// ---------------------------------------------------------------------------------------------
// Validation: every rejection is kInvalidArgument and names the field and the value.
// ---------------------------------------------------------------------------------------------

void expect_invalid(const ProblemDesc& d, const std::vector<std::string>& must_mention) {
  Result<Problem> p = Problem::create(d);
  ASSERT_FALSE(p.is_ok()) << "accepted: " << p->descriptor();
  EXPECT_EQ(p.status().code(), StatusCode::kInvalidArgument) << p.status().to_string();
  for (const std::string& s : must_mention)
    EXPECT_NE(p.status().message().find(s), std::string::npos)
        << "message '" << p.status().message() << "' does not mention '" << s << "'";
}

ProblemDesc valid_desc() {
  ProblemDesc d;
  d.op = Op::kDepthwise;
  d.batch = 2, d.height = 9, d.width = 8, d.channels = 4;
  d.kernel_h = d.kernel_w = 3;
  d.multiplier = 2;
  return d;
}

TEST(ProblemValidation, ValidBaseIsAccepted) { ASSERT_TRUE(Problem::create(valid_desc()).is_ok()); }

TEST(ProblemValidation, NonPositiveSizes) {
  struct Field {
    const char* name;
    int64_t ProblemDesc::*member;
  };
  const Field fields[] = {{"batch", &ProblemDesc::batch},           {"height", &ProblemDesc::height},
                          {"width", &ProblemDesc::width},           {"channels", &ProblemDesc::channels},
                          {"kernel_h", &ProblemDesc::kernel_h},     {"kernel_w", &ProblemDesc::kernel_w},
                          {"stride_h", &ProblemDesc::stride_h},     {"stride_w", &ProblemDesc::stride_w},
                          {"dilation_h", &ProblemDesc::dilation_h}, {"dilation_w", &ProblemDesc::dilation_w},
                          {"multiplier", &ProblemDesc::multiplier}};
  for (const Field& f : fields) {
    for (int64_t v : {int64_t{0}, int64_t{-1}, int64_t{-7}, std::numeric_limits<int64_t>::min()}) {
      SCOPED_TRACE(std::string(f.name) + " = " + std::to_string(v));
      ProblemDesc d = valid_desc();
      d.*f.member = v;
      expect_invalid(d, {f.name, std::to_string(v)});
    }
  }
}

TEST(ProblemValidation, NegativeExplicitPadding) {
  struct Field {
    const char* name;
    int64_t ProblemDesc::*member;
  };
  const Field fields[] = {{"pad_top", &ProblemDesc::pad_top},
                          {"pad_bottom", &ProblemDesc::pad_bottom},
                          {"pad_left", &ProblemDesc::pad_left},
                          {"pad_right", &ProblemDesc::pad_right}};
  for (const Field& f : fields) {
    SCOPED_TRACE(f.name);
    ProblemDesc d = valid_desc();
    d.padding = PaddingMode::kExplicit;
    d.pad_top = d.pad_bottom = d.pad_left = d.pad_right = 1;
    ASSERT_TRUE(Problem::create(d).is_ok());
    d.*f.member = -2;
    expect_invalid(d, {f.name, "-2"});
  }
}

TEST(ProblemValidation, ChannelRules) {
  ProblemDesc d = valid_desc();  // C=4, M=2
  d.out_channels = 7;
  expect_invalid(d, {"out_channels", "7", "8"});
  d.out_channels = -8;
  expect_invalid(d, {"out_channels", "-8"});

  d = valid_desc();
  d.op = Op::kConv2d;
  d.out_channels = 6;
  expect_invalid(d, {"multiplier", "2"});  // conv2d has no multiplier
  d.multiplier = 1;
  ASSERT_TRUE(Problem::create(d).is_ok());
  d.out_channels = 0;
  expect_invalid(d, {"out_channels", "0"});

  d = valid_desc();
  d.op = Op::kSeparable;
  d.out_channels = 0;
  expect_invalid(d, {"out_channels", "0"});
  d.out_channels = -3;
  expect_invalid(d, {"out_channels", "-3"});
  d.out_channels = 5;
  ASSERT_TRUE(Problem::create(d).is_ok());
}

TEST(ProblemValidation, KernelLargerThanInputUnderValid) {
  ProblemDesc d = valid_desc();
  d.height = 3;
  d.kernel_h = 5;
  expect_invalid(d, {"height", "5", "3"});
  d = valid_desc();
  d.width = 8;
  d.kernel_w = 3;
  d.dilation_w = 4;  // extent 9 > 8
  expect_invalid(d, {"width", "9", "8"});
  // The same problems are fine under SAME (TF pads the input).
  d.padding = PaddingMode::kSame;
  EXPECT_TRUE(Problem::create(d).is_ok());
  // And under explicit padding once padded input covers the extent.
  d.padding = PaddingMode::kExplicit;
  d.pad_left = 0, d.pad_right = 0;
  expect_invalid(d, {"width", "9"});
  d.pad_right = 1;
  Result<Problem> p = Problem::create(d);
  ASSERT_TRUE(p.is_ok()) << p.status().to_string();
  EXPECT_EQ(p->out_w(), 1);
}

TEST(ProblemValidation, InvalidEnumValues) {
  ProblemDesc d = valid_desc();
  d.op = static_cast<Op>(7);
  expect_invalid(d, {"op", "7"});
  d = valid_desc();
  d.layout = static_cast<Layout>(2);
  expect_invalid(d, {"layout", "2"});
  d = valid_desc();
  d.filter_layout = static_cast<FilterLayout>(-1);
  expect_invalid(d, {"filter_layout", "-1"});
  d = valid_desc();
  d.dtype = static_cast<DType>(3);
  expect_invalid(d, {"dtype", "3"});
  d = valid_desc();
  d.padding = static_cast<PaddingMode>(9);
  expect_invalid(d, {"padding", "9"});
  d = valid_desc();
  d.activation = static_cast<Activation>(7);
  expect_invalid(d, {"activation", "7"});
}

TEST(ProblemValidation, Int64Overflow) {
  // Input element count: 2^21 * 2^21 * 2^21 * 1 = 2^63 overflows.
  ProblemDesc d = valid_desc();
  d.multiplier = 1;
  d.padding = PaddingMode::kSame;
  d.batch = int64_t{1} << 21, d.height = int64_t{1} << 21, d.width = int64_t{1} << 21, d.channels = 1;
  d.kernel_h = d.kernel_w = 1;
  expect_invalid(d, {"input"});
  // Input bytes: 2^61 elements fit, 2^63 bytes do not.
  d.batch = int64_t{1} << 19;
  expect_invalid(d, {"input"});

  // Filter: a huge multiplier on one channel.
  d = valid_desc();
  d.padding = PaddingMode::kSame;
  d.channels = 1;
  d.multiplier = int64_t{1} << 62;
  expect_invalid(d, {"filter"});
  // channels * multiplier itself.
  d.channels = 4;
  expect_invalid(d, {"channels*multiplier"});

  // Output only: input and filter fit, the output (2^20 * 2^20 * 1 * 2^22 elements, 2^64 bytes) does not.
  d = valid_desc();
  d.padding = PaddingMode::kSame;
  d.batch = int64_t{1} << 20, d.height = int64_t{1} << 20, d.width = 1, d.channels = 1;
  d.kernel_h = d.kernel_w = 1;
  d.multiplier = int64_t{1} << 22;
  expect_invalid(d, {"output"});

  // Separable intermediate and pointwise.
  d = valid_desc();
  d.op = Op::kSeparable;
  d.padding = PaddingMode::kSame;
  d.channels = 1;
  d.multiplier = int64_t{1} << 40;
  d.out_channels = int64_t{1} << 30;
  expect_invalid(d, {"pointwise"});

  // Dilated kernel extent.
  d = valid_desc();
  d.padding = PaddingMode::kSame;
  d.kernel_h = int64_t{1} << 40;
  d.dilation_h = int64_t{1} << 40;
  expect_invalid(d, {"height", "overflows"});

  // Explicit padding that overflows when added to the input.
  d = valid_desc();
  d.padding = PaddingMode::kExplicit;
  d.pad_top = kMax;
  expect_invalid(d, {"height", "overflows"});

  // Sizes at the int64 limit under SAME must be rejected cleanly (no signed overflow on the way).
  d = valid_desc();
  d.padding = PaddingMode::kSame;
  d.batch = 1, d.channels = 1, d.multiplier = 1, d.width = 1, d.kernel_w = 1;
  d.height = kMax;
  d.stride_h = 2;
  expect_invalid(d, {"height"});  // (out-1)*stride + extent of the SAME padding overflows first
  d.stride_h = kMax;
  expect_invalid(d, {"input"});
}

// ---------------------------------------------------------------------------------------------
// Descriptor
// ---------------------------------------------------------------------------------------------

ProblemDesc random_desc(std::mt19937_64& rng) {
  auto pick = [&rng](int64_t lo, int64_t hi) { return lo + static_cast<int64_t>(rng() % uint64_t(hi - lo + 1)); };
  ProblemDesc d;
  d.op = static_cast<Op>(pick(0, 2));
  d.batch = pick(1, 4);
  d.height = pick(1, 300);
  d.width = pick(1, 300);
  d.channels = pick(1, 2048);
  d.kernel_h = pick(1, 7);
  d.kernel_w = pick(1, 7);
  d.multiplier = d.op == Op::kConv2d ? 1 : pick(1, 4);
  d.out_channels = d.op == Op::kDepthwise ? (pick(0, 1) ? 0 : d.channels * d.multiplier) : pick(1, 512);
  d.stride_h = pick(1, 3);
  d.stride_w = pick(1, 3);
  d.dilation_h = pick(1, 6);
  d.dilation_w = pick(1, 6);
  d.padding = static_cast<PaddingMode>(pick(0, 2));
  if (d.padding == PaddingMode::kExplicit) {
    d.pad_top = pick(0, 5), d.pad_bottom = pick(0, 5), d.pad_left = pick(0, 5), d.pad_right = pick(0, 5);
  }
  d.layout = static_cast<Layout>(pick(0, 1));
  d.filter_layout = static_cast<FilterLayout>(pick(0, 1));
  d.dtype = static_cast<DType>(pick(0, 2));
  d.has_bias = pick(0, 1) != 0;
  d.has_residual = pick(0, 1) != 0;
  d.activation = static_cast<Activation>(pick(0, 6));
  return d;
}

TEST(ProblemDescriptor, RoundTripRandomProblems) {
  const uint64_t seed = 20240601;
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937_64 rng(seed);
  int round_trips = 0;
  for (int i = 0; i < 2000; ++i) {
    Result<Problem> p = Problem::create(random_desc(rng));
    if (!p) continue;  // e.g. a dilated kernel larger than the input under VALID
    const std::string text = p->descriptor();
    SCOPED_TRACE(text);
    Result<Problem> q = Problem::parse(text);
    ASSERT_TRUE(q.is_ok()) << q.status().to_string();
    EXPECT_EQ(*p, *q);
    EXPECT_EQ(q->descriptor(), text);
    // Equal descriptors must mean equal problems, field by field.
    const ProblemDesc &a = p->desc(), &b = q->desc();
    EXPECT_EQ(a.op, b.op);
    EXPECT_EQ(a.batch, b.batch);
    EXPECT_EQ(a.height, b.height);
    EXPECT_EQ(a.width, b.width);
    EXPECT_EQ(a.channels, b.channels);
    EXPECT_EQ(a.kernel_h, b.kernel_h);
    EXPECT_EQ(a.kernel_w, b.kernel_w);
    EXPECT_EQ(a.multiplier, b.multiplier);
    EXPECT_EQ(p->out_channels(), q->out_channels());
    EXPECT_EQ(a.stride_h, b.stride_h);
    EXPECT_EQ(a.stride_w, b.stride_w);
    EXPECT_EQ(a.dilation_h, b.dilation_h);
    EXPECT_EQ(a.dilation_w, b.dilation_w);
    EXPECT_EQ(a.padding, b.padding);
    EXPECT_EQ(p->pad_top(), q->pad_top());
    EXPECT_EQ(p->pad_bottom(), q->pad_bottom());
    EXPECT_EQ(p->pad_left(), q->pad_left());
    EXPECT_EQ(p->pad_right(), q->pad_right());
    EXPECT_EQ(a.layout, b.layout);
    EXPECT_EQ(a.filter_layout, b.filter_layout);
    EXPECT_EQ(a.dtype, b.dtype);
    EXPECT_EQ(a.has_bias, b.has_bias);
    EXPECT_EQ(a.activation, b.activation);
    EXPECT_EQ(p->out_h(), q->out_h());
    EXPECT_EQ(p->out_w(), q->out_w());
    if (HasFailure()) return;
    ++round_trips;
  }
  EXPECT_GT(round_trips, 1000);  // most random problems are valid: the loop really tested something
}

TEST(ProblemDescriptor, DistinctProblemsHaveDistinctDescriptors) {
  ProblemDesc d = valid_desc();
  const Problem base = *Problem::create(d);
  std::vector<ProblemDesc> variants;
  auto vary = [&](auto change) {
    ProblemDesc v = d;
    change(v);
    variants.push_back(v);
  };
  vary([](ProblemDesc& v) { v.batch = 3; });
  vary([](ProblemDesc& v) { v.height = 10; });
  vary([](ProblemDesc& v) { v.width = 10; });
  vary([](ProblemDesc& v) { v.channels = 5; });
  vary([](ProblemDesc& v) { v.kernel_h = 2; });
  vary([](ProblemDesc& v) { v.kernel_w = 2; });
  vary([](ProblemDesc& v) { v.multiplier = 3; });
  vary([](ProblemDesc& v) { v.stride_h = 2; });
  vary([](ProblemDesc& v) { v.stride_w = 2; });
  vary([](ProblemDesc& v) { v.dilation_h = 2; });
  vary([](ProblemDesc& v) { v.dilation_w = 2; });
  vary([](ProblemDesc& v) { v.padding = PaddingMode::kSame; });
  vary([](ProblemDesc& v) { v.padding = PaddingMode::kExplicit; });
  vary([](ProblemDesc& v) { v.padding = PaddingMode::kExplicit, v.pad_right = 1; });
  vary([](ProblemDesc& v) { v.layout = Layout::kNCHW; });
  vary([](ProblemDesc& v) { v.filter_layout = FilterLayout::kOIHW; });
  vary([](ProblemDesc& v) { v.dtype = DType::kBF16; });
  vary([](ProblemDesc& v) { v.has_bias = true; });
  vary([](ProblemDesc& v) { v.activation = Activation::kRelu6; });
  vary([](ProblemDesc& v) { v.op = Op::kSeparable, v.out_channels = 8; });
  for (const ProblemDesc& v : variants) {
    Result<Problem> p = Problem::create(v);
    ASSERT_TRUE(p.is_ok()) << p.status().to_string();
    EXPECT_NE(p->descriptor(), base.descriptor());
    EXPECT_NE(*p, base);
  }
}

TEST(ProblemDescriptor, ParsesTheDocumentedExamples) {
  Result<Problem> p = Problem::parse("conv2d_n1h33w33c2048_k3x3_o256_s1x1_d6x6_psame_nhwc_tf_f16_bias_relu");
  ASSERT_TRUE(p.is_ok()) << p.status().to_string();
  EXPECT_EQ(p->op(), Op::kConv2d);
  EXPECT_EQ(p->c(), 2048);
  EXPECT_EQ(p->out_channels(), 256);
  EXPECT_EQ(p->dilation_h(), 6);
  EXPECT_EQ(p->dtype(), DType::kF16);
  EXPECT_TRUE(p->has_bias());
  EXPECT_EQ(p->activation(), Activation::kRelu);
  EXPECT_EQ(p->out_h(), 33);
  EXPECT_EQ(p->pad_top(), 6);

  p = Problem::parse("separable_n2h13w11c17_k5x5_m2_o8_s2x2_d1x1_pt1b2l0r3_nchw_oihw_bf16");
  ASSERT_TRUE(p.is_ok()) << p.status().to_string();
  EXPECT_EQ(p->op(), Op::kSeparable);
  EXPECT_EQ(p->m(), 2);
  EXPECT_EQ(p->pad_top(), 1);
  EXPECT_EQ(p->pad_bottom(), 2);
  EXPECT_EQ(p->pad_left(), 0);
  EXPECT_EQ(p->pad_right(), 3);
  EXPECT_EQ(p->layout(), Layout::kNCHW);
  EXPECT_EQ(p->filter_layout(), FilterLayout::kOIHW);
  EXPECT_EQ(p->dtype(), DType::kBF16);
  EXPECT_EQ(p->out_h(), (13 + 3 - 5) / 2 + 1);
  EXPECT_EQ(p->out_w(), (11 + 3 - 5) / 2 + 1);
}

TEST(ProblemDescriptor, ParseIsLenient) {
  // Any order, spaces or underscores, any case; omitted fields take ProblemDesc's defaults.
  Result<Problem> a = Problem::parse("depthwise_n1h112w112c32_k3x3_m1_s2x2_d1x1_psame_nhwc_tf_f32");
  Result<Problem> b = Problem::parse("DEPTHWISE PSAME s2 k3 N1H112W112C32");
  ASSERT_TRUE(a.is_ok()) << a.status().to_string();
  ASSERT_TRUE(b.is_ok()) << b.status().to_string();
  EXPECT_EQ(*a, *b);
  Result<Problem> c = Problem::parse("depthwise_n1h4w4c2");
  ASSERT_TRUE(c.is_ok()) << c.status().to_string();
  EXPECT_EQ(c->kh(), 1);
  EXPECT_EQ(c->m(), 1);
  EXPECT_EQ(c->dtype(), DType::kF32);
  EXPECT_EQ(c->layout(), Layout::kNHWC);
}

TEST(ProblemDescriptor, ParseErrors) {
  struct Case {
    const char* text;
    const char* mentions;
  };
  // clang-format off
  const Case cases[] = {
      {"", "empty"},
      {"   ", "empty"},
      {"pooling_n1h4w4c1", "pooling"},
      {"depthwise", "size"},
      {"depthwise_k3x3", "size"},
      {"depthwise_n1h4w4", "n1h4w4"},               // channels missing
      {"depthwise_n1w4h4c1", "n1w4h4c1"},           // letters out of order
      {"depthwise_n1h4w4c1x", "n1h4w4c1x"},
      {"depthwise_n99999999999999999999h1w1c1", "n99999999999999999999h1w1c1"},  // more digits than int64
      {"depthwise_n1h4w4c1_k3y3", "k3y3"},
      {"depthwise_n1h4w4c1_kx3", "kx3"},
      {"depthwise_n1h4w4c1_s-1", "s-1"},
      {"depthwise_n1h4w4c1_d", "d"},
      {"depthwise_n1h4w4c1_m2x3", "m2x3"},
      {"depthwise_n1h4w4c1_o4x5", "o4x5"},
      {"depthwise_n1h4w4c1_pt1b1l1", "pt1b1l1"},
      {"depthwise_n1h4w4c1_pfull", "pfull"},
      {"depthwise_n1h4w4c1_f64", "f64"},
      {"depthwise_n1h4w4c1_zebra", "zebra"},
      {"depthwise_n1h4w4c1_k0x3", "kernel_h"},        // parsed, then rejected by create
      {"depthwise_n1h4w4c1_k5x5", "height"},          // VALID with a kernel larger than the input
      {"conv2d_n1h4w4c1_k3x3", "out_channels"},
      {"depthwise_n1h4w4c2_m2_o3", "out_channels"},
  };
  // clang-format on
  for (const Case& c : cases) {
    SCOPED_TRACE(std::string("descriptor '") + c.text + "'");
    Result<Problem> p = Problem::parse(c.text);
    ASSERT_FALSE(p.is_ok()) << "parsed as " << p->descriptor();
    EXPECT_EQ(p.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(p.status().message().find(c.mentions), std::string::npos) << p.status().message();
  }
}

TEST(ProblemEnums, NamesRoundTrip) {
  for (Op v : {Op::kDepthwise, Op::kConv2d, Op::kSeparable}) EXPECT_EQ(*parse_op(to_string(v)), v);
  for (Layout v : {Layout::kNHWC, Layout::kNCHW}) EXPECT_EQ(*parse_layout(to_string(v)), v);
  for (FilterLayout v : {FilterLayout::kTF, FilterLayout::kOIHW}) EXPECT_EQ(*parse_filter_layout(to_string(v)), v);
  for (DType v : {DType::kF32, DType::kF16, DType::kBF16}) EXPECT_EQ(*parse_dtype(to_string(v)), v);
  for (Activation v : {Activation::kNone, Activation::kRelu, Activation::kRelu6, Activation::kSilu, Activation::kHswish,
                       Activation::kGelu, Activation::kGeluTanh})
    EXPECT_EQ(*parse_activation(to_string(v)), v);
  EXPECT_EQ(*parse_activation("swish"), Activation::kSilu);
  EXPECT_EQ(*parse_activation("hardswish"), Activation::kHswish);
  EXPECT_EQ(*parse_activation("gelutanh"), Activation::kGeluTanh);
  EXPECT_EQ(*parse_layout("NCHW"), Layout::kNCHW);
  EXPECT_EQ(*parse_dtype("bfloat16"), DType::kBF16);
  EXPECT_EQ(dtype_size(DType::kF32), 4u);
  EXPECT_EQ(dtype_size(DType::kF16), 2u);
  EXPECT_EQ(dtype_size(DType::kBF16), 2u);

  Result<DType> bad = parse_dtype("int8");
  ASSERT_FALSE(bad.is_ok());
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("dtype"), std::string::npos);
  EXPECT_NE(bad.status().message().find("int8"), std::string::npos);
  EXPECT_FALSE(parse_op("pool").is_ok());
  EXPECT_FALSE(parse_layout("nwhc").is_ok());
  EXPECT_FALSE(parse_filter_layout("hwoi").is_ok());
  EXPECT_FALSE(parse_activation("softplus").is_ok());
}

TEST(Status, ToStringNamesCodeAndMessage) {
  const Status s(StatusCode::kInvalidArgument, "stride_h must be >= 1, got 0");
  EXPECT_EQ(s.to_string(), "invalid argument: stride_h must be >= 1, got 0");
  EXPECT_TRUE(Status::ok().is_ok());
  EXPECT_FALSE(s.is_ok());
  EXPECT_STREQ(version(), "0.1.0");
}

}  // namespace
}  // namespace dsconv
