// Determinism (benchdnn's mode): every backend and kernel family gives bitwise identical output on
// repeated runs and across threads, and PlanOptions::deterministic excludes what cannot promise that.
//  - Determinism.<family>: a problem that the family takes (forced with only_implementations, so a test
//    cannot pass on another implementation), uniform data (rounding matters), run 3 times in a row and
//    then by 8 threads at once, each on its own tensors and stream: every output byte equal to the first
//    run's. Families: cpu-ref (depthwise, conv2d, separable); cuda's specialized NHWC, generic NHWC,
//    generic NCHW and direct kernels; cudnn (skipped where it is not built or has no GPU).
//  - DeterministicOption.*: the walker passes over an implementation that reports nondeterminism and says
//    why; the option reaches plans through the C++ and C APIs and the driver; "auto" does not autotune.
#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <cstring>
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

bool usable(const std::string& backend, std::string* why) {
  const std::vector<std::string> built = built_backends();
  if (std::find(built.begin(), built.end(), backend) == built.end()) {
    *why = backend + " is not built into this library";
    return false;
  }
  return backend_available(backend, why);
}

Problem make(const std::string& descriptor) {
  Result<Problem> p = Problem::parse(descriptor);
  EXPECT_TRUE(p.is_ok()) << descriptor << ": " << p.status().to_string();
  return p.is_ok() ? *p : Problem();
}

// The output bytes of one run of plan on the data of (seed, uniform).
Result<std::vector<uint8_t>> run_once(const Plan& plan, uint64_t seed) {
  tools::TensorSet t = tools::TensorSet::random(plan.problem(), seed, tools::DataKind::kUniform);
  if (Status s = tools::execute(plan, &t); !s) return s;
  const auto* b = static_cast<const uint8_t*>(t.output.data());
  return std::vector<uint8_t>(b, b + t.output.bytes());
}

// The first byte where a and b differ, as text.
std::string first_difference(const std::vector<uint8_t>& a, const std::vector<uint8_t>& b) {
  if (a.size() != b.size()) return "sizes " + std::to_string(a.size()) + " and " + std::to_string(b.size());
  for (size_t i = 0; i < a.size(); ++i)
    if (a[i] != b[i]) return "byte " + std::to_string(i) + ": " + std::to_string(a[i]) + " vs " + std::to_string(b[i]);
  return "none";
}

// Plans p on backend restricted to `family` (with and without the deterministic option: both must pick
// the same implementation, since every family here is deterministic), runs it 3 times and then on 8
// threads at once, and requires identical output bytes throughout.
void expect_deterministic(const std::string& backend, const std::string& family, const std::string& descriptor) {
  const uint64_t seed = 20260311;
  SCOPED_TRACE(backend + " " + family + " " + descriptor + " --seed " + std::to_string(seed) + " --data uniform");
  std::string why;
  if (!usable(backend, &why)) GTEST_SKIP() << why;
  const Problem p = make(descriptor);
  PlanOptions options;
  options.only_implementations = {family};
  Result<Plan> plan = Plan::create(p, backend, options);
  ASSERT_TRUE(plan.is_ok()) << plan.status().to_string();
  options.deterministic = true;
  Result<Plan> det = Plan::create(p, backend, options);
  ASSERT_TRUE(det.is_ok()) << det.status().to_string();
  EXPECT_EQ(det->implementation(), plan->implementation()) << det->explain();
  std::printf("[ info     ] %s/%s\n", plan->backend().c_str(), plan->implementation().c_str());

  Result<std::vector<uint8_t>> first = run_once(*plan, seed);
  ASSERT_TRUE(first.is_ok()) << first.status().to_string();
  // Not trivially equal: the output is not the NaN poison and not all one value.
  ASSERT_GT(first->size(), 16u);
  EXPECT_NE(std::count(first->begin(), first->end(), first->front()), static_cast<long>(first->size()));
  for (int i = 0; i < 2; ++i) {
    Result<std::vector<uint8_t>> again = run_once(i == 0 ? *plan : *det, seed);
    ASSERT_TRUE(again.is_ok()) << again.status().to_string();
    EXPECT_TRUE(*again == *first) << "repeated run " << i + 1 << " differs: " << first_difference(*first, *again);
  }

  constexpr int kThreads = 8, kRuns = 2;
  std::atomic<int> errors{0}, mismatches{0};
  std::atomic<bool> go{false};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      while (!go.load()) std::this_thread::yield();
      for (int k = 0; k < kRuns; ++k) {
        Result<std::vector<uint8_t>> r = run_once(t % 2 == 0 ? *plan : *det, seed);
        if (!r) {
          ++errors;
        } else if (*r != *first) {
          ++mismatches;
        }
      }
    });
  }
  go = true;
  for (std::thread& th : threads) th.join();
  EXPECT_EQ(errors.load(), 0);
  EXPECT_EQ(mismatches.load(), 0) << "runs on concurrent threads differ from the first run";
}

