// Concurrency: 8 threads, for every backend built and available, on distinct streams (tools::execute
// makes a fresh non-blocking stream per run) and distinct tensors:
//  - Concurrency.DistinctPlansCreatedAndRunInParallel: each thread creates its own plans (plan creation
//    racing with other threads' runs) and runs them; every output equals the serial run's, bit for bit;
//  - Concurrency.PlanCreationRacesRunsOfASharedPlan: half the threads run one shared plan while the other
//    half create and destroy plans for the same and other problems through "auto" (the rule, and with
//    autotune its cache) and the named backends;
//  - Concurrency.AutotuneCacheUnderContention: the autotune cache (src/auto_choice.cpp) filled, read and
//    cleared by 8 threads at once, over fake device backends with a fake timer;
//  - Concurrency.CApiHandlesAcrossThreads: C API handles created, queried, run and destroyed on 8 threads
//    at once (the live-handle registry), each thread's last error its own.
// The tsan preset runs these under ThreadSanitizer (its test filter names Concurrency), where a data race
// in the library fails the test.
#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "dsconv/dsconv.h"
#include "dsconv/dsconv.hpp"
#include "src/auto_choice.hpp"
#include "src/dispatch/backend.hpp"
#include "support/fake_impl.hpp"
#include "tools/common/device.hpp"
#include "tools/common/tensor.hpp"

namespace dsconv {
namespace {

constexpr int kThreads = 8;

// Small problems (so that the emulator's threads mode under ThreadSanitizer stays quick), each taken by
// a different kind of implementation where the backend has several.
const char* const kProblems[] = {
    "depthwise_n1h9w10c8_k3x3_m1_s1x1_psame_nhwc_tf_f32_bias_relu",
    "depthwise_n2h7w6c3_k3x3_m2_s2x1_d1x2_psame_nhwc_tf_f16",
    "depthwise_n1h8w8c4_k5x5_m1_s1x1_psame_nchw_oihw_bf16_res",
    "conv2d_n1h6w6c3_k3x3_o4_psame_nhwc_tf_f32_bias",
    "separable_n1h6w5c2_k3x3_m2_o3_s2x2_psame_nchw_oihw_f32_silu",
};

Problem make(const std::string& descriptor) {
  Result<Problem> p = Problem::parse(descriptor);
  EXPECT_TRUE(p.is_ok()) << descriptor << ": " << p.status().to_string();
  return p.is_ok() ? *p : Problem();
}

std::vector<std::string> usable_backends() {
  std::vector<std::string> v;
  for (const std::string& b : built_backends())
    if (backend_available(b)) v.push_back(b);
  return v;
}

Result<std::vector<uint8_t>> run_once(const Plan& plan, uint64_t seed) {
  tools::TensorSet t = tools::TensorSet::random(plan.problem(), seed, tools::DataKind::kUniform);
  if (Status s = tools::execute(plan, &t); !s) return s;
  const auto* b = static_cast<const uint8_t*>(t.output.data());
  return std::vector<uint8_t>(b, b + t.output.bytes());
}

// One (backend, problem) with the implementation and output of a serial run.
struct Expected {
  std::string backend;
  Problem problem;
  std::string implementation;
  uint64_t seed = 0;
  std::vector<uint8_t> output;
};

// Every (usable backend, problem it can plan), run once serially.
std::vector<Expected> serial_runs() {
  std::vector<Expected> v;
  uint64_t seed = 31;
  for (const std::string& b : usable_backends()) {
    for (const char* d : kProblems) {
      const Problem p = make(d);
      Result<Plan> plan = Plan::create(p, b);
      if (!plan) continue;  // not every backend takes every op
      Result<std::vector<uint8_t>> out = run_once(*plan, ++seed);
      EXPECT_TRUE(out.is_ok()) << b << " " << d << ": " << out.status().to_string();
      if (out) v.push_back({b, p, plan->implementation(), seed, std::move(out).value()});
    }
  }
  return v;
}

TEST(Concurrency, DistinctPlansCreatedAndRunInParallel) {
  const std::vector<Expected> cases = serial_runs();
  ASSERT_FALSE(cases.empty());
  std::atomic<int> failures{0};
  std::vector<std::string> notes(kThreads);
  std::atomic<bool> go{false};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      while (!go.load()) std::this_thread::yield();
      // Each thread walks the cases from its own starting point, so that different plans are created
      // and run at the same time.
      for (size_t k = 0; k < cases.size(); ++k) {
        const Expected& e = cases[(k + static_cast<size_t>(t)) % cases.size()];
        Result<Plan> plan = Plan::create(e.problem, e.backend);
        if (!plan || plan->implementation() != e.implementation) {
          ++failures;
          notes[static_cast<size_t>(t)] += e.backend + " " + e.problem.descriptor() + ": plan differs or failed; ";
          continue;
        }
        Result<std::vector<uint8_t>> out = run_once(*plan, e.seed);
        if (!out || *out != e.output) {
          ++failures;
          notes[static_cast<size_t>(t)] += e.backend + "/" + e.implementation + " " + e.problem.descriptor() +
                                           (out ? ": output differs; " : ": " + out.status().to_string() + "; ");
        }
      }
    });
  }
  go = true;
  for (std::thread& th : threads) th.join();
  std::string all;
  for (const std::string& n : notes) all += n;
  EXPECT_EQ(failures.load(), 0) << all;
}

