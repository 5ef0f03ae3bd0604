// Readers for the benchmark's JSON and CSV outputs, for the tests: a strict JSON parser (a
// malformed file fails the test) and an RFC 4180 CSV splitter.
#pragma once

#include <gtest/gtest.h>

#include <cctype>
#include <string>
#include <utility>
#include <vector>

namespace dsconv::bench_test {

struct Json {
  enum Kind { kNull, kBool, kNumber, kString, kArray, kObject } kind = kNull;
  bool b = false;
  double num = 0;
  std::string str;
  std::vector<Json> items;
  std::vector<std::pair<std::string, Json>> fields;  // in file order

  bool has(const std::string& k) const {
    for (const auto& f : fields)
      if (f.first == k) return true;
    return false;
  }
  const Json& operator[](const std::string& k) const {
    for (const auto& f : fields)
      if (f.first == k) return f.second;
    static const Json missing;
    ADD_FAILURE() << "no key '" << k << "'";
    return missing;
  }
};

class JsonParser {
 public:
  explicit JsonParser(std::string text) : s_(std::move(text)) {}
  // Parses the whole text; false (with error()) on any syntax error or trailing junk.
  bool parse(Json* out) {
    if (!value(out)) return false;
    ws();
    if (pos_ != s_.size()) return fail("trailing characters");
    return true;
  }
  const std::string& error() const { return err_; }

 private:
  bool fail(const std::string& what) {
    err_ = what + " at offset " + std::to_string(pos_);
    return false;
  }
  void ws() {
    while (pos_ < s_.size() && (s_[pos_] == ' ' || s_[pos_] == '\n' || s_[pos_] == '\r' || s_[pos_] == '\t')) ++pos_;
  }
  bool literal(const char* word) {
    const std::string w(word);
    if (s_.compare(pos_, w.size(), w) != 0) return false;
    pos_ += w.size();
    return true;
  }
  bool string(std::string* out) {
    if (pos_ >= s_.size() || s_[pos_] != '"') return fail("expected a string");
    ++pos_;
    while (pos_ < s_.size() && s_[pos_] != '"') {
      char ch = s_[pos_++];
      if (static_cast<unsigned char>(ch) < 0x20) return fail("raw control character in a string");
      if (ch == '\\') {
        if (pos_ >= s_.size()) return fail("unfinished escape");
        const char e = s_[pos_++];
        switch (e) {
          case '"':
            ch = '"';
            break;
          case '\\':
            ch = '\\';
            break;
          case '/':
            ch = '/';
            break;
          case 'n':
            ch = '\n';
            break;
          case 'r':
            ch = '\r';
            break;
          case 't':
            ch = '\t';
            break;
          case 'b':
            ch = '\b';
            break;
          case 'f':
            ch = '\f';
            break;
          case 'u': {
            if (pos_ + 4 > s_.size()) return fail("short \\u escape");
            const unsigned v = static_cast<unsigned>(std::stoul(s_.substr(pos_, 4), nullptr, 16));
            pos_ += 4;
            if (v > 0x7f) return fail("non-ASCII \\u escape (not produced by the writer)");
            ch = static_cast<char>(v);
            break;
          }
          default:
            return fail("bad escape");
        }
      }
      *out += ch;
    }
    if (pos_ >= s_.size()) return fail("unterminated string");
    ++pos_;
    return true;
  }
  bool value(Json* out) {
    ws();
    if (pos_ >= s_.size()) return fail("unexpected end");
    const char ch = s_[pos_];
    if (ch == '{') {
      out->kind = Json::kObject;
      ++pos_;
      ws();
      if (pos_ < s_.size() && s_[pos_] == '}') return ++pos_, true;
      for (;;) {
        ws();
        std::string k;
        if (!string(&k)) return false;
        ws();
        if (pos_ >= s_.size() || s_[pos_] != ':') return fail("expected ':'");
        ++pos_;
        Json v;
        if (!value(&v)) return false;
        out->fields.emplace_back(std::move(k), std::move(v));
        ws();
        if (pos_ < s_.size() && s_[pos_] == ',') {
          ++pos_;
          continue;
        }
        if (pos_ < s_.size() && s_[pos_] == '}') return ++pos_, true;
        return fail("expected ',' or '}'");
      }
    }
    if (ch == '[') {
      out->kind = Json::kArray;
      ++pos_;
      ws();
      if (pos_ < s_.size() && s_[pos_] == ']') return ++pos_, true;
      for (;;) {
        Json v;
        if (!value(&v)) return false;
        out->items.push_back(std::move(v));
        ws();
        if (pos_ < s_.size() && s_[pos_] == ',') {
          ++pos_;
          continue;
        }
        if (pos_ < s_.size() && s_[pos_] == ']') return ++pos_, true;
        return fail("expected ',' or ']'");
      }
    }
    if (ch == '"') {
      out->kind = Json::kString;
      return string(&out->str);
    }
    if (literal("true")) return out->kind = Json::kBool, out->b = true, true;
    if (literal("false")) return out->kind = Json::kBool, out->b = false, true;
    if (literal("null")) return out->kind = Json::kNull, true;
    // number: -?digits[.digits][e[+-]digits]
    const size_t start = pos_;
    if (s_[pos_] == '-') ++pos_;
    auto digits = [&] {
      const size_t d = pos_;
      while (pos_ < s_.size() && std::isdigit(static_cast<unsigned char>(s_[pos_]))) ++pos_;
      return pos_ > d;
    };
    if (!digits()) return fail("expected a value");
    if (pos_ < s_.size() && s_[pos_] == '.' && (++pos_, !digits())) return fail("bad fraction");
    if (pos_ < s_.size() && (s_[pos_] == 'e' || s_[pos_] == 'E')) {
      ++pos_;
      if (pos_ < s_.size() && (s_[pos_] == '+' || s_[pos_] == '-')) ++pos_;
      if (!digits()) return fail("bad exponent");
    }
    out->kind = Json::kNumber;
    out->num = std::stod(s_.substr(start, pos_ - start));
    return true;
  }

  std::string s_;
  size_t pos_ = 0;
  std::string err_;
};

inline Json parse_json(const std::string& text) {
  Json j;
  JsonParser p(text);
  EXPECT_TRUE(p.parse(&j)) << p.error() << "\n" << text;
  return j;
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
