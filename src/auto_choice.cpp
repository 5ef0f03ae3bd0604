// The "auto" backend choice: the measured rule (bench/data/auto_rule.json, compiled in), its loader, and
// the choice itself with the optional autotune mode. See auto_choice.hpp for the order of decisions.
#include "src/auto_choice.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <mutex>
#include <set>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace dsconv::detail {

// Generated at configure time from bench/data/auto_rule.json (see src/auto_choice.cmake).
extern const char kBuiltinAutoRuleJson[];
extern const char kBuiltinAutoRuleSource[];

namespace {

// ---------------------------------------------------------------------------------------------
// Reading the JSON (nlohmann::json; its exceptions never leave this file)
// ---------------------------------------------------------------------------------------------

using Json = nlohmann::ordered_json;  // keys in file order, so the first bad key reported is the first written

// Deeper than any rule needs; refusing it keeps a hostile file from building a deep document.
constexpr int kMaxDepth = 64;

// nlohmann's parse error "[json.exception.parse_error.101] parse error at line 2, column 16: syntax error
// while parsing object key - unexpected ','; expected string literal", restated in the rule's words:
// "line 2, column 16: expected a string key (unexpected ','; expected string literal)".
std::string describe_syntax_error(const std::string& what) {
  const std::string at = "parse error at ";
  const size_t where = what.find(at);
  const size_t colon = where == std::string::npos ? where : what.find(": ", where);
  if (colon == std::string::npos) return what;
  const std::string position = what.substr(where + at.size(), colon - where - at.size());
  std::string detail = what.substr(colon + 2);
  std::string context;
  const std::string parsing = "syntax error while parsing ";
  if (detail.rfind(parsing, 0) == 0) {
    const size_t dash = detail.find(" - ");
    if (dash != std::string::npos) {
      context = detail.substr(parsing.size(), dash - parsing.size());
      detail = detail.substr(dash + 3);
    }
  }
  const char* expected = context == "object key"         ? "expected a string key"
                         : context == "object separator" ? "expected ':' after a key"
                         : context == "object"           ? "expected ',' or '}' in an object"
                         : context == "array"            ? "expected ',' or ']' in an array"
                                                         : nullptr;
  return position + ": " + (expected ? std::string(expected) + " (" + detail + ")" : detail);
}

// The document, or a kFormatError naming the line and column. Duplicate keys, which nlohmann would
// silently resolve to the last one, are errors here: a rule with two "entries" is a mistake.
Result<Json> read_json(std::string_view text, const std::string& source) {
  std::vector<std::set<std::string>> keys;  // per open object
  std::string problem;
  const Json::parser_callback_t check = [&](int depth, Json::parse_event_t event, Json& parsed) {
    switch (event) {
      case Json::parse_event_t::object_start:
      case Json::parse_event_t::array_start:
        if (depth > kMaxDepth) {
          if (problem.empty()) problem = "nesting deeper than " + std::to_string(kMaxDepth) + " levels";
          return false;  // not kept: the document stays shallow
        }
        if (event == Json::parse_event_t::object_start) keys.emplace_back();
        return true;
      case Json::parse_event_t::object_end:
        if (!keys.empty()) keys.pop_back();
        return true;
      case Json::parse_event_t::key:
        if (!keys.empty() && !keys.back().insert(parsed.get<std::string>()).second && problem.empty())
          problem = "duplicate key \"" + parsed.get<std::string>() + "\"";
        return true;
      default:
        return true;
    }
  };
  try {
    Json doc = Json::parse(text.begin(), text.end(), check);
    if (!problem.empty()) return Status(StatusCode::kFormatError, source + ": " + problem);
    return doc;
  } catch (const Json::parse_error& e) {
    return Status(StatusCode::kFormatError, source + ": " + describe_syntax_error(e.what()));
  } catch (const Json::exception& e) {  // e.g. a number too large for a double
    return Status(StatusCode::kFormatError, source + ": " + e.what());
  }
}

// ---------------------------------------------------------------------------------------------
// Rule fields
// ---------------------------------------------------------------------------------------------

// The JSON type a field must have, with its name for messages.
struct Kind {
  const char* name;
  bool (*is)(const Json&);
};
const Kind kObject{"an object", [](const Json& v) { return v.is_object(); }};
const Kind kArray{"an array", [](const Json& v) { return v.is_array(); }};
const Kind kString{"a string", [](const Json& v) { return v.is_string(); }};
const Kind kNumber{"a number", [](const Json& v) { return v.is_number(); }};
const Kind kBool{"a boolean", [](const Json& v) { return v.is_boolean(); }};

const char* kind_name(const Json& v) {
  for (const Kind* k : {&kObject, &kArray, &kString, &kNumber, &kBool})
    if (k->is(v)) return k->name;
  return "null";
}

std::string format_number(double v) {
  std::ostringstream os;
  os << v;
  return os.str();
}

// Checks of one rule file's fields; every error is a kFormatError "<source>: <field> <what>".
class RuleReader {
 public:
  explicit RuleReader(std::string source) : source_(std::move(source)) {}

