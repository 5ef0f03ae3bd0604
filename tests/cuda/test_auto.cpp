// The "auto" choice: the measured-rule file (format, loader errors, matching), the choice over fake
// backends (rule order, declines, host fallback, autotune with its cache and concurrency), and the real
// library's behaviour without a GPU (auto runs on the CPU and says why).
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "dsconv/dsconv.hpp"
#include "src/auto_choice.hpp"
#include "src/dispatch/backend.hpp"
#include "support/fake_impl.hpp"

namespace dsconv {
namespace {

using detail::AutoChoice;
using detail::AutoHooks;
using detail::AutoRule;
using detail::Backend;

Problem make(const ProblemDesc& d) {
  Result<Problem> p = Problem::create(d);
  EXPECT_TRUE(p.is_ok()) << p.status().to_string();
  return p.is_ok() ? *p : Problem();
}

ProblemDesc depthwise_desc(DType dtype = DType::kF32) {
  ProblemDesc d;
  d.batch = 2, d.height = 14, d.width = 12, d.channels = 32;
  d.kernel_h = d.kernel_w = 3;
  d.padding = PaddingMode::kSame;
  d.dtype = dtype;
  return d;
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

// ---------------------------------------------------------------------------------------------
// The rule file
// ---------------------------------------------------------------------------------------------

const char* const kTwoEntryRule = R"({
  "format": "dsconv-auto-rule",
  "version": 1,
  "description": "test rule",
  "default_order": ["cuda", "cudnn"],
  "entries": [
    {"prefer": "cudnn",
     "match": {"op": "conv2d", "dtype": ["f16", "bf16"], "channels_min": 64, "dilation_max": 1},
     "evidence": {"card": "Test Card A", "date": "2025-01-02", "commit": "abc123", "speedup": 1.5, "cases": 12}},
    {"prefer": "cuda",
     "match": {"op": "depthwise", "kernel": [[3, 3], [5, 5]], "stride": [[1, 1]], "multiplier": [1],
               "layout": "nhwc", "has_bias": false, "spatial_max": 10000},
     "evidence": {"card": "Test Card B", "results": "bench/results/x/results.json"},
     "comment": "depthwise 3x3/5x5 stride 1"}
  ]
})";

TEST(AutoRule, BuiltInRuleIsTheCommittedFileAndHasNoMeasuredEntriesYet) {
  const AutoRule& builtin = detail::builtin_auto_rule();
  EXPECT_TRUE(contains(builtin.source, "bench/data/auto_rule.json")) << builtin.source;
  EXPECT_FALSE(contains(builtin.source, "fallback")) << "the built-in rule did not parse: " << builtin.source;
  EXPECT_EQ(builtin.default_order, (std::vector<std::string>{"cuda", "cudnn"}));
  // No GPU measurements are committed yet; when some are, this expectation changes with the data.
  EXPECT_TRUE(builtin.entries.empty()) << builtin.entries.size() << " entries";

  // The compiled-in copy is the file in the tree (configure re-reads it when it changes).
  Result<AutoRule> file = detail::load_auto_rule_file(std::string(DSCONV_SOURCE_DIR) + "/bench/data/auto_rule.json");
  ASSERT_TRUE(file.is_ok()) << file.status().to_string();
  EXPECT_EQ(file->default_order, builtin.default_order);
  EXPECT_EQ(file->entries.size(), builtin.entries.size());

  const detail::RuleDecision d = detail::decide_device_order(builtin, make(depthwise_desc()));
  EXPECT_EQ(d.order, builtin.default_order);
  EXPECT_TRUE(contains(d.reason, "no measured entries yet")) << d.reason;
}

TEST(AutoRule, ParsesEntriesWithTheirEvidence) {
  Result<AutoRule> r = detail::parse_auto_rule(kTwoEntryRule, "test.json");
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  ASSERT_EQ(r->entries.size(), 2u);
  const detail::AutoRuleEntry& a = r->entries[0];
  EXPECT_EQ(a.prefer, "cudnn");
  EXPECT_EQ(a.match.ops, (std::vector<Op>{Op::kConv2d}));
  EXPECT_EQ(a.match.dtypes, (std::vector<DType>{DType::kF16, DType::kBF16}));
  EXPECT_EQ(a.match.channels_min, 64);
  EXPECT_EQ(a.match.dilation_max, 1);
  EXPECT_EQ(a.evidence.card, "Test Card A");
  EXPECT_EQ(a.evidence.commit, "abc123");
  EXPECT_DOUBLE_EQ(a.evidence.speedup, 1.5);
  EXPECT_EQ(a.evidence.cases, 12);
  const detail::AutoRuleEntry& b = r->entries[1];
  EXPECT_EQ(b.match.kernels.size(), 2u);
  EXPECT_EQ(b.match.strides, (std::vector<std::pair<int64_t, int64_t>>{{1, 1}}));
  EXPECT_EQ(b.match.has_bias, 0);
  EXPECT_EQ(b.match.spatial_max, 10000);
  EXPECT_EQ(b.evidence.results, "bench/results/x/results.json");
}

TEST(AutoRule, FirstMatchingEntryDecidesTheOrder) {
  Result<AutoRule> r = detail::parse_auto_rule(kTwoEntryRule, "test.json");
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();

  ProblemDesc conv;
  conv.op = Op::kConv2d;
  conv.height = conv.width = 16;
  conv.channels = 64;
  conv.out_channels = 32;
  conv.kernel_h = conv.kernel_w = 3;
  conv.dtype = DType::kF16;
  detail::RuleDecision d = detail::decide_device_order(*r, make(conv));
  EXPECT_EQ(d.order, (std::vector<std::string>{"cudnn", "cuda"}));
  EXPECT_TRUE(contains(d.reason, "entry 0")) << d.reason;
  EXPECT_TRUE(contains(d.reason, "Test Card A")) << d.reason;
  EXPECT_TRUE(contains(d.reason, "1.5x")) << d.reason;

  // Each condition of entry 0 taken away in turn: f32, too few channels, dilated.
  ProblemDesc miss = conv;
  miss.dtype = DType::kF32;
  EXPECT_EQ(detail::decide_device_order(*r, make(miss)).order, r->default_order);
  miss = conv;
  miss.channels = 63;
  EXPECT_EQ(detail::decide_device_order(*r, make(miss)).order, r->default_order);
  miss = conv;
  miss.dilation_h = 2;
  d = detail::decide_device_order(*r, make(miss));
  EXPECT_EQ(d.order, r->default_order);
  EXPECT_TRUE(contains(d.reason, "no entry")) << d.reason;

  ProblemDesc dw = depthwise_desc();
  dw.height = dw.width = 100;  // spatial 10000: at the bound
  d = detail::decide_device_order(*r, make(dw));
  EXPECT_EQ(d.order, (std::vector<std::string>{"cuda", "cudnn"}));
  EXPECT_TRUE(contains(d.reason, "entry 1")) << d.reason;
  dw.width = 101;  // spatial 10100: above
  EXPECT_TRUE(contains(detail::decide_device_order(*r, make(dw)).reason, "no entry"));
  dw = depthwise_desc();
  dw.has_bias = true;
  EXPECT_TRUE(contains(detail::decide_device_order(*r, make(dw)).reason, "no entry"));
  dw = depthwise_desc();
  dw.kernel_h = 5;  // 5x3 is not in [[3,3],[5,5]]
  EXPECT_TRUE(contains(detail::decide_device_order(*r, make(dw)).reason, "no entry"));
  dw = depthwise_desc();
  dw.layout = Layout::kNCHW;
  EXPECT_TRUE(contains(detail::decide_device_order(*r, make(dw)).reason, "no entry"));
}

TEST(AutoRule, MalformedRulesAreFormatErrorsNamingTheField) {
  const std::string head = R"({"format": "dsconv-auto-rule", "version": 1, "default_order": ["cuda", "cudnn"], )";
  const std::string ev = R"("evidence": {"card": "X"})";
  struct Case {
    std::string json;
    std::string expect;  // in the message
  };
  const Case cases[] = {
      {"{\"format\": \"dsconv-auto-rule\",\n  \"version\": 1,,}", "line 2, column 16: expected a string key"},
      {"[1, 2]", "the top level must be an object"},
      {R"({"format": "other", "version": 1, "default_order": [], "entries": []})", "format"},
      {R"({"format": "dsconv-auto-rule", "version": 2, "default_order": [], "entries": []})", "version"},
      {head + R"("entries": [], "extra": 1})", "unknown key \"extra\""},
      {R"({"format": "dsconv-auto-rule", "version": 1, "entries": []})", "default_order is required"},
      {R"({"format": "dsconv-auto-rule", "version": 1, "default_order": ["cpu-ref"], "entries": []})",
       "not a device backend"},
      {R"({"format": "dsconv-auto-rule", "version": 1, "default_order": ["cuda", "cuda"], "entries": []})", "twice"},
      {head + "\"entries\": {}}", "entries must be an array"},
      {head + R"("entries": [{"prefer": "cudnn", "match": {}}]})", "entries[0].evidence is required"},
      {head + R"("entries": [{"prefer": "cudnn", "match": {}, "evidence": {"date": "d"}}]})",
       "entries[0].evidence.card is required"},
      {head + R"("entries": [{"prefer": "tensorrt", "match": {}, )" + ev + "}]}", "entries[0].prefer"},
      {head + R"("entries": [{"prefer": "cuda", "match": {"kernels": [[3,3]]}, )" + ev + "}]}",
       "unknown key \"kernels\""},
      {head + R"("entries": [{"prefer": "cuda", "match": {"dtype": "f64"}, )" + ev + "}]}", "entries[0].match.dtype"},
      {head + R"("entries": [{"prefer": "cuda", "match": {"kernel": [3, 3]}, )" + ev + "}]}", "[h, w] pairs"},
      {head + R"("entries": [{"prefer": "cuda", "match": {"channels_min": -1}, )" + ev + "}]}", "non-negative integer"},
      {head + R"("entries": [{"prefer": "cuda", "match": {"channels_min": 2.5}, )" + ev + "}]}",
       "non-negative integer"},
      {head + R"("entries": [{"prefer": "cuda", "match": {"op": []}, )" + ev + "}]}", "empty list"},
      {head + R"("entries": [{"prefer": "cuda", "match": {"has_bias": 1}, )" + ev + "}]}", "must be a boolean"},
      {head + R"("entries": [{"prefer": "cuda", "match": {}, "evidence": {"card": "X", "speedup": 0}}]})",
       "speedup must be > 0"},
      {head + R"("entries": [], "entries": []})", "duplicate key"},
      {head + R"("entries": [])", "expected ',' or '}'"},
      {R"({"format": "dsconv-auto-rule\u0021"})", "format"},
      {"", "unexpected end of input"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.json);
    Result<AutoRule> r = detail::parse_auto_rule(c.json, "bad.json");
    ASSERT_FALSE(r.is_ok());
    EXPECT_EQ(r.status().code(), StatusCode::kFormatError) << r.status().to_string();
    EXPECT_TRUE(contains(r.status().message(), "bad.json")) << r.status().message();
    EXPECT_TRUE(contains(r.status().message(), c.expect)) << r.status().message();
  }
}

TEST(AutoRule, MissingFileIsAnIoError) {
  Result<AutoRule> r = detail::load_auto_rule_file("/nonexistent/dsconv/auto_rule.json");
  ASSERT_FALSE(r.is_ok());
  EXPECT_EQ(r.status().code(), StatusCode::kIoError);
  EXPECT_TRUE(contains(r.status().message(), "/nonexistent/dsconv/auto_rule.json")) << r.status().message();
}

// ---------------------------------------------------------------------------------------------
// The choice, over fake backends
// ---------------------------------------------------------------------------------------------

using testing::FakeImpl;

class FakeBackend final : public Backend {
 public:
  FakeBackend(std::string name, MemorySpace space) : name_(std::move(name)), space_(space) {}
  const char* name() const override { return name_.c_str(); }
  MemorySpace memory_space() const override { return space_; }
  bool available(std::string* why) const override {
    if (!available_ && why) *why = "no CUDA device: fake";
    return available_;
  }
  const std::vector<detail::ImplList>& lists() const override {
    static const std::vector<detail::ImplList> lists = {{Op::kDepthwise, Direction::kForward, {offer}},
                                                        {Op::kConv2d, Direction::kForward, {offer}},
                                                        {Op::kSeparable, Direction::kForward, {offer}}};
    return lists;
  }
  // The walker applies the options' filters to what this offers.
  static detail::Offer offer(const detail::OfferContext& ctx) {
    const auto& self = static_cast<const FakeBackend&>(ctx.backend);
    ++self.selects;
    const std::string impl = self.name_ + "_impl";
    if (!self.accepts_) return detail::Offer::decline(impl, "fake decline");
    return detail::Offer::accept(std::make_unique<FakeImpl>(impl));
  }

