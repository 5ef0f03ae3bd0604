// The benchmark's JSON outputs, built as nlohmann::ordered_json values (keys stay in the order written)
// and laid out so a results file reads one row per line and diffs well: containers nested less than
// `pretty_depth` deep put each element on its own line, deeper ones stay on one line.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <ostream>
#include <string>

#include <nlohmann/json.hpp>

namespace dsconv::driver {

using Json = nlohmann::ordered_json;

// A measured number: non-finite numbers have no JSON spelling and are written as null ("not measured");
// whole numbers (flop and byte counts) exactly; others with 6 significant digits, more than any timing
// here resolves.
inline Json json_number(double v) {
  if (!std::isfinite(v)) return nullptr;
  if (std::fabs(v) < 9.0e15 && v == std::floor(v)) return static_cast<int64_t>(v);
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  return std::strtod(buf, nullptr);
}

// Compact text of one value. Invalid UTF-8 (say, from a command line) is replaced, never an exception.
inline std::string json_text(const Json& v) { return v.dump(-1, ' ', false, Json::error_handler_t::replace); }

inline void write_json_lines(std::ostream& os, const Json& v, int pretty_depth, int depth = 0) {
  if (depth >= pretty_depth || !v.is_structured() || v.empty()) {
    os << json_text(v);
    return;
  }
  const bool object = v.is_object();
  os << (object ? '{' : '[');
  const char* separator = "";
  for (auto it = v.begin(); it != v.end(); ++it) {
    os << separator << '\n' << std::string(2 * (depth + 1), ' ');
    if (object) os << json_text(it.key()) << ':';
    write_json_lines(os, *it, pretty_depth, depth + 1);
    separator = ",";
  }
  os << '\n' << std::string(2 * depth, ' ') << (object ? '}' : ']');
}

}  // namespace dsconv::driver
