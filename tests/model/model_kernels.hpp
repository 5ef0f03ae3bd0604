// Synthetic kernels with known memory behaviour, for the performance model's tests. They live in
// model_kernels.cpp, which CMake compiles with the same instrumentation as the library's emulated
// kernels; these host functions launch them on the emulator (launch errors come back as cudaError_t).
#pragma once

#include <cuda_runtime_api.h>

namespace dsconv::model_test {

// y[i] = x[i] for i < n: one 4-byte load and one 4-byte store per thread.
cudaError_t copy_f32(const float* x, float* y, int n, int threads_per_block);
// y[i] = x[i * stride] for i < n.
cudaError_t gather_f32(const float* x, float* y, int n, int stride, int threads_per_block);
// y[i] = x[i] + x[i + shift] for i < n, 128 threads per block.
cudaError_t shifted_pair_sum(const float* x, float* y, int n, int shift);
// One warp per block: 4-byte shared stores and loads at word lane * stride (stride 32: every lane in
// bank 0), then y[lane] = the loaded value. Dynamic shared memory, or a static __shared__ array.
cudaError_t smem_strided_f32(float* y, int stride, bool static_smem);
// One warp: every lane reads word `word` of shared memory (after lane 0 wrote it).
cudaError_t smem_broadcast_f32(float* y, int word);
// One warp: lane l stores and then loads a float2 at float2 index l * stride.
cudaError_t smem_f32x2(float* y, int stride);
// One warp: lane l stores and then loads a float4 at float4 index l * stride.
cudaError_t smem_f32x4(float* y, int stride);
// y[i] = a chain of `k` fmaf per thread.
cudaError_t fma_chain(const float* x, float* y, int n, int k);
// y[i] = x[i] + x[i + n] + x[i + 2n] + x[i + 3n]: four independent loads before the first use.
cudaError_t four_loads_then_store(const float* x, float* y, int n);
// acc = fmaf(x[i + j*n], 2, acc) for j < 4: each load is consumed by an FMA before the next one.
cudaError_t load_fma_alternating(const float* x, float* y, int n);
// One warp of cp.async (cuda/common/async_copy.cuh): group 0 copies x[0..1023] (two 16-byte copies a
// lane), group 1 x[1024..1535] and a zero fill; wait<1>, wait<0>; y[lane] = a sum of three staged values.
cudaError_t async_copy_groups(const float* x, float* y);
// One warp: one cp.async of x[0..127] and an ordinary load of x[512 + lane] issued before wait<0>.
cudaError_t async_copy_beside_load(const float* x, float* y);

// One block of two warps that load the same words `reps` times (repetition r: x[lane + 32 * (r % period)]),
// with a barrier after each repetition or not, by ordinary loads or by cp.async (16 bytes a lane).
cudaError_t repeated_loads(const float* x, float* y, int reps, int period, bool barrier, bool async);

}  // namespace dsconv::model_test
