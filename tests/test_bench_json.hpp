// Readers for the benchmark's JSON and CSV outputs, for the tests: JSON through nlohmann::json, the
// project's one JSON library (a malformed file fails the test), and an RFC 4180 CSV splitter.
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace dsconv::bench_test {

// Keys in file order; look values up with at(), which throws (a test failure) for a missing key.
using Json = nlohmann::ordered_json;

inline Json parse_json(const std::string& text) {
  try {
    return Json::parse(text);
  } catch (const Json::exception& e) {
    ADD_FAILURE() << e.what() << "\n" << text;
    return Json();
  }
}

// RFC 4180 rows (quoted fields may hold commas, quotes and line breaks).
inline std::vector<std::vector<std::string>> parse_csv(const std::string& text) {
  std::vector<std::vector<std::string>> rows(1);
  std::string field;
  bool quoted = false, in_field = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char ch = text[i];
    if (quoted) {
      if (ch == '"' && i + 1 < text.size() && text[i + 1] == '"') {
        field += '"';
        ++i;
      } else if (ch == '"') {
        quoted = false;
      } else {
        field += ch;
      }
    } else if (ch == '"') {
      quoted = true;
      in_field = true;
    } else if (ch == ',') {
      rows.back().push_back(field);
      field.clear();
    } else if (ch == '\n') {
      rows.back().push_back(field);
      field.clear();
      rows.emplace_back();
      in_field = false;
    } else {
      field += ch;
      in_field = true;
    }
  }
  if (in_field || !field.empty()) rows.back().push_back(field);
  if (rows.back().empty()) rows.pop_back();
  return rows;
}

}  // namespace dsconv::bench_test
