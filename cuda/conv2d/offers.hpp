// The conv2d forward kernels of the cuda backend, as offers for the dispatch walker, and the implicit-GEMM
// implementation that the separable family's fused offer shares.
#pragma once

#include <string>
#include <vector>

#include "cuda/conv2d/params.hpp"
#include "src/dispatch/backend.hpp"

namespace dsconv::cuda {

const std::vector<detail::OfferFn>& conv2d_forward_offers();

namespace gemm {

// The tile for the offer's problem and device: f32 has one; f16/bf16 take the wide or the narrow one by
// the shared-memory wavefronts of the busiest SM (the wide tile needs fewer per product, the narrow one
// divides a small grid more evenly), unless the options allow only the other one's name (stem + engine_suffix), as a test or a benchmark
// that names the tile asks.
Tile choose_tile(const detail::OfferContext& ctx, const std::string& stem, bool* wide);

// The fields of GemmParams every producer shares (sizes, strides, epilogue, the grid), for problem `p`
// whose GEMM has `k_channels` channels per tap, on `tile`. The caller sets the filter strides and the
// vector flags.
GemmParams common_params(const Problem& p, int64_t k_channels, int64_t gemm_taps, const Tile& tile);

// "" when the engine's 32-bit indexing holds for `g`, else why not.
std::string int32_bounds(const GemmParams& g);

// "" when the device can run the engine for `dtype` (tensor cores: compute capability 8.0), else why not.
std::string device_support(const detail::OfferContext& ctx, DType dtype);

// "f16_mma_tile128x128x32", "f32_fma_tile64x64x32": the names' common part.
std::string engine_suffix(DType dtype, const Tile& tile);

// The implementation: resolved and readied at plan creation, launched by run() with the run's pointers
// (vector accesses where the params allow them and the pointers are 16-byte aligned).
detail::Offer accept(std::string name, const KernelChoice& k, const GemmParams& g);

}  // namespace gemm
}  // namespace dsconv::cuda
