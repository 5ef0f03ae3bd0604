// The conv2d family's kernels: the implicit-GEMM engine (implicit_gemm.cuh) with A gathered from the input,
// tap by tap, for every stride, dilation and padding; NHWC and NCHW; f32 (FMA) and f16/bf16 (tensor cores).
#include "cuda/conv2d/implicit_gemm.cuh"

namespace dsconv::cuda::gemm {

Result<KernelFn> resolve_gather(const KernelChoice& k, const LaunchConfig& cfg) {
  return resolve_implicit_gemm<Producer::kGather>(k, cfg);
}

Result<KernelFn> resolve_split_fixup(DType dtype, bool nchw) {
  switch (dtype) {
    case DType::kF16:
      return nchw ? &split_fixup_kernel<__half, true> : &split_fixup_kernel<__half, false>;
    case DType::kBF16:
      return nchw ? &split_fixup_kernel<__nv_bfloat16, true> : &split_fixup_kernel<__nv_bfloat16, false>;
    case DType::kF32:
      return nchw ? &split_fixup_kernel<float, true> : &split_fixup_kernel<float, false>;
  }
  return Status(StatusCode::kInternalError, "split fixup: unknown dtype");
}

}  // namespace dsconv::cuda::gemm
