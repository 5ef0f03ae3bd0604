// The dsconv driver as a user runs it (std::system on the built binary): the worked example through
// .npy files, every flag reaching the problem, exit codes, one-line errors that name files and shapes,
// no output file after any error, `check` (its data, --impl/--skip-impl, and the replay of a failing test's
// printed line bit for bit), and the help texts. Then unit tests of the driver's command line
// (bench/driver/cli.hpp); the toolkit it shares with the tests is tested in test_toolkit.cpp.
#include <gtest/gtest-spi.h>
#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>
#include <string>
#include <vector>

#include "bench/driver/cli.hpp"
#include "dsconv/dsconv.hpp"
#include "dsconv/npy.hpp"
#include "support/tester.hpp"
#include "tools/common/device.hpp"
#include "tools/common/tensor.hpp"

namespace {

namespace fs = std::filesystem;
using namespace dsconv;
using namespace dsconv::driver;
namespace dt = dsconv::testing;
using tools::count_nan;
using tools::execute;
using tools::fill_small_integers;
using tools::poison_nan;
using tools::Rng;
using tools::TensorSet;

// ---------------------------------------------------------------------------------------------
// Fixture: a temp dir, the worked example's files, and a way to run the driver
// ---------------------------------------------------------------------------------------------

struct Proc {
  int code = -1;
  std::string out, err;
  // stderr without trailing newline, split into lines
  std::vector<std::string> err_lines() const {
    std::vector<std::string> v;
    std::istringstream is(err);
    for (std::string l; std::getline(is, l);) v.push_back(l);
    return v;
  }
};

std::string slurp(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
}

// Worked example (see test_c_api.cpp): x[0,i,j,0] = j+1, x[...,1] = 1; filter[:,:,c,k] = {{0,2},{1,3}}[c][k].
std::vector<float> example_x() {
  std::vector<float> x(32);
  for (int i = 0; i < 4; ++i)
    for (int j = 0; j < 4; ++j) {
      x[static_cast<size_t>((i * 4 + j) * 2)] = static_cast<float>(j + 1);
      x[static_cast<size_t>((i * 4 + j) * 2 + 1)] = 1.0f;
    }
  return x;
}
std::vector<float> example_w() {
  std::vector<float> w(36);
  const float v[2][2] = {{0, 2}, {1, 3}};
  for (int t = 0; t < 9; ++t)
    for (int c = 0; c < 2; ++c)
      for (int k = 0; k < 2; ++k) w[static_cast<size_t>((t * 2 + c) * 2 + k)] = v[c][k];
  return w;
}
const std::vector<float> kDepthwiseExpected = {0, 36, 9, 27, 0, 54, 9, 27, 0, 36, 9, 27, 0, 54, 9, 27};
const std::vector<float> kConv2dExpected = {9, 63, 9, 81, 9, 63, 9, 81};

class Cli : public ::testing::Test {
 protected:
  void SetUp() override {
#ifndef DSCONV_DRIVER_PATH
    GTEST_SKIP() << "the driver is not built (DSCONV_BUILD_DRIVER=OFF)";
#else
    driver_ = DSCONV_DRIVER_PATH;
    ASSERT_TRUE(fs::exists(driver_)) << driver_;
#endif
    std::string tmpl = (fs::temp_directory_path() / "dsconv_cli_XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    save("x.npy", {1, 4, 4, 2}, example_x());
    save("w.npy", {3, 3, 2, 2}, example_w());
  }
  void TearDown() override {
    if (!dir_.empty()) fs::remove_all(dir_);
  }

  std::string path(const std::string& name) const { return (dir_ / name).string(); }
  void save(const std::string& name, const std::vector<int64_t>& shape, const std::vector<float>& v) {
    ASSERT_TRUE(npy::save_f32(path(name), shape, v.data()).is_ok());
  }
  npy::Array load(const std::string& name) {
    Result<npy::Array> a = npy::load(path(name));
    EXPECT_TRUE(a.is_ok()) << a.status().to_string();
    return a.is_ok() ? *a : npy::Array{};
  }

  // Runs `dsconv <args>` in the temp dir (relative file names resolve there).
  Proc run(const std::string& args) {
    const std::string out = path(".stdout"), err = path(".stderr");
    const std::string cmd =
        "cd '" + dir_.string() + "' && '" + driver_ + "' " + args + " >'" + out + "' 2>'" + err + "'";
    const int st = std::system(cmd.c_str());
    Proc p;
    p.code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    p.out = slurp(out);
    p.err = slurp(err);
    fs::remove(out);
    fs::remove(err);
    return p;
  }

  // The run must fail with `code`, print a first stderr line containing every needle, and leave no y.npy.
  void expect_failure(const std::string& args, int code, const std::vector<std::string>& needles) {
    SCOPED_TRACE("dsconv " + args);
    const Proc p = run(args);
    EXPECT_EQ(p.code, code) << "stdout: " << p.out << "\nstderr: " << p.err;
    const std::vector<std::string> lines = p.err_lines();
    ASSERT_FALSE(lines.empty()) << "no error message";
    // Runtime errors are one line; usage errors add one line pointing at --help.
    EXPECT_EQ(lines.size(), code == kExitUsage ? 2u : 1u) << p.err;
    for (const std::string& n : needles)
      EXPECT_NE(lines[0].find(n), std::string::npos) << "stderr: " << p.err << "\nexpected to contain: " << n;
    EXPECT_FALSE(fs::exists(path("y.npy"))) << "an output file was created despite the error";
    std::vector<std::string> left;
    for (const auto& e : fs::directory_iterator(dir_)) left.push_back(e.path().filename().string());
    for (const std::string& f : left) EXPECT_EQ(f.find(".tmp"), std::string::npos) << "temporary file left: " << f;
  }

  fs::path dir_;
  std::string driver_;
};

// ---------------------------------------------------------------------------------------------
// dsconv run: results
// ---------------------------------------------------------------------------------------------

TEST_F(Cli, WorkedExampleDepthwise) {
  const Proc p = run("run --op depthwise --input x.npy --filter w.npy --output y.npy --backend cpu-ref");
  ASSERT_EQ(p.code, 0) << p.err;
  EXPECT_NE(p.out.find("y.npy: [1, 2, 2, 4] f32"), std::string::npos) << p.out;
  EXPECT_NE(p.out.find("depthwise_n1h4w4c2_k3x3_m2_s1x1_d1x1_pvalid_nhwc_tf_f32"), std::string::npos) << p.out;
  const npy::Array y = load("y.npy");
  EXPECT_EQ(y.shape, (std::vector<int64_t>{1, 2, 2, 4}));
  EXPECT_EQ(y.dtype, DType::kF32);
  EXPECT_EQ(y.values, kDepthwiseExpected);
}

TEST_F(Cli, WorkedExampleConv2d) {
  const Proc p = run("run --op conv2d --input x.npy --filter w.npy --output y.npy");
  ASSERT_EQ(p.code, 0) << p.err;
  const npy::Array y = load("y.npy");
  EXPECT_EQ(y.shape, (std::vector<int64_t>{1, 2, 2, 2}));
  EXPECT_EQ(y.values, kConv2dExpected);
}

TEST_F(Cli, WorkedExampleInHalfAndBfloat16) {
  // Every value of the example is a small integer: exact in f16 and bf16 as well.
  for (const char* dt : {"f16", "bf16"}) {
    SCOPED_TRACE(dt);
    const Proc p = run(std::string("run --op depthwise --input x.npy --filter w.npy --output y.npy --dtype ") + dt);
    ASSERT_EQ(p.code, 0) << p.err;
    EXPECT_NE(p.out.find(std::string("_") + dt + " "), std::string::npos) << p.out;
    EXPECT_EQ(load("y.npy").values, kDepthwiseExpected);
    fs::remove(path("y.npy"));
  }
}

TEST_F(Cli, WorkedExampleInNchwAndOihw) {
  // x as [1,2,4,4]; depthwise filter as [C*M,1,3,3] (o = c*M + m); conv filter as [O,C,3,3].
  const std::vector<float> x = example_x(), w = example_w();
  std::vector<float> xn(32), wd(36), wc(36);
  for (int c = 0; c < 2; ++c)
    for (int i = 0; i < 4; ++i)
      for (int j = 0; j < 4; ++j)
        xn[static_cast<size_t>((c * 4 + i) * 4 + j)] = x[static_cast<size_t>((i * 4 + j) * 2 + c)];
  for (int t = 0; t < 9; ++t)
    for (int c = 0; c < 2; ++c)
      for (int k = 0; k < 2; ++k) {
        const float v = w[static_cast<size_t>((t * 2 + c) * 2 + k)];
        wd[static_cast<size_t>((c * 2 + k) * 9 + t)] = v;
        wc[static_cast<size_t>((k * 2 + c) * 9 + t)] = v;
      }
  save("xn.npy", {1, 2, 4, 4}, xn);
  save("wd.npy", {4, 1, 3, 3}, wd);
  save("wc.npy", {2, 2, 3, 3}, wc);
  auto nchw = [](const std::vector<float>& nhwc, int ch) {  // [1,2,2,ch] -> [1,ch,2,2]
    std::vector<float> v(nhwc.size());
    for (int p = 0; p < 4; ++p)
      for (int c = 0; c < ch; ++c) v[static_cast<size_t>(c * 4 + p)] = nhwc[static_cast<size_t>(p * ch + c)];
    return v;
  };
  Proc p = run("run --op depthwise --input xn.npy --filter wd.npy --layout NCHW --filter-layout oihw --output y.npy");
  ASSERT_EQ(p.code, 0) << p.err;
  npy::Array y = load("y.npy");
  EXPECT_EQ(y.shape, (std::vector<int64_t>{1, 4, 2, 2}));
  EXPECT_EQ(y.values, nchw(kDepthwiseExpected, 4));
  fs::remove(path("y.npy"));
  p = run("run --op conv2d --input xn.npy --filter wc.npy --layout nchw --filter-layout OIHW --output y.npy");
  ASSERT_EQ(p.code, 0) << p.err;
  y = load("y.npy");
  EXPECT_EQ(y.shape, (std::vector<int64_t>{1, 2, 2, 2}));
  EXPECT_EQ(y.values, nchw(kConv2dExpected, 2));
}

TEST_F(Cli, SeparableWithBiasAndRelu) {
  // Pointwise sums the four depthwise channels: 72 at ox = 0, 90 at ox = 1; bias -80; relu.
  save("pw.npy", {1, 1, 4, 1}, {1, 1, 1, 1});
  save("b.npy", {1}, {-80});
  const Proc p =
      run("run --op separable --input x.npy --filter w.npy --pointwise pw.npy --bias b.npy "
          "--activation relu --output y.npy");
  ASSERT_EQ(p.code, 0) << p.err;
  const npy::Array y = load("y.npy");
  EXPECT_EQ(y.shape, (std::vector<int64_t>{1, 2, 2, 1}));
  EXPECT_EQ(y.values, (std::vector<float>{0, 10, 0, 10}));
}

TEST_F(Cli, EveryFlagReachesTheProblem) {
  // Small-integer data, so the driver's result and the library's must agree exactly.
  ProblemDesc d;
  d.op = Op::kDepthwise;
  d.batch = 2;
  d.height = 9;
  d.width = 7;
  d.channels = 3;
  d.kernel_h = 3;
  d.kernel_w = 2;
  d.multiplier = 2;
  d.stride_h = 2;
  d.stride_w = 1;
  d.dilation_h = 1;
  d.dilation_w = 2;
  d.padding = PaddingMode::kExplicit;
  d.pad_top = 1;
  d.pad_bottom = 0;
  d.pad_left = 2;
  d.pad_right = 1;
  d.layout = Layout::kNCHW;
  d.filter_layout = FilterLayout::kOIHW;
  d.has_bias = true;
  d.activation = Activation::kRelu6;
  Result<Problem> prob = Problem::create(d);
  ASSERT_TRUE(prob.is_ok()) << prob.status().to_string();
  const Problem& p = *prob;
  TensorSet t = TensorSet::allocate(p);
  Rng rng(11);
  fill_small_integers(t.input, rng);
  fill_small_integers(t.filter, rng);
  fill_small_integers(t.bias, rng);
  poison_nan(t.output);
  Result<Plan> plan = Plan::create(p, "cpu-ref");
  ASSERT_TRUE(plan.is_ok());
  ASSERT_TRUE(execute(*plan, &t).is_ok());
  ASSERT_EQ(count_nan(t.output), 0);

  save("xi.npy", p.input_shape(), t.input.to_floats());
  save("wi.npy", p.filter_shape(), t.filter.to_floats());
  save("bi.npy", p.bias_shape(), t.bias.to_floats());
  const Proc r =
      run("run --op depthwise --input xi.npy --filter wi.npy --bias bi.npy --stride 2,1 --dilation 1,2 "
          "--padding 1,0,2,1 --layout NCHW --filter-layout oihw --activation relu6 --output y.npy --verbose");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find(p.descriptor()), std::string::npos) << r.out << "\nexpected descriptor " << p.descriptor();
  EXPECT_NE(r.err.find("chosen: "), std::string::npos) << "--verbose prints the plan: " << r.err;
  const npy::Array y = load("y.npy");
  EXPECT_EQ(y.shape, p.output_shape());
  EXPECT_EQ(y.values, t.output.to_floats());

