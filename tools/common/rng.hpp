// The one random generator of the tests, `dsconv check` and `dsconv bench`, and the fills built on it.
//
// A seed and a DataKind name a problem's data completely, on every platform and standard library:
// ConvTester (tests/support) and `dsconv check --seed S --data D` draw the same values for the same
// problem, so a failing test is replayed from the command line bit for bit.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace dsconv::tools {

class HostTensor;

// splitmix64: the same sequence on every platform and standard library (std:: distributions are not).
class Rng {
 public:
  explicit Rng(uint64_t seed) : state_(seed) {}
  uint64_t next();
  double uniform();                         // [0, 1)
  int64_t integer(int64_t lo, int64_t hi);  // [lo, hi]

 private:
  uint64_t state_;
};

// What a problem's inputs are filled with. Neither kind ever produces a zero: a kernel that drops a
// term must change the result.
enum class DataKind {
  // Integers: input and bias in [-3, 3], filters in [-2, 2], zero left out. Every f32 sum of such
  // products is exact, so f32 results are compared for equality (`--data int`).
  kSmallIntegers,
  // Magnitudes uniform in [0.125, 1] with a random sign, rounded to the dtype: exercises rounding
  // (`--data uniform`).
  kUniform,
};
const char* to_string(DataKind kind);  // "int", "uniform"
std::optional<DataKind> parse_data_kind(std::string_view text);

// Uniform magnitude in [min_abs, max_abs] with a random sign; min_abs > 0 so no value is zero
// (after rounding to the tensor's dtype too).
void fill_uniform_nonzero(HostTensor& t, Rng& rng, float min_abs = 0.125f, float max_abs = 1.0f);
// Integers in [-max_abs, max_abs] \ {0}.
void fill_small_integers(HostTensor& t, Rng& rng, int max_abs = 3);

}  // namespace dsconv::tools
