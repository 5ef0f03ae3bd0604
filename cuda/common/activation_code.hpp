// Activation codes as kernels receive them: a plain int parameter, one numbering for the depthwise kernels
// and the cuDNN backend's epilogue. Plain C++ (no CUDA header), so host selection code can use it in
// every build.
#pragma once

#include "dsconv/dsconv.hpp"

namespace dsconv::cuda {

constexpr int kActNone = 0;
constexpr int kActRelu = 1;
constexpr int kActRelu6 = 2;
constexpr int kActSilu = 3;
constexpr int kActHswish = 4;
constexpr int kActGelu = 5;
constexpr int kActGeluTanh = 6;

// Whether an activation is a clamp (none, relu, relu6): the epilogue kernels can inline it for free.
constexpr bool is_clamp_activation(Activation a) {
  return a == Activation::kNone || a == Activation::kRelu || a == Activation::kRelu6;
}

constexpr int activation_code(Activation a) {
  switch (a) {
    case Activation::kNone:
      return kActNone;
    case Activation::kRelu:
      return kActRelu;
    case Activation::kRelu6:
      return kActRelu6;
    case Activation::kSilu:
      return kActSilu;
    case Activation::kHswish:
      return kActHswish;
    case Activation::kGelu:
      return kActGelu;
    case Activation::kGeluTanh:
      return kActGeluTanh;
  }
  return kActNone;
}

}  // namespace dsconv::cuda
