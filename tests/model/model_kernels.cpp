// The synthetic kernels of model_kernels.hpp. Compiled with the performance model's instrumentation
// (cuda/emu/model/model.cmake), exactly like the library's emulated kernels.
#include "tests/model/model_kernels.hpp"

#include <cstring>

#include "cuda/common/async_copy.cuh"
#include "cuda/emu/cuda_compat.hpp"

namespace dsconv::model_test {
namespace {

__global__ void copy_kernel(const float* x, float* y, int n) {
  const int i = static_cast<int>(blockIdx.x * blockDim.x + threadIdx.x);
  if (i < n) y[i] = x[i];
}

__global__ void gather_kernel(const float* x, float* y, int n, int stride) {
  const int i = static_cast<int>(blockIdx.x * blockDim.x + threadIdx.x);
  if (i < n) y[i] = x[static_cast<long>(i) * stride];
}

__global__ void shifted_pair_kernel(const float* x, float* y, int n, int shift) {
  const int i = static_cast<int>(blockIdx.x * blockDim.x + threadIdx.x);
  if (i < n) y[i] = x[i] + x[i + shift];
}

__global__ void smem_strided_dynamic(float* y, int stride) {
  DSCONV_DYNAMIC_SMEM(float, s);
  const int lane = static_cast<int>(threadIdx.x);
  s[lane * stride] = static_cast<float>(lane);
  __syncthreads();
  y[lane] = s[lane * stride];
}

__global__ void smem_strided_static(float* y, int stride) {
  __shared__ float s[32 * 33];
  const int lane = static_cast<int>(threadIdx.x);
  s[lane * stride] = static_cast<float>(lane);
  __syncthreads();
  y[lane] = s[lane * stride];
}

__global__ void smem_broadcast_kernel(float* y, int word) {
  DSCONV_DYNAMIC_SMEM(float, s);
  const int lane = static_cast<int>(threadIdx.x);
  if (lane == 0) s[word] = 3.0f;
  __syncthreads();
  y[lane] = s[word];
}

// Vector shared accesses the way the emulated kernels write them (cuda/depthwise/device_ops.cuh): one
// memcpy of the vector type.
__global__ void smem_f32x2_kernel(float* y, int stride) {
  DSCONV_DYNAMIC_SMEM(float2, s);
  const int lane = static_cast<int>(threadIdx.x);
  const float2 in = make_float2(static_cast<float>(lane), 1.0f);
  std::memcpy(&s[lane * stride], &in, sizeof in);
  __syncthreads();
  float2 v;
  std::memcpy(&v, &s[lane * stride], sizeof v);
  y[lane] = v.x + v.y;
}

__global__ void smem_f32x4_kernel(float* y, int stride) {
  DSCONV_DYNAMIC_SMEM(float4, s);
  const int lane = static_cast<int>(threadIdx.x);
  const float4 in = make_float4(static_cast<float>(lane), 1.0f, 2.0f, 3.0f);
  std::memcpy(&s[lane * stride], &in, sizeof in);
  __syncthreads();
  float4 v;
  std::memcpy(&v, &s[lane * stride], sizeof v);
  y[lane] = v.x + v.y + v.z + v.w;
}

__global__ void fma_chain_kernel(const float* x, float* y, int n, int k) {
  const int i = static_cast<int>(blockIdx.x * blockDim.x + threadIdx.x);
  if (i >= n) return;
  const float v = x[i];
  float acc = 0.0f;
  for (int j = 0; j < k; ++j) acc = fmaf(v, 1.5f, acc);
  y[i] = acc;
}

__global__ void four_loads_kernel(const float* x, float* y, int n) {
  const int i = static_cast<int>(blockIdx.x * blockDim.x + threadIdx.x);
  if (i >= n) return;
  const float a = x[i], b = x[i + n], c = x[i + 2 * n], d = x[i + 3 * n];
  y[i] = a + b + c + d;
}

__global__ void load_fma_kernel(const float* x, float* y, int n) {
  const int i = static_cast<int>(blockIdx.x * blockDim.x + threadIdx.x);
  if (i >= n) return;
  float acc = 0.0f;
  for (int j = 0; j < 4; ++j) acc = fmaf(x[i + j * n], 2.0f, acc);
  y[i] = acc;
}

unsigned blocks_for(int n, int threads) { return static_cast<unsigned>((n + threads - 1) / threads); }

// One warp: group 0 = two copies (x[0..511] and x[512..1023], 16 bytes a lane), group 1 = one copy
// (x[1024..1535]) and one zero fill; wait<1>, a shared read, wait<0>, y[lane] = a sum.
__global__ void async_copy_kernel(const float* x, float* y) {
  DSCONV_DYNAMIC_SMEM(float, s);
  const int lane = static_cast<int>(threadIdx.x);
  cuda::cp_async16(s + 4 * lane, x + 4 * lane, true);
  cuda::cp_async16(s + 128 + 4 * lane, x + 128 + 4 * lane, true);
  cuda::cp_async_commit();
  cuda::cp_async16(s + 256 + 4 * lane, x + 256 + 4 * lane, true);
  cuda::cp_async16(s + 384 + 4 * lane, x, false);
  cuda::cp_async_commit();
  cuda::cp_async_wait<1>();
  const float first = s[lane];  // conflict-free 4-byte reads
  cuda::cp_async_wait<0>();
  y[lane] = first + s[256 + lane] + s[384 + lane];
}

// One warp: a copy of x[0..127] (16 bytes a lane), an ordinary load of x[512 + lane] before the wait,
// then y[lane] = s[lane] + that value.
__global__ void async_copy_beside_load_kernel(const float* x, float* y) {
  DSCONV_DYNAMIC_SMEM(float, s);
  const int lane = static_cast<int>(threadIdx.x);
  cuda::cp_async16(s + 4 * lane, x + 4 * lane, true);
  cuda::cp_async_commit();
  const float v = x[512 + lane];
  cuda::cp_async_wait<0>();
  y[lane] = s[lane] + v;
}

// 64 threads (two warps that read the same words): repetition r loads x[lane + 32 * (r % period)], or,
// async, copies 16 bytes a lane of x[128 * (r % period)...] with cp.async; a barrier after each one
// when asked. y[thread] = the sum.
__global__ void repeated_loads_kernel(const float* x, float* y, int reps, int period, bool barrier, bool async) {
  DSCONV_DYNAMIC_SMEM(float, s);
  const int t = static_cast<int>(threadIdx.x), lane = t % 32;
  float acc = 0.f;
  for (int r = 0; r < reps; ++r) {
    if (async) {
      cuda::cp_async16(s + 4 * t, x + 4 * lane + 128 * (r % period), true);
      cuda::cp_async_commit();
      cuda::cp_async_wait<0>();
      acc += s[4 * t];
    } else {
      acc += x[lane + 32 * (r % period)];
    }
    if (barrier) __syncthreads();
  }
  y[t] = acc;
}

}  // namespace

cudaError_t repeated_loads(const float* x, float* y, int reps, int period, bool barrier, bool async) {
  return cuda::launch(repeated_loads_kernel, dim3(1), dim3(64), 256 * sizeof(float), nullptr, x, y, reps, period,
                      barrier, async);
}

cudaError_t async_copy_beside_load(const float* x, float* y) {
  return cuda::launch(async_copy_beside_load_kernel, dim3(1), dim3(32), 128 * sizeof(float), nullptr, x, y);
}

cudaError_t async_copy_groups(const float* x, float* y) {
  return cuda::launch(async_copy_kernel, dim3(1), dim3(32), 512 * sizeof(float), nullptr, x, y);
}

cudaError_t copy_f32(const float* x, float* y, int n, int threads_per_block) {
  return cuda::launch(copy_kernel, dim3(blocks_for(n, threads_per_block)), dim3(threads_per_block), 0, nullptr, x, y,
                      n);
}

cudaError_t gather_f32(const float* x, float* y, int n, int stride, int threads_per_block) {
  return cuda::launch(gather_kernel, dim3(blocks_for(n, threads_per_block)), dim3(threads_per_block), 0, nullptr, x, y,
                      n, stride);
}

cudaError_t shifted_pair_sum(const float* x, float* y, int n, int shift) {
  return cuda::launch(shifted_pair_kernel, dim3(blocks_for(n, 128)), dim3(128), 0, nullptr, x, y, n, shift);
}

cudaError_t smem_strided_f32(float* y, int stride, bool static_smem) {
  if (static_smem) return cuda::launch(smem_strided_static, dim3(1), dim3(32), 0, nullptr, y, stride);
  return cuda::launch(smem_strided_dynamic, dim3(1), dim3(32), sizeof(float) * (31 * stride + 1), nullptr, y, stride);
}

cudaError_t smem_broadcast_f32(float* y, int word) {
  return cuda::launch(smem_broadcast_kernel, dim3(1), dim3(32), sizeof(float) * (word + 1), nullptr, y, word);
}

cudaError_t smem_f32x2(float* y, int stride) {
  return cuda::launch(smem_f32x2_kernel, dim3(1), dim3(32), sizeof(float2) * (31 * stride + 1), nullptr, y, stride);
}

cudaError_t smem_f32x4(float* y, int stride) {
  return cuda::launch(smem_f32x4_kernel, dim3(1), dim3(32), sizeof(float4) * (31 * stride + 1), nullptr, y, stride);
}

cudaError_t fma_chain(const float* x, float* y, int n, int k) {
  return cuda::launch(fma_chain_kernel, dim3(blocks_for(n, 128)), dim3(128), 0, nullptr, x, y, n, k);
}

cudaError_t four_loads_then_store(const float* x, float* y, int n) {
  return cuda::launch(four_loads_kernel, dim3(blocks_for(n, 128)), dim3(128), 0, nullptr, x, y, n);
}

cudaError_t load_fma_alternating(const float* x, float* y, int n) {
  return cuda::launch(load_fma_kernel, dim3(blocks_for(n, 128)), dim3(128), 0, nullptr, x, y, n);
}

}  // namespace dsconv::model_test