  bool available_ = true;
  bool accepts_ = true;
  mutable std::atomic<int> selects{0};

 private:
  std::string name_;
  MemorySpace space_;
};

struct Fakes {
  FakeBackend cuda{"cuda", MemorySpace::kDevice};
  FakeBackend cudnn{"cudnn", MemorySpace::kDevice};
  FakeBackend cpu{"cpu-ref", MemorySpace::kHost};
  std::vector<const Backend*> list() const { return {&cuda, &cudnn, &cpu}; }
};

// A timer that reports fixed microseconds per backend and counts its calls.
struct FakeTimer {
  std::map<std::string, double> us;
  std::atomic<int> calls{0};
  AutoHooks hooks(const std::string& device = "fake-gpu") {
    AutoHooks h;
    h.timer = [this](const Problem&, const detail::Impl& impl) -> Result<double> {
      ++calls;
      const std::string backend = impl.name().substr(0, impl.name().find('_'));
      auto it = us.find(backend);
      if (it == us.end()) return Status(StatusCode::kDeviceError, "fake timing failure");
      return it->second;
    };
    h.device_key = [device] { return device; };
    return h;
  }
};

bool rejected(const AutoChoice& c, const std::string& backend, const std::string& reason_part) {
  for (const Rejection& r : c.rejections)
    if (r.backend == backend && contains(r.reason, reason_part)) return true;
  return false;
}

std::string dump(const AutoChoice& c) {
  std::string s = "why: " + c.why + "\nstatus: " + c.status.to_string() + "\n";
  for (const Rejection& r : c.rejections)
    s += "rejected " + r.backend + "/" + r.implementation + ": " + r.reason + "\n";
  return s;
}

AutoRule rule_preferring_cudnn_for_f16() {
  Result<AutoRule> r = detail::parse_auto_rule(R"({"format": "dsconv-auto-rule", "version": 1,
    "default_order": ["cuda", "cudnn"],
    "entries": [{"prefer": "cudnn", "match": {"dtype": "f16"}, "evidence": {"card": "Fake GPU"}}]})",
                                               "fake.json");
  EXPECT_TRUE(r.is_ok()) << r.status().to_string();
  return r.is_ok() ? *r : AutoRule{};
}

