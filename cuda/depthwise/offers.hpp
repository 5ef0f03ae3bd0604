// The depthwise forward kernels of the cuda backend, as offers for the dispatch walker
// (src/dispatch/backend.hpp): specialized NHWC first, then generic NHWC and NCHW, the direct kernel last.
#pragma once

#include <vector>

#include "src/dispatch/backend.hpp"

namespace dsconv::cuda {

const std::vector<detail::OfferFn>& depthwise_forward_offers();

}  // namespace dsconv::cuda
