// The one launch function of the depthwise kernels: the offers (offers.cpp, host code) resolve an
// instantiation at plan time and launch it through here, where nvcc can spell the launch.
#include "cuda/common/launch.hpp"
#include "cuda/depthwise/params.hpp"

namespace dsconv::cuda::dw {

Status launch(KernelFn kernel, const char* name, const LaunchConfig& cfg, const DwParams& p, void* stream) {
  return launch_checked(kernel, name, cfg, stream, p);
}

}  // namespace dsconv::cuda::dw