  // SAME padding, and one value for both strides.
  fs::remove(path("y.npy"));
  const Proc s =
      run("run --op depthwise --input xi.npy --filter wi.npy --bias bi.npy --stride 2 --padding same "
          "--layout NCHW --filter-layout oihw --output y.npy");
  ASSERT_EQ(s.code, 0) << s.err;
  EXPECT_NE(s.out.find("_s2x2_d1x1_psame_nchw_oihw_f32_bias "), std::string::npos) << s.out;
}

TEST_F(Cli, Float16InputFileSetsTheDefaultDtype) {
  // A '<f2' file written by hand: 32 halves of the example input.
  std::string bytes("\x93NUMPY\x01\x00", 8);
  std::string header = "{'descr': '<f2', 'fortran_order': False, 'shape': (1, 4, 4, 2), }";
  header.resize(118 - 1, ' ');
  header += '\n';
  bytes += static_cast<char>(header.size());
  bytes += '\0';
  bytes += header;
  const std::vector<uint8_t> halves = tools::encode(DType::kF16, example_x());  // little-endian, as '<f2'
  bytes.append(halves.begin(), halves.end());
  std::ofstream(path("x16.npy"), std::ios::binary) << bytes;
  const Proc p = run("run --op depthwise --input x16.npy --filter w.npy --output y.npy");
  ASSERT_EQ(p.code, 0) << p.err;
  EXPECT_NE(p.out.find("_tf_f16 "), std::string::npos) << p.out;
  EXPECT_EQ(load("y.npy").values, kDepthwiseExpected);
}

// ---------------------------------------------------------------------------------------------
// dsconv run: errors
// ---------------------------------------------------------------------------------------------

TEST_F(Cli, FilterThatDoesNotFitTheInput) {
  save("w3.npy", {3, 3, 3, 2}, std::vector<float>(54, 1.0f));
  expect_failure("run --op depthwise --input x.npy --filter w3.npy --output y.npy", kExitFailure,
                 {"w3.npy shape [3, 3, 3, 2]", "x.npy shape [1, 4, 4, 2]", "C = 2", "got C = 3"});
  expect_failure("run --op conv2d --input x.npy --filter w3.npy --output y.npy", kExitFailure,
                 {"w3.npy shape [3, 3, 3, 2]", "x.npy shape [1, 4, 4, 2]", "[KH,KW,C,O]"});
  save("wo.npy", {4, 2, 3, 3}, std::vector<float>(72, 1.0f));  // OIHW depthwise needs [C*M,1,KH,KW]
  expect_failure("run --op depthwise --input x.npy --filter wo.npy --filter-layout oihw --output y.npy", kExitFailure,
                 {"wo.npy shape [4, 2, 3, 3]", "[C*M,1,KH,KW]"});
  save("w5.npy", {3, 3, 2}, std::vector<float>(18, 1.0f));
  expect_failure("run --op depthwise --input x.npy --filter w5.npy --output y.npy", kExitFailure,
                 {"w5.npy shape [3, 3, 2]", "rank 3"});
}

TEST_F(Cli, InputOfTheWrongRank) {
  save("x3.npy", {4, 4, 2}, std::vector<float>(32, 1.0f));
  expect_failure("run --op depthwise --input x3.npy --filter w.npy --output y.npy", kExitFailure,
                 {"x3.npy", "rank 4", "[4, 4, 2]"});
}

TEST_F(Cli, PointwiseAndBiasThatDoNotFit) {
  save("pw.npy", {1, 1, 3, 5}, std::vector<float>(15, 1.0f));  // needs C*M = 4 rows
  expect_failure("run --op separable --input x.npy --filter w.npy --pointwise pw.npy --output y.npy", kExitFailure,
                 {"pw.npy shape [1, 1, 3, 5]", "x.npy", "w.npy", "[1,1,4,O]"});
  save("pw_ok.npy", {1, 1, 4, 5}, std::vector<float>(20, 1.0f));
  save("b.npy", {4}, std::vector<float>(4, 1.0f));
  expect_failure("run --op separable --input x.npy --filter w.npy --pointwise pw_ok.npy --bias b.npy --output y.npy",
                 kExitFailure, {"b.npy shape [4]", "must be [5]"});
  save("b2.npy", {1, 4}, std::vector<float>(4, 1.0f));
  expect_failure("run --op depthwise --input x.npy --filter w.npy --bias b2.npy --output y.npy", kExitFailure,
                 {"b2.npy shape [1, 4]", "must be [4]"});
}

TEST_F(Cli, ProblemRejectedByValidationNamesTheFiles) {
  save("w7.npy", {7, 7, 2, 1}, std::vector<float>(98, 1.0f));
  expect_failure("run --op depthwise --input x.npy --filter w7.npy --output y.npy", kExitFailure,
                 {"x.npy shape [1, 4, 4, 2]", "w7.npy shape [7, 7, 2, 1]", "exceeds input height 4"});
}

TEST_F(Cli, MissingAndMalformedFiles) {
  expect_failure("run --op depthwise --input nope.npy --filter w.npy --output y.npy", kExitFailure,
                 {"nope.npy", "No such file"});
  std::ofstream(path("junk.npy")) << "this is not an npy file at all";
  expect_failure("run --op depthwise --input x.npy --filter junk.npy --output y.npy", kExitFailure,
                 {"junk.npy", "not a .npy file"});
  expect_failure("run --op depthwise --input x.npy --filter w.npy --output no_such_dir/y.npy", kExitFailure,
                 {"no_such_dir/y.npy"});
}

TEST_F(Cli, AnExistingOutputIsNotTouchedByAFailedRun) {
  save("y.npy", {2}, {5, 6});
  const std::string before = slurp(path("y.npy"));
  const Proc p = run("run --op depthwise --input x.npy --filter nope.npy --output y.npy");
  EXPECT_EQ(p.code, kExitFailure);
  EXPECT_EQ(slurp(path("y.npy")), before);
}

TEST_F(Cli, BackendThatIsNotBuiltOrCannotRun) {
  int checked = 0;
  for (const char* b : {"cpu", "cuda", "cudnn"}) {
    if (backend_available(b)) continue;
    expect_failure(std::string("run --op depthwise --input x.npy --filter w.npy --output y.npy --backend ") + b,
                   kExitFailure, {std::string("'") + b + "'"});
    ++checked;
  }
  if (checked == 0) GTEST_SKIP() << "every backend is available here";
}

TEST_F(Cli, BadFlagValuesAreUsageErrors) {
  const std::string base = "run --op depthwise --input x.npy --filter w.npy --output y.npy ";
  const std::vector<std::pair<std::string, std::vector<std::string>>> cases = {
      {base + "--padding FOO", {"--padding", "'FOO'"}},
      {base + "--padding 1,2,3", {"--padding", "'1,2,3'"}},
      {base + "--stride 0", {"--stride", "must be >= 1"}},
      {base + "--stride 2,x", {"--stride", "'2,x'"}},
      {base + "--dilation -1", {"--dilation", "'-1'"}},
      {base + "--dtype f64", {"--dtype", "'f64'"}},
      {base + "--layout NWHC", {"--layout", "'NWHC'"}},
      {base + "--filter-layout hwoi", {"--filter-layout", "'hwoi'"}},
      {base + "--activation softplus", {"--activation", "'softplus'"}},
      {base + "--backend tpu", {"--backend", "'tpu'"}},
      {base + "--frobnicate", {"unknown flag '--frobnicate'"}},
      {base + "--verbose=yes", {"--verbose takes no value"}},
      {base + "extra.npy", {"unexpected argument 'extra.npy'"}},
      {base + "--stride", {"--stride needs a value"}},
      {base + "--stride 2 --stride 1", {"--stride is given more than once"}},
      {"run --op depthwise --input x.npy --filter w.npy", {"--output is required"}},
      {"run --input x.npy --filter w.npy --output y.npy", {"--op is required"}},
      {"run --op sepconv --input x.npy --filter w.npy --output y.npy", {"--op", "'sepconv'"}},
      {"run --op separable --input x.npy --filter w.npy --output y.npy", {"--pointwise is required"}},
      {base + "--pointwise w.npy", {"--pointwise is only for --op separable"}},
      {"run --op depthwise --input --filter w.npy --output y.npy", {"--input needs a value", "'--filter'"}},
  };
  for (const auto& [args, needles] : cases) expect_failure(args, kExitUsage, needles);
}

// ---------------------------------------------------------------------------------------------
// dsconv check
// ---------------------------------------------------------------------------------------------

TEST_F(Cli, ResidualAndActivation) {
  // Worked example, depthwise: y + r, then relu6 (the residual is in the output's layout).
  std::vector<float> r(16);
  for (size_t i = 0; i < r.size(); ++i) r[i] = -static_cast<float>(i % 5);
  save("r.npy", {1, 2, 2, 4}, r);
  const Proc p =
      run("run --op depthwise --input x.npy --filter w.npy --residual r.npy --activation relu6 --output y.npy");
  ASSERT_EQ(p.code, 0) << p.err;
  const npy::Array y = load("y.npy");
  ASSERT_EQ(y.values.size(), 16u);
  for (size_t i = 0; i < 16; ++i)
    EXPECT_EQ(y.values[i], std::min(std::max(kDepthwiseExpected[i] + r[i], 0.0f), 6.0f)) << i;
  EXPECT_NE(p.out.find("_res_relu6"), std::string::npos) << p.out;
  // A residual whose shape disagrees names both shapes; nothing is written.
  fs::remove(path("y.npy"));
  save("r_bad.npy", {1, 2, 4, 2}, r);
  expect_failure("run --op depthwise --input x.npy --filter w.npy --residual r_bad.npy --output y.npy", kExitFailure,
                 {"r_bad.npy shape [1, 2, 4, 2]", "output's shape [1, 2, 2, 4]"});
  // check takes it as a switch, or from the descriptor.
  const Proc c =
      run("check depthwise_n2h9w7c5_k3x3_m2_psame_f32 --residual --bias --activation gelu_tanh --backend cpu-ref");
  ASSERT_EQ(c.code, 0) << c.out << c.err;
  EXPECT_NE(c.out.find("_bias_res_gelutanh"), std::string::npos) << c.out;
  EXPECT_NE(c.out.find("\nPASS\n"), std::string::npos) << c.out;
}

TEST_F(Cli, CheckPassesAgainstTheReference) {
  const Proc p = run("check depthwise_n2h13w11c17_k3x3_m2_s2x2_d1x1_psame_nhwc_tf_f32 --backend cpu-ref --seed 7");
  ASSERT_EQ(p.code, 0) << p.out << p.err;
  EXPECT_NE(p.out.find("problem: depthwise_n2h13w11c17_k3x3_m2_s2x2_d1x1_psame_nhwc_tf_f32\n"), std::string::npos);
  EXPECT_NE(p.out.find("seed: 7\n"), std::string::npos) << p.out;
  EXPECT_NE(p.out.find("backend: cpu-ref\n"), std::string::npos) << p.out;
  EXPECT_NE(p.out.find("implementation: ref_direct_f64acc\n"), std::string::npos) << p.out;
  EXPECT_NE(p.out.find("max_abs_err: 0 max_rel_err: 0"), std::string::npos) << p.out;
  EXPECT_NE(p.out.find("failures: 0/"), std::string::npos) << p.out;
  EXPECT_NE(p.out.find("\nPASS\n"), std::string::npos) << p.out;
}

TEST_F(Cli, CheckFromFlagsInEveryDtype) {
  for (const char* dt : {"f32", "f16", "bf16"}) {
    SCOPED_TRACE(dt);
    const Proc p = run(std::string("check --op separable --n 2 --h 9 --w 7 --c 5 --m 2 --o 3 --k 3,5 --dilation 2 "
                                   "--padding 1,0,2,1 --bias --activation relu6 --layout NCHW --filter-layout oihw "
                                   "--backend cpu-ref --seed 3 --dtype ") +
                       dt);
    ASSERT_EQ(p.code, 0) << p.out << p.err;
    EXPECT_NE(
        p.out.find(std::string("separable_n2h9w7c5_k3x5_m2_o3_s1x1_d2x2_pt1b0l2r1_nchw_oihw_") + dt + "_bias_relu6"),
        std::string::npos)
        << p.out;
    EXPECT_NE(p.out.find("\nPASS\n"), std::string::npos) << p.out;
  }
}

TEST_F(Cli, CheckFlagsOverrideTheDescriptor) {
  const Proc p = run("check depthwise_n1h8w8c4_k3x3_m1_s1x1_d1x1_pvalid_nhwc_tf_f32 --m 3 --stride 2 --seed 1");
  ASSERT_EQ(p.code, 0) << p.out << p.err;
  EXPECT_NE(p.out.find("problem: depthwise_n1h8w8c4_k3x3_m3_s2x2_d1x1_pvalid_nhwc_tf_f32\n"), std::string::npos)
      << p.out;
}

TEST_F(Cli, CheckPrintsARandomSeedWhenNoneIsGiven) {
  const Proc a = run("check depthwise_n1h5w5c2_k3x3 --backend cpu-ref");
  const Proc b = run("check depthwise_n1h5w5c2_k3x3 --backend cpu-ref");
  ASSERT_EQ(a.code, 0) << a.err;
  ASSERT_EQ(b.code, 0) << b.err;
  auto seed_line = [](const std::string& out) {
    const size_t at = out.find("seed: ");
    return at == std::string::npos ? std::string() : out.substr(at, out.find('\n', at) - at);
  };
  EXPECT_FALSE(seed_line(a.out).empty()) << a.out;
  EXPECT_NE(seed_line(a.out), seed_line(b.out)) << "two runs drew the same seed";
}

TEST_F(Cli, CheckEveryOtherAvailableBackendWithoutFallback) {
  int checked = 0;
  for (const std::string& b : built_backends()) {
    if (b == "cpu-ref" || !backend_available(b)) continue;
    SCOPED_TRACE(b);
    const Proc p =
        run("check depthwise_n1h13w11c17_k3x3_m2_s2x2_d2x1_psame_nhwc_tf_f32 --seed 5 --skip-impl ref "
            "--backend " +
            b);
    EXPECT_TRUE(p.code == kExitOk || p.code == kExitUnsupported) << p.out << p.err;
    if (p.code == kExitOk) {
      EXPECT_NE(p.out.find("backend: " + b + "\n"), std::string::npos) << p.out;
      ++checked;
    }
  }
  if (checked == 0) GTEST_SKIP() << "no backend other than cpu-ref can run here";
}

TEST_F(Cli, CheckErrors) {
  Proc p = run("check depthwise_n1h5w5c2_k3x3 --backend cpu-ref --skip-impl ref --seed 1");
  EXPECT_EQ(p.code, kExitUnsupported) << p.out << p.err;
  EXPECT_NE(p.err.find("skipped by options"), std::string::npos) << p.err;
  EXPECT_EQ(p.out.find("PASS"), std::string::npos);

  p = run("check depthwise_n1h5w5c2_k9x9");
  EXPECT_EQ(p.code, kExitUsage) << p.err;
  EXPECT_NE(p.err.find("exceeds input height 5"), std::string::npos) << p.err;
  p = run("check depthwise_n1h5w5c2_bogus7");
  EXPECT_EQ(p.code, kExitUsage) << p.err;
  EXPECT_NE(p.err.find("'bogus7'"), std::string::npos) << p.err;
  p = run("check");
  EXPECT_EQ(p.code, kExitUsage) << p.err;
  p = run("check depthwise_n1h5w5c2_k3x3 --seed minus-one");
  EXPECT_EQ(p.code, kExitUsage) << p.err;
  EXPECT_NE(p.err.find("--seed"), std::string::npos) << p.err;
  p = run("check depthwise_n1h5w5c2_k3x3 --backend tpu");
  EXPECT_EQ(p.code, kExitUsage) << p.err;
  p = run("check --op conv2d --c 3");  // conv2d needs --o
  EXPECT_EQ(p.code, kExitUsage) << p.err;
  EXPECT_NE(p.err.find("out_channels must be >= 1, got 0"), std::string::npos) << p.err;
}

TEST_F(Cli, CheckDataKinds) {
  // Small integers make f32 exact: the tolerance is 0 and equality is required.
  Proc p =
      run("check depthwise_n2h13w11c17_k5x5_m2_s2x1_d1x2_psame_nhwc_tf_f32_bias --backend cpu-ref --seed 4 "
          "--data int");
  ASSERT_EQ(p.code, 0) << p.out << p.err;
  EXPECT_NE(p.out.find("data: int\n"), std::string::npos) << p.out;
  EXPECT_NE(p.out.find("tolerance: 0 "), std::string::npos) << p.out;
  EXPECT_NE(p.out.find("\nPASS\n"), std::string::npos) << p.out;
  p = run("check depthwise_n1h5w5c2_k3x3_f16 --backend cpu-ref --seed 4");
  ASSERT_EQ(p.code, 0) << p.out << p.err;
  EXPECT_NE(p.out.find("data: uniform\n"), std::string::npos) << "uniform is the default\n" << p.out;
  p = run("check depthwise_n1h5w5c2_k3x3 --data zeros");
  EXPECT_EQ(p.code, kExitUsage) << p.err;
  EXPECT_NE(p.err.find("--data must be int or uniform, got 'zeros'"), std::string::npos) << p.err;
}

TEST_F(Cli, CheckImplAndSkipImplFilterImplementations) {
  const std::string base = "check depthwise_n1h5w5c2_k3x3 --backend cpu-ref --seed 1 ";
  Proc p = run(base + "--impl ref");
  ASSERT_EQ(p.code, kExitOk) << p.out << p.err;
  EXPECT_NE(p.out.find("implementation: ref_direct_f64acc\n"), std::string::npos) << p.out;
  p = run(base + "--impl nothing_matches,ref_direct");
  EXPECT_EQ(p.code, kExitOk) << "a comma list: any prefix may match\n" << p.out << p.err;
  p = run(base + "--impl nothing_matches --impl ref");
  EXPECT_EQ(p.code, kExitOk) << "repeated: any prefix may match\n" << p.out << p.err;
  p = run(base + "--impl nothing_matches");
  EXPECT_EQ(p.code, kExitUnsupported) << p.out << p.err;
  EXPECT_NE(p.err.find("only_implementations: nothing_matches"), std::string::npos) << p.err;
  p = run(base + "--impl ref --skip-impl ref_direct");
  EXPECT_EQ(p.code, kExitUnsupported) << "--skip-impl applies on top of --impl\n" << p.out << p.err;
  EXPECT_NE(p.err.find("skipped by options"), std::string::npos) << p.err;

  // On the cuda backend (a GPU or the emulator): --impl picks a kernel family the list would pass over.
  if (!backend_available("cuda")) return;
  p =
      run("check depthwise_n1h13w11c16_k3x3_m1_s1x1_d1x1_psame_nhwc_tf_f32 --backend cuda --seed 2 --data int "
          "--impl dw_fwd_nhwc_generic");
  ASSERT_EQ(p.code, kExitOk) << p.out << p.err;
  EXPECT_NE(p.out.find("implementation: dw_fwd_nhwc_generic"), std::string::npos) << p.out;
  p =
      run("check depthwise_n1h13w11c16_k3x3_m1_s1x1_d1x1_psame_nhwc_tf_f32 --backend cuda --seed 2 "
          "--skip-impl ref,dw_fwd_nhwc_k");
  ASSERT_EQ(p.code, kExitOk) << p.out << p.err;
  EXPECT_EQ(p.out.find("implementation: dw_fwd_nhwc_k"), std::string::npos) << p.out;
  EXPECT_EQ(p.out.find("implementation: ref"), std::string::npos) << p.out;

  // --allow-tf32: an f32 conv2d on TF32 tensor cores, checked against TF32's bound (the toolkit widens it
  // for an implementation whose name says tf32); without it, the FMA kernel.
  const std::string conv = "check conv2d_n1h9w9c16_k3x3_o24_s1x1_d2x2_psame_nhwc_tf_f32 --backend cuda --data uniform ";
  p = run(conv + "--allow-tf32");
  ASSERT_EQ(p.code, kExitOk) << p.out << p.err;
  EXPECT_NE(p.out.find("implementation: conv2d_fwd_nhwc_igemm_f32_tf32_mma"), std::string::npos) << p.out;
  p = run(conv);
  ASSERT_EQ(p.code, kExitOk) << p.out << p.err;
  EXPECT_NE(p.out.find("implementation: conv2d_fwd_nhwc_igemm_f32_fma"), std::string::npos) << p.out;
}

TEST_F(Cli, RunImplAndSkipImplFilterImplementations) {
  const std::string base =
      "run --op depthwise --input x.npy --filter w.npy --padding VALID --output y.npy "
      "--backend cpu-ref ";
  Proc p = run(base + "--impl ref --skip-impl nothing_matches");
  ASSERT_EQ(p.code, kExitOk) << p.err;
  EXPECT_NE(p.out.find("cpu-ref/ref_direct_f64acc"), std::string::npos) << p.out;
  EXPECT_EQ(load("y.npy").values, kDepthwiseExpected);
  fs::remove(path("y.npy"));
  expect_failure(base + "--skip-impl ref", kExitFailure, {"skipped by options"});
  expect_failure(base + "--impl nothing_matches", kExitFailure, {"only_implementations: nothing_matches"});
}

TEST_F(Cli, HelpNamesTheImplementationFiltersAndTheData) {
  for (const char* command : {"run", "check"}) {
    SCOPED_TRACE(command);
    const Proc p = run(std::string("help ") + command);
    EXPECT_EQ(p.code, 0) << p.err;
    for (const char* word : {"--impl NAME_PREFIX (repeatable)", "--skip-impl NAME_PREFIX (repeatable)"})
      EXPECT_NE(p.out.find(word), std::string::npos) << word << "\n" << p.out;
  }
  const Proc p = run("help check");
  for (const char* word : {"--data int|uniform", "--digest"})
    EXPECT_NE(p.out.find(word), std::string::npos) << word << "\n" << p.out;
}

// A failing test prints the `dsconv check` line that replays it; replayed, the driver draws the same
// inputs and its run produces the same output bits (FNV-1a digests of every tensor compared).
TEST_F(Cli, AFailingTestsPrintedLineReplaysItBitForBit) {
  // A failure on purpose: f16 rounding against a zero tolerance.
  dt::ConvTester failing = dt::ConvTester()
                               .batch(2)
                               .size(9, 7)
                               .channels(5)
                               .kernel(3, 3)
                               .multiplier(2)
                               .stride(2, 1)
                               .padding_same()
                               .dtype(DType::kF16)
                               .bias()
                               .activation(Activation::kRelu6)
                               .data(dt::DataKind::kUniform)
                               .seed(11)
                               .tolerance(0.0);
  const std::string line = failing.repro_command("cpu-ref");
  EXPECT_EQ(line,
            "dsconv check depthwise_n2h9w7c5_k3x3_m2_s2x1_d1x1_psame_nhwc_tf_f16_bias_relu6 --seed 11 --data uniform "
            "--backend cpu-ref");
  dt::TestReport report;
  EXPECT_NONFATAL_FAILURE(report = failing.test("cpu-ref"), line);
  ASSERT_EQ(report.repro, line);

  struct Replay {
    dt::ConvTester tester;
    std::string backend;
    PlanOptions options;
  };
  std::vector<Replay> replays = {
      {failing, "cpu-ref", {}},
      {dt::ConvTester()
           .op(Op::kConv2d)
           .size(8, 6)
           .channels(3)
           .out_channels(4)
           .kernel(3, 2)
           .dilation(2, 1)
           .padding(1, 0, 2, 1)
           .layout(Layout::kNCHW)
           .filter_layout(FilterLayout::kOIHW)
           .bias()
           .data(dt::DataKind::kSmallIntegers)
           .seed(3),
       "cpu-ref",
       {}},
      {dt::ConvTester()
           .op(Op::kSeparable)
           .size(7, 7)
           .channels(4)
           .multiplier(2)
           .out_channels(3)
           .kernel(5, 5)
           .padding_same()
           .dtype(DType::kBF16)
           .data(dt::DataKind::kUniform)
           .seed(5),
       "cpu-ref",
       {}},
  };
  if (backend_available("cuda")) {
    const dt::ConvTester dw = dt::ConvTester()
                                  .batch(2)
                                  .size(13, 11)
                                  .channels(17)
                                  .kernel(5, 5)
                                  .multiplier(2)
                                  .stride(2, 1)
                                  .dilation(1, 2)
                                  .padding_same()
                                  .bias()
                                  .activation(Activation::kRelu6);
    replays.push_back(
        {dt::ConvTester(dw).data(dt::DataKind::kSmallIntegers).seed(21), "cuda", PlanOptions{{"ref"}, {}}});
    replays.push_back({dt::ConvTester(dw).dtype(DType::kF16).data(dt::DataKind::kUniform).seed(22), "cuda",
                       PlanOptions{{"ref"}, {"dw_fwd_nhwc_generic"}}});
  }
  for (const Replay& r : replays) {
    const std::string repro = r.tester.repro_command(r.backend, r.options);
    SCOPED_TRACE(repro);
    dt::TestReport tested;
    if (&r == &replays.front()) {
      EXPECT_NONFATAL_FAILURE(tested = r.tester.test(r.backend, r.options), repro);
    } else {
      tested = r.tester.test(r.backend, r.options);
      ASSERT_FALSE(HasFailure()) << "the test itself must pass here";
    }
    ASSERT_EQ(tested.repro, repro);
    ASSERT_FALSE(tested.digest.empty());
    ASSERT_EQ(repro.rfind("dsconv ", 0), 0u);
    const Proc p = run(repro.substr(std::string("dsconv ").size()) + " --digest");
    ASSERT_TRUE(p.code == kExitOk || p.code == kExitFailure) << p.out << p.err;
    EXPECT_NE(p.out.find("implementation: " + tested.implementation + "\n"), std::string::npos) << p.out;
    const size_t at = p.out.find("digest: ");
    ASSERT_NE(at, std::string::npos) << p.out;
    EXPECT_EQ(p.out.substr(at + 8, p.out.find('\n', at) - at - 8), tested.digest)
        << "the replay saw other inputs or produced other output bits";
  }
}

// ---------------------------------------------------------------------------------------------
// Help and dispatch
// ---------------------------------------------------------------------------------------------

TEST_F(Cli, Help) {
  for (const char* h : {"--help", "-h", "help"}) {
    SCOPED_TRACE(h);
    const Proc p = run(h);
    EXPECT_EQ(p.code, 0) << p.err;
    for (const char* word : {"dsconv run", "dsconv check", "dsconv bench", "exit codes"})
      EXPECT_NE(p.out.find(word), std::string::npos) << p.out;
  }
  for (const char* h : {"run --help", "run -h", "help run"}) {
    SCOPED_TRACE(h);
    const Proc p = run(h);
    EXPECT_EQ(p.code, 0) << p.err;
    for (const char* word : {"--input X.npy", "--filter W.npy", "--pointwise P.npy", "--bias B.npy", "--output Y.npy",
                             "--stride S|SH,SW", "--padding SAME|VALID|T,B,L,R", "--backend", "exit codes"})
      EXPECT_NE(p.out.find(word), std::string::npos) << word << "\n" << p.out;
  }
  for (const char* h : {"check --help", "help check"}) {
    SCOPED_TRACE(h);
    const Proc p = run(h);
    EXPECT_EQ(p.code, 0) << p.err;
    for (const char* word :
         {"DESCRIPTOR", "--seed", "--skip-impl PREFIX", "--n, --batch", "--k KH[,KW]", "--bias", "exit codes"})
      EXPECT_NE(p.out.find(word), std::string::npos) << word << "\n" << p.out;
  }
  // --help wins over everything else on the line, even a bad flag value.
  const Proc p = run("run --stride 0 --help");
  EXPECT_EQ(p.code, 0);
}

TEST_F(Cli, VersionAndUnknownCommand) {
  Proc p = run("--version");
  EXPECT_EQ(p.code, 0);
  EXPECT_NE(p.out.find(std::string("dsconv ") + version()), std::string::npos) << p.out;
  EXPECT_NE(p.out.find("cpu-ref"), std::string::npos) << p.out;
  p = run("frobnicate");
  EXPECT_EQ(p.code, kExitUsage);
  EXPECT_NE(p.err.find("unknown command 'frobnicate'"), std::string::npos) << p.err;
  p = run("help frobnicate");
  EXPECT_EQ(p.code, kExitUsage);
}

// ---------------------------------------------------------------------------------------------
// The command line (bench/driver/cli.hpp)
// ---------------------------------------------------------------------------------------------

// argv from a string (no quoting; tests only).
struct Argv {
  std::vector<std::string> words;
  std::vector<char*> ptrs;
  explicit Argv(const std::string& line) {
    std::istringstream is(line);
    for (std::string w; is >> w;) words.push_back(w);
    for (std::string& w : words) ptrs.push_back(w.data());
    ptrs.push_back(nullptr);
  }
  int argc() const { return static_cast<int>(words.size()); }
  char** argv() { return ptrs.data(); }
};

ArgParser toy_parser() {
  ArgParser a("toy", "a parser under test", "[flags]");
  a.flag({"size", "s"}, "N", "a size").flag({"tag"}, "T", "tags", true).switch_flag({"loud"}, "a switch");
  return a;
}

TEST(DriverCommandLine, ArgParserSpellings) {
  ArgParser a = toy_parser();
  Argv v("toy --size 3 --tag a,b --tag=c --loud pos1 -- --not-a-flag");
  ASSERT_EQ(a.parse(v.argc(), v.argv()), "");
  EXPECT_EQ(a.get("size"), "3");
  EXPECT_EQ(a.get("s"), "3") << "aliases share one value";
  EXPECT_EQ(a.get_all("tag"), (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_TRUE(a.has("loud"));
  EXPECT_EQ(a.positionals(), (std::vector<std::string>{"pos1", "--not-a-flag"}));
  EXPECT_FALSE(a.help_requested());

  Argv w("toy --s=-4");
  ASSERT_EQ(a.parse(w.argc(), w.argv()), "");
  EXPECT_EQ(a.get("size"), "-4");
  EXPECT_FALSE(a.has("loud")) << "parse() starts from scratch";
  EXPECT_EQ(a.get_or("tag", "none"), "none");
}

TEST(DriverCommandLine, ArgParserErrors) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"toy --bogus 1", "unknown flag '--bogus'"}, {"toy -x", "unknown option '-x'"},
      {"toy --size", "--size needs a value (N)"},  {"toy --size 1 --s 2", "--s is given more than once"},
      {"toy --loud=1", "--loud takes no value"},
  };
  for (const auto& [line, want] : cases) {
    ArgParser a = toy_parser();
    Argv v(line);
    const std::string got = a.parse(v.argc(), v.argv());
    EXPECT_EQ(got.rfind(want, 0), 0u) << line << ": got '" << got << "'";
  }
  ArgParser a = toy_parser();
  Argv h("toy --bogus -h");
  EXPECT_NE(a.parse(h.argc(), h.argv()), "") << "an unknown flag is reported even with -h";
  Argv h1("toy --size --loud");
  EXPECT_EQ(a.parse(h1.argc(), h1.argv()), "--size needs a value (N), got the flag '--loud'");
  Argv h2("toy -h --size 2");
  EXPECT_EQ(a.parse(h2.argc(), h2.argv()), "");
  EXPECT_TRUE(a.help_requested());
  const std::string text = a.help();
  EXPECT_NE(text.find("--size, --s N"), std::string::npos) << text;
  EXPECT_NE(text.find("--tag T (repeatable)"), std::string::npos) << text;
}

