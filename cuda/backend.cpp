// The "cuda" backend: dsconv's own CUDA kernels, on a GPU or (emulation build) on the CPU emulator.
// It owns device presence and its lists; each kernel family (cuda/depthwise/, ...) owns its offers.
//
// Adding a kernel family: a folder cuda/<family>/ whose offers.hpp exports the ordered offers of each
// (op, direction) it implements, and one line in lists() below (README, "Adding a kernel").
#include <string>
#include <vector>

#include "cuda/common/runtime.hpp"
#include "cuda/conv2d/offers.hpp"
#include "cuda/depthwise/offers.hpp"
#include "cuda/separable/offers.hpp"
#include "src/dispatch/backend.hpp"

namespace dsconv::detail {

namespace {

class CudaBackend final : public Backend {
 public:
  const char* name() const override { return backend_names::kCuda; }
  MemorySpace memory_space() const override { return MemorySpace::kDevice; }

  bool available(std::string* why) const override { return cuda::device_present(why); }

  bool auto_eligible(std::string* why) const override {
#if defined(DSCONV_CUDA_EMULATION)
    // The emulator runs the real kernel code to test it, far slower than the CPU backends.
    if (why != nullptr) *why = "emulated device (CUDA kernels on the CPU emulator are for testing)";
    return false;
#else
    (void)why;
    return true;
#endif
  }

  Status device_info(DeviceInfo* info) const override { return cuda::query_device_info(info); }

  const std::vector<ImplList>& lists() const override {
    static const std::vector<ImplList> lists = {
        {Op::kDepthwise, Direction::kForward, cuda::depthwise_forward_offers()},
        {Op::kConv2d, Direction::kForward, cuda::conv2d_forward_offers()},
        {Op::kSeparable, Direction::kForward, cuda::separable_forward_offers()},
    };
    return lists;
  }
};

}  // namespace

const Backend& cuda_backend() {
  static const CudaBackend backend;
  return backend;
}

}  // namespace dsconv::detail
