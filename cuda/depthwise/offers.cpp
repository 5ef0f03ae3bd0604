// The depthwise forward offers of the cuda backend, in list order:
//   1. dw_fwd_nhwc_k{K}s{S}_...   specialized NHWC (DSCONV_DW_NHWC_SPECIALIZATIONS; dense, multiplier 1)
//   2. dw_fwd_nhwc_lk_mma_...     large filters (width 13..41) on tensor cores, f16/bf16, stride 1, dense
//   3. dw_fwd_nhwc_lattice_...    tiled NHWC, dilated, stride 1: outputs spaced by the dilation per block
//   4. dw_fwd_nhwc_generic_...    tiled NHWC, any filter / stride / dilation / multiplier / padding
//   5. dw_fwd_nchw_k{K}s{S}_...   NCHW, square 3/5/7, stride 1/2: bands of whole rows staged as they lie
//   6. dw_fwd_nchw_generic_...    tiled NCHW, any filter / stride / dilation / multiplier / padding
//   7. dw_fwd_{nhwc,nchw}_direct  one output per thread, 64-bit indexing: accepts every problem
// The walker (src/dispatch/walker.cpp) takes the first that accepts; each one passed over leaves a
// Rejection saying why. Every offer sizes its kernel for the device the plan runs on (shared memory per
// block and per SM from OfferContext::device). The tiled kernels index within an image (or plane) in 32
// bits; the bounds they need are proven here, and a problem beyond them falls through to the direct
// kernel.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <initializer_list>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "cuda/depthwise/offers.hpp"
#include "cuda/depthwise/params.hpp"
#include "cuda/depthwise/traits.hpp"

namespace dsconv::cuda {
namespace {

using detail::Offer;
using detail::OfferContext;
using dw::ceil_div;
using dw::DwParams;
using dw::KernelChoice;
using dw::KernelFn;
using dw::LaunchConfig;
using dw::ResolveFn;

constexpr int64_t kInt32Max = 0x7fffffff;
// The tiled kernels walk their tiles in a grid-stride loop in int (tile += gridDim.x, with a grid of one
// block per tile): tiles <= 2^30 keeps that sum below 2^31.
constexpr int64_t kMaxTiles = int64_t{1} << 30;

std::string dims(int64_t a, int64_t b) { return std::to_string(a) + "x" + std::to_string(b); }

bool aligned(const void* ptr, size_t bytes) { return reinterpret_cast<uintptr_t>(ptr) % bytes == 0; }

// Elements per 16-byte load of the problem's dtype.
int64_t load_vec(const Problem& p) { return 16 / static_cast<int64_t>(dtype_size(p.dtype())); }

class DepthwiseImpl final : public detail::Impl {
 public:
  DepthwiseImpl(std::string name, ResolveFn resolve, KernelChoice choice, LaunchConfig cfg, DwParams params,
                size_t in_align, size_t out_align)
      : name_(std::move(name)),
        resolve_(resolve),
        choice_(choice),
        cfg_(cfg),
        params_(params),
        in_align_(in_align),
        out_align_(out_align) {}

  const std::string& name() const override { return name_; }

  // The instantiation is found and readied once, here; run() only launches it.
  Status prepare() override {
    Result<KernelFn> kernel = resolve_(choice_, cfg_, params_);
    if (!kernel) return kernel.status();
    if (Status s = prepare_launch(*kernel, name_.c_str(), cfg_); !s) return s;
    kernel_ = *kernel;
    return Status::ok();
  }

  Status run(const TensorArgs& args, void*, size_t, void* stream) const override {
    DwParams p = params_;
    p.x = args.input();
    p.filter = args.filter();
    p.bias = args.bias();
    p.residual = args.get(Arg::kResidual);
    p.y = args.output();
    // params_ says whether C (or OW) allows vector accesses; the pointers decide per run. Misaligned
    // tensors (a view offset by one element, say) take the kernels' checked element-wise paths.
    p.vec_res = p.vec_in && p.residual != nullptr && aligned(p.residual, in_align_);
    p.vec_in = p.vec_in && aligned(p.x, in_align_);
    p.narrow_in = p.narrow_in != 0 && aligned(p.x, static_cast<size_t>(p.narrow_in)) ? p.narrow_in : 0;
    p.vec_out = p.vec_out && aligned(p.y, out_align_);
    p.vec_w = p.vec_w && aligned(p.filter, 16);
    return dw::launch(kernel_, name_.c_str(), cfg_, p, stream);
  }

