// A small streaming JSON writer for the benchmark's outputs (no dependency). Containers nested less
// than `pretty_depth` deep put each element on its own line, deeper ones stay on one line, so a
// results file reads one row per line and diffs well.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

namespace dsconv::driver {

inline std::string json_escape(std::string_view s) {
  std::string r;
  r.reserve(s.size() + 2);
  for (char ch : s) {
    switch (ch) {
      case '"':
        r += "\\\"";
        break;
      case '\\':
        r += "\\\\";
        break;
      case '\n':
        r += "\\n";
        break;
      case '\r':
        r += "\\r";
        break;
      case '\t':
        r += "\\t";
        break;
      default:
        if (static_cast<unsigned char>(ch) < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(static_cast<unsigned char>(ch)));
          r += buf;
        } else {
          r += ch;
        }
    }
  }
  return r;
}

class JsonWriter {
 public:
  explicit JsonWriter(std::ostream& os, int pretty_depth = 0) : os_(os), pretty_depth_(pretty_depth) {}

  void begin_object() { open('{'); }
  void end_object() { close('}'); }
  void begin_array() { open('['); }
  void end_array() { close(']'); }

  void key(std::string_view k) {
    element();
    os_ << '"' << json_escape(k) << "\":";
    after_key_ = true;
  }
  void value(std::string_view v) { scalar('"' + json_escape(v) + '"'); }
  void value(const char* v) { value(std::string_view(v)); }
  void value(const std::string& v) { value(std::string_view(v)); }
  void value(bool v) { scalar(v ? "true" : "false"); }
  void value(int v) { scalar(std::to_string(v)); }
  void value(int64_t v) { scalar(std::to_string(v)); }
  // Non-finite numbers have no JSON spelling: they are written as null ("not measured"). Whole
  // numbers (flop and byte counts) are written exactly; others with 6 significant digits, more than
  // any timing here resolves.
  void value(double v) {
    if (!std::isfinite(v)) {
      scalar("null");
      return;
    }
    char buf[32];
    if (std::fabs(v) < 9.0e15 && v == std::floor(v))
      std::snprintf(buf, sizeof buf, "%.0f", v);
    else
      std::snprintf(buf, sizeof buf, "%.6g", v);
    scalar(buf);
  }
  void null() { scalar("null"); }

  template <class T>
  void field(std::string_view k, const T& v) {
    key(k);
    value(v);
  }
  void field_null(std::string_view k) {
    key(k);
    null();
  }

 private:
  // Separator and line break before an element of the innermost container.
  void element() {
    if (after_key_) {
      after_key_ = false;
      return;
    }
    if (stack_.empty()) return;
    if (stack_.back()) os_ << ',';
    stack_.back() = true;
    if (static_cast<int>(stack_.size()) <= pretty_depth_) os_ << '\n' << std::string(2 * stack_.size(), ' ');
  }
  void scalar(const std::string& text) {
    element();
    os_ << text;
  }
  void open(char ch) {
    element();
    os_ << ch;
    stack_.push_back(false);
  }
  void close(char ch) {
    const bool had_elements = stack_.back();
    stack_.pop_back();
    if (had_elements && static_cast<int>(stack_.size()) < pretty_depth_)
      os_ << '\n' << std::string(2 * stack_.size(), ' ');
    os_ << ch;
  }

  std::ostream& os_;
  int pretty_depth_;
  std::vector<bool> stack_;  // per open container: has it an element yet
  bool after_key_ = false;
};

}  // namespace dsconv::driver
