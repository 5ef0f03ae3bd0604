// The separable forward offers of the cuda backend, in list order:
//   1. sep_fwd_{nhwc,nchw}_fused_{dtype}_{mma,fma}_tile{BM}x{BN}x32   one kernel: the implicit-GEMM engine whose
//      A operand is the depthwise output of 32 mid channels, computed on chip (cuda/separable/fused.cu), so
//      the intermediate never reaches global memory. Each block recomputes the depthwise values of its
//      pixels for its own tile of output channels, so the fused kernel is offered while that
//      recomputation stays small: ceil(O / BN) * KH * KW <= kMaxFusedRecompute depthwise products per mid
//      value. On a grid whose last wave is part full, the tiles past the whole waves are cut along the mid
//      channels into slices (suffix _tailsplit{S}), summed by a second launch: the conv2d family's split
//      tail (cuda/conv2d/offers.hpp, tail_split), whose rule counts a fused chunk's depthwise products;
//   2. sep_fwd_{nhwc,nchw}_fused_{f16,bf16}_mma_resident_{async4_tile96x128,async3_tile64x256}x32   the same
//      engine where the first declines for recomputation: each block makes the depthwise values of its
//      pixels for every mid channel once, keeps them in shared memory, and multiplies them by every column
//      tile of its share of a persistent grid (cuda/conv2d/params.hpp, kTileResident*). Offered when the
//      mid channels' A buffers fit the device's shared memory: 96 x 128 on sm_90 up to C*M = 1024, 64 x 256
//      up to 1408 (sm_80: 672 and 896; sm_86/89: 320 and 384);
//   3. sep_fwd_{nhwc,nchw}_twopass_{dtype}(<depthwise>+<pointwise>)   the depthwise kernel this backend
//      chooses for the depthwise half, its output in the Plan's workspace, then the conv2d family's
//      implicit GEMM as a 1x1 convolution with the bias, residual and activation.
// NCHW takes the two passes unless they are excluded (nchw_declines). All round the depthwise output to the storage
// type before the pointwise product (f32 stays f32), as a framework running the two ops one after the other does; the
// reference keeps it in f64, which the comparison's tolerance covers.
#include "cuda/separable/offers.hpp"

#include <algorithm>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>

#include "cuda/common/workspace.hpp"
#include "cuda/conv2d/offers.hpp"

