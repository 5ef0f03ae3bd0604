// The separable forward kernels of the cuda backend, as offers for the dispatch walker.
#pragma once

#include <vector>

#include "src/dispatch/backend.hpp"

namespace dsconv::cuda {

const std::vector<detail::OfferFn>& separable_forward_offers();

}  // namespace dsconv::cuda