  Status error(const std::string& field, const std::string& what) const {
    return Status(StatusCode::kFormatError, source_ + ": " + field + " " + what);
  }

  Status expect(const Json& v, const Kind& kind, const std::string& field) const {
    if (!kind.is(v)) return error(field, std::string("must be ") + kind.name + ", got " + kind_name(v));
    return Status::ok();
  }

  Status keys(const Json& obj, const std::string& field, std::initializer_list<const char*> allowed) const {
    for (const auto& kv : obj.items()) {
      if (std::none_of(allowed.begin(), allowed.end(), [&](const char* a) { return kv.key() == a; })) {
        std::string list;
        for (const char* a : allowed) list += (list.empty() ? "" : ", ") + std::string(a);
        return error(field, "has unknown key \"" + kv.key() + "\" (allowed: " + list + ")");
      }
    }
    return Status::ok();
  }

  Status integer(const Json& v, const std::string& field, int64_t* out) const {
    if (Status s = expect(v, kNumber, field); !s) return s;
    const double d = v.get<double>();
    if (d < 0 || d > 9.0e15 || std::floor(d) != d)
      return error(field, "must be a non-negative integer, got " + format_number(d));
    *out = static_cast<int64_t>(d);
    return Status::ok();
  }

  // A string or an array of strings, each parsed by `parse`.
  template <class T, class Parse>
  Status enum_list(const Json& v, const std::string& field, Parse parse, std::vector<T>* out) const {
    if (!v.is_string() && !v.is_array())
      return error(field, std::string("must be a string or an array of strings, got ") + kind_name(v));
    for (const Json& e : v.is_string() ? Json::array({v}) : v) {
      if (Status s = expect(e, kString, field); !s) return s;
      Result<T> r = parse(e.get<std::string>());
      if (!r) return error(field, "has a bad value: " + r.status().message());
      out->push_back(*r);
    }
    if (out->empty()) return error(field, "must not be an empty list");
    return Status::ok();
  }

  // [[a, b], ...]
  Status pair_list(const Json& v, const std::string& field, std::vector<std::pair<int64_t, int64_t>>* out) const {
    if (Status s = expect(v, kArray, field); !s) return s;
    for (const Json& e : v) {
      if (!e.is_array() || e.size() != 2) return error(field, "must be an array of [h, w] pairs");
      int64_t a = 0, b = 0;
      if (Status s = integer(e[0], field, &a); !s) return s;
      if (Status s = integer(e[1], field, &b); !s) return s;
      out->emplace_back(a, b);
    }
    if (out->empty()) return error(field, "must not be an empty list");
    return Status::ok();
  }