TEST(AutoChoice, FollowsTheRuleOrderAndSaysWhy) {
  Fakes f;
  const AutoRule rule = rule_preferring_cudnn_for_f16();
  AutoChoice c = detail::choose_auto(make(depthwise_desc(DType::kF16)), {}, f.list(), rule, {});
  ASSERT_NE(c.impl, nullptr) << dump(c);
  EXPECT_EQ(std::string(c.backend->name()), "cudnn") << dump(c);
  EXPECT_TRUE(contains(c.why, "entry 0")) << dump(c);
  EXPECT_TRUE(contains(c.why, "Fake GPU")) << dump(c);
  EXPECT_TRUE(rejected(c, "cuda", "not tried")) << dump(c);
  EXPECT_EQ(f.cuda.selects.load(), 0) << "the rule put cudnn first; cuda need not be planned";

  c = detail::choose_auto(make(depthwise_desc(DType::kF32)), {}, f.list(), rule, {});
  ASSERT_NE(c.impl, nullptr) << dump(c);
  EXPECT_EQ(std::string(c.backend->name()), "cuda") << dump(c);
  EXPECT_TRUE(contains(c.why, "no entry")) << dump(c);
  EXPECT_TRUE(rejected(c, "cudnn", "not tried")) << dump(c);
}