// --- cpu-ref -------------------------------------------------------------------------------------
TEST(Determinism, CpuReferenceDepthwise) {
  expect_deterministic("cpu-ref", "ref", "depthwise_n2h13w11c6_k3x3_m2_s2x1_d1x2_psame_nhwc_tf_f16_bias_silu_res");
}
TEST(Determinism, CpuReferenceConv2d) {
  expect_deterministic("cpu-ref", "ref", "conv2d_n1h9w9c8_k3x3_o5_d2x2_psame_nchw_oihw_f32_bias_gelu");
}
TEST(Determinism, CpuReferenceSeparable) {
  expect_deterministic("cpu-ref", "ref", "separable_n1h8w7c4_k3x3_m2_o6_pt1b0l2r1_nhwc_tf_bf16_relu6");
}

// --- cuda: one test per depthwise kernel family --------------------------------------------------
TEST(Determinism, CudaSpecializedNhwc) {
  expect_deterministic("cuda", "dw_fwd_nhwc_k", "depthwise_n2h13w17c32_k3x3_m1_s1x1_psame_nhwc_tf_f16_bias_relu");
}
TEST(Determinism, CudaGenericNhwc) {
  expect_deterministic("cuda", "dw_fwd_nhwc_generic",
                       "depthwise_n2h11w9c12_k5x5_m2_s1x2_d2x1_psame_nhwc_oihw_f32_bias");
}
TEST(Determinism, CudaLatticeNhwc) {
  expect_deterministic("cuda", "dw_fwd_nhwc_lattice",
                       "depthwise_n2h20w23c16_k3x3_m1_s1x1_d2x2_psame_nhwc_tf_f16_bias_relu");
}
TEST(Determinism, CudaLargeFilterTensorCores) {
  expect_deterministic("cuda", "dw_fwd_nhwc_lk_mma", "depthwise_n1h20w24c16_k13x13_m1_s1x1_psame_nhwc_tf_f16_bias");
}
TEST(Determinism, CudaGenericNchw) {
  expect_deterministic("cuda", "dw_fwd_nchw_generic", "depthwise_n2h12w10c6_k3x3_m1_s2x2_psame_nchw_tf_bf16_hswish");
}
TEST(Determinism, CudaDirect) {
  expect_deterministic("cuda", "dw_fwd_nhwc_direct", "depthwise_n2h9w8c5_k3x3_m3_s1x1_psame_nhwc_tf_f16_bias_res");
}

// --- cuda: the implicit GEMM (conv2d, fused separable) and the two-pass separable plan ----------------
TEST(Determinism, CudaConv2dImplicitGemm) {
  expect_deterministic("cuda", "conv2d_fwd_nhwc_igemm",
                       "conv2d_n2h9w11c40_k3x3_o72_s1x1_d2x2_psame_nhwc_tf_f16_bias_res_silu");
  expect_deterministic("cuda", "conv2d_fwd_nchw_igemm", "conv2d_n2h9w9c16_k3x3_o24_d2x2_psame_nchw_oihw_f32_bias_relu");
}
TEST(Determinism, CudaSeparableFused) {
  expect_deterministic("cuda", "sep_fwd_nhwc_fused", "separable_n1h13w13c16_k3x3_m1_o24_s2x2_psame_nhwc_tf_f16_silu");
}
TEST(Determinism, CudaSeparableTwoPass) {
  expect_deterministic("cuda", "sep_fwd_nhwc_twopass", "separable_n1h13w13c16_k3x3_m2_o24_psame_nhwc_tf_bf16_bias");
}

// --- cudnn -----------------------------------------------------------------------------------------
TEST(Determinism, CudnnDepthwise) {
  expect_deterministic("cudnn", "cudnn", "depthwise_n2h13w17c32_k3x3_m1_s1x1_psame_nhwc_tf_f16_bias_relu");
}
TEST(Determinism, CudnnConv2d) {
  expect_deterministic("cudnn", "cudnn", "conv2d_n2h9w9c16_k3x3_o24_d2x2_psame_nchw_oihw_f32_bias_relu");
}
TEST(Determinism, CudnnSeparable) {
  expect_deterministic("cudnn", "cudnn", "separable_n1h13w13c16_k3x3_m1_o24_s2x2_psame_nhwc_tf_f16_silu");
}

// ---------------------------------------------------------------------------------------------------
// The option
// ---------------------------------------------------------------------------------------------------

// A backend with two implementations of depthwise: the first says it is nondeterministic.
using testing::FakeImpl;

