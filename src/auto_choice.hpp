// How the "auto" backend choice is made (internal).
//
//  1. Device backends (memory_space() == kDevice) come first, host backends last, as in the registry.
//  2. Among device backends the order comes from a rule derived from measurements on real GPUs: the
//     built-in copy of bench/data/auto_rule.json (or the file named by $DSCONV_AUTO_RULE). Its entries
//     match problem features; the first match names the backend to try first; otherwise default_order.
//  3. With autotune (PlanOptions::autotune or DSCONV_AUTOTUNE=1) every device backend that accepts the
//     problem is timed at plan time and the fastest is kept; the choice is cached per problem descriptor
//     (and device), so later plans for the same problem cost no timing.
//  4. The first candidate in that order that is available, auto-eligible and accepts the problem wins;
//     without a GPU that is a CPU backend. Every candidate passed over is a Rejection with its reason;
//     AutoChoice::why says how the winner was chosen (shown by Plan::explain()).
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "src/dispatch/backend.hpp"

namespace dsconv::detail {

// ---------------------------------------------------------------------------------------------
// The measured rule
// ---------------------------------------------------------------------------------------------

// Conditions of one rule entry; an absent condition matches everything. Lists match any member.
struct AutoRuleMatch {
  std::vector<Op> ops;
  std::vector<DType> dtypes;
  std::vector<Layout> layouts;
  std::vector<FilterLayout> filter_layouts;
  std::vector<PaddingMode> paddings;
  std::vector<std::pair<int64_t, int64_t>> kernels;  // (KH, KW)
  std::vector<std::pair<int64_t, int64_t>> strides;  // (SH, SW)
  std::vector<int64_t> multipliers;
  int64_t kernel_max = -1;                               // max(KH, KW) <= kernel_max
  int64_t dilation_min = -1;                             // max(DH, DW) >= dilation_min
  int64_t dilation_max = -1;                             // max(DH, DW) <= dilation_max
  int64_t channels_min = -1, channels_max = -1;          // C
  int64_t out_channels_min = -1, out_channels_max = -1;  // output channels
  int64_t spatial_min = -1, spatial_max = -1;            // H*W of the input
  int64_t batch_min = -1, batch_max = -1;
  int has_bias = -1;  // -1 any, 0 no, 1 yes
  bool matches(const Problem& p) const;
};

// Where an entry's numbers came from. card is required: a rule is only as good as the GPU it was
// measured on.
struct AutoRuleEvidence {
  std::string card;
  std::string date;
  std::string commit;
  std::string results;   // e.g. bench/results/<date>_<card>/...
  double speedup = 0.0;  // preferred backend over the next best, median over the matched cases (0: not given)
  int64_t cases = 0;
};

struct AutoRuleEntry {
  AutoRuleMatch match;
  std::string prefer;  // a device backend name: "cuda" or "cudnn"
  AutoRuleEvidence evidence;
};

struct AutoRule {
  std::string source;                      // where it was loaded from, for messages
  std::vector<std::string> default_order;  // device backends, most preferred first
  std::vector<AutoRuleEntry> entries;      // first match wins
};

// Parses the JSON text of a rule file (format "dsconv-auto-rule", version 1; see
// bench/data/auto_rule.json). Errors are kFormatError naming the field or the line:column.
Result<AutoRule> parse_auto_rule(std::string_view json, const std::string& source);
// Reads and parses a rule file (kIoError when it cannot be read).
Result<AutoRule> load_auto_rule_file(const std::string& path);
// The rule compiled into the library from bench/data/auto_rule.json.
const AutoRule& builtin_auto_rule();
// The built-in rule, or the file named by $DSCONV_AUTO_RULE when set (read once; when it cannot be
// loaded the built-in rule is used and *note says why). *note also says which rule is in use.
const AutoRule& active_auto_rule(std::string* note);

// The order in which device backends are tried for p, and why.
struct RuleDecision {
  std::vector<std::string> order;
  std::string reason;
};
RuleDecision decide_device_order(const AutoRule& rule, const Problem& p);

// ---------------------------------------------------------------------------------------------
// The choice
// ---------------------------------------------------------------------------------------------

// PlanOptions::autotune, or the environment variable DSCONV_AUTOTUNE set to 1/on/true/yes; never for a
// deterministic plan.
bool autotune_requested(const PlanOptions& options);

// Times one run of impl (median, microseconds) on the current device with scratch tensors.
using ImplTimer = std::function<Result<double>(const Problem&, const Impl&)>;

struct AutoHooks {
  ImplTimer timer;                          // null: autotune cannot time, the rule decides
  std::function<std::string()> device_key;  // keys the autotune cache (which GPU); may be null
};
// The hooks of this build: with real CUDA and cuDNN (the only build with two device backends to
// compare), a CUDA-event timer and the current device's id and name; otherwise none.
AutoHooks default_auto_hooks();

struct AutoChoice {
  const Backend* backend = nullptr;
  std::unique_ptr<Impl> impl;
  std::vector<Rejection> rejections;
  std::string why;  // how the winner was chosen
  Status status;    // why impl is null
};

// What Plan::create(problem, "auto", options) runs: the registered backends, the active rule, the
// default hooks.
AutoChoice choose_auto(const Problem& problem, const PlanOptions& options);
// The same over an explicit backend list (in registry order), rule and hooks; tests use it with fakes.
AutoChoice choose_auto(const Problem& problem, const PlanOptions& options, const std::vector<const Backend*>& backends,
                       const AutoRule& rule, const AutoHooks& hooks);

// The autotune cache (thread-safe). Entries are keyed by device key, candidate backends, skip list and
// the problem descriptor.
size_t autotune_cache_size();
void clear_autotune_cache();

}  // namespace dsconv::detail