 private:
  std::string name_;
  ResolveFn resolve_;
  KernelChoice choice_;
  LaunchConfig cfg_;
  DwParams params_;
  size_t in_align_, out_align_;
  KernelFn kernel_ = nullptr;
};

Offer accept(std::string name, ResolveFn resolve, const KernelChoice& k, const LaunchConfig& cfg, const DwParams& d,
             size_t in_align, size_t out_align) {
  return Offer::accept(std::make_unique<DepthwiseImpl>(std::move(name), resolve, k, cfg, d, in_align, out_align));
}

Offer decline(std::string name, std::string reason) { return Offer::decline(std::move(name), std::move(reason)); }

// The shared-memory limits of the device the plan runs on: a block's maximum (opt-in) and the staging
// budget of the generic kernels (traits.hpp).
struct SmemLimits {
  int64_t per_block;
  int64_t budget;
  std::string device;  // for messages
};

SmemLimits smem_limits(const OfferContext& ctx) {
  if (ctx.device == nullptr)  // not reached: the cuda backend always describes its device
    return {dw::kMaxSmemBytesPerBlock, dw::kGenericSmemBudgetBytes, "the device"};
  const detail::DeviceInfo& d = *ctx.device;
  return {d.smem_per_block_optin,
          dw::generic_smem_budget(d.smem_per_sm, d.smem_reserved_per_block, d.smem_per_block_optin), d.name};
}

// Whether the device has cp.async (sm_80 and later), which the NHWC tiled kernels stage by; without a device
// description (not reached: the cuda backend always has one) the default build's architectures do.
bool async_copy_available(const OfferContext& ctx) { return ctx.device == nullptr || ctx.device->arch() >= 80; }

// What the specialized kernels' names say about an epilogue beyond bias + clamp: "_res" for a residual,
// "_silu", "_hswish", "_gelu", "_gelu_tanh" (those take the kFullEpilogue instantiation).
std::string epilogue_suffix(const Problem& p) {
  std::string s = p.has_residual() ? "_res" : "";
  if (!is_clamp_activation(p.activation())) s += std::string("_") + to_string(p.activation());
  return s;
}

// What every kernel reads from the problem.
DwParams common_params(const Problem& p) {
  DwParams d;
  d.n = p.n(), d.h = p.h(), d.w = p.w(), d.c = p.c(), d.m = p.m(), d.cm = p.c() * p.m();
  d.oh = p.out_h(), d.ow = p.out_w();
  d.kh = p.kh(), d.kw = p.kw(), d.sh = p.stride_h(), d.sw = p.stride_w(), d.dh = p.dilation_h(), d.dw = p.dilation_w();
  d.pad_top = p.pad_top(), d.pad_left = p.pad_left();
  if (p.filter_layout() == FilterLayout::kTF) {  // [KH][KW][C][M]: output channel c*M+m is contiguous
    d.w_tap_stride = d.cm, d.w_oc_stride = 1;
  } else {  // [C*M][1][KH][KW]
    d.w_tap_stride = 1, d.w_oc_stride = d.kh * d.kw;
  }
  d.act = activation_code(p.activation());
  d.nchw = p.layout() == Layout::kNCHW;
  return d;
}

// The 32-bit bounds of the tiled kernels: element offsets within one image (NHWC) or plane (NCHW), the
// filter, the tile count, and every input coordinate a tile of tile_h x tile_w outputs computes
// (tile origin * stride - pad + filter reach). Returns "" or why not.
std::string int32_bounds(const Problem& p, int64_t image_in, int64_t image_out, int64_t tiles, int64_t tile_h,
                         int64_t tile_w) {
  struct Bound {
    const char* what;
    int64_t value;
  };
  const int64_t reach_h = (ceil_div(p.out_h(), tile_h) * tile_h) * p.stride_h() +
                          dw::halo_extent(1, p.kh(), 1, p.dilation_h()) + p.pad_top();
  const int64_t reach_w = (ceil_div(p.out_w(), tile_w) * tile_w) * p.stride_w() +
                          dw::halo_extent(1, p.kw(), 1, p.dilation_w()) + p.pad_left();
  const Bound bounds[] = {{"input elements per image", image_in},
                          {"output elements per image", image_out},
                          {"filter elements", p.filter_elements()},
                          {"input rows reached", reach_h},
                          {"input columns reached", reach_w}};
  for (const Bound& b : bounds) {
    if (b.value > kInt32Max) {
      return std::string(b.what) + " " + std::to_string(b.value) + " exceed the 32-bit indexing of the tiled kernels";
    }
  }
  if (tiles > kMaxTiles) {
    return "tiles " + std::to_string(tiles) + " exceed the 2^30 bound of the tiled kernels' 32-bit grid-stride loop";
  }
  return "";
}

// Overflow-safe product for the bound checks (saturates far above 2^31).
int64_t prod(std::initializer_list<int64_t> v) {
  int64_t r = 1;
  for (int64_t x : v) {
    if (x != 0 && r > (int64_t{1} << 62) / x) return int64_t{1} << 62;
    r *= x;
  }
  return r;
}

// --- 1. specialized NHWC -------------------------------------------------------------------------

struct SpecializedShape {
  int tile_h = 0, tile_w = 0, threads = 0;
  int64_t smem = 0;
};

// The tile numbers of specialization (k, s) for elements of `elem_bytes`, large or small tile, read from
// the traits (the traits depend on the element's size only: 16-bit data is staged 16-bit).
template <class T, bool kSmall>
SpecializedShape specialized_shape_of(int64_t k, int64_t s) {
  SpecializedShape r;
#define DSCONV_DW_SHAPE(K_, S_)                                                 \
  if (k == (K_) && s == (S_)) {                                                 \
    using Tr = dw::NhwcSpecializedTraits<T, K_, S_, kSmall>;                    \
    r = SpecializedShape{Tr::kTileH, Tr::kTileW, Tr::kThreads, Tr::kSmemBytes}; \
  }
  DSCONV_DW_NHWC_SPECIALIZATIONS(DSCONV_DW_SHAPE)
#undef DSCONV_DW_SHAPE
  return r;
}
SpecializedShape specialized_shape(int64_t k, int64_t s, size_t elem_bytes, bool small) {
  if (elem_bytes == 2)
    return small ? specialized_shape_of<uint16_t, true>(k, s) : specialized_shape_of<uint16_t, false>(k, s);
  return small ? specialized_shape_of<float, true>(k, s) : specialized_shape_of<float, false>(k, s);
}

std::string specialized_list() {
  std::string s;
#define DSCONV_DW_NAME(K_, S_) s += std::string(s.empty() ? "" : ", ") + "k" #K_ "s" #S_;
  DSCONV_DW_NHWC_SPECIALIZATIONS(DSCONV_DW_NAME)
#undef DSCONV_DW_NAME
  return s;
}

// Why the specializations' filter and stride list (the NHWC specialized and NCHW rows kernels) does not have
// `p`'s filter and stride, or "".
std::string not_specialized(const Problem& p) {
  if (p.kh() != p.kw()) return "filter " + dims(p.kh(), p.kw()) + " is not square";
  if (p.stride_h() != p.stride_w()) return "stride " + dims(p.stride_h(), p.stride_w()) + " differs between H and W";
  if (!dw::nhwc_specialization_exists(p.kh(), p.stride_h())) {
    return "no specialization for kernel " + std::to_string(p.kh()) + " stride " + std::to_string(p.stride_h()) +
           " (have " + specialized_list() + ")";
  }
  return "";
}

Offer offer_nhwc_specialized(const OfferContext& ctx) {
  const Problem& p = ctx.problem;
  const std::string family = "dw_fwd_nhwc_k{K}s{S}";
  if (p.layout() != Layout::kNHWC) return decline(family, "layout is nchw; the specialized kernels are NHWC");
  if (const std::string why = not_specialized(p); !why.empty()) return decline(family, why);
  if (p.dilation_h() != 1 || p.dilation_w() != 1) {
    return decline(family, "dilation " + dims(p.dilation_h(), p.dilation_w()) + "; the specialized kernels are dense");
  }
  if (p.m() != 1) return decline(family, "multiplier " + std::to_string(p.m()) + "; the specialized kernels need 1");

  const int64_t vec = load_vec(p);
  const bool vec_c = p.c() % vec == 0;
  // Narrower vectors where C is not a multiple of 16 bytes' elements: 8 bytes (C a multiple of vec / 2),
  // and for 16-bit data 4 bytes (C even); the name gives the elements per load.
  const int narrow = p.c() % (vec / 2) == 0 ? 8 : (vec == 8 && p.c() % 2 == 0 ? 4 : 0);
  const int64_t name_vec = vec_c ? vec : narrow != 0 ? vec * narrow / 16 : 1;
  const bool full_epilogue = p.has_residual() || !is_clamp_activation(p.activation());
  const std::string prefix = "dw_fwd_nhwc_k" + std::to_string(p.kh()) + "s" + std::to_string(p.stride_h()) + "_" +
                             to_string(p.dtype()) + "x" + std::to_string(name_vec);
  // The tile: the large one, unless its grid leaves at least half the device's SMs without a block (batch 1
  // on the late layers), where the small one's twice as many blocks put more SMs (and their loads in flight)
  // to work. On grids of more than half the SMs the gain is within 2% in the model, and the 7x7 kernel, bound
  // by shared memory, loses to the small tile's extra halo reads (ConvNeXt's 56x56x96 at N=1: 84 large
  // tiles, 1.14x the time). A tile named through the options is taken first.
  const auto shape_of = [&](bool small) {
    return specialized_shape(p.kh(), p.stride_h(), dtype_size(p.dtype()), small);
  };
  const auto tiles_of = [&](const SpecializedShape& sh) {
    return prod({p.n(), ceil_div(p.out_h(), sh.tile_h), ceil_div(p.out_w(), sh.tile_w),
                 ceil_div(p.c(), dw::kNhwcChannelChunk)});
  };
  const auto name_of = [&](const SpecializedShape& sh) {
    return prefix + "_tile" + dims(sh.tile_h, sh.tile_w) + epilogue_suffix(p);
  };
  const int64_t sms = ctx.device != nullptr ? ctx.device->sm_count : 132;
  bool small = 2 * tiles_of(shape_of(false)) <= sms;
  if (!ctx.allows(name_of(shape_of(small))) && ctx.allows(name_of(shape_of(!small)))) small = !small;
  const SpecializedShape shape = shape_of(small);
  const std::string name = name_of(shape);
  DwParams d = common_params(p);
  d.tiles_h = ceil_div(p.out_h(), shape.tile_h);
  d.tiles_w = ceil_div(p.out_w(), shape.tile_w);
  d.groups = ceil_div(p.c(), dw::kNhwcChannelChunk);
  const int64_t tiles = prod({p.n(), d.tiles_h, d.tiles_w, d.groups});
  const std::string bound = int32_bounds(p, prod({p.h(), p.w(), p.c()}), prod({p.out_h(), p.out_w(), p.c()}), tiles,
                                         shape.tile_h, shape.tile_w);
  if (!bound.empty()) return decline(name, bound);
  if (const SmemLimits lim = smem_limits(ctx); shape.smem > lim.per_block) {
    return decline(name, "the tile needs " + std::to_string(shape.smem) + " bytes of shared memory, over the " +
                             std::to_string(lim.per_block) + " a block can have on " + lim.device);
  }
  d.vec_in = vec_c;
  d.narrow_in = narrow;
  d.async_in = async_copy_available(ctx);
  d.vec_out = p.c() % 2 == 0;
  KernelChoice k;
  k.dtype = p.dtype();
  k.kernel = static_cast<int>(p.kh());
  k.stride = static_cast<int>(p.stride_h());
  k.full_epilogue = full_epilogue;
  k.small_tile = small;
  const LaunchConfig cfg{tiles, shape.threads, shape.smem};
  const size_t es = dtype_size(p.dtype());
  return accept(name, dw::resolve_nhwc_specialized, k, cfg, d, 16, 2 * es);
}

// --- 2. large filters on tensor cores (NHWC, 16-bit) ---------------------------------------------

std::string lim_device_waves(double waves) {
  char buf[48];
  std::snprintf(buf, sizeof buf, "the device %.1f times", waves);
  return buf;
}

// Blocks of the large-filter kernel (256 threads, `smem` bytes of shared memory) one SM of `device` holds,
// as far as shared memory and threads say (registers: at least 2, its launch bounds).
int64_t lk_blocks_per_sm(const detail::DeviceInfo& device, int64_t smem) {
  int64_t per_sm = std::max<int64_t>(1, device.smem_per_sm / (smem + device.smem_reserved_per_block));
  if (device.max_threads_per_sm > 0)
    per_sm = std::min<int64_t>(per_sm, device.max_threads_per_sm / dw::LargeMmaTraits::kThreads);
  return std::max<int64_t>(1, per_sm);
}

// The large-filter kernel's warp tile for a problem on a device. Of the shapes whose shared memory fits a
// block, the one with the least estimated time on the busiest SM: ceil(tiles / SMs) blocks, each costing
// its shared-memory wavefronts (B and band loads of the hot loop, the staging stores) or its tensor-core
// issue, whichever is larger (an m16n8k16 weighed as 1.5 wavefronts: a rough ratio, whose picks were
// checked against the performance model on every RepLKNet layer), the staging counted in full when one
// block fills an SM (nothing else to overlap it with). Wider tiles
// load each B fragment for more products and stage less halo per output; narrower ones fill the device at
// batch 1 and waste less of a small map. The shapes whose names the options allow (--impl) come first.
struct LkShapeChoice {
  bool fits = false;
  dw::LargeMmaTraits::Shape shape{0, 0};
};

LkShapeChoice choose_lk_shape(const OfferContext& ctx, const std::string& prefix, int64_t smem_per_block) {
  using Tr = dw::LargeMmaTraits;
  const Problem& p = ctx.problem;
  const detail::DeviceInfo* const device = ctx.device;
  LkShapeChoice best;
  double best_cost = 0;
  const int64_t kh = p.kh(), kw = p.kw(), ks = Tr::ksteps(kw);
  for (const bool filtered : {true, false}) {
    for (const Tr::Shape s : Tr::kShapes) {
      const int64_t smem = Tr::smem_bytes(kh, kw, s);
      if (smem > smem_per_block) continue;
      if (filtered && !ctx.allows(prefix + "_tile" + dims(Tr::tile_h(s), Tr::tile_w(s)))) continue;
      const int64_t tiles = prod({p.n(), ceil_div(p.out_h(), Tr::tile_h(s)), ceil_div(p.out_w(), Tr::tile_w(s)),
                                  ceil_div(p.c(), Tr::kChannels)});
      const int64_t sms = device != nullptr ? device->sm_count : 132;
      const int64_t per_sm = device != nullptr ? lk_blocks_per_sm(*device, smem) : 2;
      const int64_t bases = kh + s.rows8 - 1;
      const double hot =
          static_cast<double>(Tr::kChannels) * static_cast<double>(bases * 2 * (s.cols16 + ks - 1) + kh * 2 * ks);
      const double mma = 1.5 * static_cast<double>(Tr::kChannels * s.rows8 * s.cols16 * ks * kh);
      const double staging = static_cast<double>(Tr::rows(kh, s) * Tr::cols(kw, s)) / 8.0 +
                             static_cast<double>(Tr::kChannels * Tr::filter_words(kh, kw)) / 32.0;
      const double block = std::max(hot, mma) + (per_sm >= 2 ? 0.5 : 1.0) * staging;
      const double cost = static_cast<double>(ceil_div(tiles, sms)) * block;
      if (!best.fits || cost < best_cost) {
        best.fits = true;
        best.shape = s;
        best_cost = cost;
      }
    }
    if (best.fits) break;
  }
  return best;
}

Offer offer_nhwc_large_mma(const OfferContext& ctx) {
  using Tr = dw::LargeMmaTraits;
  const Problem& p = ctx.problem;
  const std::string family = "dw_fwd_nhwc_lk_mma";
  if (p.layout() != Layout::kNHWC) return decline(family, "layout is nchw; the tensor-core kernel is NHWC");
  if (p.dtype() == DType::kF32)
    return decline(family, "dtype f32; the tensor-core kernel takes f16 or bf16 (f32 stays on the FMA kernels)");
  if (p.kw() < Tr::kMinKernelW || p.kw() > Tr::kMaxKernelW || p.kh() > Tr::kMaxKernelH) {
    return decline(family, "filter " + dims(p.kh(), p.kw()) + "; the tensor-core kernel takes widths " +
                               std::to_string(Tr::kMinKernelW) + " to " + std::to_string(Tr::kMaxKernelW) +
                               " and heights up to " + std::to_string(Tr::kMaxKernelH));
  }
  if (p.stride_h() != 1 || p.stride_w() != 1 || p.dilation_h() != 1 || p.dilation_w() != 1)
    return decline(family, "stride " + dims(p.stride_h(), p.stride_w()) + ", dilation " +
                               dims(p.dilation_h(), p.dilation_w()) + "; the tensor-core kernel is dense, stride 1");
  if (p.m() != 1) return decline(family, "multiplier " + std::to_string(p.m()) + "; the tensor-core kernel needs 1");
  if (ctx.device != nullptr && ctx.device->arch() < 80)
    return decline(family, "mma.sync m16n8k16 needs compute capability 8.0; " + ctx.device->name + " has " +
                               std::to_string(ctx.device->cc_major) + "." + std::to_string(ctx.device->cc_minor));
  const bool vec_c = p.c() % Tr::kChannels == 0;
  const std::string prefix = family + "_" + to_string(p.dtype()) + "x" + std::to_string(vec_c ? Tr::kChannels : 1);
  const SmemLimits lim = smem_limits(ctx);
  const LkShapeChoice choice = choose_lk_shape(ctx, prefix, lim.per_block);
  if (!choice.fits) {
    const Tr::Shape last = Tr::kShapes[std::size(Tr::kShapes) - 1];
    return decline(prefix + "_tile" + dims(Tr::tile_h(last), Tr::tile_w(last)),
                   "the smallest tile needs " + std::to_string(Tr::smem_bytes(p.kh(), p.kw(), last)) +
                       " bytes of shared memory, over the " + std::to_string(lim.per_block) + " a block can have on " +
                       lim.device);
  }
  const Tr::Shape shape = choice.shape;
  const int th = Tr::tile_h(shape), tw = Tr::tile_w(shape);
  const std::string name = prefix + "_tile" + dims(th, tw);
  const int64_t smem = Tr::smem_bytes(p.kh(), p.kw(), shape);
  DwParams d = common_params(p);
  d.tiles_h = ceil_div(p.out_h(), th);
  d.tiles_w = ceil_div(p.out_w(), tw);
  d.groups = ceil_div(p.c(), Tr::kChannels);
  const int64_t tiles = prod({p.n(), d.tiles_h, d.tiles_w, d.groups});
  const std::string bound =
      int32_bounds(p, prod({p.h(), p.w(), p.c()}), prod({p.out_h(), p.out_w(), p.c()}), tiles, th, tw);
  if (!bound.empty()) return decline(name, bound);
  // A map much smaller than the smallest tile leaves most of it empty. While the grid is under one wave the
  // tensor cores still win; once it fills the device, the FMA kernels' smaller tiles do less work. Modelled
  // on an H100 with 13x13 filters at C=1024 (bench/results/2026-12-01-model-h100-lk-mma-v2/): a 5x5 map
  // (19% of an 8x16 tile) 2.1x faster on tensor cores at N=4 (0.5 waves), even at N=8, 0.66x at N=12 and
  // 0.71x at N=32; a 7x7 map (38%) even at N=32. Not yet measured. Forbidding the FMA kernel
  // (skip_implementations, or --impl naming this family) lifts the rule.
  const double used = static_cast<double>(p.out_h() * p.out_w()) / static_cast<double>(d.tiles_h * th * d.tiles_w * tw);
  if (ctx.device != nullptr && used < 0.3 && !ctx.excludes_all("dw_fwd_nhwc_generic")) {
    const double waves =
        static_cast<double>(tiles) / static_cast<double>(lk_blocks_per_sm(*ctx.device, smem) * ctx.device->sm_count);
    if (waves >= 1.0) {
      return decline(name, "only " + std::to_string(static_cast<int>(used * 100)) + "% of its " + dims(th, tw) +
                               " tiles hold outputs (" + dims(p.out_h(), p.out_w()) + " map) and the grid fills " +
                               lim_device_waves(waves) + ": the FMA kernels' smaller tiles do less work");
    }
  }
  d.vec_in = vec_c;  // whole pixels of 8 channels, 16-byte aligned pointers (checked per run)
  d.vec_out = vec_c;
  d.vec_w = vec_c && p.filter_layout() == FilterLayout::kTF;  // a tap's 8 channels contiguous (checked per run)
  KernelChoice k;
  k.dtype = p.dtype();
  k.ksteps = Tr::ksteps(p.kw());
  k.mma_shape = shape;
  const LaunchConfig cfg{tiles, Tr::kThreads, smem};
  return accept(name, dw::resolve_nhwc_large_mma, k, cfg, d, 16, 16);
}

// --- 3. lattice and generic NHWC ------------------------------------------------------------------

// The NHWC generic kernel's variant on steps (lat_h, lat_w) (1 x 1: dense): the sliding window when the filter
// is dense along W in the staged tile at stride 1, its tile and threads, the staged dilation and the staging
// of the problem's dtype (traits.hpp: 16-bit data is staged 16-bit). On the lattice, a sliding tile whose
// residue classes are at most 8 outputs wide is the narrow 8x8 one (traits.hpp, NhwcGenericTraits): the 8x16
// tile would leave its second strip wholly past the class (MobileNetV3's 14x14 5x5 rate-2 layers: four 7x7
// classes, modelled on an H100 at N=32 f16 bound by shared memory, half the threads idle).
struct NhwcGenericShape {
  bool slide = false, narrow = false;
  int tile_h = 0, tile_w = 0, threads = 0;
  int64_t sdh = 1, sdw = 1;  // staged dilation
  dw::NhwcStaging staging;
};
template <bool kSlide, bool kNarrow>
NhwcGenericShape nhwc_generic_shape_of(const Problem& p, int64_t sdh, int64_t sdw) {
  using Tr = dw::NhwcGenericTraits<kSlide, kNarrow>;
  NhwcGenericShape s;
  s.slide = kSlide, s.narrow = kNarrow;
  s.tile_h = Tr::kTileH, s.tile_w = Tr::kTileW, s.threads = Tr::kThreads;
  s.sdh = sdh, s.sdw = sdw;
  s.staging = dw::nhwc_generic_staging<kSlide, kNarrow>(static_cast<int64_t>(dtype_size(p.dtype())));
  return s;
}
// The variant for column step lat_w, on the lattice or dense (both steps 1), with staged row dilation sdh.
NhwcGenericShape nhwc_generic_shape_w(const Problem& p, int64_t lat_w, bool lattice, int64_t sdh) {
  const int64_t sdw = p.dilation_w() / lat_w;
  if (p.stride_w() != 1 || sdw != 1) return nhwc_generic_shape_of<false, false>(p, sdh, sdw);
  if (lattice && ceil_div(p.out_w(), lat_w) <= dw::NhwcGenericTraits<true, true>::kTileW)
    return nhwc_generic_shape_of<true, true>(p, sdh, sdw);
  return nhwc_generic_shape_of<true, false>(p, sdh, sdw);
}
NhwcGenericShape nhwc_generic_shape(const Problem& p, int64_t lat_h, int64_t lat_w) {
  return nhwc_generic_shape_w(p, lat_w, lat_h * lat_w > 1, p.dilation_h() / lat_h);
}

// The NHWC generic kernel, dense (steps 1 x 1) or on the lattice of steps lat_h x lat_w (stride 1; each
// step divides its dilation; in the staged tile the filter is dilated by dilation / step).
Offer nhwc_generic_offer(const OfferContext& ctx, int64_t lat_h, int64_t lat_w) {
  const Problem& p = ctx.problem;
  const bool lattice = lat_h * lat_w > 1;
  const NhwcGenericShape sh = nhwc_generic_shape(p, lat_h, lat_w);
  const bool slide = sh.slide;
  const int tile_h = sh.tile_h, tile_w = sh.tile_w, threads = sh.threads;
  const int64_t sdh = sh.sdh, sdw = sh.sdw;
  const int64_t vec = load_vec(p);
  const bool vec_c = p.m() == 1 && p.c() % vec == 0;
  const std::string name = std::string("dw_fwd_nhwc_") + (lattice ? "lattice" : "generic") +
                           (slide ? "_slidew_" : "_") + to_string(p.dtype()) + "x" + std::to_string(vec_c ? vec : 1) +
                           "_tile" + dims(tile_h, tile_w) + (lattice ? "_step" + dims(lat_h, lat_w) : "");
  const SmemLimits lim = smem_limits(ctx);
  const size_t es = dtype_size(p.dtype());
  const dw::NhwcStaging st = sh.staging;
  const dw::GenericGeometry g = dw::nhwc_generic_geometry(tile_h, tile_w, p.kh(), p.kw(), p.stride_h(), p.stride_w(),
                                                          sdh, sdw, lim.budget, lim.per_block, st);
  if (!g.fits) {
    return decline(name, "one filter row's staged input needs " +
                             std::to_string(dw::nhwc_generic_smem_bytes(tile_h, tile_w, 1, p.kw(), p.stride_h(),
                                                                        p.stride_w(), sdh, sdw, st)) +
                             " bytes of shared memory, over the " + std::to_string(lim.per_block) +
                             " a block can have on " + lim.device);
  }
  DwParams d = common_params(p);
  d.geo = g;
  // Tiles per residue class: the first class has the most outputs, ceil(OH / lat_h).
  d.tiles_h = ceil_div(ceil_div(p.out_h(), lat_h), tile_h);
  d.tiles_w = ceil_div(ceil_div(p.out_w(), lat_w), tile_w);
  d.groups = ceil_div(d.cm, dw::kNhwcChannelChunk);
  d.lat_h = lat_h, d.lat_w = lat_w;
  const int64_t tiles = prod({p.n(), d.tiles_h, d.tiles_w, d.groups, lat_h, lat_w});
  // A tile spans tile x step outputs of the full grid: that is the reach the bounds need.
  const std::string bound = int32_bounds(p, prod({p.h(), p.w(), p.c()}), prod({p.out_h(), p.out_w(), d.cm}), tiles,
                                         tile_h * lat_h, tile_w * lat_w);
  if (!bound.empty()) return decline(name, bound);
  d.vec_in = vec_c;
  d.async_in = async_copy_available(ctx);
  d.vec_out = d.cm % 2 == 0;
  KernelChoice k;
  k.dtype = p.dtype();
  k.slide_w = slide;
  k.lattice = lattice;
  k.narrow_tile = sh.narrow;
  const LaunchConfig cfg{tiles, threads, g.smem_bytes};
  return accept(name, dw::resolve_nhwc_generic, k, cfg, d, 16, 2 * es);
}

// One dimension of a lattice candidate: staging step `step` (a divisor of the dilation), tile `tile`
// outputs. Counts the input positions its tiles stage inside the input (what they load) and its tiles.
struct LatticeDim {
  int64_t loads = 0, tiles = 0;
};
LatticeDim lattice_dim(int64_t out, int64_t in, int64_t k, int64_t dilation, int64_t pad, int64_t step, int64_t tile) {
  LatticeDim r;
  const int64_t region = dw::halo_extent(tile, k, 1, dilation / step);
  for (int64_t q = 0; q < std::min(step, out); ++q) {
    const int64_t tiles = ceil_div(ceil_div(out - q, step), tile);
    for (int64_t i = 0; i < tiles; ++i) {
      // Staged position j of this tile is input q + step * (tile * i + j) - pad.
      const int64_t base = q + step * tile * i - pad;
      const int64_t lo = std::max<int64_t>(0, -dw::floor_div(base, step));
      const int64_t hi = std::min(region - 1, dw::floor_div(in - 1 - base, step));
      r.loads += std::max<int64_t>(0, hi - lo + 1);
    }
    r.tiles += tiles;
  }
  return r;
}

std::vector<int64_t> divisors(int64_t v) {
  std::vector<int64_t> d;
  for (int64_t i = 1; i * i <= v; ++i) {
    if (v % i != 0) continue;
    d.push_back(i);
    if (i != v / i) d.push_back(v / i);
  }
  std::sort(d.begin(), d.end());
  return d;
}

// The lattice steps (lat_h, lat_w) for a dilated stride-1 problem (depthwise_lattice_steps): the pair of divisors of
// the dilations whose tiles load the fewest bytes, counting the input positions they stage inside the input and, per
// tile, the filter taps plus a fixed cost (kTileCost: a small tile's barrier, filter and epilogue round trips). Larger
// steps stage less halo but leave small maps with small, many tiles; a step below the dilation keeps the filter dilated
// by the rest in the staged tile. (1, 1) is the dense kernel. Evaluated exactly per residue class and tile: O(out /
// tile + step) per candidate.
std::pair<int64_t, int64_t> lattice_steps_for(const Problem& p) {
  constexpr int64_t kTileCost = 16;
  const int64_t th = dw::NhwcGenericTraits<true>::kTileH;
  static_assert(dw::NhwcGenericTraits<true>::kTileH == dw::NhwcGenericTraits<true, true>::kTileH &&
                    dw::NhwcGenericTraits<true>::kTileH == dw::NhwcGenericTraits<false>::kTileH,
                "every NHWC generic tile is as tall");
  struct Cand {
    int64_t step;
    LatticeDim dim;        // on the lattice
    LatticeDim dim_dense;  // when the other step is 1 too: the dense kernel's tile (a step-1 column only)
  };
  std::vector<Cand> hs, ws;
  for (int64_t s : divisors(p.dilation_h())) {
    const LatticeDim d = lattice_dim(p.out_h(), p.h(), p.kh(), p.dilation_h(), p.pad_top(), s, th);
    hs.push_back({s, d, d});
  }
  for (int64_t s : divisors(p.dilation_w())) {
    // The full step keeps the filter dense along W: the sliding-window kernel and its wider tile (or, on a
    // lattice of narrow classes, the narrow tile, which the dense kernel does not have).
    const auto dim = [&](bool lattice) {
      const int64_t tw = nhwc_generic_shape_w(p, s, lattice, p.dilation_h()).tile_w;
      return lattice_dim(p.out_w(), p.w(), p.kw(), p.dilation_w(), p.pad_left(), s, tw);
    };
    ws.push_back({s, dim(true), dim(false)});
  }
  const double taps = static_cast<double>(p.kh()) * static_cast<double>(p.kw());
  double best = -1;
  std::pair<int64_t, int64_t> steps{1, 1};
  for (const Cand& h : hs) {
    for (const Cand& w : ws) {
      const LatticeDim& wd = h.step * w.step > 1 ? w.dim : w.dim_dense;
      const double cost = static_cast<double>(h.dim.loads) * static_cast<double>(wd.loads) +
                          static_cast<double>(h.dim.tiles) * static_cast<double>(wd.tiles) * (taps + kTileCost);
      if (best < 0 || cost < best) best = cost, steps = {h.step, w.step};
    }
  }
  return steps;
}

// The blocks of the NHWC generic kernel on steps (lat_h, lat_w); 1 x 1 is the dense kernel.
int64_t nhwc_generic_blocks(const Problem& p, int64_t lat_h, int64_t lat_w) {
  const NhwcGenericShape sh = nhwc_generic_shape(p, lat_h, lat_w);
  return prod({p.n(), ceil_div(ceil_div(p.out_h(), lat_h), sh.tile_h), ceil_div(ceil_div(p.out_w(), lat_w), sh.tile_w),
               ceil_div(p.c() * p.m(), dw::kNhwcChannelChunk), lat_h, lat_w});
}

// A grid of at most one block per SM finishes when its slowest block does: bytes matter less than each
// block's chain of round trips and the busiest SM's shared-memory reads. Staged through registers (before
// sm_80), a lattice block (more outputs of a wider tile, the same filter) has the longer chain, so on such a
// grid the dense kernel is preferred unless the lattice has more blocks to spread the work (modelled on an
// H100 with register staging: 14x14x672 5x5 rate 2 at N=1, 84 blocks either way, 1.35 us dense against 1.76
// on the lattice). Staged by cp.async, either block's staging is one round trip, and what separates them is
// the reads: the lattice tile slides along W (one new read per tap and output row) where the dense one at a
// dilation reads every tap of every output. Past 3x3 that wins (modelled, H100, N=1: 14x14x672 5x5 rate 2,
// 0.84 us dense against 0.56; 3x3 filters within 5% either way: 14x14x384 rate 2 at N=2, 0.56 against 0.59).
bool dense_grid_preferred(const Problem& p, int64_t lat_h, int64_t lat_w, int sm_count, bool async_staging) {
  const int64_t dense = nhwc_generic_blocks(p, 1, 1);
  return sm_count > 0 && (!async_staging || p.kh() * p.kw() <= 9) && dense <= sm_count &&
         nhwc_generic_blocks(p, lat_h, lat_w) <= dense;
}

// Dilated, stride 1: a block's outputs are spaced by a step that divides the dilation (lattice_steps),
// so it stages the input lattice they read with the filter dilated by only the rest (traits.hpp,
// lattice_taps).
Offer offer_nhwc_lattice(const OfferContext& ctx) {
  const Problem& p = ctx.problem;
  const char* family = "dw_fwd_nhwc_lattice";
  if (p.layout() != Layout::kNHWC) return decline(family, "layout is nchw");
  if (p.dilation_h() == 1 && p.dilation_w() == 1)
    return decline(family, "dilation 1x1; the lattice is for dilated filters");
  if (p.stride_h() != 1 || p.stride_w() != 1)
    return decline(family, "stride " + dims(p.stride_h(), p.stride_w()) + "; the lattice kernel takes stride 1");
  const auto [lat_h, lat_w] = lattice_steps_for(p);
  if (lat_h == 1 && lat_w == 1)
    return decline(family, "dilation " + dims(p.dilation_h(), p.dilation_w()) + " on a " + dims(p.out_h(), p.out_w()) +
                               " output: the dense tile loads no more than any lattice step");
  // The grid rule, while the dense kernel may be chosen and fits (a large dilation can put one filter row of
  // its staged input over a block's shared memory, where only the lattice tiles it).
  if (ctx.device != nullptr && !ctx.excludes_all("dw_fwd_nhwc_generic") &&
      dense_grid_preferred(p, lat_h, lat_w, ctx.device->sm_count, async_copy_available(ctx))) {
    const SmemLimits lim = smem_limits(ctx);
    const NhwcGenericShape dense = nhwc_generic_shape(p, 1, 1);
    if (dw::nhwc_generic_geometry(dense.tile_h, dense.tile_w, p.kh(), p.kw(), 1, 1, dense.sdh, dense.sdw, lim.budget,
                                  lim.per_block, dense.staging)
            .fits) {
      return decline(family, "a grid of " + std::to_string(nhwc_generic_blocks(p, 1, 1)) + " dense blocks for " +
                                 std::to_string(ctx.device->sm_count) + " SMs, and no more on the lattice (steps " +
                                 dims(lat_h, lat_w) + ": " + std::to_string(nhwc_generic_blocks(p, lat_h, lat_w)) +
                                 "): at one block per SM the dense tile's shorter chain wins");
    }
  }
  return nhwc_generic_offer(ctx, lat_h, lat_w);
}

Offer offer_nhwc_generic(const OfferContext& ctx) {
  const Problem& p = ctx.problem;
  if (p.layout() != Layout::kNHWC) return decline("dw_fwd_nhwc_generic", "layout is nchw");
  return nhwc_generic_offer(ctx, 1, 1);
}

// --- 5. NCHW rows --------------------------------------------------------------------------------

// Lane slots an output row of the NCHW rows kernel needs: a column each, pairs of columns dilation_w apart (DW
// pairs for every 2 * DW columns), or quads of adjacent columns.
int64_t nchw_rows_slots(const Problem& p, int cols) {
  if (cols == 1) return p.out_w();
  if (cols == 4) return ceil_div(p.out_w(), 4);
  return p.dilation_w() * ceil_div(p.out_w(), 2 * p.dilation_w());
}

// Whether a slot's staged columns are read as words: adjacent pairs (dilation_w 1) and quads.
bool nchw_rows_words(const Problem& p, int cols) { return cols == 4 || (cols == 2 && p.dilation_w() == 1); }

struct NchwRowsShape {
  int cols = 1;  // output columns a lane slot (KernelChoice::cols)
  int tx = 0, strips = 0, planes = 0, band_h = 0, region_rows = 0, pitch = 0, warp_planes = 0;
  bool rotate = false;  // DwParams::rotate_reads
  int64_t smem = 0, blocks = 0;
};

// Groups of planes a warp's lanes span: tx lanes a row, `strips` groups a plane (at least one plane).
int nchw_rows_warp_span(const NchwRowsShape& sh) { return std::max(32 / (sh.tx * sh.strips), 1); }

// Shared reads of a slot's staged row: K elements, K + 1 for pairs dilation_w apart (stride 1), or for adjacent
// pairs and quads the words that hold their staged columns (nchw_rows.cu: read_span_words).
int64_t nchw_rows_reads_per_row(const Problem& p, int cols) {
  const int span = dw::nchw_rows_span(static_cast<int>(p.kw()), static_cast<int>(p.stride_w()), cols);
  return nchw_rows_words(p, cols) ? dw::nchw_rows_span_words(span) : span;
}

// Shared wavefronts of the reads a block's lanes make of their staged rows, the first block's band and planes
// standing for every block's.
// - One column, or pairs dilation_w apart: one read of every lane (row 0 of its strip, the first staged column of
//   the slot; the other reads shift every lane's address alike), times the reads of a row and the rows a slot
//   reads. Lanes of one group
//   read consecutive elements, so only groups of other planes or strips sharing a warp can meet in a bank.
// - Adjacent pairs and quads (read_span_words in nchw_rows.cu): every step of every row a slot reads, exactly as
//   the kernel does (a row of an odd width moves each plane's words by its own parity), straight or rotated.
int64_t nchw_rows_wavefronts(const Problem& p, const NchwRowsShape& sh, int reg_h, int threads) {
  const int64_t es = static_cast<int64_t>(dtype_size(p.dtype())), vec = 16 / es;
  const int64_t slots = nchw_rows_slots(p, sh.cols), s = p.stride_w();
  const bool words = nchw_rows_words(p, sh.cols);
  const int in_rows = dw::nchw_rows_in_rows(reg_h, static_cast<int>(p.stride_h()), static_cast<int>(p.kh()));
  const int64_t span = dw::nchw_rows_span(static_cast<int>(p.kw()), static_cast<int>(s), sh.cols);  // staged columns
  const int64_t n = dw::nchw_rows_span_words(static_cast<int>(span));                               // words read
  const int64_t rows = words ? in_rows : 1, steps = words ? n : 1;
  int64_t total = 0;
  std::vector<std::vector<int64_t>> banks(32);
  for (int w0 = 0; w0 < threads; w0 += 32) {
    for (int64_t j = 0; j < rows; ++j) {
      for (int64_t i = 0; i < steps; ++i) {
        for (auto& b : banks) b.clear();
        for (int t = w0; t < w0 + 32; ++t) {
          const int g = t / sh.tx, x = t % sh.tx;
          const int st = g % sh.strips, slot = g / sh.strips;
          if (slot >= sh.planes || x >= slots) continue;
          // The group's plane (nchw_rows.cu: warp_planes spreads a warp's planes tz / warp_planes apart).
          const int z = sh.warp_planes > 0
                            ? (slot % sh.warp_planes) * (sh.planes / sh.warp_planes) + slot / sh.warp_planes
                            : slot;
          const int64_t col = dw::nchw_rows_slot_base(sh.cols, p.dilation_w(), x);  // the slot's first column
          const int64_t strip_row = st % p.dilation_h() + p.dilation_h() * reg_h * (st / p.dilation_h());
          const int64_t row = std::min(strip_row * p.stride_h() + p.dilation_h() * j, int64_t{sh.region_rows} - 1);
          const int64_t plane = (z / p.m()) * p.h() * p.w();  // input plane of output plane z (n = 0)
          const int64_t lead = ((plane - p.pad_top() * p.w()) % vec + vec) % vec;
          const int64_t at = z * sh.pitch + lead + row * p.w() + col * s - p.pad_left();
          int64_t word = dw::floor_div(at * es, 4);
          if (words) {
            const int64_t rot = sh.rotate ? (n - col * s / 2 % n) % n : 0;
            const int64_t k = (i + rot) % n;  // the word this step reads
            const bool even = dw::floor_div(at, 2) * 2 == at;
            if (!sh.rotate && span % 2 == 0 && k == n - 1 && even) continue;  // not read
            word = std::max<int64_t>(word + k, 0);
          }
          std::vector<int64_t>& bank = banks[static_cast<size_t>(((word % 32) + 32) % 32)];
          if (std::find(bank.begin(), bank.end(), word) == bank.end()) bank.push_back(word);
        }
        size_t most = 0;
        for (const auto& b : banks) most = std::max(most, b.size());
        total += static_cast<int64_t>(most);
      }
    }
  }
  return words ? total : total * nchw_rows_reads_per_row(p, sh.cols) * in_rows;
}

// The NCHW rows kernel's block for a problem on a device: tx lanes per group (the slots of a row rounded up to a
// power of two up to 32, else to whole warps up to the block), the row classes of the dilation in one band,
// whole planes per block where their strips fit (several planes for small maps), else bands of the strips that
// fit; then, for grids under two blocks per SM, fewer planes per block, and under one block per SM, shorter
// bands. Where a warp holds several planes, their order (consecutive, or spread to share a lead) and the plane
// pitch (of the next 128 bytes' worth) are those whose reads meet in the fewest banks. planes = 0: the
// dilation's row classes need more groups than a block has, or one band's rows do not fit `budget`.
NchwRowsShape nchw_rows_shape(const Problem& p, int cols, int reg_h, int threads, int max_planes, int64_t budget,
                              int64_t sm_count) {
  NchwRowsShape sh;
  sh.cols = cols;
  const int64_t oh = p.out_h(), dh = p.dilation_h();
  const int64_t ow = nchw_rows_slots(p, cols);  // lane slots a row needs
  int64_t tx = 1;
  if (ow <= 32) {
    while (tx < ow) tx *= 2;
  } else {
    tx = std::min<int64_t>(threads, ceil_div(ow, 32) * 32);
  }
  sh.tx = static_cast<int>(tx);
  const int64_t groups = threads / tx;
  if (dh > groups) return sh;
  const int64_t planes_total = p.n() * p.c() * p.m();
  const int64_t sb_full = ceil_div(ceil_div(oh, dh), reg_h);
  int64_t sb = 0, planes = 1;
  if (dh * sb_full <= groups) {
    sb = sb_full;
    planes = std::min<int64_t>({groups / (dh * sb), max_planes, planes_total});
  } else {
    sb = groups / dh;
  }
  const auto blocks = [&] { return ceil_div(planes_total, planes) * ceil_div(oh, dh * sb * reg_h); };
  while (planes > 1 && blocks() < 2 * sm_count) planes = ceil_div(planes, 2);
  while (planes == 1 && sb > 1 && blocks() < sm_count) sb = ceil_div(sb, 2);
  const int64_t es = static_cast<int64_t>(dtype_size(p.dtype()));
  for (;;) {
    const int64_t band_h = dh * sb * reg_h;
    const int64_t rows = dw::nchw_rows_region_rows(std::min(band_h, oh), p.kh(), p.stride_h(), dh);
    const int64_t pitch = dw::nchw_rows_min_pitch(rows, p.w(), es);
    if (dw::nchw_rows_smem_bytes(planes, pitch, p.kh(), es) <= budget && pitch <= kInt32Max) {
      sh.strips = static_cast<int>(dh * sb);
      sh.planes = static_cast<int>(planes);
      sh.band_h = static_cast<int>(band_h);
      sh.region_rows = static_cast<int>(rows);
      sh.pitch = static_cast<int>(pitch);
      break;
    }
    if (planes > 1) {
      planes = ceil_div(planes, 2);
    } else if (sb > 1) {
      sb = ceil_div(sb, 2);
    } else {
      return sh;  // planes == 0: one band of reg_h rows per class is over the budget
    }
  }
  sh.blocks = blocks();
  // Where a warp holds several groups: the plane order, the pitch and (adjacent pairs, 3x3 and 5x5) the read order
  // whose reads meet in the fewest banks. Where rotated reads take fewer blocks an SM (nchw_rows_min_blocks: 5x5),
  // they must save an eighth of the wavefronts, and not take a grid that fits in one wave to two (model, H100, f16
  // N=1: MobileNetV3's 14x14 5x5 rate-2 layer of 960 channels, 480 blocks, 0.62 us rotated in 1.2 waves against
  // 0.46 us).
  const int min_straight = dw::nchw_rows_min_blocks(p.kw(), true, false, cols);
  const int min_rotated = dw::nchw_rows_min_blocks(p.kw(), true, true, cols);
  const bool one_wave_lost = sh.blocks <= sm_count * min_straight && sh.blocks > sm_count * min_rotated;
  const bool rotates = nchw_rows_words(p, cols) && dw::nchw_rows_rotates(p.kw()) && !one_wave_lost;
  if ((sh.planes > 1 || rotates) && sh.tx * sh.strips < 32) {
    const int64_t vec = 16 / es;
    const int warp_planes = nchw_rows_warp_span(sh);  // planes a warp holds
    NchwRowsShape best = sh;
    int64_t best_wf = nchw_rows_wavefronts(p, sh, reg_h, threads);
    for (const bool rot : {false, true}) {
      if (rot && !rotates) continue;
      for (const int wp : {0, warp_planes}) {
        if (wp > 0 && (sh.planes <= wp || sh.planes % wp != 0)) continue;
        for (int64_t extra = 0; extra * es < 128; extra += vec) {
          NchwRowsShape c = sh;
          c.rotate = rot;
          c.warp_planes = wp;
          c.pitch = static_cast<int>(sh.pitch + extra);
          if (dw::nchw_rows_smem_bytes(c.planes, c.pitch, p.kh(), es) > budget) break;
          const int64_t wf = nchw_rows_wavefronts(p, c, reg_h, threads);
          const bool fewer_blocks = rot && !best.rotate && min_rotated < min_straight;
          if (fewer_blocks ? wf * 8 < best_wf * 7 : wf < best_wf) best = c, best_wf = wf;
        }
      }
    }
    sh = best;
  }
  sh.smem = dw::nchw_rows_smem_bytes(sh.planes, sh.pitch, p.kh(), es);
  return sh;
}

// Shared wavefronts per output of a block shape's reads (nchw_rows_wavefronts), to choose between one column a slot and
// pairs on maps of at most 16 columns, where pairs fill fewer lanes of a warp's row and put more planes in a warp.
double nchw_rows_read_cost(const Problem& p, const NchwRowsShape& sh, int reg_h, int threads) {
  const int64_t outputs = int64_t{sh.planes} * std::min<int64_t>(sh.band_h, p.out_h()) * p.out_w();
  return static_cast<double>(nchw_rows_wavefronts(p, sh, reg_h, threads)) /
         static_cast<double>(std::max<int64_t>(outputs, 1));
}

// The NCHW rows kernels' register rows and block for stride S (the filter size changes neither).
template <int S>
using NchwRowsTr = dw::NchwRowsTraits<3, S>;

Offer offer_nchw_rows(const OfferContext& ctx) {
  const Problem& p = ctx.problem;
  const std::string family = "dw_fwd_nchw_k{K}s{S}";
  if (p.layout() != Layout::kNCHW) return decline(family, "layout is nhwc");
  if (const std::string why = not_specialized(p); !why.empty()) return decline(family, why);
  const int threads = NchwRowsTr<1>::kThreads;
  static_assert(
      NchwRowsTr<1>::kThreads == NchwRowsTr<2>::kThreads && NchwRowsTr<1>::kMaxPlanes == NchwRowsTr<2>::kMaxPlanes,
      "every NCHW rows kernel has the same block");
  const std::string prefix =
      "dw_fwd_nchw_k" + std::to_string(p.kh()) + "s" + std::to_string(p.stride_h()) + "_" + to_string(p.dtype());
  const SmemLimits lim = smem_limits(ctx);
  const int64_t sms = ctx.device != nullptr ? ctx.device->sm_count : 132;
  // Pairs (16-bit data): always at stride 1 on maps more than 16 wide (nchw_rows_cols); on narrower maps, and at
  // stride 2 on any width, where their reads cost fewer wavefronts per output (at stride 2 adjacent pairs only,
  // read as words: two wavefronts a read, but 4 reads for 10 products at 5x5 against 5 for 5; model, H100, f16:
  // the 5x5 stride-2 layers on 28-column outputs, EfficientNet s3_0 and MobileNetV3 bn4, L2 bytes 1.34x and
  // 1.39x the ideal -> 1.10x at N=32, DRAM-bound either way, and bn4 at N=1 0.49 -> 0.41 us).
  const int64_t es = static_cast<int64_t>(dtype_size(p.dtype()));
  const auto reg_h = [&](int cols) { return dw::nchw_rows_reg_h(static_cast<int>(p.stride_h()), cols); };
  const auto shape = [&](int cols) {
    return nchw_rows_shape(p, cols, reg_h(cols), threads, NchwRowsTr<1>::kMaxPlanes, lim.budget, sms);
  };
  // A candidate replaces the shape where its reads cost fewer wavefronts per output and it leaves the grid at least
  // as full (or two blocks an SM).
  const auto cheaper = [&](const NchwRowsShape& c, const NchwRowsShape& than) {
    return c.planes > 0 && c.blocks >= std::min(than.blocks, 2 * sms) &&
           nchw_rows_read_cost(p, c, reg_h(c.cols), threads) < nchw_rows_read_cost(p, than, reg_h(than.cols), threads);
  };
  const bool wide_pairs = dw::nchw_rows_cols(es, p.stride_w(), p.out_w()) == 2;
  NchwRowsShape sh = shape(wide_pairs ? 2 : 1);
  if (!wide_pairs && es == 2 && (p.out_w() <= 16 || p.stride_w() == 2) && p.out_w() > 1 &&
      (p.stride_w() == 1 || p.dilation_w() == 1) && sh.planes > 0) {
    if (const NchwRowsShape pr = shape(2); cheaper(pr, sh)) sh = pr;
  }
  // Quads (dilation_w 2): where their word reads cost fewer wavefronts per output than the pairs 2 apart, on
  // outputs of at most 128 columns (a row's slots within one warp's lanes: one slot a lane, stored by shuffles).
  if (dw::nchw_rows_quads_fit(es, p.kw(), p.stride_w(), p.dilation_w()) && p.stride_h() == 1 && sh.planes > 0) {
    if (const NchwRowsShape qd = shape(4); qd.tx <= 32 && cheaper(qd, sh)) sh = qd;
  }
  if (sh.planes == 0) {
    if (sh.strips == 0 && p.dilation_h() > threads / sh.tx) {
      return decline(prefix, "dilation " + std::to_string(p.dilation_h()) + " along H: its row classes need " +
                                 std::to_string(p.dilation_h()) + " groups of " + std::to_string(sh.tx) +
                                 " lanes, a block has " + std::to_string(threads / sh.tx));
    }
    return decline(prefix, "a band of " + std::to_string(reg_h(sh.cols)) +
                               " output rows per row class stages more than the " + std::to_string(lim.budget) +
                               " bytes of shared memory budgeted on " + lim.device);
  }
  const bool words = nchw_rows_words(p, sh.cols);
  std::string name = prefix +
                     (sh.cols == 4   ? "_quads"
                      : sh.cols == 2 ? "_pairs"
                                     : "") +
                     "_band" + std::to_string(sh.band_h);
  if (sh.planes > 1) name += "x" + std::to_string(sh.planes) + "planes";
  if (sh.warp_planes > 0) name += "_spread";  // a warp's planes tz / warp_planes apart (DwParams::warp_planes)
  if (sh.rotate) name += "_rot";              // rotated word reads (DwParams::rotate_reads)
  DwParams d = common_params(p);
  d.geo.tile_h = sh.band_h;
  d.geo.tile_w = static_cast<int>(p.out_w());
  d.geo.region_h = sh.region_rows;
  d.geo.region_w = static_cast<int>(p.w());
  d.geo.region_pitch = sh.pitch;
  d.geo.planes = sh.planes;
  d.geo.smem_bytes = sh.smem;
  d.geo.fits = true;
  d.tx = sh.tx, d.ty = sh.strips, d.tz = sh.planes;
  d.tiles_h = ceil_div(p.out_h(), sh.band_h);
  d.tiles_w = nchw_rows_slots(p, sh.cols);  // lane slots of a row
  d.warp_planes = sh.warp_planes;
  d.rotate_reads = sh.rotate;
  d.groups = ceil_div(p.n() * d.cm, sh.planes);
  const int64_t tiles = prod({d.groups, d.tiles_h});
  std::string bound = int32_bounds(p, prod({p.h(), p.w()}), prod({p.out_h(), p.out_w()}), tiles, sh.band_h, p.out_w());
  if (bound.empty() && prod({p.n(), d.cm}) > kInt32Max) {
    bound = "planes " + std::to_string(prod({p.n(), d.cm})) + " exceed the 32-bit indexing of the tiled kernels";
  }
  if (!bound.empty()) return decline(name, bound);
  d.vec_in = true;  // whole 16-byte vectors of a plane's rows, where x is 16-byte aligned (checked per run)
  // Outputs through shared memory, out as whole 16-byte vectors (y 16-byte aligned, checked per run): whole planes
  // whose rows are narrower than a warp, where a warp's direct stores would write a few bytes of each of several
  // planes' rows; one lane slot a lane, and the block's outputs within the staged input's shared memory. 3x3, and
  // 5x5 adjacent pairs or quads: on outputs at least 14 wide (model, H100, N=32, f16: EfficientNet's 14x14 5x5
  // layers' L2 bytes from 1.67x the ideal to 1.18x, MobileNetV3's 14x14 rate-2 layers' from 2.41x to 1.18x, at the
  // same modelled time, DRAM-bound), and on narrower ones where a warp holds at least 4 planes (7x7 outputs at N=32:
  // L2 bytes 2.67x -> 1.41x at stride 1, 1.68x -> 1.22x at stride 2, the same modelled time, DRAM-bound). Not where
  // a warp holds a plane or two (7x7 at N=1): its direct stores already write most of a plane's run, and the staging
  // costs 3-7% of a shared-memory-bound time. Elsewhere (one-column 5x5, 7x7) the filter's reads bind shared memory,
  // and the staging's stores and second barrier cost more than the L2 bytes save (one-column 5x5 on 14x14: 69% of
  // copy bandwidth against 62% staged).
  const int64_t vec = 16 / static_cast<int64_t>(dtype_size(p.dtype()));
  const int planes_a_warp = std::min(sh.planes, nchw_rows_warp_span(sh));
  const bool staged_filter = p.kh() == 3 || (p.kh() == 5 && words && (p.out_w() >= 14 || planes_a_warp >= 4));
  d.vec_out = staged_filter && d.tiles_h == 1 && p.out_w() < 32 && d.tiles_w <= sh.tx &&
              int64_t{sh.planes} * sh.pitch >= vec - 1 + int64_t{sh.planes} * p.out_h() * p.out_w();
  d.async_in = async_copy_available(ctx);
  KernelChoice k;
  k.dtype = p.dtype();
  k.kernel = static_cast<int>(p.kh());
  k.stride = static_cast<int>(p.stride_h());
  k.cols = sh.cols;
  const LaunchConfig cfg{tiles, threads, sh.smem};
  return accept(name, dw::resolve_nchw_rows, k, cfg, d, 16, 16);
}

// --- 6. generic NCHW -----------------------------------------------------------------------------

struct NchwShape {
  int tx = 0, ty = 0, tz = 0;
  dw::GenericGeometry geo;
  double cost = 0.0;
};

// Threads along W (tx), along H (ty) and planes per block (tz) for a 128-thread block: the shape with
// the least modeled work (output slots computed, including those past the edge, times taps, plus the
// staged input). Shapes whose passes stay within the staging budget come first; beyond it only when
// no shape fits (one filter row at a time, up to a block's maximum).
NchwShape choose_nchw_shape(const Problem& p, int reg_h, int reg_w, int threads, const SmemLimits& lim) {
  NchwShape best, best_over_budget;
  const int64_t planes = p.n() * p.c() * p.m();
  const double taps = static_cast<double>(p.kh()) * static_cast<double>(p.kw());
  for (int tx = 1; tx <= 32; ++tx) {
    for (int ty = 1; tx * ty <= threads; ++ty) {
      const int tz = static_cast<int>(std::min<int64_t>(threads / (tx * ty), planes));
      const int tile_h = ty * reg_h, tile_w = tx * reg_w;
      const dw::GenericGeometry g =
          dw::nchw_generic_geometry(tz, tile_h, tile_w, p.kh(), p.kw(), p.stride_h(), p.stride_w(), p.dilation_h(),
                                    p.dilation_w(), reg_w, lim.budget, lim.per_block);
      if (!g.fits) continue;
      const double blocks = static_cast<double>(ceil_div(p.out_h(), tile_h)) *
                            static_cast<double>(ceil_div(p.out_w(), tile_w)) *
                            static_cast<double>(ceil_div(planes, tz));
      const double staged = static_cast<double>(tz) *
                            static_cast<double>(dw::halo_extent(tile_h, p.kh(), p.stride_h(), p.dilation_h())) *
                            static_cast<double>(g.region_w);
      const double cost = blocks * (static_cast<double>(threads) * reg_h * reg_w * taps + 4.0 * staged);
      NchwShape& slot = g.smem_bytes <= lim.budget ? best : best_over_budget;
      if (slot.tx == 0 || cost < slot.cost) slot = NchwShape{tx, ty, tz, g, cost};
    }
  }
  return best.tx != 0 ? best : best_over_budget;
}

Offer offer_nchw_generic(const OfferContext& ctx) {
  const Problem& p = ctx.problem;
  if (p.layout() != Layout::kNCHW) return decline("dw_fwd_nchw_generic", "layout is nhwc");
  const bool slide = p.stride_w() == 1 && p.dilation_w() == 1;
  const int reg_h = slide ? dw::NchwGenericTraits<true>::kRegH : dw::NchwGenericTraits<false>::kRegH;
  const int reg_w = slide ? dw::NchwGenericTraits<true>::kRegW : dw::NchwGenericTraits<false>::kRegW;
  const int threads = slide ? dw::NchwGenericTraits<true>::kThreads : dw::NchwGenericTraits<false>::kThreads;
  const std::string family = std::string("dw_fwd_nchw_generic") + (slide ? "_slidew_" : "_") + to_string(p.dtype());
  const SmemLimits lim = smem_limits(ctx);
  const NchwShape shape = choose_nchw_shape(p, reg_h, reg_w, threads, lim);
  if (shape.tx == 0) {
    return decline(family, "one filter row's staged input needs more than the " + std::to_string(lim.per_block) +
                               " bytes of shared memory a block can have on " + lim.device + ", for any tile");
  }
  const dw::GenericGeometry& g = shape.geo;
  std::string name = family + "_tile" + dims(g.tile_h, g.tile_w);
  if (g.planes > 1) name += "x" + std::to_string(g.planes) + "planes";
  DwParams d = common_params(p);
  d.geo = g;
  d.tx = shape.tx, d.ty = shape.ty, d.tz = shape.tz;
  d.tiles_h = ceil_div(p.out_h(), g.tile_h);
  d.tiles_w = ceil_div(p.out_w(), g.tile_w);
  d.groups = ceil_div(p.n() * d.cm, g.planes);
  const int64_t tiles = prod({d.groups, d.tiles_h, d.tiles_w});
  std::string bound = int32_bounds(p, prod({p.h(), p.w()}), prod({p.out_h(), p.out_w()}), tiles, g.tile_h, g.tile_w);
  if (bound.empty() && prod({p.n(), d.cm}) > kInt32Max) {
    bound = "planes " + std::to_string(prod({p.n(), d.cm})) + " exceed the 32-bit indexing of the tiled kernels";
  }
  if (!bound.empty()) return decline(name, bound);
  d.vec_in = false;  // staging reads rows element-wise (coalesced along W)
  d.vec_out = p.out_w() % 4 == 0;
  KernelChoice k;
  k.dtype = p.dtype();
  k.slide_w = slide;
  const LaunchConfig cfg{tiles, threads, g.smem_bytes};
  const size_t es = dtype_size(p.dtype());
  return accept(name, dw::resolve_nchw_generic, k, cfg, d, 16, 4 * es);
}

// --- 7. direct -----------------------------------------------------------------------------------

Offer offer_direct(const OfferContext& ctx) {
  const Problem& p = ctx.problem;
  const std::string name = std::string("dw_fwd_") + to_string(p.layout()) + "_direct_" + to_string(p.dtype());
  const DwParams d = common_params(p);
  KernelChoice k;
  k.dtype = p.dtype();
  // A grid-stride loop (64-bit) covers what a capped grid does not.
  const int64_t blocks = std::min<int64_t>(ceil_div(p.output_elements(), dw::kDirectThreads), int64_t{1} << 20);
  const LaunchConfig cfg{std::max<int64_t>(blocks, 1), dw::kDirectThreads, 0};
  return accept(name, dw::resolve_direct, k, cfg, d, 1, 1);
}

}  // namespace

std::pair<int64_t, int64_t> depthwise_lattice_steps(const Problem& p, int sm_count, bool async_staging) {
  const std::pair<int64_t, int64_t> steps = lattice_steps_for(p);
  if (dense_grid_preferred(p, steps.first, steps.second, sm_count, async_staging)) return {1, 1};
  return steps;
}

const std::vector<detail::OfferFn>& depthwise_forward_offers() {
  static const std::vector<detail::OfferFn> offers = {
      offer_nhwc_specialized, offer_nhwc_large_mma, offer_nhwc_lattice, offer_nhwc_generic,
      offer_nchw_rows,        offer_nchw_generic,   offer_direct};
  return offers;
}

}  // namespace dsconv::cuda
