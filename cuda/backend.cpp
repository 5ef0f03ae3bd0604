// The "cuda" backend: dsconv's own CUDA kernels, on a GPU or (emulation build) on the CPU emulator.
// It owns device presence and dispatch by op; each kernel family (cuda/depthwise/, ...) owns its
// ordered implementation list.
#include <string>

#include "cuda/depthwise/depthwise.hpp"
#include "cuda/runtime.hpp"
#include "src/backend.hpp"

namespace dsconv::detail {

namespace {

class CudaBackend final : public Backend {
 public:
  const char* name() const override { return "cuda"; }
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

  Selection select(const Problem& problem, const PlanOptions& options) const override {
    Selection sel;
    if (problem.op() == Op::kDepthwise) {
      cuda::select_depthwise(problem, options, &sel);
      return sel;
    }
    const std::string reason = std::string("no CUDA kernels for op ") + to_string(problem.op()) + " yet";
    sel.rejections.push_back({"cuda", "", reason});
    sel.status = Status(StatusCode::kNotSupported, reason);
    return sel;
  }
};

}  // namespace

const Backend& cuda_backend() {
  static const CudaBackend backend;
  return backend;
}

}  // namespace dsconv::detail
