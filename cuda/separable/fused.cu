// The separable family's fused kernel: the implicit-GEMM engine (cuda/conv2d/implicit_gemm.cuh) whose A
// operand is the depthwise output, 32 mid channels at a time, computed in f32 on chip and multiplied by the
// pointwise filter without the intermediate ever reaching global memory.
#include "cuda/conv2d/implicit_gemm.cuh"

namespace dsconv::cuda::gemm {

Result<KernelFn> resolve_depthwise(const KernelChoice& k, const LaunchConfig& cfg) {
  return resolve_implicit_gemm<Producer::kDepthwise>(k, cfg);
}

}  // namespace dsconv::cuda::gemm
