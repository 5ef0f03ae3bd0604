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
#include <sstream>
#include <string>
#include <utility>
#include <vector>

namespace dsconv::detail {

// Generated at configure time from bench/data/auto_rule.json (see src/auto_choice.cmake).
extern const char kBuiltinAutoRuleJson[];
extern const char kBuiltinAutoRuleSource[];

namespace {

// ---------------------------------------------------------------------------------------------
// A small JSON reader: enough for the rule file (objects, arrays, strings, numbers, booleans, null).
// ---------------------------------------------------------------------------------------------

struct Json {
  enum class Kind { kNull, kBool, kNumber, kString, kArray, kObject };
  Kind kind = Kind::kNull;
  bool boolean = false;
  double number = 0.0;
  std::string string;
  std::vector<Json> array;
  std::vector<std::pair<std::string, Json>> object;

  const Json* find(const std::string& key) const {
    for (const auto& kv : object)
      if (kv.first == key) return &kv.second;
    return nullptr;
  }
};

const char* kind_name(Json::Kind k) {
  switch (k) {
    case Json::Kind::kNull:
      return "null";
    case Json::Kind::kBool:
      return "a boolean";
    case Json::Kind::kNumber:
      return "a number";
    case Json::Kind::kString:
      return "a string";
    case Json::Kind::kArray:
      return "an array";
    case Json::Kind::kObject:
      return "an object";
  }
  return "?";
}

class JsonReader {
 public:
  JsonReader(std::string_view text, std::string source) : s_(text), source_(std::move(source)) {}

  Result<Json> read() {
    Json v;
    if (!value(&v, 0)) return error_;
    skip_space();
    if (i_ != s_.size()) return fail("unexpected text after the top-level value");
    return v;
  }

 private:
  static constexpr int kMaxDepth = 64;

  Status fail(const std::string& what) {
    size_t line = 1, col = 1;
    for (size_t k = 0; k < i_ && k < s_.size(); ++k) {
      if (s_[k] == '\n') {
        ++line;
        col = 1;
      } else {
        ++col;
      }
    }
    error_ = Status(StatusCode::kFormatError,
                    source_ + ": line " + std::to_string(line) + ", column " + std::to_string(col) + ": " + what);
    return error_;
  }

  // For the bool-returning readers: records the error and reports failure.
  bool err(const std::string& what) {
    (void)fail(what);
    return false;
  }

  void skip_space() {
    while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\t' || s_[i_] == '\n' || s_[i_] == '\r')) ++i_;
  }

  bool literal(const char* word) {
    const size_t n = std::char_traits<char>::length(word);
    if (s_.substr(i_, n) != word) return false;
    i_ += n;
    return true;
  }

  bool value(Json* out, int depth) {
    if (depth > kMaxDepth) return err("nesting deeper than 64 levels");
    skip_space();
    if (i_ >= s_.size()) return err("unexpected end of input");
    const char c = s_[i_];
    if (c == '{') return object(out, depth);
    if (c == '[') return array(out, depth);
    if (c == '"') {
      out->kind = Json::Kind::kString;
      return string(&out->string);
    }
    if (c == '-' || (c >= '0' && c <= '9')) return number(out);
    if (literal("true")) {
      out->kind = Json::Kind::kBool;
      out->boolean = true;
      return true;
    }
    if (literal("false")) {
      out->kind = Json::Kind::kBool;
      return true;
    }
    if (literal("null")) {
      out->kind = Json::Kind::kNull;
      return true;
    }
    return err(std::string("unexpected character '") + c + "'");
  }

