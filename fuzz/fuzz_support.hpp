// What the fuzz targets share: a check that aborts with a message (libFuzzer then saves the input), a
// reader of the fuzzer's bytes, and the invariants every accepted Problem must satisfy.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "dsconv/dsconv.hpp"

// A broken invariant is a crash: libFuzzer saves the input that caused it, and the replay test of the
// normal test suite (fuzz/replay_main.cpp) fails on it with the same message.
#define FUZZ_CHECK(cond, what)                                                       \
  do {                                                                               \
    if (!(cond)) ::dsconv::fuzz::fail(__FILE__, __LINE__, #cond, std::string(what)); \
  } while (0)

namespace dsconv::fuzz {

[[noreturn]] inline void fail(const char* file, int line, const char* cond, const std::string& what) {
  std::fprintf(stderr, "fuzz invariant broken at %s:%d: %s\n  %s\n", file, line, cond, what.c_str());
  std::fflush(stderr);
  std::abort();
}

// Whether a problem is small enough to run thousands of times a second (on the host: the reference, or the
// emulated kernels). Anything parsed from fuzzed text may be a 999x999 map, whose one run takes minutes
// and is a timeout, not a finding.
inline bool small_enough_to_run(const Problem& p) {
  constexpr int64_t kMaxElements = 1 << 12;
  constexpr double kMaxFlops = 1 << 16;
  for (int i = 0; i < kArgCount; ++i)
    if (p.arg_elements(static_cast<Arg>(i)) > kMaxElements) return false;
  return p.flops() <= kMaxFlops;
}

// Reads the fuzzer's bytes front to back; past the end every read gives zeros, so any input is a
// complete program.
class ByteReader {
 public:
  ByteReader(const uint8_t* data, size_t size) : data_(data), size_(size) {}
  bool empty() const { return pos_ >= size_; }
  size_t left() const { return empty() ? 0 : size_ - pos_; }
  uint8_t u8() { return empty() ? 0 : data_[pos_++]; }
  uint32_t u32() {
    uint32_t v = 0;
    for (int i = 0; i < 4; ++i) v |= static_cast<uint32_t>(u8()) << (8 * i);
    return v;
  }
  uint64_t u64() { return static_cast<uint64_t>(u32()) | (static_cast<uint64_t>(u32()) << 32); }
  bool flag() { return (u8() & 1) != 0; }
  // A size field as the fuzzer should explore it: mostly small values, the edges of int32 and int64
  // and of the element-count checks, and now and then any 64-bit pattern.
  int64_t size_field() {
    static const int64_t kEdges[] = {0,
                                     1,
                                     -1,
                                     2,
                                     3,
                                     INT32_MAX,
                                     int64_t{INT32_MAX} + 1,
                                     int64_t{1} << 32,
                                     int64_t{1} << 31 >> 1,
                                     int64_t{1} << 40,
                                     int64_t{1} << 61,
                                     int64_t{1} << 62,
                                     INT64_MAX / 4,
                                     INT64_MAX / 4 + 1,
                                     INT64_MAX - 1,
                                     INT64_MAX,
                                     INT64_MIN,
                                     INT64_MIN + 1};
    const uint8_t sel = u8();
    switch (sel >> 6) {
      case 0:
      case 1:
        return sel & 0x3f;  // 0..63
      case 2:
        return kEdges[(sel & 0x3f) % (sizeof kEdges / sizeof kEdges[0])];
      default:
        return static_cast<int64_t>(u64());
    }
  }
  // `n` bytes as a string (fewer when the input ends).
  std::string text(size_t n) {
    n = n < left() ? n : left();
    std::string s(reinterpret_cast<const char*>(data_ + pos_), n);
    pos_ += n;
    return s;
  }

 private:
  const uint8_t* data_;
  size_t size_;
  size_t pos_ = 0;
};

// The invariants of a problem that Problem::create accepted (problem_invariants.cpp): every size and
// byte count of every tensor the problem names fits in int64 (so in size_t) with room for 4-byte
// elements, the output size follows from the padding rule, the descriptor parses back to the same
// problem, and the cuDNN mapping's arithmetic (cuda/cudnn/geometry.cpp, compiled in) stays defined.
// Aborts through FUZZ_CHECK when one is broken.
void check_problem_invariants(const Problem& p);

// Runs the CPU reference on p when p is small enough to run in a fuzz iteration, with nonzero inputs
// and a NaN-poisoned output between guard elements: the run succeeds, writes every output element
// (no NaN left: the inputs are finite), and writes nothing outside the output.
void run_small_reference(const Problem& p);

}  // namespace dsconv::fuzz