TEST(AutoChoice, PreferredBackendThatDeclinesGivesWayWithItsReason) {
  Fakes f;
  f.cudnn.accepts_ = false;
  AutoChoice c =
      detail::choose_auto(make(depthwise_desc(DType::kF16)), {}, f.list(), rule_preferring_cudnn_for_f16(), {});
  ASSERT_NE(c.impl, nullptr) << dump(c);
  EXPECT_EQ(std::string(c.backend->name()), "cuda") << dump(c);
  EXPECT_TRUE(rejected(c, "cudnn", "fake decline")) << dump(c);
  EXPECT_TRUE(contains(c.why, "declined")) << dump(c);
}

TEST(AutoChoice, WithoutAUsableDeviceTheHostBackendRuns) {
  Fakes f;
  f.cuda.available_ = false;
  f.cudnn.available_ = false;
  AutoChoice c = detail::choose_auto(make(depthwise_desc()), {}, f.list(), detail::builtin_auto_rule(), {});
  ASSERT_NE(c.impl, nullptr) << dump(c);
  EXPECT_EQ(std::string(c.backend->name()), "cpu-ref") << dump(c);
  EXPECT_TRUE(rejected(c, "cuda", "unavailable: no CUDA device")) << dump(c);
  EXPECT_TRUE(rejected(c, "cudnn", "unavailable: no CUDA device")) << dump(c);
  EXPECT_TRUE(contains(c.why, "no device backend is usable")) << dump(c);
  EXPECT_EQ(f.cuda.selects.load() + f.cudnn.selects.load(), 0);
}

