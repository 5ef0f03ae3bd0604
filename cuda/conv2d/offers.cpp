// The conv2d forward offers of the cuda backend, in list order:
//   1. conv2d_fwd_nhwc_igemm_{f16,bf16}_mma_async3_tile{128x128,64x128}x32         tensor cores, cp.async
//      conv2d_fwd_{nhwc,nchw}_igemm_{f16,bf16}_mma_tile{128x128,128x64,64x64}x32   tensor cores
//      (compute capability 8.0+), the tile whose busiest SM has the fewest shared-memory wavefronts to serve
//      conv2d_fwd_{nhwc,nchw}_igemm_f32_fma_tile64x64x32                    FMA units
// One implicit-GEMM kernel (implicit_gemm.cuh) takes every stride, dilation, padding, filter layout and
// epilogue. Tensor offsets are 64-bit (an input past 2^31 elements, even in one image, is fine); pixel
// coordinates, the output pixels of one image and the grid are 32-bit, and a problem beyond those bounds
// is declined with the bound named (the cudnn backend or the reference take it).
// f32 runs on FMA units unless the caller opts in to TF32 (PlanOptions::allow_tf32): then
// conv2d_fwd_{nhwc,nchw}_igemm_f32_tf32_mma_tile64x64x32 on sm_80+, whose products round f32 inputs to
// TF32's 10 mantissa bits (accumulation stays f32).
#include "cuda/conv2d/offers.hpp"

#include <algorithm>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>

#include "cuda/common/workspace.hpp"

namespace dsconv::cuda {
namespace gemm {
namespace {

constexpr int64_t kInt32Max = 0x7fffffff;

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

bool aligned16(const void* ptr) { return reinterpret_cast<uintptr_t>(ptr) % 16 == 0; }

class GemmImpl final : public detail::Impl {
 public:
  GemmImpl(std::string name, const KernelChoice& k, const GemmParams& g)
      : name_(std::move(name)), choice_(k), params_(g) {
    const Tile t = k.tile;
    const int64_t tiles = g.m_tiles * g.n_tiles, tail_tiles = tiles - g.dp_tiles;
    cfg_.grid = g.grid_blocks > 0 ? g.grid_blocks : g.split > 1 ? g.dp_tiles + tail_tiles * g.split : tiles;
    cfg_.block = t.threads;
    cfg_.smem_bytes = t.launch_smem_bytes(k.dtype == DType::kF32, k.k_chunks);
    if (g.split > 1) {
      partial_bytes_ = static_cast<size_t>(tail_tiles * g.split * t.bm * t.bn) * sizeof(float);
      fixup_cfg_.grid = ceil_div(tail_tiles * t.bm * (t.bn / 4), kFixupThreads);
      fixup_cfg_.block = kFixupThreads;
      fixup_name_ = name_ + " (fixup)";
    }
  }

  const std::string& name() const override { return name_; }
  // The split tail's partial sums, and slack to align the caller's pointer.
  size_t workspace_bytes() const override { return partial_bytes_ > 0 ? partial_bytes_ + kWorkspaceAlignment : 0; }

  Status prepare() override {
    Result<KernelFn> kernel =
        choice_.producer == Producer::kGather ? resolve_gather(choice_, cfg_) : resolve_depthwise(choice_, cfg_);
    if (!kernel) return kernel.status();
    if (Status s = prepare_launch(*kernel, name_.c_str(), cfg_); !s) return s;
    kernel_ = *kernel;
    if (params_.split > 1) {
      Result<KernelFn> fixup = resolve_split_fixup(choice_.dtype, choice_.nchw);
      if (!fixup) return fixup.status();
      if (Status s = prepare_launch(*fixup, fixup_name_.c_str(), fixup_cfg_); !s) return s;
      fixup_ = *fixup;
    }
    return Status::ok();
  }

