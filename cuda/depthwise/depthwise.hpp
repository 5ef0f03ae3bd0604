// The depthwise forward kernels of the cuda backend: their implementation list and selection.
#pragma once

#include "src/backend.hpp"

namespace dsconv::cuda {

// Walks the ordered list of depthwise implementations (specialized first, generic last); the first
// that accepts `problem` becomes out->impl, every one declined adds a Rejection with its reason.
// Called by the cuda backend for Op::kDepthwise only.
void select_depthwise(const Problem& problem, const PlanOptions& options, detail::Selection* out);

}  // namespace dsconv::cuda