TEST(AutoChoice, WhenNothingAcceptsTheStatusListsEveryReason) {
  Fakes f;
  f.cuda.accepts_ = false;
  f.cudnn.available_ = false;
  f.cpu.accepts_ = false;
  AutoChoice c = detail::choose_auto(make(depthwise_desc()), {}, f.list(), detail::builtin_auto_rule(), {});
  ASSERT_EQ(c.impl, nullptr);
  EXPECT_EQ(c.status.code(), StatusCode::kNotSupported);
  for (const char* part : {"cuda/cuda_impl: fake decline", "cudnn: unavailable", "cpu-ref/cpu-ref_impl: fake decline"})
    EXPECT_TRUE(contains(c.status.message(), part)) << c.status.message();
}

TEST(AutoChoice, AutotuneTimesEveryAcceptingDeviceBackendAndCachesTheWinner) {
  detail::clear_autotune_cache();
  Fakes f;
  FakeTimer timer;
  timer.us = {{"cuda", 20.0}, {"cudnn", 7.5}};
  PlanOptions tune;
  tune.autotune = true;
  const Problem p = make(depthwise_desc());
  AutoChoice c = detail::choose_auto(p, tune, f.list(), detail::builtin_auto_rule(), timer.hooks());
  ASSERT_NE(c.impl, nullptr) << dump(c);
  EXPECT_EQ(std::string(c.backend->name()), "cudnn") << dump(c);
  EXPECT_EQ(timer.calls.load(), 2);
  EXPECT_TRUE(contains(c.why, "autotune: cudnn fastest")) << dump(c);
  EXPECT_TRUE(contains(c.why, "cuda 20.0 us")) << dump(c);
  EXPECT_TRUE(contains(c.why, "cudnn 7.5 us")) << dump(c);
  EXPECT_TRUE(rejected(c, "cuda", "autotune")) << dump(c);
  EXPECT_EQ(detail::autotune_cache_size(), 1u);

  // Same problem again: the cache answers; no timing, only the winner is planned.
  const int cuda_selects = f.cuda.selects.load();
  c = detail::choose_auto(p, tune, f.list(), detail::builtin_auto_rule(), timer.hooks());
  ASSERT_NE(c.impl, nullptr) << dump(c);
  EXPECT_EQ(std::string(c.backend->name()), "cudnn");
  EXPECT_EQ(timer.calls.load(), 2);
  EXPECT_EQ(f.cuda.selects.load(), cuda_selects);
  EXPECT_TRUE(contains(c.why, "cached")) << dump(c);

  // Another device, another problem, or other skip options: separate entries, timed afresh.
  c = detail::choose_auto(p, tune, f.list(), detail::builtin_auto_rule(), timer.hooks("other-gpu"));
  EXPECT_EQ(timer.calls.load(), 4);
  ProblemDesc other = depthwise_desc();
  other.channels = 33;
  c = detail::choose_auto(make(other), tune, f.list(), detail::builtin_auto_rule(), timer.hooks());
  EXPECT_EQ(timer.calls.load(), 6);
  PlanOptions tune_skip = tune;
  tune_skip.skip_implementations = {"nothing_matches"};
  c = detail::choose_auto(p, tune_skip, f.list(), detail::builtin_auto_rule(), timer.hooks());
  EXPECT_EQ(timer.calls.load(), 8);
  EXPECT_EQ(detail::autotune_cache_size(), 4u);

  // Without autotune the rule decides, whatever the cache holds.
  c = detail::choose_auto(p, {}, f.list(), detail::builtin_auto_rule(), timer.hooks());
  EXPECT_EQ(std::string(c.backend->name()), "cuda") << dump(c);
  EXPECT_EQ(timer.calls.load(), 8);
  detail::clear_autotune_cache();
  EXPECT_EQ(detail::autotune_cache_size(), 0u);
}

