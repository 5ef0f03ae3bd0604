// Activation codes as kernels receive them: a plain int parameter, one numbering for the depthwise kernels
// and the cuDNN backend's epilogue. Plain C++ (no CUDA header), so host selection code can use it in
// every build.
#pragma once

#include "dsconv/dsconv.hpp"

namespace dsconv::cuda {

constexpr int kActNone = 0;
constexpr int kActRelu = 1;
constexpr int kActRelu6 = 2;

constexpr int activation_code(Activation a) {
  return a == Activation::kRelu ? kActRelu : a == Activation::kRelu6 ? kActRelu6 : kActNone;
}

}  // namespace dsconv::cuda