namespace dsconv::cuda {
namespace {

using detail::Offer;
using detail::OfferContext;

// Depthwise products per mid value (output-channel tiles x taps) up to which the fused kernel is offered:
// a 3x3 filter up to 2 tiles of output channels, 5x5 one. f16/bf16 take the 256-column tile where it holds
// every output channel (choose_tile), else 128 columns: 3x3 and 5x5 up to O = 256; f32's 64 columns: 3x3
// up to 128, 5x5 up to 64. Modelled on an H100 (bench/results/2026-11-30-model-h100-conv2d-separable/,
// 2026-12-02-model-h100-fused-split-tail/): DeepLab's 3x3 separable ASPP, 2048 -> 256, is 1.01-1.28x
// faster fused on one 256-column tile (9) than in two passes and moves no intermediate through DRAM,
// 0.78-1.09x on two 128-column tiles (18); Xception's 728 -> 728 (6 x 9 = 54 on 128 columns) is 2.4x
// slower fused, bound by re-reading its input for every column tile. (Those figures predate the model's
// L1, which serves the taps' re-reads within a chunk: the ASPP is now 1.47-1.50x faster fused; the
// column-tile re-reads cross chunks and stay L2 traffic. To be calibrated on a GPU.) Past the limit, f16/bf16
// take the resident-A kernel where its A fits (offer_resident), which makes each row tile's A once.
constexpr int64_t kMaxFusedRecompute = 25;
// The fused kernel is declined on grids of at most sm_count / kMaxFusedGridShare whole tiles (no split
// tail). Modelled on an H100 (model with L1, bench/results/2026-12-02-model-h100-fused-rule/), f16:
// MobileNetV1's 56x56 128 -> 128 on 25 tiles 0.86x the two passes, 28x28 256 -> 256 on 13 and 25 tiles
// 0.54x and 0.63x, 14x14 512 -> 256 on 4 and 25 tiles 0.51x and 0.64x; from 49 tiles on the fused kernel
// is 0.94x (28x28) to 1.51x (56x56), from 74 1.42x and more.
constexpr int64_t kMaxFusedGridShare = 4;
// The resident-A kernel is declined on grids of fewer than kMinResidentTiles tiles a block slot (where the
// two passes may be chosen). Modelled on an H100 (bench/results/2026-12-02-model-h100-resident/), Xception's
// 33x33 728 -> 728 on 96 x 128 tiles and 132 slots: N=2 (138 tiles) 0.97x the two passes, N=4 (276) 1.28x,
// N=8 (546) 1.44x.
constexpr int64_t kMinResidentTiles = 2;

std::string prefix(const Problem& p, const char* kind) {
  return std::string("sep_fwd_") + to_string(p.layout()) + "_" + kind + "_";
}

// Whether a fused kernel declines an NCHW problem: its A comes from scalar loads of channel planes, a
// round trip per depthwise tap (implicit_gemm.cuh, load_a), and those round trips, not the bytes, set the
// time. Modelled on an H100 (model with L1; bench/results/2026-12-02-model-h100-resident/), f16 at N=8:
// MobileNetV1's 112x112 32 -> 64 fused 33.2 µs against 12.6 µs for two passes, 56x56 128 -> 128 40.4
// against 17.5, Xception's 728 -> 728 on the resident kernel 166.5 against 47.7. Only while the two passes
// may be chosen: asked for by name, the fused kernels run.
bool nchw_declines(const OfferContext& ctx) {
  return ctx.problem.layout() == Layout::kNCHW && !ctx.excludes_all(prefix(ctx.problem, "twopass"));
}
constexpr const char* kNchwDecline =
    "NCHW makes A from scalar channel-plane loads, a round trip per depthwise tap: two passes are faster";

// The fused kernels' operands: the two filters' strides, the 16-byte access flags, the kernel's types.
void set_operands(const Problem& p, gemm::KernelChoice* k, gemm::GemmParams* g) {
  const int64_t cm = p.mid_channels(), o = p.out_channels();
  if (p.filter_layout() == FilterLayout::kTF) {  // depthwise [KH,KW,C,M], pointwise [1,1,C*M,O]
    g->dw_tap = cm, g->dw_j = 1;
    g->b_tap = 0, g->b_k = o, g->b_o = 1;
  } else {  // depthwise [C*M,1,KH,KW], pointwise [O,C*M,1,1]
    g->dw_tap = 1, g->dw_j = p.kh() * p.kw();
    g->b_tap = 0, g->b_k = 1, g->b_o = cm;
  }
  const int64_t vec = 16 / static_cast<int64_t>(dtype_size(p.dtype()));
  g->vec_a = p.layout() == Layout::kNHWC && p.m() == 1 && p.c() % vec == 0;
  g->vec_dw = p.layout() == Layout::kNHWC && p.filter_layout() == FilterLayout::kTF && cm % vec == 0;
  g->vec_b = g->b_o == 1 && o % vec == 0;
  g->b_k_fast = g->b_k < g->b_o;
  k->dtype = p.dtype();
  k->nchw = p.layout() == Layout::kNCHW;
  k->producer = gemm::Producer::kDepthwise;
}

Offer offer_fused(const OfferContext& ctx) {
  const Problem& p = ctx.problem;
  gemm::KernelChoice k;
  const gemm::Tile tile = gemm::choose_tile(ctx, prefix(p, "fused"), &k);
  const std::string name = prefix(p, "fused") + gemm::engine_suffix(p.dtype(), tile);
  if (std::string why = gemm::device_support(ctx, p.dtype()); !why.empty()) return Offer::decline(name, why);
  if (nchw_declines(ctx)) return Offer::decline(name, kNchwDecline);
  gemm::GemmParams g = gemm::common_params(p, p.mid_channels(), 1, tile);
  const int64_t recompute = g.n_tiles * p.kh() * p.kw();
  if (recompute > kMaxFusedRecompute) {
    return Offer::decline(name, std::to_string(g.n_tiles) + " tiles of output channels x " +
                                    std::to_string(p.kh() * p.kw()) + " taps = " + std::to_string(recompute) +
                                    " depthwise products per mid value, over the fused kernel's " +
                                    std::to_string(kMaxFusedRecompute) + ": two passes do less work");
  }
  if (std::string why = gemm::int32_bounds(g); !why.empty()) return Offer::decline(name, why);
  const std::string run_name = gemm::apply_tail_split(ctx, name, tile, &g);
  // A grid of at most a quarter wave of whole tiles: each SM runs at most one block, and the fused kernel
  // takes one block's serial K loop of depthwise sums and products, where two passes spread the depthwise
  // half over the device (kMaxFusedGridShare). While the two passes may be chosen.
  const int64_t tiles = g.m_tiles * g.n_tiles;
  if (ctx.device != nullptr && g.split == 1 && kMaxFusedGridShare * tiles <= ctx.device->sm_count &&
      !ctx.excludes_all(prefix(p, "twopass"))) {
    return Offer::decline(name, "a grid of " + std::to_string(tiles) + " whole tiles for " +
                                    std::to_string(ctx.device->sm_count) + " SMs (at most 1/" +
                                    std::to_string(kMaxFusedGridShare) +
                                    " of a wave): each block's serial K loop of depthwise sums and products is "
                                    "longer than two passes");
  }
  set_operands(p, &k, &g);
  return gemm::accept(run_name, k, g);
}

// The resident-A fused kernel on `tile`: one A of every mid channel per row tile, shared by the column
// tiles a block runs.
Offer offer_resident_on(const OfferContext& ctx, const gemm::Tile& tile) {
  const Problem& p = ctx.problem;
  const std::string name = prefix(p, "fused") + gemm::engine_suffix(p.dtype(), tile);
  if (p.dtype() == DType::kF32)
    return Offer::decline(name,
                          "f32 runs on FMA units, and its A of every mid channel would take twice the shared memory");
  if (std::string why = gemm::device_support(ctx, p.dtype()); !why.empty()) return Offer::decline(name, why);
  if (nchw_declines(ctx)) return Offer::decline(name, kNchwDecline);
  gemm::GemmParams g = gemm::common_params(p, p.mid_channels(), 1, tile);
  if (std::string why = gemm::int32_bounds(g); !why.empty()) return Offer::decline(name, why);
  gemm::KernelChoice k;
  k.tile = tile;
  k.k_chunks = g.k_chunks;
  const int64_t smem = tile.resident_smem_bytes(g.k_chunks), pairs = g.m_tiles * g.n_tiles;
  int64_t slots = pairs;  // without a device: a block per (row tile, column tile)
  if (ctx.device != nullptr) {
    const detail::DeviceInfo& dev = *ctx.device;
    if (smem > dev.smem_per_block_optin) {
      return Offer::decline(name, std::to_string(p.mid_channels()) + " mid channels' A for " + std::to_string(tile.bm) +
                                      " pixels needs " + std::to_string(smem) + " bytes of shared memory; " + dev.name +
                                      " has " + std::to_string(dev.smem_per_block_optin) + " a block");
    }
    const int64_t per_block = smem + dev.smem_reserved_per_block;
    const int64_t by_smem = dev.smem_per_sm / per_block;
    const int64_t by_threads = dev.max_threads_per_sm / tile.threads;
    const int64_t per_sm = std::max<int64_t>(1, std::min({by_smem, by_threads, int64_t{dev.max_blocks_per_sm}}));
    slots = dev.sm_count * per_sm;
    // Fewer than kMinResidentTiles tiles a block: most blocks make A for one or two column tiles, the work
    // of the per-tile fused kernel in one serial K loop per block, without the two passes' spread.
    if (pairs < kMinResidentTiles * slots && !ctx.excludes_all(prefix(p, "twopass"))) {
      return Offer::decline(name, "a grid of " + std::to_string(pairs) + " tiles for " + std::to_string(slots) +
                                      " block slots (fewer than " + std::to_string(kMinResidentTiles) +
                                      " a block): A would be made for too few column tiles each time");
    }
  }
  g.grid_blocks = std::min(pairs, slots);
  set_operands(p, &k, &g);
  return gemm::accept(name, k, g);
}

// The resident-A kernel where offer_fused declined: the 96 x 128 tile (each column tile's B read for 96
// pixels rather than 64), else 64 x 256 (whose A is two thirds the size), the first one the options allow
// and the device and grid accept; else the last one's decline.
Offer offer_resident(const OfferContext& ctx) {
  Offer last = Offer::decline(prefix(ctx.problem, "fused") + "mma_resident", "no resident tile is allowed");
  for (const gemm::Tile& t : {gemm::kTileResidentTall, gemm::kTileResident}) {
    if (!ctx.allows(prefix(ctx.problem, "fused") + gemm::engine_suffix(ctx.problem.dtype(), t))) continue;
    last = offer_resident_on(ctx, t);
    if (last.impl) return last;
  }
  return last;
}

// The depthwise half and the pointwise half of a separable problem, as problems of their own.
ProblemDesc depthwise_half(const Problem& p) {
  ProblemDesc d = p.desc();
  d.op = Op::kDepthwise;
  d.out_channels = 0;
  d.padding = PaddingMode::kExplicit;  // the resolved padding, so the halves agree on every mode
  d.pad_top = p.pad_top(), d.pad_bottom = p.pad_bottom(), d.pad_left = p.pad_left(), d.pad_right = p.pad_right();
  d.has_bias = false, d.has_residual = false;
  d.activation = Activation::kNone;
  return d;
}

ProblemDesc pointwise_half(const Problem& p) {
  ProblemDesc d = p.desc();
  d.op = Op::kConv2d;
  d.height = p.out_h(), d.width = p.out_w(), d.channels = p.mid_channels();
  d.kernel_h = d.kernel_w = 1, d.multiplier = 1;
  d.stride_h = d.stride_w = d.dilation_h = d.dilation_w = 1;
  d.padding = PaddingMode::kValid;
  d.pad_top = d.pad_bottom = d.pad_left = d.pad_right = 0;
  return d;
}

class TwoPassImpl final : public detail::Impl {
 public:
  TwoPassImpl(std::string name, std::unique_ptr<detail::Impl> dw, std::unique_ptr<detail::Impl> pw, size_t mid_bytes)
      : name_(std::move(name)), dw_(std::move(dw)), pw_(std::move(pw)) {
    mid_bytes_ = (mid_bytes + kWorkspaceAlignment - 1) / kWorkspaceAlignment * kWorkspaceAlignment;
    scratch_bytes_ = std::max(dw_->workspace_bytes(), pw_->workspace_bytes());
    workspace_bytes_ = mid_bytes_ + scratch_bytes_ + kWorkspaceAlignment;  // + slack to align the caller's pointer
  }

