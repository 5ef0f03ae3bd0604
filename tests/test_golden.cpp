// Golden cases computed by TensorFlow (tests/golden/make_golden.py -> tests/data/golden/): the reference
// and every other built backend that accepts a case must reproduce them within f32 tolerance.
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "dsconv/dsconv.hpp"
#include "dsconv/npy.hpp"
#include "support/tester.hpp"

namespace dsconv {
namespace {

const std::string kGoldenDir = std::string(DSCONV_TEST_DATA_DIR) + "/golden";

struct GoldenCase {
  std::string name;
  std::string descriptor;
  std::string source;  // the TensorFlow computation, for failure messages
};

void PrintTo(const GoldenCase& c, std::ostream* os) { *os << c.name << " (" << c.descriptor << ")"; }

std::vector<GoldenCase> read_manifest() {
  std::vector<GoldenCase> cases;
  std::ifstream in(kGoldenDir + "/manifest.tsv");
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream fields(line);
    GoldenCase c;
    std::getline(fields, c.name, '\t');
    std::getline(fields, c.descriptor, '\t');
    std::getline(fields, c.source);
    cases.push_back(c);
  }
  return cases;
}

TEST(Golden, ManifestListsTheExpectedCoverage) {
  const std::vector<GoldenCase> cases = read_manifest();
  ASSERT_GE(cases.size(), 20u) << "missing or truncated " << kGoldenDir << "/manifest.tsv";
  int depthwise = 0, conv2d = 0, separable = 0, dilated = 0, strided = 0, same = 0, valid = 0, multiplier2 = 0,
      nchw = 0, bias = 0;
  for (const GoldenCase& c : cases) {
    Result<Problem> p = Problem::parse(c.descriptor);
    ASSERT_TRUE(p.is_ok()) << c.name << ": " << p.status().to_string();
    EXPECT_EQ(p->descriptor(), c.descriptor) << c.name << ": descriptors are stored in canonical form";
    depthwise += p->op() == Op::kDepthwise;
    conv2d += p->op() == Op::kConv2d;
    separable += p->op() == Op::kSeparable;
    dilated += p->dilation_h() > 1 || p->dilation_w() > 1;
    strided += p->stride_h() > 1 || p->stride_w() > 1;
    same += p->desc().padding == PaddingMode::kSame;
    valid += p->desc().padding == PaddingMode::kValid;
    multiplier2 += p->op() != Op::kConv2d && p->m() > 1;
    nchw += p->layout() == Layout::kNCHW;
    bias += p->has_bias();
  }
  for (int count : {depthwise, conv2d, separable, dilated, strided, same, valid, multiplier2, nchw, bias})
    EXPECT_GT(count, 0);
}

class GoldenTest : public ::testing::TestWithParam<GoldenCase> {};

// Loads `<name>_<what>.npy`, checking it is f32 with the shape the problem expects.
void load_tensor(const GoldenCase& c, const char* what, const std::vector<int64_t>& shape, std::vector<float>* out) {
  const std::string path = kGoldenDir + "/" + c.name + "_" + what + ".npy";
  Result<npy::Array> a = npy::load(path);
  ASSERT_TRUE(a.is_ok()) << path << ": " << a.status().to_string();
  ASSERT_EQ(a->dtype, DType::kF32) << path;
  ASSERT_EQ(a->shape, shape) << path << " has shape " << npy::shape_string(a->shape) << ", the problem wants "
                             << npy::shape_string(shape);
  *out = a->values;
}

TEST_P(GoldenTest, EveryBackendMatchesTensorFlow) {
  const GoldenCase& c = GetParam();
  SCOPED_TRACE(c.name + ": " + c.descriptor + " <- " + c.source);
  Result<Problem> parsed = Problem::parse(c.descriptor);
  ASSERT_TRUE(parsed.is_ok()) << parsed.status().to_string();
  const Problem& p = *parsed;

  testing::HostData data;
  std::vector<float> expected;
  load_tensor(c, "input", p.input_shape(), &data.input);
  load_tensor(c, "filter", p.filter_shape(), &data.filter);
  if (p.op() == Op::kSeparable) load_tensor(c, "pointwise", p.pointwise_shape(), &data.pointwise);
  if (p.has_bias()) load_tensor(c, "bias", p.bias_shape(), &data.bias);
  load_tensor(c, "expected", p.output_shape(), &expected);
  if (HasFatalFailure()) return;

  Result<std::vector<float>> magnitude = testing::magnitude_f32(p, data);
  ASSERT_TRUE(magnitude.is_ok()) << magnitude.status().to_string();
  // TensorFlow accumulates in f32 in an order of its own; the bound is the f32 one of the tester.
  const double rtol = testing::relative_tolerance(p);
  const double atol = testing::absolute_tolerance(p.dtype());

  int backends_run = 0;
  for (const std::string& backend : built_backends()) {
    if (!backend_available(backend)) continue;
    // Other backends are held to their own implementations; the reference runs as itself.
    const PlanOptions options = backend == "cpu-ref" ? PlanOptions{} : PlanOptions{{"ref"}};
    Result<Plan> plan = Plan::create(p, backend, options);
    if (!plan) {
      ASSERT_NE(backend, "cpu-ref") << plan.status().to_string();
      EXPECT_EQ(plan.status().code(), StatusCode::kNotSupported) << backend << ": " << plan.status().to_string();
      continue;
    }
    SCOPED_TRACE(plan->backend() + "/" + plan->implementation());
    Result<std::vector<float>> got = testing::run_plan(*plan, data);
    ASSERT_TRUE(got.is_ok()) << got.status().to_string();
    const testing::Comparison cmp = testing::compare_outputs(p, *got, expected, *magnitude, rtol, atol);
    EXPECT_EQ(cmp.failures, 0) << cmp.failures << " of " << p.output_elements()
                               << " elements differ from TensorFlow beyond rtol " << rtol << ":\n"
                               << cmp.failures_text;
    ++backends_run;
  }
  EXPECT_GE(backends_run, 1);
}

std::string golden_name(const ::testing::TestParamInfo<GoldenCase>& info) {
  std::string name = info.param.name;
  for (char& ch : name)
    if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
  return name;
}

INSTANTIATE_TEST_SUITE_P(TensorFlow, GoldenTest, ::testing::ValuesIn(read_manifest()), golden_name);

}  // namespace
}  // namespace dsconv
