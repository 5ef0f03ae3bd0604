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

// The fields of GemmParams every producer shares (sizes, strides, epilogue, the grid), for problem `p`
// whose GEMM has `k_channels` channels per tap. The caller sets the filter strides and the vector flags.
GemmParams common_params(const Problem& p, int64_t k_channels, int64_t gemm_taps);

// "" when the engine's 32-bit indexing holds for `g`, else why not.
std::string int32_bounds(const GemmParams& g);

// "" when the device can run the engine for `dtype` (tensor cores: compute capability 8.0), else why not.
std::string device_support(const detail::OfferContext& ctx, DType dtype);

// "f16_mma" / "bf16_mma" / "f32_fma", and the tile: the names' common part.
std::string engine_suffix(DType dtype);

// The implementation: resolved and readied at plan creation, launched by run() with the run's pointers
// (vector accesses where the params allow them and the pointers are 16-byte aligned).
detail::Offer accept(std::string name, const KernelChoice& k, const GemmParams& g);

}  // namespace gemm
}  // namespace dsconv::cuda