  Status run(const TensorArgs& args, void* workspace, size_t, void* stream) const override {
    GemmParams g = params_;
    if (g.split > 1) {
      g.partial = reinterpret_cast<float*>(align_workspace(workspace));
    }
    g.x = args.input();
    if (choice_.producer == Producer::kGather) {
      g.filter = args.filter();
    } else {
      g.dw_filter = args.filter();
      g.filter = args.pointwise();
    }
    g.bias = args.bias();
    g.residual = args.get(Arg::kResidual);
    g.y = args.output();
    // params_ says whether the shapes allow 16-byte accesses; the pointers decide per run (a misaligned
    // view takes the element-wise paths).
    g.vec_a = g.vec_a && aligned16(g.x);
    g.vec_b = g.vec_b && aligned16(g.filter);
    g.vec_dw = g.vec_dw && aligned16(g.dw_filter);
    g.vec_res = g.vec_out && g.residual != nullptr && aligned16(g.residual);
    g.vec_out = g.vec_out && aligned16(g.y);
    g.vec_res = g.vec_res && g.vec_out;
    if (Status s = launch(kernel_, name_.c_str(), cfg_, g, stream); !s) return s;
    if (g.split > 1) return launch(fixup_, fixup_name_.c_str(), fixup_cfg_, g, stream);
    return Status::ok();
  }