 private:
  std::string source_;
};

// The device backends a rule may order (names from the registry, built here or not).
const char* const kDeviceBackendNames[] = {backend_names::kCuda, backend_names::kCudnn};

bool known_device_backend(const std::string& name) {
  for (const char* n : kDeviceBackendNames)
    if (name == n) return true;
  return false;
}

Status read_match(const RuleReader& r, const Json& m, const std::string& field, AutoRuleMatch* out) {
  if (Status s = r.expect(m, kObject, field); !s) return s;
  if (Status s =
          r.keys(m, field, {"op",           "dtype",        "layout",       "filter_layout",    "padding",
                            "kernel",       "stride",       "multiplier",   "kernel_max",       "dilation_min",
                            "dilation_max", "channels_min", "channels_max", "out_channels_min", "out_channels_max",
                            "spatial_min",  "spatial_max",  "batch_min",    "batch_max",        "has_bias"});
      !s)
    return s;
  const std::pair<const char*, int64_t*> bounds[] = {{"kernel_max", &out->kernel_max},
                                                     {"dilation_min", &out->dilation_min},
                                                     {"dilation_max", &out->dilation_max},
                                                     {"channels_min", &out->channels_min},
                                                     {"channels_max", &out->channels_max},
                                                     {"out_channels_min", &out->out_channels_min},
                                                     {"out_channels_max", &out->out_channels_max},
                                                     {"spatial_min", &out->spatial_min},
                                                     {"spatial_max", &out->spatial_max},
                                                     {"batch_min", &out->batch_min},
                                                     {"batch_max", &out->batch_max}};
  for (const auto& kv : m.items()) {
    const std::string& key = kv.key();
    const Json& v = kv.value();
    const std::string f = field + "." + key;
    Status s;
    if (key == "op") {
      s = r.enum_list<Op>(v, f, parse_op, &out->ops);
    } else if (key == "dtype") {
      s = r.enum_list<DType>(v, f, parse_dtype, &out->dtypes);
    } else if (key == "layout") {
      s = r.enum_list<Layout>(v, f, parse_layout, &out->layouts);
    } else if (key == "filter_layout") {
      s = r.enum_list<FilterLayout>(v, f, parse_filter_layout, &out->filter_layouts);
    } else if (key == "padding") {
      s = r.enum_list<PaddingMode>(v, f, parse_padding_mode, &out->paddings);
    } else if (key == "kernel") {
      s = r.pair_list(v, f, &out->kernels);
    } else if (key == "stride") {
      s = r.pair_list(v, f, &out->strides);
    } else if (key == "multiplier") {
      s = r.expect(v, kArray, f);
      for (size_t i = 0; s && i < v.size(); ++i) {
        int64_t x = 0;
        s = r.integer(v[i], f, &x);
        out->multipliers.push_back(x);
      }
      if (s && out->multipliers.empty()) s = r.error(f, "must not be an empty list");
    } else if (key == "has_bias") {
      s = r.expect(v, kBool, f);
      if (s) out->has_bias = v.get<bool>() ? 1 : 0;
    } else {
      for (const auto& [name, target] : bounds)
        if (key == name) s = r.integer(v, f, target);
    }
    if (!s) return s;
  }
  return Status::ok();
}

Status read_evidence(const RuleReader& r, const Json& e, const std::string& field, AutoRuleEvidence* out) {
  if (Status s = r.expect(e, kObject, field); !s) return s;
  if (Status s = r.keys(e, field, {"card", "date", "commit", "results", "command", "speedup", "cases"}); !s) return s;
  for (const auto& kv : e.items()) {
    const std::string& key = kv.key();
    const Json& v = kv.value();
    const std::string f = field + "." + key;
    if (key == "speedup") {
      if (Status s = r.expect(v, kNumber, f); !s) return s;
      if (!(v.get<double>() > 0)) return r.error(f, "must be > 0, got " + format_number(v.get<double>()));
      out->speedup = v.get<double>();
    } else if (key == "cases") {
      if (Status s = r.integer(v, f, &out->cases); !s) return s;
    } else {
      if (Status s = r.expect(v, kString, f); !s) return s;
      std::string* target = key == "card"      ? &out->card
                            : key == "date"    ? &out->date
                            : key == "commit"  ? &out->commit
                            : key == "results" ? &out->results
                                               : nullptr;  // "command": checked, not kept
      if (target != nullptr) *target = v.get<std::string>();
    }
  }
  if (out->card.empty())
    return r.error(field + ".card", "is required: every measured entry names the GPU it came from");
  return Status::ok();
}

std::string join(const std::vector<std::string>& v, const char* sep = ", ") {
  std::string s;
  for (const std::string& x : v) s += (s.empty() ? "" : sep) + x;
  return s;
}

std::string describe_evidence(const AutoRuleEvidence& e) {
  std::string s = "measured on " + e.card;
  if (!e.date.empty()) s += ", " + e.date;
  if (!e.commit.empty()) s += ", commit " + e.commit;
  if (e.speedup > 0) s += ", " + format_number(e.speedup) + "x";
  if (e.cases > 0) s += " over " + std::to_string(e.cases) + " cases";
  return s;
}

AutoRule fallback_rule(const std::string& why) {
  AutoRule r;
  r.source = std::string("fallback (") + why + ")";
  r.default_order = {backend_names::kCuda, backend_names::kCudnn};
  return r;
}

bool env_flag(const char* name) {
  const char* v = std::getenv(name);
  if (v == nullptr) return false;
  std::string s(v);
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s == "1" || s == "on" || s == "true" || s == "yes";
}

// ---------------------------------------------------------------------------------------------
// The autotune cache
// ---------------------------------------------------------------------------------------------

struct TuneRecord {
  std::string backend;
  std::string summary;  // the timings that decided it
};

std::mutex& cache_mutex() {
  static std::mutex m;
  return m;
}
std::map<std::string, TuneRecord>& cache() {
  static std::map<std::string, TuneRecord> c;
  return c;
}

std::string format_us(double us) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f us", us);
  return buf;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Rule: parse, load, match, decide
// ---------------------------------------------------------------------------------------------

bool AutoRuleMatch::matches(const Problem& p) const {
  auto in = [](const auto& list, const auto& v) {
    return list.empty() || std::find(list.begin(), list.end(), v) != list.end();
  };
  auto at_least = [](int64_t bound, int64_t v) { return bound < 0 || v >= bound; };
  auto at_most = [](int64_t bound, int64_t v) { return bound < 0 || v <= bound; };
  const int64_t dil = std::max(p.dilation_h(), p.dilation_w());
  return in(ops, p.op()) && in(dtypes, p.dtype()) && in(layouts, p.layout()) && in(filter_layouts, p.filter_layout()) &&
         in(paddings, p.desc().padding) && in(kernels, std::make_pair(p.kh(), p.kw())) &&
         in(strides, std::make_pair(p.stride_h(), p.stride_w())) && in(multipliers, p.m()) &&
         at_most(kernel_max, std::max(p.kh(), p.kw())) && at_least(dilation_min, dil) && at_most(dilation_max, dil) &&
         at_least(channels_min, p.c()) && at_most(channels_max, p.c()) &&
         at_least(out_channels_min, p.out_channels()) && at_most(out_channels_max, p.out_channels()) &&
         at_least(spatial_min, p.h() * p.w()) && at_most(spatial_max, p.h() * p.w()) && at_least(batch_min, p.n()) &&
         at_most(batch_max, p.n()) && (has_bias < 0 || (has_bias == 1) == p.has_bias());
}

namespace {

Result<AutoRule> read_rule(const Json& root, const std::string& source) {
  const RuleReader r(source);
  if (Status s = r.expect(root, kObject, "the top level"); !s) return s;
  if (Status s = r.keys(root, "the top level", {"format", "version", "description", "default_order", "entries"}); !s)
    return s;
  const auto format = root.find("format");
  if (format == root.end() || !format->is_string() || format->get<std::string>() != "dsconv-auto-rule")
    return r.error("format", "must be \"dsconv-auto-rule\"");
  const auto version = root.find("version");
  if (version == root.end() || !version->is_number() || version->get<double>() != 1)
    return r.error("version", "must be 1 (the only version this library reads)");

  AutoRule rule;
  rule.source = source;
  const auto order = root.find("default_order");
  if (order == root.end()) return r.error("default_order", "is required");
  if (Status s = r.expect(*order, kArray, "default_order"); !s) return s;
  for (const Json& e : *order) {
    if (Status s = r.expect(e, kString, "default_order[]"); !s) return s;
    const std::string name = e.get<std::string>();
    if (!known_device_backend(name))
      return r.error("default_order", "names \"" + name + "\", which is not a device backend (cuda, cudnn)");
    if (std::find(rule.default_order.begin(), rule.default_order.end(), name) != rule.default_order.end())
      return r.error("default_order", "names \"" + name + "\" twice");
    rule.default_order.push_back(name);
  }

  const auto entries = root.find("entries");
  if (entries == root.end()) return r.error("entries", "is required (an empty array when nothing is measured yet)");
  if (Status s = r.expect(*entries, kArray, "entries"); !s) return s;
  for (size_t i = 0; i < entries->size(); ++i) {
    const Json& e = (*entries)[i];
    const std::string f = "entries[" + std::to_string(i) + "]";
    if (Status s = r.expect(e, kObject, f); !s) return s;
    if (Status s = r.keys(e, f, {"prefer", "match", "evidence", "comment"}); !s) return s;
    AutoRuleEntry entry;
    const auto prefer = e.find("prefer");
    if (prefer == e.end() || !prefer->is_string()) return r.error(f + ".prefer", "is required (a string)");
    entry.prefer = prefer->get<std::string>();
    if (!known_device_backend(entry.prefer))
      return r.error(f + ".prefer", "names \"" + entry.prefer + "\", which is not a device backend (cuda, cudnn)");
    const auto match = e.find("match");
    if (match == e.end()) return r.error(f + ".match", "is required (an empty object matches every problem)");
    if (Status s = read_match(r, *match, f + ".match", &entry.match); !s) return s;
    const auto evidence = e.find("evidence");
    if (evidence == e.end()) return r.error(f + ".evidence", "is required: say where the measurement came from");
    if (Status s = read_evidence(r, *evidence, f + ".evidence", &entry.evidence); !s) return s;
    if (const auto comment = e.find("comment"); comment != e.end())
      if (Status s = r.expect(*comment, kString, f + ".comment"); !s) return s;
    rule.entries.push_back(std::move(entry));
  }
  return rule;
}

}  // namespace

Result<AutoRule> parse_auto_rule(std::string_view json, const std::string& source) {
  Result<Json> doc = read_json(json, source);
  if (!doc) return doc.status();
  // Every access is checked before it is made; the catch keeps that promise should one be missed.
  try {
    return read_rule(*doc, source);
  } catch (const Json::exception& e) {
    return Status(StatusCode::kFormatError, source + ": " + e.what());
  }
}

Result<AutoRule> load_auto_rule_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status(StatusCode::kIoError, "cannot open auto rule file '" + path + "'");
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) return Status(StatusCode::kIoError, "cannot read auto rule file '" + path + "'");
  return parse_auto_rule(text.str(), path);
}

