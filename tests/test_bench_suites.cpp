// The built-in benchmark suites (bench/driver/suites.hpp): every layer is a valid Problem whose
// descriptor parses back to it, the networks' characteristic layers are there, and overrides apply.
#include <gtest/gtest.h>

#include <set>
#include <string>

#include "bench/driver/suites.hpp"

namespace {

using namespace dsconv;
using namespace dsconv::driver;

std::vector<SuiteProblem> problems_of(const std::string& name, const LayerAdjust& adjust = nullptr) {
  const Suite* s = find_suite(name);
  EXPECT_NE(s, nullptr) << name;
  if (s == nullptr) return {};
  Result<std::vector<SuiteProblem>> ps = suite_problems(*s, adjust);
  EXPECT_TRUE(ps.is_ok()) << ps.status().to_string();
  return ps.is_ok() ? *ps : std::vector<SuiteProblem>{};
}

TEST(BenchSuites, TheIssuesSuitesExist) {
  for (const char* name : {"quick", "mobilenet_v2", "efficientnet_b0", "mobilenet_v3", "convnext", "replknet",
                           "deeplab_aspp", "deeplab_separable"})
    EXPECT_NE(find_suite(name), nullptr) << name;
  EXPECT_EQ(find_suite("mobilenet"), nullptr) << "names match exactly";
  EXPECT_EQ(find_suite(""), nullptr);
}

TEST(BenchSuites, EveryLayerIsAValidProblemAndItsDescriptorRoundTrips) {
  std::set<std::string> suite_names_seen;
  for (const Suite& suite : builtin_suites()) {
    SCOPED_TRACE(suite.name);
    EXPECT_TRUE(suite_names_seen.insert(suite.name).second) << "duplicate suite name";
    EXPECT_FALSE(suite.layers.empty());
    EXPECT_FALSE(suite.description.empty());
    std::set<std::string> layer_names, descriptors;
    for (const SuiteProblem& sp : problems_of(suite.name)) {
      SCOPED_TRACE(sp.layer);
      EXPECT_EQ(sp.suite, suite.name);
      EXPECT_TRUE(layer_names.insert(sp.layer).second) << "duplicate layer name";
      const std::string d = sp.problem.descriptor();
      EXPECT_TRUE(descriptors.insert(d).second) << "the same shape twice: " << d;
      Result<Problem> back = Problem::parse(d);
      ASSERT_TRUE(back.is_ok()) << d << ": " << back.status().to_string();
      EXPECT_EQ(*back, sp.problem) << d;
      EXPECT_EQ(back->descriptor(), d);
      // Real layers: batch 1 by default, NHWC f32 with TF filters, SAME padding (out = ceil(in / stride)).
      EXPECT_EQ(sp.problem.n(), 1);
      EXPECT_EQ(sp.problem.layout(), Layout::kNHWC);
      EXPECT_EQ(sp.problem.dtype(), DType::kF32);
      EXPECT_EQ(sp.problem.desc().padding, PaddingMode::kSame);
      EXPECT_EQ(sp.problem.out_h(), (sp.problem.h() + sp.problem.stride_h() - 1) / sp.problem.stride_h());
      EXPECT_GT(sp.problem.flops(), 0.0);
      EXPECT_GT(sp.problem.min_bytes(), 0.0);
    }
    EXPECT_EQ(layer_names.size(), suite.layers.size());
  }
}

TEST(BenchSuites, CharacteristicLayers) {
  // MobileNetV2: depthwise 3x3 only, the first block at 112x112x32, stride-2 blocks present.
  bool v2_first = false, v2_stride2 = false;
  for (const SuiteProblem& sp : problems_of("mobilenet_v2")) {
    const Problem& p = sp.problem;
    EXPECT_EQ(p.op(), Op::kDepthwise);
    EXPECT_EQ(p.kh(), 3);
    EXPECT_EQ(p.m(), 1);
    v2_first |= p.h() == 112 && p.c() == 32 && p.stride_h() == 1;
    v2_stride2 |= p.stride_h() == 2;
  }
  EXPECT_TRUE(v2_first);
  EXPECT_TRUE(v2_stride2);

  // EfficientNet-B0 and MobileNetV3 mix 3x3 and 5x5; V3 has the dilated 5x5 d=2 tail.
  std::set<int64_t> effnet_kernels;
  for (const SuiteProblem& sp : problems_of("efficientnet_b0")) effnet_kernels.insert(sp.problem.kh());
  EXPECT_EQ(effnet_kernels, (std::set<int64_t>{3, 5}));
  int dilated = 0;
  for (const SuiteProblem& sp : problems_of("mobilenet_v3"))
    if (sp.problem.dilation_h() == 2) {
      ++dilated;
      EXPECT_EQ(sp.problem.kh(), 5);
      EXPECT_EQ(sp.problem.stride_h(), 1);
      EXPECT_EQ(sp.problem.out_h(), sp.problem.h());
    }
  EXPECT_GE(dilated, 1);

  for (const SuiteProblem& sp : problems_of("convnext")) {
    EXPECT_EQ(sp.problem.kh(), 7);
    EXPECT_EQ(sp.problem.kw(), 7);
    EXPECT_EQ(sp.problem.pad_top(), 3);
  }
  std::set<int64_t> big_kernels;
  for (const SuiteProblem& sp : problems_of("replknet")) big_kernels.insert(sp.problem.kh());
  for (int64_t k : {31, 27, 13}) EXPECT_EQ(big_kernels.count(k), 1u) << k;

  // DeepLab ASPP: dense 3x3 2048 -> 256 at rates 6/12/18 on 33x33 and 65x65.
  std::set<std::pair<int64_t, int64_t>> aspp;
  for (const SuiteProblem& sp : problems_of("deeplab_aspp")) {
    const Problem& p = sp.problem;
    EXPECT_EQ(p.op(), Op::kConv2d);
    EXPECT_EQ(p.c(), 2048);
    EXPECT_EQ(p.out_channels(), 256);
    EXPECT_EQ(p.kh(), 3);
    EXPECT_EQ(p.out_h(), p.h());
    aspp.insert({p.h(), p.dilation_h()});
  }
  EXPECT_EQ(aspp, (std::set<std::pair<int64_t, int64_t>>{{33, 6}, {33, 12}, {33, 18}, {65, 6}, {65, 12}, {65, 18}}));

  std::set<int64_t> sep_rates;
  for (const SuiteProblem& sp : problems_of("deeplab_separable")) {
    const Problem& p = sp.problem;
    EXPECT_EQ(p.op(), Op::kSeparable);
    EXPECT_EQ(p.h(), 33);
    EXPECT_EQ(p.c(), 2048);
    EXPECT_EQ(p.out_channels(), 256);
    sep_rates.insert(p.dilation_h());
  }
  EXPECT_EQ(sep_rates, (std::set<int64_t>{6, 12, 18}));
}

TEST(BenchSuites, AdjustAppliesToEveryLayer) {
  const std::vector<SuiteProblem> ps = problems_of("convnext", [](ProblemDesc* d) {
    d->batch = 8;
    d->dtype = DType::kF16;
    d->layout = Layout::kNCHW;
    return std::string();
  });
  ASSERT_FALSE(ps.empty());
  for (const SuiteProblem& sp : ps) {
    EXPECT_EQ(sp.problem.n(), 8);
    EXPECT_EQ(sp.problem.dtype(), DType::kF16);
    EXPECT_EQ(sp.problem.layout(), Layout::kNCHW);
    EXPECT_EQ(Problem::parse(sp.problem.descriptor())->descriptor(), sp.problem.descriptor());
  }
}

TEST(BenchSuites, BadAdjustmentNamesSuiteLayerAndField) {
  const Suite* s = find_suite("replknet");
  ASSERT_NE(s, nullptr);
  Result<std::vector<SuiteProblem>> zero_batch = suite_problems(*s, [](ProblemDesc* d) {
    d->batch = 0;
    return std::string();
  });
  ASSERT_FALSE(zero_batch.is_ok());
  EXPECT_EQ(zero_batch.status().code(), StatusCode::kInvalidArgument);
  const std::string& msg = zero_batch.status().message();
  EXPECT_NE(msg.find("replknet/"), std::string::npos) << msg;
  EXPECT_NE(msg.find("batch"), std::string::npos) << msg;

  Result<std::vector<SuiteProblem>> refused =
      suite_problems(*s, [](ProblemDesc*) { return std::string("--dtype: no such type"); });
  ASSERT_FALSE(refused.is_ok());
  EXPECT_NE(refused.status().message().find("--dtype: no such type"), std::string::npos);
}

TEST(BenchSuites, SuiteNamesListsEverySuite) {
  const std::string names = suite_names();
  for (const Suite& s : builtin_suites()) EXPECT_NE(names.find(s.name), std::string::npos) << s.name;
}

}  // namespace