  const std::string& name() const override { return name_; }
  size_t workspace_bytes() const override { return workspace_bytes_; }

  Status prepare() override {
    if (Status s = dw_->prepare(); !s) return s;
    return pw_->prepare();
  }

  std::string nondeterminism() const override {
    std::string a = dw_->nondeterminism(), b = pw_->nondeterminism();
    return a.empty() ? b : b.empty() ? a : a + "; " + b;
  }

  Status run(const TensorArgs& args, void* workspace, size_t, void* stream) const override {
    char* const mid = align_workspace(workspace);
    char* const scratch = scratch_bytes_ > 0 ? mid + mid_bytes_ : nullptr;
    TensorArgs first;
    first.set(Arg::kInput, args.input()).set(Arg::kFilter, args.filter()).set(Arg::kOutput, mid);
    if (Status s = dw_->run(first, scratch, scratch_bytes_, stream); !s) return s;
    TensorArgs second;
    second.set(Arg::kInput, mid).set(Arg::kFilter, args.pointwise()).set(Arg::kOutput, args.output());
    if (args.bias() != nullptr) second.set(Arg::kBias, args.bias());
    if (const void* r = args.get(Arg::kResidual); r != nullptr) second.set(Arg::kResidual, r);
    return pw_->run(second, scratch, scratch_bytes_, stream);
  }

