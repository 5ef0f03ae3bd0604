// Placeholder until the depthwise kernels land: declines every problem.
#include "cuda/depthwise/depthwise.hpp"

namespace dsconv::cuda {

void select_depthwise(const Problem&, const PlanOptions&, detail::Selection* out) {
  out->rejections.push_back({"cuda", "", "no depthwise kernels are built yet"});
  out->status = Status(StatusCode::kNotSupported, "no depthwise kernels are built yet");
}

}  // namespace dsconv::cuda