TEST(DriverCommandLine, ValueParsers) {
  int64_t a = 0, b = 0;
  EXPECT_EQ(parse_pair("--k", "3", 1, &a, &b), "");
  EXPECT_EQ(std::make_pair(a, b), std::make_pair(int64_t{3}, int64_t{3}));
  EXPECT_EQ(parse_pair("--k", "5,2", 1, &a, &b), "");
  EXPECT_EQ(std::make_pair(a, b), std::make_pair(int64_t{5}, int64_t{2}));
  for (const char* bad : {"", "0", "3,", ",3", "3,2,1", "a", "-1", "1.5", "99999999999999999999"})
    EXPECT_NE(parse_pair("--k", bad, 1, &a, &b), "") << "'" << bad << "'";
  EXPECT_NE(parse_pair("--k", "0", 1, &a, &b).find("--k: must be >= 1, got '0'"), std::string::npos);

  ProblemDesc d;
  EXPECT_EQ(parse_padding("--padding", "Same", &d), "");
  EXPECT_EQ(d.padding, PaddingMode::kSame);
  EXPECT_EQ(parse_padding("--padding", "1,2,3,0", &d), "");
  EXPECT_EQ(d.padding, PaddingMode::kExplicit);
  EXPECT_EQ(std::vector<int64_t>({d.pad_top, d.pad_bottom, d.pad_left, d.pad_right}),
            (std::vector<int64_t>{1, 2, 3, 0}));
  EXPECT_EQ(parse_padding("--padding", "valid", &d), "");
  EXPECT_EQ(d.padding, PaddingMode::kValid);
  for (const char* bad : {"", "full", "1,2,3", "1,2,3,4,5", "1,2,-3,4", "1,,3,4"})
    EXPECT_NE(parse_padding("--padding", bad, &d), "") << "'" << bad << "'";
}