TEST(AutoChoice, AutotuneSkipsACandidateWhoseTimingFails) {
  detail::clear_autotune_cache();
  Fakes f;
  FakeTimer timer;
  timer.us = {{"cudnn", 50.0}};  // cuda's timing fails
  PlanOptions tune;
  tune.autotune = true;
  AutoChoice c =
      detail::choose_auto(make(depthwise_desc()), tune, f.list(), detail::builtin_auto_rule(), timer.hooks());
  ASSERT_NE(c.impl, nullptr) << dump(c);
  EXPECT_EQ(std::string(c.backend->name()), "cudnn") << dump(c);
  EXPECT_TRUE(rejected(c, "cuda", "timing failed: fake timing failure")) << dump(c);
  EXPECT_TRUE(contains(c.why, "only cudnn")) << dump(c);
  EXPECT_EQ(detail::autotune_cache_size(), 0u) << "a one-candidate result is not a comparison worth caching";

  // When no timing works at all, the rule order decides among the device backends.
  timer.us.clear();
  c = detail::choose_auto(make(depthwise_desc()), tune, f.list(), detail::builtin_auto_rule(), timer.hooks());
  ASSERT_NE(c.impl, nullptr) << dump(c);
  EXPECT_EQ(std::string(c.backend->name()), "cuda") << dump(c);
  EXPECT_TRUE(contains(c.why, "autotune found no device backend it could time")) << dump(c);
  EXPECT_TRUE(rejected(c, "cudnn", "fake timing failure")) << dump(c);
}

TEST(AutoChoice, AutotuneWithoutATimerFollowsTheRuleAndSaysSo) {
  Fakes f;
  PlanOptions tune;
  tune.autotune = true;
  AutoChoice c = detail::choose_auto(make(depthwise_desc()), tune, f.list(), detail::builtin_auto_rule(), AutoHooks{});
  ASSERT_NE(c.impl, nullptr) << dump(c);
  EXPECT_EQ(std::string(c.backend->name()), "cuda") << dump(c);
  EXPECT_TRUE(contains(c.why, "cannot time")) << dump(c);
}

TEST(AutoChoice, ConcurrentAutotunedPlansAgreeAndShareOneCacheEntry) {
  detail::clear_autotune_cache();
  Fakes f;
  FakeTimer timer;
  timer.us = {{"cuda", 3.0}, {"cudnn", 4.0}};
  PlanOptions tune;
  tune.autotune = true;
  const Problem p = make(depthwise_desc(DType::kBF16));
  const AutoHooks hooks = timer.hooks();
  constexpr int kThreads = 8;
  std::vector<std::string> chosen(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 20; ++i) {
        AutoChoice c = detail::choose_auto(p, tune, f.list(), detail::builtin_auto_rule(), hooks);
        const std::string name = c.backend ? c.backend->name() : "none";
        if (i == 0)
          chosen[t] = name;
        else if (name != chosen[t])
          chosen[t] = "inconsistent";
      }
    });
  }
  for (std::thread& t : threads) t.join();
  for (const std::string& c : chosen) EXPECT_EQ(c, "cuda");
  EXPECT_EQ(detail::autotune_cache_size(), 1u);
  // Threads that missed the cache at the same moment may each have timed, but not every round did.
  EXPECT_LE(timer.calls.load(), 2 * kThreads);
  detail::clear_autotune_cache();
}

