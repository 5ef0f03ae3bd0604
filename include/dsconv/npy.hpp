// Minimal .npy (NumPy format 1.0/2.0/3.0) reading and writing, for the driver, tests and users who
// check results against NumPy/TensorFlow/PyTorch. Reads little-endian '<f4' and '<f2' in C order;
// writes '<f4'. Every malformed file is a FormatError naming what was wrong.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "dsconv/dsconv.hpp"

namespace dsconv::npy {

struct Array {
  std::vector<int64_t> shape;
  DType dtype = DType::kF32;  // kF32 for '<f4', kF16 for '<f2'
  std::vector<float> values;  // every element converted to float, C order
  int64_t elements() const;
};

Result<Array> load(const std::string& path);
// Writes values (C order, prod(shape) elements) as '<f4'. On error no file is left behind.
Status save_f32(const std::string& path, const std::vector<int64_t>& shape, const float* values);
// "[1, 4, 4, 2]"
std::string shape_string(const std::vector<int64_t>& shape);

}  // namespace dsconv::npy
