// Fuzz target: the auto rule reader (detail::parse_auto_rule, the JSON of bench/data/auto_rule.json
// and $DSCONV_AUTO_RULE). Either a format error naming the source, or a rule whose every entry prefers
// a device backend and names the card it was measured on; deciding the device order with it for a few
// problems gives each device backend at most once.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz/fuzz_support.hpp"
#include "src/auto_choice.hpp"

namespace {

const std::vector<dsconv::Problem>& probe_problems() {
  static const std::vector<dsconv::Problem> problems = [] {
    std::vector<dsconv::Problem> v;
    for (const char* d : {"depthwise_n1h8w8c4_k3x3", "depthwise_n32h112w112c32_k3x3_psame_f16_bias_relu6",
                          "conv2d_n1h33w33c64_k3x3_o32_d6x6_psame_nchw_oihw_bf16",
                          "separable_n2h13w11c17_k5x5_m2_o8_s2x2_pt1b2l0r3_bias"}) {
      dsconv::Result<dsconv::Problem> p = dsconv::Problem::parse(d);
      FUZZ_CHECK(p.is_ok(), std::string("probe problem ") + d + ": " + p.status().to_string());
      v.push_back(*p);
    }
    return v;
  }();
  return problems;
}

bool device_backend(const std::string& name) { return name == "cuda" || name == "cudnn"; }

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace dsconv;
  const std::string_view json(reinterpret_cast<const char*>(data), size);
  Result<detail::AutoRule> rule = detail::parse_auto_rule(json, "fuzz.json");
  if (!rule) {
    FUZZ_CHECK(rule.status().code() == StatusCode::kFormatError, "a bad rule gave " + rule.status().to_string());
    FUZZ_CHECK(rule.status().message().rfind("fuzz.json: ", 0) == 0,
               "the message does not name the source: " + rule.status().message());
    return 0;
  }
  FUZZ_CHECK(rule->source == "fuzz.json", "the rule lost its source");
  for (const std::string& n : rule->default_order) {
    FUZZ_CHECK(device_backend(n), "default_order names " + n);
    FUZZ_CHECK(std::count(rule->default_order.begin(), rule->default_order.end(), n) == 1,
               "default_order repeats " + n);
  }
  for (const detail::AutoRuleEntry& e : rule->entries) {
    FUZZ_CHECK(device_backend(e.prefer), "an entry prefers " + e.prefer);
    FUZZ_CHECK(!e.evidence.card.empty(), "an entry without a card was accepted");
  }
  for (const Problem& p : probe_problems()) {
    const detail::RuleDecision d = detail::decide_device_order(*rule, p);
    FUZZ_CHECK(!d.reason.empty(), "a decision without a reason");
    for (const std::string& n : d.order) {
      FUZZ_CHECK(device_backend(n), "the decided order names " + n);
      FUZZ_CHECK(std::count(d.order.begin(), d.order.end(), n) == 1, "the decided order repeats " + n);
    }
  }
  return 0;
}
