#include "tools/common/tensor.hpp"

#include <algorithm>
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <new>
#include <utility>

#include "src/half.hpp"

namespace dsconv::tools {

std::vector<uint8_t> encode(DType dtype, const std::vector<float>& values) {
  std::vector<uint8_t> out(values.size() * dtype_size(dtype));
  for (size_t i = 0; i < values.size(); ++i)
    detail::store_from_float(out.data(), dtype, static_cast<int64_t>(i), values[i]);
  return out;
}

std::vector<float> decode(DType dtype, const void* data, int64_t count) {
  std::vector<float> out(static_cast<size_t>(count));
  for (int64_t i = 0; i < count; ++i) out[static_cast<size_t>(i)] = detail::load_as_float(data, dtype, i);
  return out;
}

std::vector<float> round_to(DType dtype, std::vector<float> values) {
  const std::vector<uint8_t> raw = encode(dtype, values);
  return decode(dtype, raw.data(), static_cast<int64_t>(values.size()));
}

std::vector<uint8_t> nan_poison(DType dtype, int64_t count) {
  std::vector<uint8_t> out(static_cast<size_t>(count) * dtype_size(dtype));
  for (int64_t i = 0; i < count; ++i) {
    if (dtype == DType::kF32) {
      const uint32_t bits = 0x7fc0dead;
      std::memcpy(out.data() + i * 4, &bits, 4);
    } else {
      const uint16_t bits = dtype == DType::kF16 ? 0x7e5a : 0x7fd5;
      std::memcpy(out.data() + i * 2, &bits, 2);
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// HostTensor
// ---------------------------------------------------------------------------------------------

namespace {
constexpr std::align_val_t kHostAlign{64};
}

void HostTensor::Free::operator()(void* p) const { ::operator delete(p, kHostAlign); }

HostTensor::HostTensor(DType dtype, std::vector<int64_t> shape) : dtype_(dtype), shape_(std::move(shape)) {
  elements_ = 1;
  for (int64_t d : shape_) elements_ *= d;
  if (bytes() > 0) data_.reset(::operator new(bytes(), kHostAlign));
}

HostTensor::HostTensor(const HostTensor& o) : dtype_(o.dtype_), shape_(o.shape_), elements_(o.elements_) {
  if (bytes() > 0) {
    data_.reset(::operator new(bytes(), kHostAlign));
    std::memcpy(data(), o.data(), bytes());
  }
}

HostTensor& HostTensor::operator=(const HostTensor& o) {
  if (this != &o) *this = HostTensor(o);
  return *this;
}

float HostTensor::get(int64_t i) const { return detail::load_as_float(data(), dtype_, i); }
void HostTensor::set(int64_t i, float v) { detail::store_from_float(data(), dtype_, i, v); }

std::vector<float> HostTensor::to_floats() const { return decode(dtype_, data(), elements_); }

HostTensor HostTensor::from_floats(DType dtype, std::vector<int64_t> shape, const std::vector<float>& values) {
  HostTensor t(dtype, std::move(shape));
  const int64_t n = std::min<int64_t>(t.elements(), static_cast<int64_t>(values.size()));
  for (int64_t i = 0; i < n; ++i) t.set(i, values[static_cast<size_t>(i)]);
  return t;
}

HostTensor HostTensor::converted(DType to) const {
  if (elements_ == 0 && shape_.empty()) {  // a default (absent) tensor stays absent, not a scalar
    HostTensor none;
    none.dtype_ = to;
    return none;
  }
  HostTensor t(to, shape_);
  for (int64_t i = 0; i < elements_; ++i) t.set(i, get(i));
  return t;
}

void poison_nan(HostTensor& t) {
  if (t.bytes() == 0) return;
  const std::vector<uint8_t> nan = nan_poison(t.dtype(), t.elements());
  std::memcpy(t.data(), nan.data(), nan.size());
}

int64_t count_nan(const HostTensor& t) {
  int64_t n = 0;
  for (int64_t i = 0; i < t.elements(); ++i) n += std::isnan(t.get(i)) ? 1 : 0;
  return n;
}

// ---------------------------------------------------------------------------------------------
// TensorSet
// ---------------------------------------------------------------------------------------------

TensorSet TensorSet::allocate(const Problem& p) {
  TensorSet t;
  t.input = HostTensor(p.dtype(), p.input_shape());
  t.filter = HostTensor(p.dtype(), p.filter_shape());
  if (p.op() == Op::kSeparable) t.pointwise = HostTensor(p.dtype(), p.pointwise_shape());
  if (p.has_bias()) t.bias = HostTensor(p.dtype(), p.bias_shape());
  if (p.has_residual()) t.residual = HostTensor(p.dtype(), p.output_shape());
  t.output = HostTensor(p.dtype(), p.output_shape());
  return t;
}

TensorSet TensorSet::random(const Problem& p, uint64_t seed, DataKind kind) {
  TensorSet t = allocate(p);
  t.fill(seed, kind);
  return t;
}

void TensorSet::fill(uint64_t seed, DataKind kind) {
  Rng rng(seed);
  // Activations and bias up to 3, filters up to 2: small enough that f32 sums of products stay exact
  // far beyond any test's size (|sum| < 2^24 up to ~10^6 terms).
  // The residual comes last, so that adding one leaves the other tensors' values as they were.
  const std::pair<HostTensor*, int> tensors[] = {
      {&input, 3}, {&filter, 2}, {&pointwise, 2}, {&bias, 3}, {&residual, 3}};
  for (const auto& [t, max_int] : tensors) {
    if (kind == DataKind::kSmallIntegers)
      fill_small_integers(*t, rng, max_int);
    else
      fill_uniform_nonzero(*t, rng);
  }
  poison_nan(output);
}

TensorArgs TensorSet::view() {
  return TensorArgs()
      .set(Arg::kInput, input.data())
      .set(Arg::kFilter, filter.data())
      .set(Arg::kPointwise, pointwise.empty() ? nullptr : pointwise.data())
      .set(Arg::kBias, bias.empty() ? nullptr : bias.data())
      .set(Arg::kResidual, residual.empty() ? nullptr : residual.data())
      .set(Arg::kOutput, output.data());
}

uint64_t fnv1a(const void* data, size_t bytes, uint64_t hash) {
  const auto* p = static_cast<const unsigned char*>(data);
  for (size_t i = 0; i < bytes; ++i) {
    hash ^= p[i];
    hash *= 0x100000001b3ull;
  }
  return hash;
}

std::string digest_line(const TensorSet& t) {
  std::string line;
  const std::pair<const char*, const HostTensor*> tensors[] = {{"input", &t.input},         {"filter", &t.filter},
                                                               {"pointwise", &t.pointwise}, {"bias", &t.bias},
                                                               {"residual", &t.residual},   {"output", &t.output}};
  for (const auto& [name, tensor] : tensors) {
    char hex[24] = "none";
    if (!tensor->empty()) std::snprintf(hex, sizeof hex, "%016" PRIx64, fnv1a(tensor->data(), tensor->bytes()));
    line += (line.empty() ? "" : " ") + std::string(name) + "=" + hex;
  }
  return line;
}

}  // namespace dsconv::tools
