// The dispatch walker and the argument slots: list order, the implementation filters (skip and only),
// declines and their status codes, prepare() on the winner only, lists keyed by (op, direction), the
// Direction field, TensorArgs, and the C API's options and execute.
#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <cstring>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "dsconv/dsconv.h"
#include "dsconv/dsconv.hpp"
#include "src/dispatch/backend.hpp"

namespace dsconv {
namespace {

using detail::Offer;
using detail::OfferContext;

// ---------------------------------------------------------------------------------------------
// A backend whose offers the test scripts: offer i accepts unless declines[i] says why not.
// ---------------------------------------------------------------------------------------------

class ScriptedImpl final : public detail::Impl {
 public:
  ScriptedImpl(std::string name, Status prepare_result, std::atomic<int>* prepares)
      : name_(std::move(name)), prepare_result_(std::move(prepare_result)), prepares_(prepares) {}
  const std::string& name() const override { return name_; }
  Status prepare() override {
    ++*prepares_;
    return prepare_result_;
  }
  Status run(const TensorArgs&, void*, size_t, void*) const override { return Status::ok(); }

 private:
  std::string name_;
  Status prepare_result_;
  std::atomic<int>* prepares_;
};

class ScriptedBackend final : public detail::Backend {
 public:
  struct Entry {
    std::string name;
    std::string decline;  // non-empty: the offer declines with this reason
    StatusCode code = StatusCode::kNotSupported;
    Status prepare;  // what the impl's prepare() returns
  };
  std::vector<Entry> entries;
  mutable std::atomic<int> offers_asked{0};
  mutable std::atomic<int> prepares{0};
  mutable std::string last_stem_why;

  const char* name() const override { return "scripted"; }
  MemorySpace memory_space() const override { return MemorySpace::kHost; }
  bool available(std::string*) const override { return true; }
  const std::vector<detail::ImplList>& lists() const override {
    // Only depthwise forward, one offer per scripted entry: the other (op, direction) pairs have no list.
    static const detail::OfferFn kOffers[] = {offer<0>, offer<1>, offer<2>, offer<3>};
    lists_ = {{Op::kDepthwise, Direction::kForward, {}}};
    for (size_t i = 0; i < entries.size() && i < 4; ++i) lists_[0].offers.push_back(kOffers[i]);
    return lists_;
  }
  mutable std::vector<detail::ImplList> lists_;

