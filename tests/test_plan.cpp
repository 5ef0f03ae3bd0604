// Dispatch and the checks every run shares: backend choice and its errors, skip_implementations,
// explain(), run()'s rejections (leaving the output untouched), and concurrent runs of one Plan.
#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstring>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "dsconv/dsconv.hpp"
#include "support/tester.hpp"

namespace dsconv {
namespace {

using testing::Buffer;
using testing::DataKind;
using testing::HostData;

const char* const kAllBackendNames[] = {"cpu-ref", "cpu", "cuda", "cudnn"};

bool is_built(const std::string& name) {
  const std::vector<std::string> built = built_backends();
  return std::find(built.begin(), built.end(), name) != built.end();
}

Problem depthwise_problem() {
  ProblemDesc d;
  d.batch = 2, d.height = 9, d.width = 7, d.channels = 5;
  d.kernel_h = d.kernel_w = 3;
  d.multiplier = 2;
  d.padding = PaddingMode::kSame;
  d.has_bias = true;
  d.activation = Activation::kRelu;
  Result<Problem> p = Problem::create(d);
  EXPECT_TRUE(p.is_ok()) << p.status().to_string();
  return *p;
}

Problem separable_problem(DType dtype = DType::kF32) {
  ProblemDesc d;
  d.op = Op::kSeparable;
  d.batch = 1, d.height = 11, d.width = 8, d.channels = 6;
  d.kernel_h = d.kernel_w = 3;
  d.multiplier = 2;
  d.out_channels = 4;
  d.stride_h = 2;
  d.padding = PaddingMode::kSame;
  d.dtype = dtype;
  Result<Problem> p = Problem::create(d);
  EXPECT_TRUE(p.is_ok()) << p.status().to_string();
  return *p;
}

// ---------------------------------------------------------------------------------------------
// Backend choice
// ---------------------------------------------------------------------------------------------

TEST(PlanDispatch, BuiltBackendsListTheReferenceLast) {
  const std::vector<std::string> built = built_backends();
  ASSERT_FALSE(built.empty());
  EXPECT_EQ(built.back(), "cpu-ref");
  for (const std::string& name : built) {
    EXPECT_EQ(std::count(built.begin(), built.end(), name), 1) << name;
    EXPECT_NE(std::find(std::begin(kAllBackendNames), std::end(kAllBackendNames), name), std::end(kAllBackendNames))
        << "unexpected backend name " << name;
  }
  std::string why;
  EXPECT_TRUE(backend_available("cpu-ref", &why)) << why;
  EXPECT_FALSE(backend_available("no-such-backend", &why));
  EXPECT_NE(why.find("no-such-backend"), std::string::npos) << why;
}

TEST(PlanDispatch, AutoPicksABuiltBackendAndSaysWhich) {
  for (const Problem& p : {depthwise_problem(), separable_problem()}) {
    Result<Plan> plan = Plan::create(p, "auto");
    ASSERT_TRUE(plan.is_ok()) << plan.status().to_string();
    EXPECT_TRUE(is_built(plan->backend())) << plan->backend();
    EXPECT_FALSE(plan->implementation().empty());
    EXPECT_TRUE(backend_available(plan->backend()));
    const std::string text = plan->explain();
    EXPECT_NE(text.find(p.descriptor()), std::string::npos) << text;
    EXPECT_NE(text.find("chosen: " + plan->backend() + "/" + plan->implementation()), std::string::npos) << text;
    // Every backend "auto" passed over is accounted for, before the one it chose.
    const std::vector<std::string> built = built_backends();
    const auto chosen = std::find(built.begin(), built.end(), plan->backend());
    for (auto it = built.begin(); it != chosen; ++it) {
      const bool mentioned = std::any_of(plan->rejections().begin(), plan->rejections().end(),
                                         [&](const Rejection& r) { return r.backend == *it; });
      EXPECT_TRUE(mentioned) << "auto skipped " << *it << " without saying why:\n" << text;
      EXPECT_NE(text.find("rejected: " + *it), std::string::npos) << text;
    }
    if (built == std::vector<std::string>{"cpu-ref"}) EXPECT_EQ(plan->backend(), "cpu-ref");
  }
}

TEST(PlanDispatch, NamedReferenceBackend) {
  Result<Plan> plan = Plan::create(depthwise_problem(), "cpu-ref");
  ASSERT_TRUE(plan.is_ok()) << plan.status().to_string();
  EXPECT_EQ(plan->backend(), "cpu-ref");
  EXPECT_EQ(plan->implementation().rfind("ref", 0), 0u) << plan->implementation();
  EXPECT_EQ(plan->memory_space(), MemorySpace::kHost);
  EXPECT_EQ(plan->workspace_bytes(), 0u);
  EXPECT_EQ(plan->problem(), depthwise_problem());
  EXPECT_NE(plan->explain().find("chosen: cpu-ref/" + plan->implementation()), std::string::npos) << plan->explain();
}

TEST(PlanDispatch, UnbuiltBackendIsUnavailableAndListsTheBuiltOnes) {
  int checked = 0;
  for (const char* name : kAllBackendNames) {
    if (is_built(name)) continue;
    SCOPED_TRACE(name);
    Result<Plan> plan = Plan::create(depthwise_problem(), name);
    ASSERT_FALSE(plan.is_ok()) << "got " << plan->backend();
    EXPECT_EQ(plan.status().code(), StatusCode::kBackendUnavailable) << plan.status().to_string();
    const std::string& msg = plan.status().message();
    EXPECT_NE(msg.find(name), std::string::npos) << msg;
    for (const std::string& b : built_backends()) EXPECT_NE(msg.find(b), std::string::npos) << msg;
    EXPECT_FALSE(backend_available(name));
    ++checked;
  }
  if (checked == 0) GTEST_SKIP() << "every backend is built into this library";
}

TEST(PlanDispatch, UnknownBackendNameIsInvalid) {
  for (const char* name : {"gpu", "", "CPU-REF", "cuda ", "cpu_ref", "tensorrt"}) {
    SCOPED_TRACE(std::string("'") + name + "'");
    Result<Plan> plan = Plan::create(depthwise_problem(), name);
    ASSERT_FALSE(plan.is_ok());
    EXPECT_EQ(plan.status().code(), StatusCode::kInvalidArgument) << plan.status().to_string();
    EXPECT_NE(plan.status().message().find(std::string("'") + name + "'"), std::string::npos)
        << plan.status().message();
  }
}

TEST(PlanDispatch, ProblemNotMadeByCreateIsRejected) {
  Result<Plan> plan = Plan::create(Problem(), "cpu-ref");
  ASSERT_FALSE(plan.is_ok());
  EXPECT_EQ(plan.status().code(), StatusCode::kInvalidArgument);
}

TEST(PlanDispatch, SkippingTheReferenceIsAnErrorNotAFallback) {
  const PlanOptions skip_ref{{"ref"}};
  Result<Plan> plan = Plan::create(depthwise_problem(), "cpu-ref", skip_ref);
  ASSERT_FALSE(plan.is_ok()) << "ran on " << plan->backend() << "/" << plan->implementation();
  EXPECT_EQ(plan.status().code(), StatusCode::kNotSupported) << plan.status().to_string();
  EXPECT_NE(plan.status().message().find("skipped"), std::string::npos) << plan.status().message();

  // Prefix match: a longer prefix of the name skips it too; an unrelated or empty prefix does not.
  EXPECT_FALSE(Plan::create(depthwise_problem(), "cpu-ref", PlanOptions{{"ref_direct"}}).is_ok());
  EXPECT_TRUE(Plan::create(depthwise_problem(), "cpu-ref", PlanOptions{{"xyz", ""}}).is_ok());

  // "auto" may pick another implementation, never the reference.
  Result<Plan> any = Plan::create(depthwise_problem(), "auto", skip_ref);
  if (any.is_ok()) {
    EXPECT_NE(any->implementation().rfind("ref", 0), 0u) << any->explain();
  } else {
    EXPECT_EQ(any.status().code(), StatusCode::kNotSupported) << any.status().to_string();
    EXPECT_NE(any.status().message().find("skipped"), std::string::npos) << any.status().message();
  }
  if (built_backends() == std::vector<std::string>{"cpu-ref"}) EXPECT_FALSE(any.is_ok());
}

TEST(PlanDispatch, PlansMoveAndStayUsable) {
  Result<Plan> made = Plan::create(depthwise_problem(), "cpu-ref");
  ASSERT_TRUE(made.is_ok());
  Plan a = std::move(made).value();
  Plan b = std::move(a);
  const HostData data = testing::random_data(b.problem(), DataKind::kSmallIntegers, 3);
  Result<std::vector<float>> out = testing::run_plan(b, data);
  ASSERT_TRUE(out.is_ok()) << out.status().to_string();
  // The moved-from plan refuses to run rather than crash.
  float dummy[1];
  Tensors t{dummy, dummy, nullptr, dummy, dummy};
  const Status s = a.run(t, nullptr, 0);  // NOLINT(bugprone-use-after-move): that is the point
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
}

// ---------------------------------------------------------------------------------------------
// run(): every rejection is a Status and the output is left exactly as it was.
// ---------------------------------------------------------------------------------------------

// Host tensors for a problem, laid out inside one arena so overlaps can be arranged.
struct Arena {
  std::vector<float> storage;
  float* input;
  float* filter;
  float* pointwise;
  float* bias;
  float* output;
  size_t output_count;
};

Arena make_arena(const Problem& p) {
  Arena a;
  const size_t ni = static_cast<size_t>(p.input_elements()), nf = static_cast<size_t>(p.filter_elements());
  const size_t np = static_cast<size_t>(p.pointwise_elements()), nb = static_cast<size_t>(p.bias_elements());
  a.output_count = static_cast<size_t>(p.output_elements());
  // Twice the tensors' total, so every arrangement the tests make (shifted or adjacent) stays inside.
  a.storage.assign(2 * (ni + nf + np + nb + a.output_count) + 64, 1.0f);
  a.input = a.storage.data();
  a.filter = a.input + ni;
  a.pointwise = np ? a.filter + nf : nullptr;
  a.bias = nb ? a.filter + nf + np : nullptr;
  a.output = a.filter + nf + np + nb + 32;
  return a;
}

void poison(float* out, size_t n) {
  const std::vector<uint8_t> nan = testing::nan_poison(DType::kF32, static_cast<int64_t>(n));
  std::memcpy(out, nan.data(), nan.size());
}

bool still_poisoned(const float* out, size_t n) {
  const std::vector<uint8_t> nan = testing::nan_poison(DType::kF32, static_cast<int64_t>(n));
  return std::memcmp(out, nan.data(), nan.size()) == 0;
}

void expect_rejected(const Plan& plan, const Tensors& t, float* poisoned, size_t n, StatusCode code,
                     const std::string& mention, void* workspace = nullptr, size_t workspace_size = 0) {
  if (poisoned != nullptr) poison(poisoned, n);
  const Status s = plan.run(t, workspace, workspace_size);
  EXPECT_EQ(s.code(), code) << s.to_string();
  EXPECT_NE(s.message().find(mention), std::string::npos) << "'" << s.message() << "' lacks '" << mention << "'";
  if (poisoned != nullptr) EXPECT_TRUE(still_poisoned(poisoned, n)) << "the output was written by a failed run";
}

TEST(PlanRun, RejectsBadTensorsAndLeavesTheOutputUntouched) {
  for (const char* backend : {"cpu-ref", "auto"}) {
    SCOPED_TRACE(backend);
    {
      const Problem p = depthwise_problem();  // has a bias, no pointwise
      Result<Plan> made = Plan::create(p, backend);
      ASSERT_TRUE(made.is_ok()) << made.status().to_string();
      if (made->memory_space() != MemorySpace::kHost) continue;  // host pointers below
      const Plan& plan = *made;
      Arena a = make_arena(p);
      const Tensors good{a.input, a.filter, nullptr, a.bias, a.output};
      const size_t n = a.output_count;
      // Sanity: the good tensors run, so each failure below is due to the one thing changed.
      poison(a.output, n);
      ASSERT_TRUE(plan.run(good, nullptr, 0).is_ok());
      ASSERT_FALSE(still_poisoned(a.output, n));

      Tensors t = good;
      t.input = nullptr;
      expect_rejected(plan, t, a.output, n, StatusCode::kInvalidArgument, "input");
      t = good, t.filter = nullptr;
      expect_rejected(plan, t, a.output, n, StatusCode::kInvalidArgument, "filter");
      t = good, t.output = nullptr;
      expect_rejected(plan, t, nullptr, 0, StatusCode::kInvalidArgument, "output");
      t = good, t.bias = nullptr;
      expect_rejected(plan, t, a.output, n, StatusCode::kInvalidArgument, "bias");
      t = good, t.pointwise = a.filter;
      expect_rejected(plan, t, a.output, n, StatusCode::kInvalidArgument, "pointwise");

      // Output overlapping each input by a single element, at either end.
      t = good, t.output = a.input + (p.input_elements() - 1);
      expect_rejected(plan, t, static_cast<float*>(t.output), 1, StatusCode::kInvalidArgument, "overlaps input");
      t = good, t.input = a.output + (n - 1);
      expect_rejected(plan, t, a.output, n - 1, StatusCode::kInvalidArgument, "overlaps input");
      t = good, t.output = a.filter + (p.filter_elements() - 1);
      expect_rejected(plan, t, static_cast<float*>(t.output), 1, StatusCode::kInvalidArgument, "overlaps filter");
      t = good, t.bias = a.output;
      expect_rejected(plan, t, a.output, n, StatusCode::kInvalidArgument, "overlaps bias");
      // Adjacent is not overlapping.
      t = good, t.output = a.input + p.input_elements();
      t.filter = static_cast<const float*>(t.output) + n;
      t.bias = static_cast<const float*>(t.filter) + p.filter_elements();
      EXPECT_TRUE(plan.run(t, nullptr, 0).is_ok());
    }
    {
      const Problem p = separable_problem();  // pointwise, no bias
      Result<Plan> made = Plan::create(p, backend);
      ASSERT_TRUE(made.is_ok()) << made.status().to_string();
      if (made->memory_space() != MemorySpace::kHost || made->workspace_bytes() > 0) continue;
      const Plan& plan = *made;
      Arena a = make_arena(p);
      const Tensors good{a.input, a.filter, a.pointwise, nullptr, a.output};
      const size_t n = a.output_count;
      poison(a.output, n);
      ASSERT_TRUE(plan.run(good, nullptr, 0).is_ok());
      ASSERT_FALSE(still_poisoned(a.output, n));
      Tensors t = good;
      t.pointwise = nullptr;
      expect_rejected(plan, t, a.output, n, StatusCode::kInvalidArgument, "pointwise");
      t = good, t.bias = a.filter;
      expect_rejected(plan, t, a.output, n, StatusCode::kInvalidArgument, "bias");
      t = good, t.output = a.pointwise;
      expect_rejected(plan, t, a.pointwise, 1, StatusCode::kInvalidArgument, "overlaps pointwise");
    }
  }
}

TEST(PlanRun, InsufficientWorkspaceIsAnErrorAndWritesNothing) {
  // Only implementations that need a workspace can be refused one; find any among the built backends.
  int checked = 0;
  for (const std::string& backend : built_backends()) {
    if (!backend_available(backend)) continue;
    // The cuda backend's fused separable kernel needs no workspace; its two-pass one keeps the
    // intermediate there.
    const PlanOptions two_pass{{"sep_fwd_nhwc_fused", "sep_fwd_nchw_fused"}};
    const std::pair<Problem, PlanOptions> cases[] = {{depthwise_problem(), {}},
                                                     {separable_problem(), {}},
                                                     {separable_problem(DType::kF16), {}},
                                                     {separable_problem(), two_pass},
                                                     {separable_problem(DType::kF16), two_pass}};
    for (const auto& [p, options] : cases) {
      Result<Plan> made = Plan::create(p, backend, options);
      if (!made || made->workspace_bytes() == 0) continue;
      const Plan& plan = *made;
      SCOPED_TRACE(plan.backend() + "/" + plan.implementation() + " " + p.descriptor());
      const size_t need = plan.workspace_bytes();
      const MemorySpace space = plan.memory_space();
      const HostData data = testing::random_data(p, DataKind::kSmallIntegers, 1);
      auto upload = [&](const std::vector<float>& v) {
        const std::vector<uint8_t> bytes = testing::encode(p.dtype(), v);
        Result<Buffer> b = Buffer::create(space, bytes.size());
        EXPECT_TRUE(b.is_ok()) << b.status().to_string();
        if (b && !bytes.empty()) EXPECT_TRUE(b->upload(bytes.data(), bytes.size()).is_ok());
        return std::move(b).value();
      };
      Buffer in = upload(data.input), f = upload(data.filter), pw = upload(data.pointwise), bias = upload(data.bias);
      const std::vector<uint8_t> poison_bytes = testing::nan_poison(p.dtype(), p.output_elements());
      Buffer out = upload(std::vector<float>(static_cast<size_t>(p.output_elements())));
      ASSERT_TRUE(out.upload(poison_bytes.data(), poison_bytes.size()).is_ok());
      Result<Buffer> ws = Buffer::create(space, need);
      ASSERT_TRUE(ws.is_ok()) << ws.status().to_string();
      Tensors t{in.data(), f.data(), p.op() == Op::kSeparable ? pw.data() : nullptr,
                p.has_bias() ? bias.data() : nullptr, out.data()};

      Status s = plan.run(t, ws->data(), need - 1);
      EXPECT_EQ(s.code(), StatusCode::kInsufficientWorkspace) << s.to_string();
      EXPECT_NE(s.message().find(std::to_string(need)), std::string::npos) << s.message();
      s = plan.run(t, nullptr, need);
      EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << s.to_string();
      EXPECT_NE(s.message().find("workspace"), std::string::npos) << s.message();
      std::vector<uint8_t> after(poison_bytes.size());
      ASSERT_TRUE(out.download(after.data(), after.size()).is_ok());
      EXPECT_EQ(after, poison_bytes) << "the output was written by a failed run";
      ++checked;
    }
  }
  if (checked == 0) GTEST_SKIP() << "no implementation built into this library needs a workspace";
}

// ---------------------------------------------------------------------------------------------
// Concurrency: a Plan is immutable; many threads may run it at once on different tensors.
// ---------------------------------------------------------------------------------------------

TEST(PlanRun, ManyThreadsRunningOnePlanGetIdenticalResults) {
  int backends_tested = 0;
  for (const std::string& backend : built_backends()) {
    if (!backend_available(backend)) continue;
    for (const Problem& p : {depthwise_problem(), separable_problem()}) {
      Result<Plan> made = Plan::create(p, backend);
      if (!made) continue;  // a backend may not support every problem; dispatch tests cover that
      const Plan& plan = *made;
      SCOPED_TRACE(plan.backend() + "/" + plan.implementation() + " " + p.descriptor());
      constexpr int kThreads = 8, kRunsPerThread = 4;
      std::vector<HostData> inputs;
      std::vector<std::vector<float>> serial;
      for (int i = 0; i < kThreads; ++i) {
        inputs.push_back(testing::random_data(p, DataKind::kUniform, 1000 + static_cast<uint64_t>(i)));
        Result<std::vector<float>> r = testing::run_plan(plan, inputs.back());
        ASSERT_TRUE(r.is_ok()) << r.status().to_string();
        serial.push_back(std::move(r).value());
      }
      std::atomic<int> mismatches{0}, errors{0};
      std::atomic<bool> go{false};
      std::vector<std::thread> threads;
      for (int i = 0; i < kThreads; ++i) {
        threads.emplace_back([&, i] {
          while (!go.load()) std::this_thread::yield();  // start together to maximize overlap
          for (int k = 0; k < kRunsPerThread; ++k) {
            Result<std::vector<float>> r = testing::run_plan(plan, inputs[static_cast<size_t>(i)]);
            if (!r) {
              ++errors;
            } else if (std::memcmp(r->data(), serial[static_cast<size_t>(i)].data(), r->size() * sizeof(float)) != 0) {
              ++mismatches;
            }
          }
        });
      }
      go = true;
      for (std::thread& th : threads) th.join();
      EXPECT_EQ(errors.load(), 0);
      EXPECT_EQ(mismatches.load(), 0) << "concurrent runs differ from serial runs";
      // Different inputs must give different outputs, or the comparison above proves nothing.
      EXPECT_NE(serial[0], serial[1]);
    }
    ++backends_tested;
  }
  EXPECT_GE(backends_tested, 1);
}

}  // namespace
}  // namespace dsconv