  bool object(Json* out, int depth) {
    out->kind = Json::Kind::kObject;
    ++i_;  // '{'
    skip_space();
    if (i_ < s_.size() && s_[i_] == '}') {
      ++i_;
      return true;
    }
    for (;;) {
      skip_space();
      if (i_ >= s_.size() || s_[i_] != '"') return err("expected a string key");
      std::string key;
      if (!string(&key)) return false;
      for (const auto& kv : out->object)
        if (kv.first == key) return err("duplicate key \"" + key + "\"");
      skip_space();
      if (i_ >= s_.size() || s_[i_] != ':') return err("expected ':' after a key");
      ++i_;
      Json v;
      if (!value(&v, depth + 1)) return false;
      out->object.emplace_back(std::move(key), std::move(v));
      skip_space();
      if (i_ < s_.size() && s_[i_] == ',') {
        ++i_;
        continue;
      }
      if (i_ < s_.size() && s_[i_] == '}') {
        ++i_;
        return true;
      }
      return err("expected ',' or '}' in an object");
    }
  }

  bool array(Json* out, int depth) {
    out->kind = Json::Kind::kArray;
    ++i_;  // '['
    skip_space();
    if (i_ < s_.size() && s_[i_] == ']') {
      ++i_;
      return true;
    }
    for (;;) {
      Json v;
      if (!value(&v, depth + 1)) return false;
      out->array.push_back(std::move(v));
      skip_space();
      if (i_ < s_.size() && s_[i_] == ',') {
        ++i_;
        continue;
      }
      if (i_ < s_.size() && s_[i_] == ']') {
        ++i_;
        return true;
      }
      return err("expected ',' or ']' in an array");
    }
  }

  bool string(std::string* out) {
    ++i_;  // '"'
    while (i_ < s_.size()) {
      const char c = s_[i_++];
      if (c == '"') return true;
      if (static_cast<unsigned char>(c) < 0x20) return err("control character in a string");
      if (c != '\\') {
        out->push_back(c);
        continue;
      }
      if (i_ >= s_.size()) break;
      const char e = s_[i_++];
      switch (e) {
        case '"':
          out->push_back('"');
          break;
        case '\\':
          out->push_back('\\');
          break;
        case '/':
          out->push_back('/');
          break;
        case 'b':
          out->push_back('\b');
          break;
        case 'f':
          out->push_back('\f');
          break;
        case 'n':
          out->push_back('\n');
          break;
        case 'r':
          out->push_back('\r');
          break;
        case 't':
          out->push_back('\t');
          break;
        case 'u': {
          // The rule file is ASCII in practice; other code points are kept as UTF-8 (no surrogate pairs).
          if (i_ + 4 > s_.size()) return err("truncated \\u escape");
          unsigned cp = 0;
          for (int k = 0; k < 4; ++k) {
            const char h = s_[i_++];
            cp <<= 4;
            if (h >= '0' && h <= '9')
              cp |= static_cast<unsigned>(h - '0');
            else if (h >= 'a' && h <= 'f')
              cp |= static_cast<unsigned>(h - 'a' + 10);
            else if (h >= 'A' && h <= 'F')
              cp |= static_cast<unsigned>(h - 'A' + 10);
            else
              return err("bad hex digit in \\u escape");
          }
          if (cp < 0x80) {
            out->push_back(static_cast<char>(cp));
          } else if (cp < 0x800) {
            out->push_back(static_cast<char>(0xC0 | (cp >> 6)));
            out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
          } else {
            out->push_back(static_cast<char>(0xE0 | (cp >> 12)));
            out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
            out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
          }
          break;
        }
        default:
          return err(std::string("bad escape '\\") + e + "'");
      }
    }
    return err("unterminated string");
  }

  bool number(Json* out) {
    const size_t start = i_;
    if (s_[i_] == '-') ++i_;
    while (i_ < s_.size() && (std::isdigit(static_cast<unsigned char>(s_[i_])) || s_[i_] == '.' || s_[i_] == 'e' ||
                              s_[i_] == 'E' || s_[i_] == '+' || s_[i_] == '-'))
      ++i_;
    const std::string text(s_.substr(start, i_ - start));
    char* end = nullptr;
    const double v = std::strtod(text.c_str(), &end);
    if (text.empty() || end != text.c_str() + text.size() || !std::isfinite(v)) {
      i_ = start;
      return err("bad number '" + text + "'");
    }
    out->kind = Json::Kind::kNumber;
    out->number = v;
    return true;
  }

