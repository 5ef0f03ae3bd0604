// The small CUDA kernels around cuDNN's convolution: an asymmetric-padding pre-pad, a filter reorder
// (both plain index gathers) and a bias + activation epilogue for what cuDNN cannot fuse. Host-side
// launchers; the kernels are in kernels.cu (real-CUDA builds only).
#pragma once

#include <cstdint>

#include <cuda_runtime_api.h>

#include "cuda/cudnn/geometry.hpp"
#include "dsconv/dsconv.hpp"

namespace dsconv::cudnn {

// elem_bytes is 2 or 4: both only move bits, so one kernel serves f16, bf16 and f32.
cudaError_t launch_pad4d(const void* src, void* dst, size_t elem_bytes, const Pad4d& p, cudaStream_t stream);
cudaError_t launch_gather4d(const void* src, void* dst, size_t elem_bytes, const Gather4d& g, cudaStream_t stream);

// y = act(src + bias[o] + residual) over total elements, with o = (i / inner) % channels (inner = 1 for
// NHWC, OH*OW for NCHW). bias and residual may be null; src may be y (in place) and residual may be y.
// NaN propagates as in the CPU reference.
cudaError_t launch_bias_activation(const void* src, void* y, const void* bias, const void* residual, DType dtype,
                                   Activation act, int64_t total, int64_t channels, int64_t inner, cudaStream_t stream);

}  // namespace dsconv::cudnn