 private:
  std::string name_, fixup_name_;
  KernelChoice choice_;
  GemmParams params_;
  LaunchConfig cfg_, fixup_cfg_;
  KernelFn kernel_ = nullptr, fixup_ = nullptr;
  size_t partial_bytes_ = 0;
};

}  // namespace

namespace {

// Whether some element of a0, a0 + s, ..., a0 + (count - 1) s lies in [0, limit) (the kernel's
// progression_hits, on the host).
bool hits(int64_t a0, int64_t s, int64_t count, int64_t limit) {
  const int64_t j = a0 >= 0 ? 0 : (-a0 + s - 1) / s;
  return j < count && a0 + j * s < limit;
}

}  // namespace

double executed_tap_fraction(const Problem& p, int64_t bm) {
  const int64_t ohw = p.out_h() * p.out_w(), pixels = p.n() * ohw, tiles = ceil_div(pixels, bm);
  const int64_t taps = p.kh() * p.kw();
  if (taps == 1) return 1.0;
  // At most 4096 tiles, spread evenly over the grid (the maps repeat from image to image).
  const int64_t step = std::max<int64_t>(1, tiles / 4096);
  int64_t executed = 0, counted = 0;
  for (int64_t t = 0; t < tiles; t += step, ++counted) {
    // The tile's rows and columns as the kernel bounds them (implicit_gemm.cuh).
    const int64_t m0 = t * bm, last = std::min(m0 + bm, pixels) - 1;
    int64_t row_lo = 0, row_hi = p.out_h() - 1, col_lo = 0, col_hi = p.out_w() - 1;
    if (m0 / ohw == last / ohw) {
      const int64_t ra = m0 % ohw, rb = last % ohw;
      row_lo = ra / p.out_w(), row_hi = rb / p.out_w();
      if (row_lo == row_hi) col_lo = ra % p.out_w(), col_hi = rb % p.out_w();
    }
    int64_t rows = 0, cols = 0;
    for (int64_t kr = 0; kr < p.kh(); ++kr)
      rows += hits(row_lo * p.stride_h() - p.pad_top() + kr * p.dilation_h(), p.stride_h(), row_hi - row_lo + 1, p.h());
    for (int64_t kc = 0; kc < p.kw(); ++kc)
      cols +=
          hits(col_lo * p.stride_w() - p.pad_left() + kc * p.dilation_w(), p.stride_w(), col_hi - col_lo + 1, p.w());
    executed += rows * cols;
  }
  return static_cast<double>(executed) / static_cast<double>(counted * taps);
}

TailSplit tail_split(int64_t tiles, int64_t sms, int64_t executed_chunks, double chunk_cost) {
  TailSplit none{tiles, 1};
  if (sms <= 0 || tiles <= 0) return none;
  const int64_t waves = tiles / sms, tail = tiles - waves * sms;
  if (tail == 0) return none;
  const int64_t split = std::min(sms / tail, executed_chunks / kMinSliceChunks);
  if (split < 2) return none;
  const double saved = 1.0 - 1.0 / static_cast<double>(split);  // tiles' work off the busiest SM
  if (saved * static_cast<double>(executed_chunks) * chunk_cost < static_cast<double>(kMinSavedChunks) ||
      saved < 0.1 * static_cast<double>(waves + 1))
    return none;
  return {waves * sms, static_cast<int>(split)};
}

double busiest_sm_tiles(const TailSplit& t, int64_t tiles, int64_t sms) {
  if (t.split <= 1) return static_cast<double>(ceil_div(tiles, std::max<int64_t>(sms, 1)));
  return static_cast<double>(t.dp_tiles / sms) + 1.0 / t.split;
}

std::string split_tail_name(const std::string& name, const TailSplit& t) {
  return t.split > 1 ? name + "_tailsplit" + std::to_string(t.split) : name;
}

int64_t executed_chunks(const Problem& p, int64_t bm, int64_t k_chunks) {
  const double taps = static_cast<double>(p.kh() * p.kw()) * executed_tap_fraction(p, bm);
  return static_cast<int64_t>(taps * static_cast<double>(k_chunks) + 0.5);
}

ChunkWork chunk_work(const Problem& p, const Tile& tile) {
  if (p.op() == Op::kSeparable) {
    return {ceil_div(p.mid_channels(), Tile::kBK),
            1.0 + 16.0 * static_cast<double>(p.kh() * p.kw()) / static_cast<double>(tile.bn)};
  }
  return {executed_chunks(p, tile.bm, ceil_div(p.c(), Tile::kBK)), 1.0};
}

TailSplit allowed_tail_split(const detail::OfferContext& ctx, const std::string& name, const Tile& tile,
                             int64_t tiles) {
  const TailSplit none{tiles, 1};
  if (ctx.device == nullptr) return none;
  const ChunkWork work = chunk_work(ctx.problem, tile);
  const TailSplit ts = tail_split(tiles, ctx.device->sm_count, work.chunks, work.cost);
  return ts.split > 1 && ctx.allows(split_tail_name(name, ts)) ? ts : none;
}

std::string apply_tail_split(const detail::OfferContext& ctx, const std::string& name, const Tile& tile,
                             GemmParams* g) {
  const TailSplit ts = allowed_tail_split(ctx, name, tile, g->m_tiles * g->n_tiles);
  g->dp_tiles = ts.dp_tiles, g->split = ts.split;
  return split_tail_name(name, ts);
}

Tile choose_tile(const detail::OfferContext& ctx, const std::string& stem, KernelChoice* k) {
  const Problem& p = ctx.problem;
  if (p.dtype() == DType::kF32) {
    // TF32 only when the caller opted in, on a device with TF32 tensor cores; FMA otherwise.
    const bool tf32 = ctx.options.allow_tf32 && (ctx.device == nullptr || ctx.device->arch() >= 80);
    return k->tile = tf32 ? kTileTf32 : kTileF32;
  }
  // The busiest SM's shared-memory wavefronts, which bound these tiles on sm_80/sm_90: it runs
  // ceil(blocks / SMs) blocks (conv2d: W + 1/S with a split tail) of bm x bn outputs at so many wavefronts
  // per mma (in quarters: fragment loads plus staging stores): narrow 2 + 1, tall (4 warps of 64 x 32)
  // 1.5 + 0.75, wide (8 warps of 64 x 32) 1.5 + 0.5, 64 x 256 (8 warps of 32 x 64; fused separable
  // only) 1.5 + 0.625, rounded up, async3 (warps of 64 x 64, ldmatrix) 1 + 0.5 on 128 x 128 and 1 + 0.75
  // on 64 x 128, over the taps its tiles do not skip (conv2d; fewer for smaller tiles at large
  // dilations). The larger tiles read each fragment for more products; the smaller ones waste less of the
  // device on a grid that does not divide into whole waves, and skip more taps.
  const int64_t pixels = p.n() * p.out_h() * p.out_w(), sms = ctx.device != nullptr ? ctx.device->sm_count : 1;
  struct Option {
    Tile tile;
    int64_t quarter_wavefronts_per_mma;
  };
  const Option options[] = {{kTileAsync, 6},   {kTileAsyncShort, 7}, {kTileWide, 8},
                            {kTileWideOut, 9}, {kTileTall, 9},       {kTileNarrow, 12}};
  const bool skips = p.op() == Op::kConv2d;  // the fused separable kernel has one GEMM tap
  // cp.async staging copies whole 16-byte vectors of input channels and of filter rows along O: NHWC, a
  // TF filter, C and O multiples of 8; and its three stages need the opt-in shared memory.
  const int64_t vec = 16 / static_cast<int64_t>(dtype_size(p.dtype()));
  const bool async_ok = p.op() == Op::kConv2d && p.layout() == Layout::kNHWC &&
                        p.filter_layout() == FilterLayout::kTF && p.c() % vec == 0 && p.out_channels() % vec == 0 &&
                        (ctx.device == nullptr || kTileAsync.smem_bytes(false) <= ctx.device->smem_per_block_optin);
  const Option* best = nullptr;
  double best_cost = 0;
  for (bool filtered : {true, false}) {  // first among the names the options allow; else by cost alone
    for (const Option& o : options) {
      if (o.tile.stages > 2 && !async_ok) continue;
      // 64 x 256 serves the fused separable kernel where it holds every output channel in one tile; with
      // two or more (O > 256) it would widen the fused kernel's reach (its recompute limit counts column
      // tiles) to layers the model puts slower fused: 14x14 512 -> 512, 0.66x two passes.
      if (o.tile == kTileWideOut && (p.op() != Op::kSeparable || p.out_channels() > o.tile.bn)) continue;
      if (filtered && !ctx.allows(stem + engine_suffix(p.dtype(), o.tile))) continue;
      const int64_t blocks = ceil_div(pixels, o.tile.bm) * ceil_div(p.out_channels(), o.tile.bn);
      const double taps = skips ? executed_tap_fraction(p, o.tile.bm) : 1.0;
      const TailSplit split = allowed_tail_split(ctx, stem + engine_suffix(p.dtype(), o.tile), o.tile, blocks);
      double cost = busiest_sm_tiles(split, blocks, sms) *
                    static_cast<double>(o.tile.bm * o.tile.bn * o.quarter_wavefronts_per_mma) * taps;
      // The fused separable kernel recomputes the depthwise values once per column tile, and those
      // products' round trips and input reads outweigh the shared-memory term: fewest column tiles first.
      if (p.op() == Op::kSeparable) cost += 1e15 * static_cast<double>(ceil_div(p.out_channels(), o.tile.bn));
      if (best == nullptr || cost < best_cost) best = &o, best_cost = cost;
    }
    if (best != nullptr) break;
  }
  return k->tile = best->tile;
}

GemmParams common_params(const Problem& p, int64_t k_channels, int64_t gemm_taps, const Tile& tile) {
  GemmParams g;
  g.n = p.n(), g.h = p.h(), g.w = p.w(), g.c = p.c(), g.m = p.m();
  g.k_channels = k_channels;
  g.o = p.out_channels(), g.oh = p.out_h(), g.ow = p.out_w();
  g.kh = p.kh(), g.kw = p.kw(), g.sh = p.stride_h(), g.sw = p.stride_w(), g.dh = p.dilation_h(), g.dw = p.dilation_w();
  g.pad_top = p.pad_top(), g.pad_left = p.pad_left();
  g.gemm_taps = gemm_taps;
  g.m_tiles = ceil_div(p.n() * p.out_h() * p.out_w(), tile.bm);
  g.n_tiles = ceil_div(p.out_channels(), tile.bn);
  g.k_chunks = ceil_div(k_channels, Tile::kBK);
  g.dp_tiles = g.m_tiles * g.n_tiles;
  g.tile_bm = tile.bm, g.tile_bn = tile.bn;
  g.act = activation_code(p.activation());
  const int64_t vec = 16 / static_cast<int64_t>(dtype_size(p.dtype()));
  g.vec_out = p.layout() == Layout::kNHWC && p.out_channels() % vec == 0;
  return g;
}

std::string int32_bounds(const GemmParams& g) {
  struct Bound {
    const char* what;
    int64_t value;
  };
  const auto sat = [](int64_t a, int64_t b) { return a != 0 && b > (int64_t{1} << 62) / a ? int64_t{1} << 62 : a * b; };
  const Bound bounds[] = {
      {"input rows", g.h},
      {"input columns", g.w},
      {"input channels", g.c},
      {"channels per tap", g.k_channels},
      {"filter taps", sat(g.kh, g.kw)},
      {"output pixels per image", sat(g.oh, g.ow)},
      {"output channels", g.o},
      {"input rows reached", sat(g.oh - 1, g.sh) + sat(g.kh - 1, g.dh) + g.pad_top},
      {"input columns reached", sat(g.ow - 1, g.sw) + sat(g.kw - 1, g.dw) + g.pad_left},
      {"K chunks", sat(g.gemm_taps, g.k_chunks)},
      {"blocks", sat(g.m_tiles, g.n_tiles)},
  };
  for (const Bound& b : bounds) {
    if (b.value > kInt32Max)
      return std::string(b.what) + " " + std::to_string(b.value) + " exceed the implicit GEMM's 32-bit indexing";
  }
  return "";
}

std::string device_support(const detail::OfferContext& ctx, DType dtype) {
  if (dtype != DType::kF32 && ctx.device != nullptr && ctx.device->arch() < 80) {
    return "mma.sync m16n8k16 needs compute capability 8.0; " + ctx.device->name + " has " +
           std::to_string(ctx.device->cc_major) + "." + std::to_string(ctx.device->cc_minor);
  }
  return "";
}

std::string engine_suffix(DType dtype, const Tile& tile) {
  const std::string staging =
      (tile.resident ? "_resident" : "") + (tile.stages > 2 ? "_async" + std::to_string(tile.stages) : std::string());
  const char* math = tile.tf32 ? "_tf32_mma" : dtype == DType::kF32 ? "_fma" : "_mma";
  return std::string(to_string(dtype)) + math + staging + "_tile" + std::to_string(tile.bm) + "x" +
         std::to_string(tile.bn) + "x" + std::to_string(Tile::kBK);
}

detail::Offer accept(std::string name, const KernelChoice& k, const GemmParams& g) {
  return detail::Offer::accept(std::make_unique<GemmImpl>(std::move(name), k, g));
}

}  // namespace gemm

namespace {

detail::Offer offer_implicit_gemm(const detail::OfferContext& ctx) {
  const Problem& p = ctx.problem;
  const std::string stem = std::string("conv2d_fwd_") + to_string(p.layout()) + "_igemm_";
  gemm::KernelChoice k;
  const gemm::Tile tile = gemm::choose_tile(ctx, stem, &k);
  std::string name = stem + gemm::engine_suffix(p.dtype(), tile);
  if (std::string why = gemm::device_support(ctx, p.dtype()); !why.empty()) return detail::Offer::decline(name, why);
  gemm::GemmParams g = gemm::common_params(p, p.c(), p.kh() * p.kw(), tile);
  if (std::string why = gemm::int32_bounds(g); !why.empty()) return detail::Offer::decline(name, why);
  name = gemm::apply_tail_split(ctx, name, tile, &g);  // on the device the plan runs on

  if (p.filter_layout() == FilterLayout::kTF) {  // [KH,KW,C,O]
    g.b_tap = p.c() * p.out_channels(), g.b_k = p.out_channels(), g.b_o = 1;
  } else {  // [O,C,KH,KW]
    g.b_tap = 1, g.b_k = p.kh() * p.kw(), g.b_o = p.c() * p.kh() * p.kw();
  }
  const int64_t vec = 16 / static_cast<int64_t>(dtype_size(p.dtype()));
  g.vec_a = p.layout() == Layout::kNHWC && p.c() % vec == 0;
  g.vec_b = g.b_o == 1 && p.out_channels() % vec == 0;
  g.b_k_fast = g.b_k < g.b_o;
  k.dtype = p.dtype();
  k.nchw = p.layout() == Layout::kNCHW;
  k.producer = gemm::Producer::kGather;
  return gemm::accept(name, k, g);
}

}  // namespace

const std::vector<detail::OfferFn>& conv2d_forward_offers() {
  static const std::vector<detail::OfferFn> offers = {offer_implicit_gemm};
  return offers;
}

}  // namespace dsconv::cuda