TEST(Concurrency, PlanCreationRacesRunsOfASharedPlan) {
  const std::vector<Expected> cases = serial_runs();
  ASSERT_FALSE(cases.empty());
  for (const Expected& shared_case : cases) {
    if (shared_case.problem.op() != Op::kDepthwise) continue;  // one shared plan per backend is enough
    SCOPED_TRACE(shared_case.backend + "/" + shared_case.implementation + " " + shared_case.problem.descriptor());
    Result<Plan> shared = Plan::create(shared_case.problem, shared_case.backend);
    ASSERT_TRUE(shared.is_ok()) << shared.status().to_string();
    std::atomic<int> run_failures{0}, plan_failures{0};
    std::atomic<bool> go{false};
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        while (!go.load()) std::this_thread::yield();
        if (t % 2 == 0) {
          for (int k = 0; k < 3; ++k) {
            Result<std::vector<uint8_t>> out = run_once(*shared, shared_case.seed);
            if (!out || *out != shared_case.output) ++run_failures;
          }
          return;
        }
        for (const char* d : kProblems) {
          PlanOptions o;
          o.autotune = t % 4 == 1;  // "auto" through the autotune cache on half of the creating threads
          for (const char* backend : {"auto", shared_case.backend.c_str()}) {
            Result<Plan> p = Plan::create(make(d), backend, o);
            // "auto" always finds a backend (the reference takes everything); a named one may decline.
            if (!p && std::string(backend) == "auto") ++plan_failures;
          }
        }
      });
    }
    go = true;
    for (std::thread& th : threads) th.join();
    EXPECT_EQ(run_failures.load(), 0) << "runs of the shared plan failed or differ from its serial run";
    EXPECT_EQ(plan_failures.load(), 0) << "\"auto\" failed to plan while other threads ran";
  }
}

// --- the autotune cache over fakes -------------------------------------------------------------------

using testing::FakeImpl;

class FakeDevice final : public detail::Backend {
 public:
  explicit FakeDevice(const char* name) : name_(name) {}
  const char* name() const override { return name_; }
  MemorySpace memory_space() const override { return MemorySpace::kDevice; }
  bool available(std::string*) const override { return true; }
  const std::vector<detail::ImplList>& lists() const override {
    static const std::vector<detail::ImplList> lists = {{Op::kDepthwise, Direction::kForward, {offer}}};
    return lists;
  }
  static detail::Offer offer(const detail::OfferContext& ctx) {
    return detail::Offer::accept(std::make_unique<FakeImpl>(std::string(ctx.backend.name()) + "_impl"));
  }

 private:
  const char* name_;
};

