// The one launch function of the implicit-GEMM kernels (conv2d and fused separable): offers resolve an
// instantiation at plan time and launch it through here, where nvcc can spell the launch.
#include "cuda/common/launch.hpp"
#include "cuda/conv2d/params.hpp"

namespace dsconv::cuda::gemm {

Status launch(KernelFn kernel, const char* name, const LaunchConfig& cfg, const GemmParams& p, void* stream) {
  return launch_checked(kernel, name, cfg, stream, p);
}

}  // namespace dsconv::cuda::gemm
