// The cudnn backend's helper kernels. Memory-bound one-pass loops: one thread per output element in a
// grid-stride loop, 64-bit indices (tensors may exceed 2^31 bytes even when cuDNN's element counts fit).
#include "cuda/common/device_types.cuh"
#include "cuda/cudnn/kernels.hpp"
#include "cuda/emu/cuda_compat.hpp"

#include <algorithm>
#include <cstdint>

namespace dsconv::cudnn {
namespace {

using dsconv::cuda::activate;
using dsconv::cuda::from_float;
using dsconv::cuda::to_float;

constexpr int kThreads = 256;
// Enough blocks to fill any current GPU several times over; the grid-stride loop covers the rest.
constexpr int64_t kMaxBlocks = int64_t{1} << 16;

dim3 grid_for(int64_t total) {
  const int64_t blocks = std::min<int64_t>((total + kThreads - 1) / kThreads, kMaxBlocks);
  return dim3(static_cast<unsigned>(std::max<int64_t>(blocks, 1)));
}

__device__ __forceinline__ int64_t global_thread() {
  return static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
}
__device__ __forceinline__ int64_t grid_threads() { return static_cast<int64_t>(gridDim.x) * blockDim.x; }

// Bits is uint16_t or uint32_t: zero bits are +0 in f16, bf16 and f32 alike.
template <class Bits>
__global__ void __launch_bounds__(kThreads)
    pad4d_bits(const Bits* __restrict__ src, Bits* __restrict__ dst, Pad4d p, int64_t total) {
  for (int64_t i = global_thread(); i < total; i += grid_threads()) {
    int64_t rem = i, src_off = 0, src_stride = 1;
    bool inside = true;
    for (int d = 3; d >= 0; --d) {
      const int64_t coord = rem % p.dst_dims[d] - p.before[d];
      rem /= p.dst_dims[d];
      inside = inside && coord >= 0 && coord < p.src_dims[d];
      src_off += coord * src_stride;
      src_stride *= p.src_dims[d];
    }
    dst[i] = inside ? src[src_off] : Bits(0);
  }
}

template <class Bits>
__global__ void __launch_bounds__(kThreads)
    gather4d_bits(const Bits* __restrict__ src, Bits* __restrict__ dst, Gather4d g, int64_t total) {
  for (int64_t i = global_thread(); i < total; i += grid_threads()) {
    int64_t rem = i, src_off = 0;
    for (int d = 3; d >= 0; --d) {
      src_off += (rem % g.dims[d]) * g.src_strides[d];
      rem /= g.dims[d];
    }
    dst[i] = src[src_off];
  }
}

// act: a code from cuda/common/activation_code.hpp. src may be y (in place) and residual may be y (a
// skip connection added in place): every element is read before the same thread writes it, so neither
// pointer is __restrict__.
template <class T>
__global__ void __launch_bounds__(kThreads)
    bias_activation(const T* src, T* y, const T* __restrict__ bias, const T* residual, int act, int64_t total,
                    int64_t channels, int64_t inner) {
  for (int64_t i = global_thread(); i < total; i += grid_threads()) {
    float v = to_float(src[i]);
    if (bias != nullptr) v += to_float(bias[(i / inner) % channels]);
    if (residual != nullptr) v += to_float(residual[i]);
    y[i] = from_float<T>(activate(v, act));
  }
}

int64_t product(const int64_t (&d)[4]) { return d[0] * d[1] * d[2] * d[3]; }

}  // namespace

cudaError_t launch_pad4d(const void* src, void* dst, size_t elem_bytes, const Pad4d& p, cudaStream_t stream) {
  const int64_t total = product(p.dst_dims);
  if (total == 0) return cudaSuccess;
  if (elem_bytes == 2)
    return dsconv::cuda::launch(pad4d_bits<uint16_t>, grid_for(total), dim3(kThreads), 0, stream,
                                static_cast<const uint16_t*>(src), static_cast<uint16_t*>(dst), p, total);
  if (elem_bytes == 4)
    return dsconv::cuda::launch(pad4d_bits<uint32_t>, grid_for(total), dim3(kThreads), 0, stream,
                                static_cast<const uint32_t*>(src), static_cast<uint32_t*>(dst), p, total);
  return cudaErrorInvalidValue;
}

cudaError_t launch_gather4d(const void* src, void* dst, size_t elem_bytes, const Gather4d& g, cudaStream_t stream) {
  const int64_t total = product(g.dims);
  if (total == 0) return cudaSuccess;
  if (elem_bytes == 2)
    return dsconv::cuda::launch(gather4d_bits<uint16_t>, grid_for(total), dim3(kThreads), 0, stream,
                                static_cast<const uint16_t*>(src), static_cast<uint16_t*>(dst), g, total);
  if (elem_bytes == 4)
    return dsconv::cuda::launch(gather4d_bits<uint32_t>, grid_for(total), dim3(kThreads), 0, stream,
                                static_cast<const uint32_t*>(src), static_cast<uint32_t*>(dst), g, total);
  return cudaErrorInvalidValue;
}

cudaError_t launch_bias_activation(const void* src, void* y, const void* bias, const void* residual, DType dtype,
                                   Activation act, int64_t total, int64_t channels, int64_t inner,
                                   cudaStream_t stream) {
  if (total == 0) return cudaSuccess;
  const int a = dsconv::cuda::activation_code(act);
  switch (dtype) {
    case DType::kF32:
      return dsconv::cuda::launch(bias_activation<float>, grid_for(total), dim3(kThreads), 0, stream,
                                  static_cast<const float*>(src), static_cast<float*>(y),
                                  static_cast<const float*>(bias), static_cast<const float*>(residual), a, total,
                                  channels, inner);
    case DType::kF16:
      return dsconv::cuda::launch(bias_activation<__half>, grid_for(total), dim3(kThreads), 0, stream,
                                  static_cast<const __half*>(src), static_cast<__half*>(y),
                                  static_cast<const __half*>(bias), static_cast<const __half*>(residual), a, total,
                                  channels, inner);
    case DType::kBF16:
      return dsconv::cuda::launch(bias_activation<__nv_bfloat16>, grid_for(total), dim3(kThreads), 0, stream,
                                  static_cast<const __nv_bfloat16*>(src), static_cast<__nv_bfloat16*>(y),
                                  static_cast<const __nv_bfloat16*>(bias), static_cast<const __nv_bfloat16*>(residual),
                                  a, total, channels, inner);
  }
  return cudaErrorInvalidValue;
}

}  // namespace dsconv::cudnn