TEST(AutoChoice, EnvironmentVariableRequestsAutotune) {
  const char* saved = std::getenv("DSCONV_AUTOTUNE");
  const std::string keep = saved ? saved : "";
  ::unsetenv("DSCONV_AUTOTUNE");
  EXPECT_FALSE(detail::autotune_requested(PlanOptions{}));
  PlanOptions on;
  on.autotune = true;
  EXPECT_TRUE(detail::autotune_requested(on));
  for (const char* v : {"1", "on", "TRUE", "yes"}) {
    ::setenv("DSCONV_AUTOTUNE", v, 1);
    EXPECT_TRUE(detail::autotune_requested(PlanOptions{})) << v;
  }
  for (const char* v : {"0", "off", "", "2"}) {
    ::setenv("DSCONV_AUTOTUNE", v, 1);
    EXPECT_FALSE(detail::autotune_requested(PlanOptions{})) << "'" << v << "'";
  }
  if (saved)
    ::setenv("DSCONV_AUTOTUNE", keep.c_str(), 1);
  else
    ::unsetenv("DSCONV_AUTOTUNE");
}

// ---------------------------------------------------------------------------------------------
// The real library
// ---------------------------------------------------------------------------------------------

bool any_device_backend_auto_usable() {
  for (const Backend* b : detail::registered_backends()) {
    if (b->memory_space() != MemorySpace::kDevice) continue;
    std::string why;
    if (b->available(&why) && b->auto_eligible(&why)) return true;
  }
  return false;
}

TEST(AutoLibrary, WithoutAGpuAutoRunsOnTheCpuAndSaysWhy) {
  if (any_device_backend_auto_usable()) GTEST_SKIP() << "a CUDA device is usable here; see AutoLibrary.WithAGpu...";
  for (const DType dt : {DType::kF32, DType::kF16}) {
    Result<Plan> plan = Plan::create(make(depthwise_desc(dt)), "auto");
    ASSERT_TRUE(plan.is_ok()) << plan.status().to_string();
    EXPECT_EQ(plan->memory_space(), MemorySpace::kHost) << plan->explain();
    const std::string text = plan->explain();
    EXPECT_TRUE(contains(text, "auto: ")) << text;
    EXPECT_TRUE(contains(text, "chose host backend " + plan->backend())) << text;
    for (const Backend* b : detail::registered_backends()) {
      if (b->memory_space() != MemorySpace::kDevice) continue;
      EXPECT_TRUE(contains(text, std::string("rejected: ") + b->name())) << text;
    }
  }
}

TEST(AutoLibrary, WithAGpuAutoPicksADeviceBackendAndAutotuneIsCached) {
  if (!any_device_backend_auto_usable()) GTEST_SKIP() << "no CUDA device usable by auto here (CPU-only machine)";
  detail::clear_autotune_cache();
  const Problem p = make(depthwise_desc());
  Result<Plan> plan = Plan::create(p, "auto");
  ASSERT_TRUE(plan.is_ok()) << plan.status().to_string();
  EXPECT_EQ(plan->memory_space(), MemorySpace::kDevice) << plan->explain();
  EXPECT_TRUE(contains(plan->explain(), "auto: ")) << plan->explain();

  PlanOptions tune;
  tune.autotune = true;
  Result<Plan> first = Plan::create(p, "auto", tune);
  ASSERT_TRUE(first.is_ok()) << first.status().to_string();
  Result<Plan> second = Plan::create(p, "auto", tune);
  ASSERT_TRUE(second.is_ok()) << second.status().to_string();
  EXPECT_EQ(first->backend(), second->backend());
  if (contains(first->explain(), "fastest")) {  // two device backends were timed
    EXPECT_TRUE(contains(second->explain(), "cached")) << second->explain();
    EXPECT_EQ(detail::autotune_cache_size(), 1u);
  }
  std::printf("auto chose %s; autotune chose %s\n%s", plan->backend().c_str(), first->backend().c_str(),
              first->explain().c_str());
  detail::clear_autotune_cache();
}

}  // namespace
}  // namespace dsconv