const AutoRule& builtin_auto_rule() {
  static const AutoRule rule = [] {
    Result<AutoRule> r = parse_auto_rule(kBuiltinAutoRuleJson, std::string(kBuiltinAutoRuleSource) + " (built in)");
    return r ? std::move(r).value() : fallback_rule("the built-in rule does not parse: " + r.status().message());
  }();
  return rule;
}

const AutoRule& active_auto_rule(std::string* note) {
  struct Active {
    const AutoRule* rule;
    AutoRule loaded;
    std::string note;
  };
  // Heap-allocated and never freed: rule points into loaded, and plans may be made during static destruction.
  static const Active* active = [] {
    auto* a = new Active{&builtin_auto_rule(), AutoRule{}, ""};
    const char* path = std::getenv("DSCONV_AUTO_RULE");
    if (path != nullptr && *path != '\0') {
      Result<AutoRule> r = load_auto_rule_file(path);
      if (r) {
        a->loaded = std::move(r).value();
        a->rule = &a->loaded;
        a->note = std::string("rule from DSCONV_AUTO_RULE=") + path;
      } else {
        a->note = std::string("DSCONV_AUTO_RULE=") + path + " could not be used (" + r.status().message() +
                  "); using the built-in rule";
      }
    }
    return a;
  }();
  if (note != nullptr) *note = active->note;
  return *active->rule;
}