 private:
  std::string name_;
  std::unique_ptr<detail::Impl> dw_, pw_;
  size_t mid_bytes_ = 0, scratch_bytes_ = 0, workspace_bytes_ = 0;
};

Offer offer_two_pass(const OfferContext& ctx) {
  const Problem& p = ctx.problem;
  const std::string stem = prefix(p, "twopass") + to_string(p.dtype());
  if (ctx.device == nullptr) return Offer::decline(stem, "no device description");  // not reached
  Result<Problem> dwp = Problem::create(depthwise_half(p));
  Result<Problem> pwp = Problem::create(pointwise_half(p));
  if (!dwp) return Offer::decline(stem, "depthwise half: " + dwp.status().message());
  if (!pwp) return Offer::decline(stem, "pointwise half: " + pwp.status().message());
  // The halves are chosen among this backend's own kernels, by its own lists; the caller's filters name
  // separable implementations, so only the determinism and TF32 requests carry over.
  PlanOptions inner;
  inner.deterministic = ctx.options.deterministic;
  inner.allow_tf32 = ctx.options.allow_tf32;
  detail::Selection dw = detail::select_for_device(ctx.backend, *dwp, inner, *ctx.device, /*prepare=*/false);
  if (!dw.impl) return Offer::decline(stem, "no depthwise kernel: " + dw.status.message());
  detail::Selection pw = detail::select_for_device(ctx.backend, *pwp, inner, *ctx.device, /*prepare=*/false);
  if (!pw.impl) return Offer::decline(stem, "no pointwise kernel: " + pw.status.message());
  const std::string name = stem + "(" + dw.impl->name() + "+" + pw.impl->name() + ")";
  const size_t mid_bytes = static_cast<size_t>(dwp->output_elements()) * dtype_size(p.dtype());
  return Offer::accept(std::make_unique<TwoPassImpl>(name, std::move(dw.impl), std::move(pw.impl), mid_bytes));
}

}  // namespace

const std::vector<detail::OfferFn>& separable_forward_offers() {
  static const std::vector<detail::OfferFn> offers = {offer_fused, offer_resident, offer_two_pass};
  return offers;
}

}  // namespace dsconv::cuda