  std::string_view s_;
  std::string source_;
  size_t i_ = 0;
  Status error_;
};

// ---------------------------------------------------------------------------------------------
// Rule fields
// ---------------------------------------------------------------------------------------------

class RuleReader {
 public:
  explicit RuleReader(std::string source) : source_(std::move(source)) {}

  Status error(const std::string& field, const std::string& what) const {
    return Status(StatusCode::kFormatError, source_ + ": " + field + " " + what);
  }

  Status expect(const Json& v, Json::Kind kind, const std::string& field) const {
    if (v.kind != kind) return error(field, std::string("must be ") + kind_name(kind) + ", got " + kind_name(v.kind));
    return Status::ok();
  }

  Status keys(const Json& obj, const std::string& field, std::initializer_list<const char*> allowed) const {
    for (const auto& kv : obj.object) {
      bool ok = false;
      for (const char* a : allowed) ok = ok || kv.first == a;
      if (!ok) {
        std::string list;
        for (const char* a : allowed) list += (list.empty() ? "" : ", ") + std::string(a);
        return error(field, "has unknown key \"" + kv.first + "\" (allowed: " + list + ")");
      }
    }
    return Status::ok();
  }

  Status integer(const Json& v, const std::string& field, int64_t* out) const {
    if (Status s = expect(v, Json::Kind::kNumber, field); !s) return s;
    if (v.number < 0 || v.number > 9.0e15 || std::floor(v.number) != v.number)
      return error(field, "must be a non-negative integer, got " + format(v.number));
    *out = static_cast<int64_t>(v.number);
    return Status::ok();
  }

  // A string or an array of strings, each parsed by `parse`.
  template <class T, class Parse>
  Status enum_list(const Json& v, const std::string& field, Parse parse, std::vector<T>* out) const {
    std::vector<const Json*> items;
    if (v.kind == Json::Kind::kString) {
      items.push_back(&v);
    } else if (v.kind == Json::Kind::kArray) {
      for (const Json& e : v.array) items.push_back(&e);
    } else {
      return error(field, std::string("must be a string or an array of strings, got ") + kind_name(v.kind));
    }
    for (const Json* e : items) {
      if (Status s = expect(*e, Json::Kind::kString, field); !s) return s;
      Result<T> r = parse(e->string);
      if (!r) return error(field, "has a bad value: " + r.status().message());
      out->push_back(*r);
    }
    if (out->empty()) return error(field, "must not be an empty list");
    return Status::ok();
  }

  // [[a, b], ...]
  Status pair_list(const Json& v, const std::string& field, std::vector<std::pair<int64_t, int64_t>>* out) const {
    if (Status s = expect(v, Json::Kind::kArray, field); !s) return s;
    for (const Json& e : v.array) {
      if (e.kind != Json::Kind::kArray || e.array.size() != 2) return error(field, "must be an array of [h, w] pairs");
      int64_t a = 0, b = 0;
      if (Status s = integer(e.array[0], field, &a); !s) return s;
      if (Status s = integer(e.array[1], field, &b); !s) return s;
      out->emplace_back(a, b);
    }
    if (out->empty()) return error(field, "must not be an empty list");
    return Status::ok();
  }

  static std::string format(double v) {
    std::ostringstream os;
    os << v;
    return os.str();
  }