  template <int I>
  static Offer offer(const OfferContext& ctx) {
    const auto& self = static_cast<const ScriptedBackend&>(ctx.backend);
    ++self.offers_asked;
    const Entry& e = self.entries[I];
    if (!e.decline.empty()) return Offer::decline(e.name, e.decline, e.code);
    auto* prepares = &self.prepares;
    return Offer::accept(std::make_unique<ScriptedImpl>(e.name, e.prepare, prepares));
  }
};

Problem problem_of(Op op = Op::kDepthwise) {
  ProblemDesc d;
  d.op = op;
  d.height = d.width = 6;
  d.channels = 4;
  d.kernel_h = d.kernel_w = 3;
  if (op != Op::kDepthwise) d.out_channels = 3;
  Result<Problem> p = Problem::create(d);
  EXPECT_TRUE(p.is_ok()) << p.status().to_string();
  return *p;
}

std::string dump(const detail::Selection& s) {
  std::string out = "status: " + s.status.to_string() + "\n";
  for (const Rejection& r : s.rejections) out += r.backend + "/" + r.implementation + ": " + r.reason + "\n";
  return out;
}

TEST(DispatchWalker, FirstAcceptingOfferWinsAndOnlyItIsPrepared) {
  ScriptedBackend b;
  b.entries = {{"a_k3", "no k3 here"}, {"b_generic", ""}, {"c_direct", ""}};
  const detail::Selection s = detail::select(b, problem_of(), PlanOptions{});
  ASSERT_NE(s.impl, nullptr) << dump(s);
  EXPECT_EQ(s.impl->name(), "b_generic");
  EXPECT_EQ(b.offers_asked, 2) << "the walker stops at the first accepted offer";
  EXPECT_EQ(b.prepares, 1);
  ASSERT_EQ(s.rejections.size(), 1u) << dump(s);
  EXPECT_EQ(s.rejections[0].backend, "scripted");
  EXPECT_EQ(s.rejections[0].implementation, "a_k3");
  EXPECT_EQ(s.rejections[0].reason, "no k3 here");
}

TEST(DispatchWalker, OnlyImplementationsKeepsTheNamedPrefixes) {
  ScriptedBackend b;
  b.entries = {{"a_k3", ""}, {"b_generic", ""}, {"c_direct", ""}};
  PlanOptions o;
  o.only_implementations = {"c_"};
  const detail::Selection s = detail::select(b, problem_of(), o);
  ASSERT_NE(s.impl, nullptr) << dump(s);
  EXPECT_EQ(s.impl->name(), "c_direct");
  ASSERT_EQ(s.rejections.size(), 2u) << dump(s);
  for (const Rejection& r : s.rejections)
    EXPECT_NE(r.reason.find("only_implementations: c_"), std::string::npos) << r.reason;
  EXPECT_EQ(b.prepares, 1) << "filtered offers are not prepared";
}

TEST(DispatchWalker, SkipAppliesOnTopOfOnly) {
  ScriptedBackend b;
  b.entries = {{"a_k3", ""}, {"a_k5", ""}, {"b_generic", ""}};
  PlanOptions o;
  o.only_implementations = {"a_"};
  o.skip_implementations = {"a_k3"};
  detail::Selection s = detail::select(b, problem_of(), o);
  ASSERT_NE(s.impl, nullptr) << dump(s);
  EXPECT_EQ(s.impl->name(), "a_k5");
  EXPECT_NE(s.rejections[0].reason.find("skip_implementations"), std::string::npos) << dump(s);

  o.skip_implementations = {"a_"};
  s = detail::select(b, problem_of(), o);
  EXPECT_EQ(s.impl, nullptr);
  EXPECT_EQ(s.status.code(), StatusCode::kNotSupported);
  EXPECT_EQ(s.rejections.size(), 3u) << dump(s);
}

TEST(DispatchWalker, AFailedPrepareRejectsThatOfferAndTheWalkGoesOn) {
  ScriptedBackend b;
  b.entries = {{"a_k3", "", StatusCode::kNotSupported, Status(StatusCode::kDeviceError, "module failed to load")},
               {"b_generic", ""}};
  const detail::Selection s = detail::select(b, problem_of(), PlanOptions{});
  ASSERT_NE(s.impl, nullptr) << dump(s);
  EXPECT_EQ(s.impl->name(), "b_generic");
  EXPECT_EQ(b.prepares, 2);
  ASSERT_EQ(s.rejections.size(), 1u);
  EXPECT_NE(s.rejections[0].reason.find("could not be prepared: module failed to load"), std::string::npos);
}

TEST(DispatchWalker, TheStatusCarriesADeviceDeclinesCode) {
  ScriptedBackend b;
  b.entries = {{"a", "unsupported shape"}, {"b", "no CUDA device: fake", StatusCode::kNoDevice}, {"c", "too big"}};
  const detail::Selection s = detail::select(b, problem_of(), PlanOptions{});
  EXPECT_EQ(s.impl, nullptr);
  EXPECT_EQ(s.status.code(), StatusCode::kNoDevice) << dump(s);
  EXPECT_EQ(s.rejections.size(), 3u);
}

TEST(DispatchWalker, AnOpWithoutAListIsRejectedByName) {
  ScriptedBackend b;
  b.entries = {{"a", ""}};
  const detail::Selection s = detail::select(b, problem_of(Op::kConv2d), PlanOptions{});
  EXPECT_EQ(s.impl, nullptr);
  EXPECT_EQ(s.status.code(), StatusCode::kNotSupported);
  ASSERT_EQ(s.rejections.size(), 1u);
  EXPECT_EQ(s.rejections[0].reason, "no forward conv2d implementation in this backend");
  EXPECT_EQ(b.offers_asked, 0);
}

TEST(DispatchWalker, ExcludesAllJudgesAFamilyStemAgainstBothFilters) {
  ScriptedBackend b;
  const Problem p = problem_of();
  PlanOptions o;
  const OfferContext ctx{p, o, nullptr, b};
  EXPECT_FALSE(ctx.excludes_all("cudnn_fused_depthwise"));
  o.skip_implementations = {"cudnn_fused"};
  std::string why;
  EXPECT_TRUE(ctx.excludes_all("cudnn_fused_depthwise", &why));
  EXPECT_NE(why.find("skip_implementations"), std::string::npos);
  EXPECT_FALSE(ctx.excludes_all("cudnn_depthwise")) << "a skip prefix longer than the stem may spare some names";
  o.skip_implementations.clear();
  o.only_implementations = {"cudnn_fused_depthwise_implicit"};
  EXPECT_FALSE(ctx.excludes_all("cudnn_fused_depthwise")) << "some completion of the stem can match";
  EXPECT_TRUE(ctx.excludes_all("cudnn_depthwise", &why));
  EXPECT_NE(why.find("only_implementations"), std::string::npos);
  EXPECT_TRUE(ctx.allows("cudnn_fused_depthwise_implicit_gemm"));
  EXPECT_FALSE(ctx.allows("cudnn_fused_depthwise_gemm"));
}

TEST(DispatchPlan, OnlyImplementationsReachesEveryBackend) {
  const Problem p = problem_of();
  PlanOptions o;
  o.only_implementations = {"ref_"};
  Result<Plan> plan = Plan::create(p, "cpu-ref", o);
  ASSERT_TRUE(plan.is_ok()) << plan.status().to_string();
  EXPECT_EQ(plan->implementation(), "ref_direct_f64acc");
  o.only_implementations = {"dw_fwd_"};
  plan = Plan::create(p, "cpu-ref", o);
  ASSERT_FALSE(plan.is_ok());
  EXPECT_EQ(plan.status().code(), StatusCode::kNotSupported);
  EXPECT_NE(plan.status().message().find("only_implementations: dw_fwd_"), std::string::npos)
      << plan.status().message();
}

TEST(DispatchPlan, KnownBackendsComeFromTheRegistry) {
  const std::vector<std::string> known = known_backends();
  EXPECT_EQ(known, (std::vector<std::string>{"auto", "cuda", "cudnn", "cpu", "cpu-ref"}));
  for (const std::string& b : built_backends()) EXPECT_NE(std::find(known.begin(), known.end(), b), known.end()) << b;
  Result<Plan> bad = Plan::create(problem_of(), "gpu");
  ASSERT_FALSE(bad.is_ok());
  EXPECT_NE(bad.status().message().find("auto, cuda, cudnn, cpu, cpu-ref"), std::string::npos)
      << bad.status().message();
}

// ---------------------------------------------------------------------------------------------
// Direction
// ---------------------------------------------------------------------------------------------

TEST(Direction, BackwardPassesAreReservedAndRejectedByName) {
  ProblemDesc d;
  d.height = d.width = 5;
  d.kernel_h = d.kernel_w = 3;
  for (Direction dir : {Direction::kBackwardData, Direction::kBackwardFilter}) {
    d.direction = dir;
    Result<Problem> p = Problem::create(d);
    ASSERT_FALSE(p.is_ok());
    EXPECT_EQ(p.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(p.status().message().find(std::string("direction ") + to_string(dir) + " is reserved"), std::string::npos)
        << p.status().message();
  }
  d.direction = static_cast<Direction>(7);
  Result<Problem> p = Problem::create(d);
  ASSERT_FALSE(p.is_ok());
  EXPECT_NE(p.status().message().find("direction has invalid value 7"), std::string::npos) << p.status().message();
}

TEST(Direction, ParsesAndTheDescriptorKeepsForwardImplicit) {
  EXPECT_EQ(*parse_direction("forward"), Direction::kForward);
  EXPECT_EQ(*parse_direction("BWD_DATA"), Direction::kBackwardData);
  EXPECT_EQ(*parse_direction("backward_filter"), Direction::kBackwardFilter);
  EXPECT_FALSE(parse_direction("sideways").is_ok());
  Result<Problem> p = Problem::parse("depthwise_n1h8w8c4_k3x3_fwd");
  ASSERT_TRUE(p.is_ok()) << p.status().to_string();
  EXPECT_EQ(p->direction(), Direction::kForward);
  EXPECT_EQ(p->descriptor().find("fwd"), std::string::npos) << p->descriptor();
  Result<Problem> b = Problem::parse("depthwise_n1h8w8c4_k3x3_bwdd");
  ASSERT_FALSE(b.is_ok());
  EXPECT_NE(b.status().message().find("backward_data"), std::string::npos) << b.status().message();
}

// ---------------------------------------------------------------------------------------------
// Argument slots
// ---------------------------------------------------------------------------------------------

TEST(TensorArgs, ProblemsSayWhichSlotsTheyUse) {
  const Problem dw = problem_of(Op::kDepthwise);
  EXPECT_EQ(dw.arg_use(Arg::kInput), ArgUse::kRead);
  EXPECT_EQ(dw.arg_use(Arg::kFilter), ArgUse::kRead);
  EXPECT_EQ(dw.arg_use(Arg::kPointwise), ArgUse::kUnused);
  EXPECT_EQ(dw.arg_use(Arg::kBias), ArgUse::kUnused);
  EXPECT_EQ(dw.arg_use(Arg::kResidual), ArgUse::kUnused);
  EXPECT_EQ(dw.arg_use(Arg::kOutput), ArgUse::kWritten);
  EXPECT_EQ(dw.arg_use(Arg::kDiffOutput), ArgUse::kUnused);
  EXPECT_EQ(dw.arg_shape(Arg::kOutput), dw.output_shape());
  EXPECT_EQ(dw.arg_elements(Arg::kFilter), dw.filter_elements());
  EXPECT_EQ(dw.arg_elements(Arg::kPointwise), 0);
  const Problem sep = problem_of(Op::kSeparable);
  EXPECT_EQ(sep.arg_use(Arg::kPointwise), ArgUse::kRead);
  EXPECT_EQ(sep.arg_shape(Arg::kPointwise), sep.pointwise_shape());
  for (int i = 0; i < kArgCount; ++i) EXPECT_STRNE(to_string(static_cast<Arg>(i)), "?") << i;
}

// The worked problem on the reference, by slots and by the fixed struct: the same bits.
TEST(TensorArgs, RunBySlotsEqualsRunByStruct) {
  ProblemDesc d;
  d.batch = 2, d.height = 7, d.width = 5, d.channels = 3, d.multiplier = 2;
  d.kernel_h = d.kernel_w = 3;
  d.padding = PaddingMode::kSame;
  d.has_bias = true;
  const Problem p = *Problem::create(d);
  Result<Plan> plan = Plan::create(p, "cpu-ref");
  ASSERT_TRUE(plan.is_ok()) << plan.status().to_string();
  std::vector<float> x(static_cast<size_t>(p.input_elements())), w(static_cast<size_t>(p.filter_elements()));
  std::vector<float> b(static_cast<size_t>(p.bias_elements()));
  // Seed 12, printed: a fixed LCG so the data never contains zeros.
  uint32_t state = 12;
  auto next = [&] {
    state = state * 1664525u + 1013904223u;
    return 0.25f + static_cast<float>(state >> 8) / static_cast<float>(1u << 24);
  };
  for (float& v : x) v = next();
  for (float& v : w) v = -next();
  for (float& v : b) v = next();
  const float nan = std::numeric_limits<float>::quiet_NaN();
  std::vector<float> y1(static_cast<size_t>(p.output_elements()), nan), y2 = y1;
  ASSERT_TRUE(plan->run(Tensors{x.data(), w.data(), nullptr, b.data(), y1.data()}, nullptr, 0).is_ok());
  const TensorArgs args = TensorArgs()
                              .set(Arg::kInput, x.data())
                              .set(Arg::kFilter, w.data())
                              .set(Arg::kBias, b.data())
                              .set(Arg::kOutput, y2.data());
  ASSERT_TRUE(plan->run(args, nullptr, 0).is_ok());
  EXPECT_EQ(std::memcmp(y1.data(), y2.data(), y1.size() * sizeof(float)), 0);
  for (float v : y2) ASSERT_FALSE(std::isnan(v));

  // A slot the problem does not use is an error naming it, and nothing is written.
  std::vector<float> y3(y1.size(), nan);
  TensorArgs extra = args;
  extra.set(Arg::kOutput, y3.data()).set(Arg::kResidual, x.data());
  const Status s = plan->run(extra, nullptr, 0);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("tensors.residual must be null"), std::string::npos) << s.message();
  for (float v : y3) ASSERT_TRUE(std::isnan(v)) << "a rejected run wrote the output";
}

// ---------------------------------------------------------------------------------------------
// The C API's options and execute
// ---------------------------------------------------------------------------------------------

struct CProblem {
  dsconv_problem_t problem = nullptr;
  CProblem() {
    dsconv_problem_desc_t d;
    dsconv_problem_desc_init(&d);
    d.height = d.width = 5;
    d.channels = 2;
    d.kernel_h = d.kernel_w = 3;
    EXPECT_EQ(d.direction, DSCONV_DIRECTION_FORWARD);
    EXPECT_EQ(dsconv_problem_create(&problem, &d), DSCONV_STATUS_SUCCESS) << dsconv_last_error();
  }
  ~CProblem() { dsconv_problem_destroy(problem); }
};

TEST(CApiOptions, FiltersReachThePlan) {
  CProblem p;
  dsconv_plan_options_t o;
  dsconv_plan_options_init(&o);
  EXPECT_EQ(o.skip_count, 0u);
  EXPECT_EQ(o.only_implementations, nullptr);
  dsconv_plan_t plan = nullptr;
  const char* skip[] = {"ref"};
  o.skip_implementations = skip;
  o.skip_count = 1;
  EXPECT_EQ(dsconv_plan_create_with_options(&plan, p.problem, "cpu-ref", &o), DSCONV_STATUS_NOT_SUPPORTED);
  EXPECT_EQ(plan, nullptr);
  EXPECT_NE(std::string(dsconv_last_error()).find("skip_implementations"), std::string::npos) << dsconv_last_error();

  const char* only[] = {"ref_direct"};
  dsconv_plan_options_init(&o);
  o.only_implementations = only;
  o.only_count = 1;
  ASSERT_EQ(dsconv_plan_create_with_options(&plan, p.problem, "cpu-ref", &o), DSCONV_STATUS_SUCCESS)
      << dsconv_last_error();
  dsconv_plan_destroy(plan);

  const char* holes[] = {"ref", nullptr};
  o.only_implementations = holes;
  o.only_count = 2;
  EXPECT_EQ(dsconv_plan_create_with_options(&plan, p.problem, "cpu-ref", &o), DSCONV_STATUS_INVALID_ARGUMENT);
  EXPECT_NE(std::string(dsconv_last_error()).find("options.only_implementations[1] is null"), std::string::npos)
      << dsconv_last_error();
  o.only_implementations = nullptr;
  EXPECT_EQ(dsconv_plan_create_with_options(&plan, p.problem, "cpu-ref", &o), DSCONV_STATUS_INVALID_ARGUMENT);
  // NULL options are the defaults.
  ASSERT_EQ(dsconv_plan_create_with_options(&plan, p.problem, "cpu-ref", nullptr), DSCONV_STATUS_SUCCESS);
  dsconv_plan_destroy(plan);
}

TEST(CApiExecute, SlotsAreCheckedAndTheRunMatchesPlanRun) {
  CProblem p;
  dsconv_plan_t plan = nullptr;
  ASSERT_EQ(dsconv_plan_create(&plan, p.problem, "cpu-ref"), DSCONV_STATUS_SUCCESS) << dsconv_last_error();
  std::vector<float> x(50), w(18);
  for (size_t i = 0; i < x.size(); ++i) x[i] = 1.0f + static_cast<float>(i % 7);
  for (size_t i = 0; i < w.size(); ++i) w[i] = -1.0f - static_cast<float>(i % 3);
  const float nan = std::numeric_limits<float>::quiet_NaN();
  std::vector<float> y1(18, nan), y2(18, nan);
  ASSERT_EQ(dsconv_plan_run(plan, x.data(), w.data(), nullptr, nullptr, y1.data(), nullptr, 0, nullptr),
            DSCONV_STATUS_SUCCESS);
  dsconv_exec_arg_t args[] = {
      {DSCONV_ARG_OUTPUT, y2.data()}, {DSCONV_ARG_INPUT, x.data()}, {DSCONV_ARG_FILTER, w.data()}};
  ASSERT_EQ(dsconv_plan_execute(plan, 3, args, nullptr, 0, nullptr), DSCONV_STATUS_SUCCESS) << dsconv_last_error();
  EXPECT_EQ(y1, y2);

  std::vector<float> y3(18, nan);
  dsconv_exec_arg_t twice[] = {
      {DSCONV_ARG_INPUT, x.data()}, {DSCONV_ARG_INPUT, x.data()}, {DSCONV_ARG_OUTPUT, y3.data()}};
  EXPECT_EQ(dsconv_plan_execute(plan, 3, twice, nullptr, 0, nullptr), DSCONV_STATUS_INVALID_ARGUMENT);
  EXPECT_NE(std::string(dsconv_last_error()).find("repeats slot input"), std::string::npos) << dsconv_last_error();
  dsconv_exec_arg_t bad[] = {{static_cast<dsconv_arg_t>(42), x.data()}};
  EXPECT_EQ(dsconv_plan_execute(plan, 1, bad, nullptr, 0, nullptr), DSCONV_STATUS_INVALID_ARGUMENT);
  EXPECT_NE(std::string(dsconv_last_error()).find("invalid value 42"), std::string::npos) << dsconv_last_error();
  dsconv_exec_arg_t no_filter[] = {{DSCONV_ARG_INPUT, x.data()}, {DSCONV_ARG_OUTPUT, y3.data()}};
  EXPECT_EQ(dsconv_plan_execute(plan, 2, no_filter, nullptr, 0, nullptr), DSCONV_STATUS_INVALID_ARGUMENT);
  EXPECT_NE(std::string(dsconv_last_error()).find("tensors.filter is null"), std::string::npos) << dsconv_last_error();
  EXPECT_EQ(dsconv_plan_execute(plan, 2, nullptr, nullptr, 0, nullptr), DSCONV_STATUS_INVALID_ARGUMENT);
  for (float v : y3) EXPECT_TRUE(std::isnan(v)) << "a rejected run wrote the output";
  dsconv_plan_destroy(plan);
}

}  // namespace
}  // namespace dsconv
