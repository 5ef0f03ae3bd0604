// The conv2d family's kernels: the implicit-GEMM engine (implicit_gemm.cuh) with A gathered from the input,
// tap by tap, for every stride, dilation and padding; NHWC and NCHW; f32 (FMA) and f16/bf16 (tensor cores).
#include "cuda/conv2d/implicit_gemm.cuh"

namespace dsconv::cuda::gemm {

Result<KernelFn> resolve_gather(const KernelChoice& k, const LaunchConfig& cfg) {
  return resolve_implicit_gemm<Producer::kGather>(k, cfg);
}

}  // namespace dsconv::cuda::gemm
