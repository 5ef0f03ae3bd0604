// The conv2d forward kernels of the cuda backend, as offers for the dispatch walker, and the implicit-GEMM
// implementation that the separable family's fused offer shares.
#pragma once

#include <string>
#include <vector>

#include "cuda/conv2d/params.hpp"
#include "src/dispatch/backend.hpp"
#include "src/export.hpp"

namespace dsconv::cuda {

const std::vector<detail::OfferFn>& conv2d_forward_offers();

namespace gemm {

// The tile for the offer's problem and device (k->tile set to it): f32 has one (or TF32's, opted in); f16/bf16 take
// the one whose busiest SM has the fewest shared-memory wavefronts to serve (larger tiles need fewer per
// product, smaller ones divide a small grid more evenly), among the names (stem + engine_suffix) the
// options allow, as a test or a benchmark that names a tile asks.
Tile choose_tile(const detail::OfferContext& ctx, const std::string& stem, KernelChoice* k);

// The share of a conv2d's taps that tiles of `bm` output pixels execute: the kernel skips a tap that reads
// only padding for every pixel of the tile (exactly for a tile within one output row, by its rows for one
// within an image). Exported for the tests.
DSCONV_INTERNAL_EXPORT double executed_tap_fraction(const Problem& p, int64_t bm);

// The fields of GemmParams every producer shares (sizes, strides, epilogue, the grid), for problem `p`
// whose GEMM has `k_channels` channels per tap, on `tile`. The caller sets the filter strides and the
// vector flags.
GemmParams common_params(const Problem& p, int64_t k_channels, int64_t gemm_taps, const Tile& tile);

// The split tail. A grid of `tiles` whole tiles on `sms` SMs leaves its busiest SM ceil(tiles / sms) of
// them; when that last wave is part full, the tiles past the whole waves (the tail: every tile on a grid of
// less than one wave) are split along their K chunks into `split` slices, at most one wave of slice blocks,
// summed by a second launch (implicit_gemm.cuh, split_fixup_kernel). The busiest SM then runs
// waves + 1/split tiles' work instead of waves + 1. Taken when each slice keeps at least kMinSliceChunks of
// the `executed_chunks` a tile multiplies, the busiest SM saves at least kMinSavedChunks chunks of a conv2d
// tile (about ten microseconds of tensor-core work, against the second launch's few; a chunk that costs
// `chunk_cost` times as much counts so many times), and at least a tenth of its work.
struct TailSplit {
  int64_t dp_tiles = 0;  // the whole tiles (all of them when split is 1)
  int split = 1;
};
inline constexpr int64_t kMinSliceChunks = 8, kMinSavedChunks = 64;
DSCONV_INTERNAL_EXPORT TailSplit tail_split(int64_t tiles, int64_t sms, int64_t executed_chunks,
                                            double chunk_cost = 1.0);
// A tile's K work, for the split tail: the chunks it multiplies, and what one costs against a conv2d chunk
// of the same tile. conv2d: its executed chunks (executed_chunks), cost 1. The fused separable kernel: every
// chunk of the mid channels, cost 1 + 16 taps / bn, since its chunk also makes its A operand, bm x 32 x taps
// depthwise products on the FMA units (128 a cycle on an SM) beside the chunk's bm x bn x 32 on the tensor
// cores (2048 a cycle).
struct ChunkWork {
  int64_t chunks = 0;
  double cost = 1.0;
};
DSCONV_INTERNAL_EXPORT ChunkWork chunk_work(const Problem& p, const Tile& tile);
// The split tail of a grid of `tiles` tiles of `tile`, implementation `name`, on the context's device; no
// split without a device or where the options forbid the split's name.
TailSplit allowed_tail_split(const detail::OfferContext& ctx, const std::string& name, const Tile& tile, int64_t tiles);
// allowed_tail_split of `g` (a grid of `tile`): sets g's dp_tiles and split, and returns the
// implementation's name (`name`, with the split's suffix when it splits).
std::string apply_tail_split(const detail::OfferContext& ctx, const std::string& name, const Tile& tile, GemmParams* g);
// The busiest SM's work, in whole tiles, under `t`.
DSCONV_INTERNAL_EXPORT double busiest_sm_tiles(const TailSplit& t, int64_t tiles, int64_t sms);
// `name` + "_tailsplit<split>" when `t` splits, else `name`.
DSCONV_INTERNAL_EXPORT std::string split_tail_name(const std::string& name, const TailSplit& t);
// The K chunks a tile of `bm` pixels multiplies on average (executed taps x channel chunks).
DSCONV_INTERNAL_EXPORT int64_t executed_chunks(const Problem& p, int64_t bm, int64_t k_chunks);

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