RuleDecision decide_device_order(const AutoRule& rule, const Problem& p) {
  RuleDecision d;
  for (size_t i = 0; i < rule.entries.size(); ++i) {
    const AutoRuleEntry& e = rule.entries[i];
    if (!e.match.matches(p)) continue;
    d.order.push_back(e.prefer);
    for (const std::string& n : rule.default_order)
      if (n != e.prefer) d.order.push_back(n);
    d.reason = "rule " + rule.source + ", entry " + std::to_string(i) + " prefers " + e.prefer + " (" +
               describe_evidence(e.evidence) + ")";
    return d;
  }
  d.order = rule.default_order;
  if (rule.entries.empty()) {
    d.reason = "rule " + rule.source + " has no measured entries yet; default device order " + join(d.order);
  } else {
    d.reason = "no entry of rule " + rule.source + " matches; default device order " + join(d.order);
  }
  return d;
}

// ---------------------------------------------------------------------------------------------
// The choice
// ---------------------------------------------------------------------------------------------

bool autotune_requested(const PlanOptions& options) {
  // A deterministic plan is not chosen by timing: which backend wins would vary from run to run.
  return !options.deterministic && (options.autotune || env_flag("DSCONV_AUTOTUNE"));
}

AutoHooks default_auto_hooks() {
  AutoHooks h;
#if defined(DSCONV_HAVE_CUDNN)
  h.timer = [](const Problem& p, const Impl& impl) { return time_device_impl_us(p, impl); };
  h.device_key = [] { return current_device_key(); };
#endif
  return h;
}

