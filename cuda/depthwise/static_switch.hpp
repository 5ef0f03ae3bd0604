// Runtime values become template constants here and nowhere else (in the manner of flash-attention's
// BOOL_SWITCH): each dispatch_* calls `fn` with std::integral_constant / type tags, so a launcher reads
//
//   return dispatch_dtype(dtype, [&](auto tag) {
//     using T = typename decltype(tag)::type;
//     return dispatch_nhwc_specialization(k, s, [&](auto kc, auto sc) { ... K = kc.value ... });
//   });
//
// The (kernel, stride) specializations come from DSCONV_DW_NHWC_SPECIALIZATIONS in traits.hpp, the same
// list the selection accepts from.
#pragma once

#include <string>
#include <type_traits>

#include "cuda/depthwise/traits.hpp"
#include "cuda/emu/cuda_compat.hpp"
#include "dsconv/dsconv.hpp"

namespace dsconv::cuda::dw {

template <class T>
struct TypeTag {
  using type = T;
};

template <class Fn>
Status dispatch_dtype(DType dtype, Fn&& fn) {
  switch (dtype) {
    case DType::kF32:
      return fn(TypeTag<float>{});
    case DType::kF16:
      return fn(TypeTag<__half>{});
    case DType::kBF16:
      return fn(TypeTag<__nv_bfloat16>{});
  }
  return Status(StatusCode::kInternalError, "depthwise: dtype has no kernel instantiation");
}

template <class Fn>
Status dispatch_bool(bool value, Fn&& fn) {
  if (value) return fn(std::true_type{});
  return fn(std::false_type{});
}

template <class Fn>
Status dispatch_nhwc_specialization(int kernel, int stride, Fn&& fn) {
#define DSCONV_DW_CASE(K_, S_) \
  if (kernel == (K_) && stride == (S_)) return fn(std::integral_constant<int, K_>{}, std::integral_constant<int, S_>{});
  DSCONV_DW_NHWC_SPECIALIZATIONS(DSCONV_DW_CASE)
#undef DSCONV_DW_CASE
  return Status(StatusCode::kInternalError, "depthwise: no NHWC specialization for kernel " + std::to_string(kernel) +
                                                " stride " + std::to_string(stride));
}

}  // namespace dsconv::cuda::dw
