#include "tools/common/rng.hpp"

#include "tools/common/tensor.hpp"

namespace dsconv::tools {

uint64_t Rng::next() {
  uint64_t z = (state_ += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

double Rng::uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }

int64_t Rng::integer(int64_t lo, int64_t hi) {
  const uint64_t span = static_cast<uint64_t>(hi - lo) + 1;
  return lo + static_cast<int64_t>(next() % span);
}

const char* to_string(DataKind kind) { return kind == DataKind::kSmallIntegers ? "int" : "uniform"; }

std::optional<DataKind> parse_data_kind(std::string_view text) {
  if (text == "int") return DataKind::kSmallIntegers;
  if (text == "uniform") return DataKind::kUniform;
  return std::nullopt;
}

void fill_uniform_nonzero(HostTensor& t, Rng& rng, float min_abs, float max_abs) {
  for (int64_t i = 0; i < t.elements(); ++i) {
    const float mag = min_abs + (max_abs - min_abs) * static_cast<float>(rng.uniform());
    t.set(i, (rng.next() & 1u) ? -mag : mag);
  }
}

void fill_small_integers(HostTensor& t, Rng& rng, int max_abs) {
  for (int64_t i = 0; i < t.elements(); ++i) {
    const int64_t v = rng.integer(1, max_abs);
    t.set(i, static_cast<float>((rng.next() & 1u) ? -v : v));
  }
}

}  // namespace dsconv::tools