 private:
  std::string source_;
};

const char* const kDeviceBackendNames[] = {"cuda", "cudnn"};

bool known_device_backend(const std::string& name) {
  for (const char* n : kDeviceBackendNames)
    if (name == n) return true;
  return false;
}

Result<PaddingMode> parse_padding_mode(std::string_view s) {
  std::string l(s);
  for (char& c : l) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  for (PaddingMode m : {PaddingMode::kValid, PaddingMode::kSame, PaddingMode::kExplicit})
    if (l == to_string(m)) return m;
  return Status(StatusCode::kInvalidArgument, "padding must be valid, same or explicit; got '" + std::string(s) + "'");
}

Status read_match(const RuleReader& r, const Json& m, const std::string& field, AutoRuleMatch* out) {
  if (Status s = r.expect(m, Json::Kind::kObject, field); !s) return s;
  if (Status s =
          r.keys(m, field, {"op",           "dtype",        "layout",       "filter_layout",    "padding",
                            "kernel",       "stride",       "multiplier",   "kernel_max",       "dilation_min",
                            "dilation_max", "channels_min", "channels_max", "out_channels_min", "out_channels_max",
                            "spatial_min",  "spatial_max",  "batch_min",    "batch_max",        "has_bias"});
      !s)
    return s;
  for (const auto& [key, v] : m.object) {
    const std::string f = field + "." + key;
    Status s;
    if (key == "op")
      s = r.enum_list<Op>(v, f, parse_op, &out->ops);
    else if (key == "dtype")
      s = r.enum_list<DType>(v, f, parse_dtype, &out->dtypes);
    else if (key == "layout")
      s = r.enum_list<Layout>(v, f, parse_layout, &out->layouts);
    else if (key == "filter_layout")
      s = r.enum_list<FilterLayout>(v, f, parse_filter_layout, &out->filter_layouts);
    else if (key == "padding")
      s = r.enum_list<PaddingMode>(v, f, parse_padding_mode, &out->paddings);
    else if (key == "kernel")
      s = r.pair_list(v, f, &out->kernels);
    else if (key == "stride")
      s = r.pair_list(v, f, &out->strides);
    else if (key == "multiplier") {
      s = r.expect(v, Json::Kind::kArray, f);
      for (size_t i = 0; s && i < v.array.size(); ++i) {
        int64_t x = 0;
        s = r.integer(v.array[i], f, &x);
        out->multipliers.push_back(x);
      }
      if (s && out->multipliers.empty()) s = r.error(f, "must not be an empty list");
    } else if (key == "has_bias") {
      s = r.expect(v, Json::Kind::kBool, f);
      out->has_bias = v.boolean ? 1 : 0;
    } else {
      int64_t* target = key == "kernel_max"         ? &out->kernel_max
                        : key == "dilation_min"     ? &out->dilation_min
                        : key == "dilation_max"     ? &out->dilation_max
                        : key == "channels_min"     ? &out->channels_min
                        : key == "channels_max"     ? &out->channels_max
                        : key == "out_channels_min" ? &out->out_channels_min
                        : key == "out_channels_max" ? &out->out_channels_max
                        : key == "spatial_min"      ? &out->spatial_min
                        : key == "spatial_max"      ? &out->spatial_max
                        : key == "batch_min"        ? &out->batch_min
                                                    : &out->batch_max;
      s = r.integer(v, f, target);
    }
    if (!s) return s;
  }
  return Status::ok();
}

Status read_evidence(const RuleReader& r, const Json& e, const std::string& field, AutoRuleEvidence* out) {
  if (Status s = r.expect(e, Json::Kind::kObject, field); !s) return s;
  if (Status s = r.keys(e, field, {"card", "date", "commit", "results", "command", "speedup", "cases"}); !s) return s;
  for (const auto& [key, v] : e.object) {
    const std::string f = field + "." + key;
    if (key == "speedup") {
      if (Status s = r.expect(v, Json::Kind::kNumber, f); !s) return s;
      if (!(v.number > 0)) return r.error(f, "must be > 0, got " + RuleReader::format(v.number));
      out->speedup = v.number;
    } else if (key == "cases") {
      if (Status s = r.integer(v, f, &out->cases); !s) return s;
    } else {
      if (Status s = r.expect(v, Json::Kind::kString, f); !s) return s;
      if (key == "card")
        out->card = v.string;
      else if (key == "date")
        out->date = v.string;
      else if (key == "commit")
        out->commit = v.string;
      else if (key == "results")
        out->results = v.string;
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
  if (e.speedup > 0) s += ", " + RuleReader::format(e.speedup) + "x";
  if (e.cases > 0) s += " over " + std::to_string(e.cases) + " cases";
  return s;
}

AutoRule fallback_rule(const std::string& why) {
  AutoRule r;
  r.source = std::string("fallback (") + why + ")";
  r.default_order = {"cuda", "cudnn"};
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

Result<AutoRule> parse_auto_rule(std::string_view json, const std::string& source) {
  Result<Json> doc = JsonReader(json, source).read();
  if (!doc) return doc.status();
  const Json& root = *doc;
  const RuleReader r(source);
  if (Status s = r.expect(root, Json::Kind::kObject, "the top level"); !s) return s;
  if (Status s = r.keys(root, "the top level", {"format", "version", "description", "default_order", "entries"}); !s)
    return s;
  const Json* format = root.find("format");
  if (format == nullptr || format->kind != Json::Kind::kString || format->string != "dsconv-auto-rule")
    return r.error("format", "must be \"dsconv-auto-rule\"");
  const Json* version = root.find("version");
  if (version == nullptr || version->kind != Json::Kind::kNumber || version->number != 1)
    return r.error("version", "must be 1 (the only version this library reads)");

  AutoRule rule;
  rule.source = source;
  const Json* order = root.find("default_order");
  if (order == nullptr) return r.error("default_order", "is required");
  if (Status s = r.expect(*order, Json::Kind::kArray, "default_order"); !s) return s;
  for (const Json& e : order->array) {
    if (Status s = r.expect(e, Json::Kind::kString, "default_order[]"); !s) return s;
    if (!known_device_backend(e.string))
      return r.error("default_order", "names \"" + e.string + "\", which is not a device backend (cuda, cudnn)");
    if (std::find(rule.default_order.begin(), rule.default_order.end(), e.string) != rule.default_order.end())
      return r.error("default_order", "names \"" + e.string + "\" twice");
    rule.default_order.push_back(e.string);
  }

  const Json* entries = root.find("entries");
  if (entries == nullptr) return r.error("entries", "is required (an empty array when nothing is measured yet)");
  if (Status s = r.expect(*entries, Json::Kind::kArray, "entries"); !s) return s;
  for (size_t i = 0; i < entries->array.size(); ++i) {
    const Json& e = entries->array[i];
    const std::string f = "entries[" + std::to_string(i) + "]";
    if (Status s = r.expect(e, Json::Kind::kObject, f); !s) return s;
    if (Status s = r.keys(e, f, {"prefer", "match", "evidence", "comment"}); !s) return s;
    AutoRuleEntry entry;
    const Json* prefer = e.find("prefer");
    if (prefer == nullptr || prefer->kind != Json::Kind::kString)
      return r.error(f + ".prefer", "is required (a string)");
    if (!known_device_backend(prefer->string))
      return r.error(f + ".prefer", "names \"" + prefer->string + "\", which is not a device backend (cuda, cudnn)");
    entry.prefer = prefer->string;
    const Json* match = e.find("match");
    if (match == nullptr) return r.error(f + ".match", "is required (an empty object matches every problem)");
    if (Status s = read_match(r, *match, f + ".match", &entry.match); !s) return s;
    const Json* evidence = e.find("evidence");
    if (evidence == nullptr) return r.error(f + ".evidence", "is required: say where the measurement came from");
    if (Status s = read_evidence(r, *evidence, f + ".evidence", &entry.evidence); !s) return s;
    if (const Json* comment = e.find("comment"); comment != nullptr)
      if (Status s = r.expect(*comment, Json::Kind::kString, f + ".comment"); !s) return s;
    rule.entries.push_back(std::move(entry));
  }
  return rule;
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

bool autotune_requested(const PlanOptions& options) { return options.autotune || env_flag("DSCONV_AUTOTUNE"); }

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
