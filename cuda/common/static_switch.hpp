// Runtime values become template constants here and nowhere else (in the manner of flash-attention's
// BOOL_SWITCH): each dispatch_* calls `fn` with a type tag or std::integral_constant and returns what fn
// returns (a Status, or a Result<kernel pointer> when resolving which instantiation to launch):
//
//   return dispatch_dtype(dtype, [&](auto tag) {
//     using T = typename decltype(tag)::type;
//     return dispatch_bool(flag, [&](auto flag_c) { ... kernel<T, decltype(flag_c)::value> ... });
//   });
//
// A family with a list of specializations adds its own dispatch next to that list (the depthwise NHWC
// kernels: cuda/depthwise/nhwc_specialized.cu over DSCONV_DW_NHWC_SPECIALIZATIONS).
#pragma once

#include <type_traits>

#include "cuda/emu/cuda_compat.hpp"
#include "dsconv/dsconv.hpp"

namespace dsconv::cuda {

template <class T>
struct TypeTag {
  using type = T;
};

template <class Fn>
auto dispatch_dtype(DType dtype, Fn&& fn) -> decltype(fn(TypeTag<float>{})) {
  switch (dtype) {
    case DType::kF32:
      return fn(TypeTag<float>{});
    case DType::kF16:
      return fn(TypeTag<__half>{});
    case DType::kBF16:
      return fn(TypeTag<__nv_bfloat16>{});
  }
  return Status(StatusCode::kInternalError, "dtype has no kernel instantiation");
}

template <class Fn>
auto dispatch_bool(bool value, Fn&& fn) -> decltype(fn(std::true_type{})) {
  if (value) return fn(std::true_type{});
  return fn(std::false_type{});
}

}  // namespace dsconv::cuda
