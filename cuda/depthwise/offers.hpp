// The depthwise forward kernels of the cuda backend, as offers for the dispatch walker
// (src/dispatch/backend.hpp): specialized NHWC first, then generic NHWC and NCHW, the direct kernel last.
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

#include "src/dispatch/backend.hpp"
#include "src/export.hpp"

namespace dsconv::cuda {

const std::vector<detail::OfferFn>& depthwise_forward_offers();

// The lattice kernel's steps (lat_h, lat_w) for an NHWC, stride-1, dilated problem on a device of
// `sm_count` multiprocessors, staging by cp.async (sm_80+) or not: divisors of the dilations, (1, 1) where
// the dense generic kernel loads no more, or where its grid is at most one block per SM, the lattice's has
// no more blocks, and the filter is at most 3x3 or the staging goes through registers (sm_count 0: the map
// alone decides). The offer applies the grid rule only while the dense kernel is allowed. Exported for the
// tests, which restate the selection with it.
DSCONV_INTERNAL_EXPORT std::pair<int64_t, int64_t> depthwise_lattice_steps(const Problem& p, int sm_count = 0,
                                                                           bool async_staging = true);

}  // namespace dsconv::cuda