TEST(DriverCommandLine, ProblemFromArgs) {
  ArgParser a("t", "", "");
  add_problem_flags(a);
  Argv v("t --m 3 --dtype bf16 --bias");
  ASSERT_EQ(a.parse(v.argc(), v.argv()), "");
  Result<Problem> p = problem_from_args(a, "depthwise_n1h8w8c4_k3x3_m1_s1x1_d1x1_psame_nhwc_tf_f32");
  ASSERT_TRUE(p.is_ok()) << p.status().to_string();
  EXPECT_EQ(p->descriptor(), "depthwise_n1h8w8c4_k3x3_m3_s1x1_d1x1_psame_nhwc_tf_bf16_bias");
  EXPECT_EQ(p->out_channels(), 12) << "O is re-derived from the new multiplier";

  Argv w(
      "t --op conv2d --batch 2 --h 5 --w 6 --c 3 --o 4 --k 3,1 --stride 1,2 --dilation 2 --padding 0,1,1,0 "
      "--layout nchw --filter-layout oihw --activation relu");
  ASSERT_EQ(a.parse(w.argc(), w.argv()), "");
  p = problem_from_args(a, "");
  ASSERT_TRUE(p.is_ok()) << p.status().to_string();
  EXPECT_EQ(p->descriptor(), "conv2d_n2h5w6c3_k3x1_o4_s1x2_d2x2_pt0b1l1r0_nchw_oihw_f32_relu");

  Argv x("t --op conv2d --k 0");
  ASSERT_EQ(a.parse(x.argc(), x.argv()), "");
  p = problem_from_args(a, "");
  ASSERT_FALSE(p.is_ok());
  EXPECT_NE(p.status().message().find("--k"), std::string::npos) << p.status().message();
}

}  // namespace