TEST(Concurrency, AutotuneCacheUnderContention) {
  const FakeDevice cuda("cuda"), cudnn("cudnn");
  const std::vector<const detail::Backend*> backends = {&cuda, &cudnn};
  Result<detail::AutoRule> rule = detail::parse_auto_rule(
      R"({"format": "dsconv-auto-rule", "version": 1, "default_order": ["cuda", "cudnn"], "entries": []})", "t.json");
  ASSERT_TRUE(rule.is_ok()) << rule.status().to_string();
  // cudnn is faster for odd channel counts, cuda for even ones: the winner depends on the problem, so a
  // cache entry served for the wrong problem shows.
  std::atomic<int> timings{0};
  detail::AutoHooks hooks;
  hooks.timer = [&](const Problem& p, const detail::Impl& impl) -> Result<double> {
    ++timings;
    const bool cudnn_fast = p.c() % 2 == 1;
    return (impl.name() == "cudnn_impl") == cudnn_fast ? 1.0 : 2.0;
  };
  hooks.device_key = [] { return std::string("fake-gpu"); };
  detail::clear_autotune_cache();
  std::atomic<int> wrong{0};
  std::atomic<bool> go{false};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      while (!go.load()) std::this_thread::yield();
      PlanOptions o;
      o.autotune = true;
      for (int k = 0; k < 40; ++k) {
        const int c = 1 + (k + t) % 6;
        const Problem p = make("depthwise_n1h8w8c" + std::to_string(c) + "_k3x3");
        detail::AutoChoice choice = detail::choose_auto(p, o, backends, *rule, hooks);
        const std::string want = c % 2 == 1 ? "cudnn" : "cuda";
        if (choice.backend == nullptr || want != choice.backend->name()) ++wrong;
        if (t == 0 && k % 10 == 9) detail::clear_autotune_cache();
        (void)detail::autotune_cache_size();
      }
    });
  }
  go = true;
  for (std::thread& th : threads) th.join();
  EXPECT_EQ(wrong.load(), 0) << "autotune chose a slower backend (a cache entry for another problem?)";
  EXPECT_GT(timings.load(), 0);
  EXPECT_LE(detail::autotune_cache_size(), 6u);
  detail::clear_autotune_cache();
}

// --- the C API ------------------------------------------------------------------------------------------

TEST(Concurrency, CApiHandlesAcrossThreads) {
  dsconv_problem_t shared_problem = nullptr;
  ASSERT_EQ(dsconv_problem_parse(&shared_problem, "depthwise_n1h6w6c2_k3x3_psame"), DSCONV_STATUS_SUCCESS);
  dsconv_plan_t shared = nullptr;
  ASSERT_EQ(dsconv_plan_create(&shared, shared_problem, "cpu-ref"), DSCONV_STATUS_SUCCESS) << dsconv_last_error();
  std::vector<float> x(72), w(18);
  for (size_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>(i % 5) - 2.0f;
  for (size_t i = 0; i < w.size(); ++i) w[i] = static_cast<float>(i % 3) + 1.0f;
  std::vector<float> expected(72);
  ASSERT_EQ(dsconv_plan_run(shared, x.data(), w.data(), nullptr, nullptr, expected.data(), nullptr, 0, nullptr),
            DSCONV_STATUS_SUCCESS);

  std::atomic<int> failures{0};
  std::atomic<bool> go{false};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      while (!go.load()) std::this_thread::yield();
      for (int k = 0; k < 25; ++k) {
        // Make, query and destroy handles of its own; use one after destroying it.
        dsconv_problem_t p = nullptr;
        const std::string d = "depthwise_n1h" + std::to_string(4 + t) + "w5c2_k3x3";
        if (dsconv_problem_parse(&p, d.c_str()) != DSCONV_STATUS_SUCCESS) ++failures;
        dsconv_plan_t plan = nullptr;
        if (dsconv_plan_create(&plan, p, t % 2 ? "auto" : "cpu-ref") != DSCONV_STATUS_SUCCESS) ++failures;
        size_t ws = 1;
        if (dsconv_plan_workspace_size(plan, &ws) != DSCONV_STATUS_SUCCESS) ++failures;
        if (dsconv_plan_destroy(plan) != DSCONV_STATUS_SUCCESS) ++failures;
        if (dsconv_problem_destroy(p) != DSCONV_STATUS_SUCCESS) ++failures;
        // The destroyed problem is refused (unless another thread's new problem took its address, which
        // then is a live problem of that thread: the call must still not crash).
        const dsconv_status_t stale = dsconv_problem_output_shape(p, nullptr);
        if (stale != DSCONV_STATUS_INVALID_ARGUMENT) ++failures;
        // This thread's last error is about this thread's call.
        const std::string err = dsconv_last_error();
        if (err.rfind("dsconv_problem_output_shape: ", 0) != 0) ++failures;
        // Run the shared plan on this thread's output.
        std::vector<float> y(72, -1.0f);
        if (dsconv_plan_run(shared, x.data(), w.data(), nullptr, nullptr, y.data(), nullptr, 0, nullptr) !=
                DSCONV_STATUS_SUCCESS ||
            y != expected)
          ++failures;
      }
    });
  }
  go = true;
  for (std::thread& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(dsconv_plan_destroy(shared), DSCONV_STATUS_SUCCESS);
  EXPECT_EQ(dsconv_problem_destroy(shared_problem), DSCONV_STATUS_SUCCESS);
}

}  // namespace
}  // namespace dsconv
