// Host tensors for the tests and the driver: typed storage that rounds like the library, the five
// tensors of a problem, NaN poison, and digests that let two programs prove they saw the same bits.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "dsconv/dsconv.hpp"
#include "tools/common/rng.hpp"

namespace dsconv::tools {

// Raw storage of `dtype` from floats (rounded to nearest even), and back: the bytes a HostTensor holds.
std::vector<uint8_t> encode(DType dtype, const std::vector<float>& values);
std::vector<float> decode(DType dtype, const void* data, int64_t count);
// Rounds each value to the nearest value of `dtype` (what encode-then-decode gives).
std::vector<float> round_to(DType dtype, std::vector<float> values);

// `count` quiet NaNs of `dtype` with a payload easy to spot in a debugger (0x7fc0dead, 0x7e5a, 0x7fd5).
std::vector<uint8_t> nan_poison(DType dtype, int64_t count);

// A host buffer of `elements` values of one DType, 64-byte aligned (so SIMD backends see what an
// engine would give them). Elements are read and written as float; writes round to nearest even.
// A default-constructed tensor is absent (0 elements, e.g. no bias); shape {} is a 1-element scalar.
class HostTensor {
 public:
  HostTensor() = default;
  HostTensor(DType dtype, std::vector<int64_t> shape);
  HostTensor(HostTensor&&) noexcept = default;
  HostTensor& operator=(HostTensor&&) noexcept = default;
  HostTensor(const HostTensor& other);
  HostTensor& operator=(const HostTensor& other);

  DType dtype() const { return dtype_; }
  const std::vector<int64_t>& shape() const { return shape_; }
  int64_t elements() const { return elements_; }
  size_t bytes() const { return static_cast<size_t>(elements_) * dtype_size(dtype_); }
  bool empty() const { return elements_ == 0; }
  void* data() { return data_.get(); }
  const void* data() const { return data_.get(); }

  float get(int64_t i) const;
  void set(int64_t i, float v);  // rounds to dtype
  std::vector<float> to_floats() const;
  // A tensor of `dtype` holding `values` rounded to it (values.size() must equal prod(shape)).
  static HostTensor from_floats(DType dtype, std::vector<int64_t> shape, const std::vector<float>& values);
  // The same values in another dtype (exact when widening, rounded when narrowing).
  HostTensor converted(DType to) const;

 private:
  struct Free {
    void operator()(void* p) const;
  };
  DType dtype_ = DType::kF32;
  std::vector<int64_t> shape_;
  int64_t elements_ = 0;
  std::unique_ptr<void, Free> data_;
};

// Every element a quiet NaN (nan_poison's pattern), so an element a kernel never wrote is caught.
void poison_nan(HostTensor& t);
// Number of NaN elements.
int64_t count_nan(const HostTensor& t);

// Host tensors shaped from a Problem (pointwise empty unless separable; bias empty unless has_bias).
struct TensorSet {
  HostTensor input, filter, pointwise, bias, residual, output;  // pointwise, bias, residual: when used

  static TensorSet allocate(const Problem& p);
  // allocate() + fill(): the data of `dsconv check P --seed S --data D` and of ConvTester's case.
  static TensorSet random(const Problem& p, uint64_t seed, DataKind kind);
  // Fills input, filter, pointwise, bias and residual, in that order, from one Rng(seed) (see DataKind;
  // never zeros) and poisons the output.
  void fill(uint64_t seed, DataKind kind);
  // The argument slots of these buffers (null for an absent pointwise, bias or residual), for host plans.
  TensorArgs view();
};

// FNV-1a (64 bit) of `bytes` bytes, continuing from `hash`.
uint64_t fnv1a(const void* data, size_t bytes, uint64_t hash = 0xcbf29ce484222325ull);
// "input=<16 hex> filter=<16 hex> pointwise=none bias=<16 hex> output=<16 hex>": FNV-1a of each tensor's
// bytes (none: absent). Equal lines mean bit-identical inputs and outputs.
std::string digest_line(const TensorSet& t);

}  // namespace dsconv::tools