size_t autotune_cache_size() {
  std::lock_guard<std::mutex> lock(cache_mutex());
  return cache().size();
}

void clear_autotune_cache() {
  std::lock_guard<std::mutex> lock(cache_mutex());
  cache().clear();
}

AutoChoice choose_auto(const Problem& problem, const PlanOptions& options) {
  std::string note;
  const AutoRule& rule = active_auto_rule(&note);
  AutoChoice c = choose_auto(problem, options, registered_backends(), rule, default_auto_hooks());
  if (!note.empty() && c.impl) c.why = note + "; " + c.why;
  return c;
}

AutoChoice choose_auto(const Problem& problem, const PlanOptions& options, const std::vector<const Backend*>& backends,
                       const AutoRule& rule, const AutoHooks& hooks) {
  AutoChoice c;
  const RuleDecision decision = decide_device_order(rule, problem);

  // Device backends in the rule's order (those the rule does not name keep registry order after it).
  std::vector<const Backend*> device, host;
  for (const std::string& n : decision.order)
    for (const Backend* b : backends)
      if (b->memory_space() == MemorySpace::kDevice && n == b->name()) device.push_back(b);
  for (const Backend* b : backends) {
    if (b->memory_space() == MemorySpace::kHost)
      host.push_back(b);
    else if (std::find(device.begin(), device.end(), b) == device.end())
      device.push_back(b);
  }

  std::vector<const Backend*> usable;
  for (const Backend* b : device) {
    std::string why;
    if (!b->available(&why)) {
      c.rejections.push_back({b->name(), "", "unavailable: " + why});
    } else if (!b->auto_eligible(&why)) {
      c.rejections.push_back({b->name(), "", "not chosen by auto: " + why});
    } else {
      usable.push_back(b);
    }
  }

  const bool tune = autotune_requested(options);
  std::string tune_note;
  if (tune && usable.size() >= 2 && !hooks.timer)
    tune_note = "autotune requested, but this build cannot time device backends; ";
  if (options.deterministic)
    tune_note =
        "deterministic: implementations that may differ between runs are passed over, and the choice is "
        "not made by timing (no autotune); ";

  auto take = [&](const Backend* b, Selection sel, const std::string& why) {
    c.backend = b;
    c.impl = std::move(sel.impl);
    for (Rejection& r : sel.rejections) c.rejections.push_back(std::move(r));
    c.why = why;
  };

  if (tune && usable.size() >= 2 && hooks.timer) {
    const std::vector<Rejection> before_tuning = c.rejections;
    std::string key = hooks.device_key ? hooks.device_key() : std::string();
    key += "|";
    for (const Backend* b : usable) key += std::string(b->name()) + ",";
    key += "|";
    for (const std::string& s : options.skip_implementations) key += s + ",";
    key += "|";
    for (const std::string& s : options.only_implementations) key += s + ",";
    key += options.allow_tf32 ? "|tf32" : "|";
    key += "|" + problem.descriptor();

    TuneRecord cached;
    bool hit = false;
    {
      std::lock_guard<std::mutex> lock(cache_mutex());
      auto it = cache().find(key);
      if (it != cache().end()) {
        cached = it->second;
        hit = true;
      }
    }
    if (hit) {
      for (const Backend* b : usable) {
        if (cached.backend != b->name()) continue;
        Selection sel = select(*b, problem, options);
        if (sel.impl) {
          for (const Backend* o : usable)
            if (o != b) c.rejections.push_back({o->name(), "", "autotune (cached): slower; " + cached.summary});
          take(b, std::move(sel), "autotune (cached): " + cached.summary);
          return c;
        }
      }
      // The cached winner declines now (options differ only in what the key does not see): tune again.
    }

    struct Timed {
      const Backend* backend;
      Selection sel;
      double us;
    };
    std::vector<Timed> timed;
    std::vector<std::string> failures;
    for (const Backend* b : usable) {
      Selection sel = select(*b, problem, options);
      if (!sel.impl) {
        for (Rejection& r : sel.rejections) c.rejections.push_back(std::move(r));
        continue;
      }
      Result<double> us = hooks.timer(problem, *sel.impl);
      if (!us) {
        failures.push_back(std::string(b->name()) + ": " + us.status().message());
        c.rejections.push_back({b->name(), sel.impl->name(), "autotune: timing failed: " + us.status().message()});
        continue;
      }
      timed.push_back({b, std::move(sel), *us});
    }
    if (!timed.empty()) {
      size_t best = 0;
      for (size_t i = 1; i < timed.size(); ++i)
        if (timed[i].us < timed[best].us) best = i;
      std::string summary;
      for (const Timed& t : timed)
        summary += (summary.empty() ? "" : ", ") + std::string(t.backend->name()) + " " + format_us(t.us);
      summary = timed[best].backend->name() + std::string(" fastest (") + summary + ")";
      if (timed.size() >= 2) {
        std::lock_guard<std::mutex> lock(cache_mutex());
        cache()[key] = TuneRecord{timed[best].backend->name(), summary};
      }
      for (size_t i = 0; i < timed.size(); ++i) {
        if (i == best) continue;
        c.rejections.push_back({timed[i].backend->name(), timed[i].sel.impl->name(), "autotune: " + summary});
        for (Rejection& r : timed[i].sel.rejections) c.rejections.push_back(std::move(r));
      }
      take(timed[best].backend, std::move(timed[best].sel),
           timed.size() >= 2
               ? "autotune: " + summary
               : "autotune: only " + std::string(timed[best].backend->name()) + " could run and be timed");
      return c;
    }
    // Nothing could be timed: the rule order decides, and the timing failures stay on record.
    tune_note = "autotune found no device backend it could time; ";
    c.rejections = before_tuning;
    for (const std::string& f : failures) c.rejections.push_back({f.substr(0, f.find(':')), "", "autotune: " + f});
  }
  {
    for (size_t i = 0; i < usable.size(); ++i) {
      const Backend* b = usable[i];
      Selection sel = select(*b, problem, options);
      if (sel.impl) {
        std::string why = tune_note + decision.reason;
        if (i > 0) why += "; earlier device backends declined (see rejections)";
        for (size_t j = i + 1; j < usable.size(); ++j)
          c.rejections.push_back({usable[j]->name(), "", std::string("not tried: auto chose ") + b->name() + " first"});
        take(b, std::move(sel), why + "; chose " + b->name());
        return c;
      }
      for (Rejection& r : sel.rejections) c.rejections.push_back(std::move(r));
      if (!sel.status.is_ok()) c.status = sel.status;
    }
  }

  // No device backend: the host ones, in registry order (fast CPU path before the reference).
  for (const Backend* b : host) {
    std::string why;
    if (!b->available(&why)) {
      c.rejections.push_back({b->name(), "", "unavailable: " + why});
      continue;
    }
    if (!b->auto_eligible(&why)) {
      c.rejections.push_back({b->name(), "", "not chosen by auto: " + why});
      continue;
    }
    Selection sel = select(*b, problem, options);
    if (sel.impl) {
      take(b, std::move(sel),
           tune_note +
               (usable.empty() ? std::string("no device backend is usable (see rejections)")
                               : std::string("no device backend accepts the problem (see rejections)")) +
               "; chose host backend " + b->name());
      return c;
    }
    for (Rejection& r : sel.rejections) c.rejections.push_back(std::move(r));
    if (!sel.status.is_ok()) c.status = sel.status;
  }

  std::string msg = "no backend can run " + problem.descriptor();
  for (const Rejection& r : c.rejections)
    msg += "; " + (r.implementation.empty() ? r.backend : r.backend + "/" + r.implementation) + ": " + r.reason;
  c.status = Status(StatusCode::kNotSupported, msg);
  return c;
}

}  // namespace dsconv::detail