class TwoImplBackend final : public detail::Backend {
 public:
  const char* name() const override { return "fake"; }
  MemorySpace memory_space() const override { return MemorySpace::kHost; }
  bool available(std::string*) const override { return true; }
  const std::vector<detail::ImplList>& lists() const override {
    static const std::vector<detail::ImplList> lists = {
        {Op::kDepthwise, Direction::kForward, {offer_atomic, offer_ordered}}};
    return lists;
  }
  static detail::Offer offer_atomic(const detail::OfferContext&) {
    return detail::Offer::accept(std::make_unique<FakeImpl>("fast_atomic", "accumulates with atomicAdd in any order"));
  }
  static detail::Offer offer_ordered(const detail::OfferContext&) {
    return detail::Offer::accept(std::make_unique<FakeImpl>("ordered", ""));
  }
};

TEST(DeterministicOption, TheWalkerPassesOverANondeterministicImplementationAndSaysWhy) {
  const TwoImplBackend b;
  const Problem p = make("depthwise_n1h8w8c4_k3x3");
  detail::Selection fast = detail::select(b, p, PlanOptions{});
  ASSERT_NE(fast.impl, nullptr);
  EXPECT_EQ(fast.impl->name(), "fast_atomic");
  PlanOptions o;
  o.deterministic = true;
  detail::Selection det = detail::select(b, p, o);
  ASSERT_NE(det.impl, nullptr);
  EXPECT_EQ(det.impl->name(), "ordered");
  ASSERT_EQ(det.rejections.size(), 1u);
  EXPECT_EQ(det.rejections[0].implementation, "fast_atomic");
  EXPECT_NE(det.rejections[0].reason.find("deterministic"), std::string::npos) << det.rejections[0].reason;
  EXPECT_NE(det.rejections[0].reason.find("atomicAdd in any order"), std::string::npos) << det.rejections[0].reason;
}

TEST(DeterministicOption, AutoDoesNotAutotuneAndSaysSo) {
  // Even when the environment asks for autotune.
  ASSERT_EQ(setenv("DSCONV_AUTOTUNE", "1", 1), 0);
  PlanOptions o;
  o.autotune = true;
  EXPECT_TRUE(detail::autotune_requested(o));
  o.deterministic = true;
  EXPECT_FALSE(detail::autotune_requested(o));
  Result<Plan> plan = Plan::create(make("depthwise_n1h8w8c4_k3x3"), "auto", o);
  unsetenv("DSCONV_AUTOTUNE");
  ASSERT_TRUE(plan.is_ok()) << plan.status().to_string();
  EXPECT_NE(plan->explain().find("deterministic: "), std::string::npos) << plan->explain();
  EXPECT_NE(plan->explain().find("not made by timing"), std::string::npos) << plan->explain();
}

TEST(DeterministicOption, ReachesPlansThroughTheCApi) {
  dsconv_plan_options_t o;
  dsconv_plan_options_init(&o);
  EXPECT_EQ(o.deterministic, 0);
  dsconv_problem_t problem = nullptr;
  ASSERT_EQ(dsconv_problem_parse(&problem, "depthwise_n1h8w8c4_k3x3"), DSCONV_STATUS_SUCCESS) << dsconv_last_error();
  o.deterministic = 1;
  dsconv_plan_t plan = nullptr;
  ASSERT_EQ(dsconv_plan_create_with_options(&plan, problem, "auto", &o), DSCONV_STATUS_SUCCESS) << dsconv_last_error();
  EXPECT_EQ(dsconv_plan_destroy(plan), DSCONV_STATUS_SUCCESS);
  // Every built backend that can run makes deterministic plans.
  for (const std::string& b : built_backends()) {
    if (!backend_available(b)) continue;
    EXPECT_EQ(dsconv_plan_create_with_options(&plan, problem, b.c_str(), &o), DSCONV_STATUS_SUCCESS)
        << b << ": " << dsconv_last_error();
    EXPECT_EQ(dsconv_plan_destroy(plan), DSCONV_STATUS_SUCCESS);
  }
  EXPECT_EQ(dsconv_problem_destroy(problem), DSCONV_STATUS_SUCCESS);
}

#if defined(DSCONV_DRIVER_PATH)
TEST(DeterministicOption, TheDriverTakesTheFlag) {
  const std::string cmd = std::string(DSCONV_DRIVER_PATH) +
                          " check depthwise_n1h9w9c4_k3x3_psame --backend auto --deterministic --verbose 2>&1";
  FILE* pipe = popen(cmd.c_str(), "r");
  ASSERT_NE(pipe, nullptr);
  std::string out;
  char buf[512];
  while (std::fgets(buf, sizeof buf, pipe) != nullptr) out += buf;
  const int rc = pclose(pipe);
  EXPECT_EQ(rc, 0) << cmd << "\n" << out;
  EXPECT_NE(out.find("deterministic: "), std::string::npos) << cmd << "\n" << out;
}
#endif

}  // namespace
}  // namespace dsconv
