// The depthwise implementation list of the cuda backend, in order:
//   1. dw_fwd_nhwc_k{K}s{S}_...   specialized NHWC (DSCONV_DW_NHWC_SPECIALIZATIONS; dense, multiplier 1)
//   2. dw_fwd_nhwc_generic_...    tiled NHWC, any filter / stride / dilation / multiplier / padding
//   3. dw_fwd_nchw_generic_...    tiled NCHW, likewise
//   4. dw_fwd_{nhwc,nchw}_direct  one output per thread, 64-bit indexing: accepts every problem
// The first that accepts wins; each one passed over leaves a Rejection saying why. The tiled kernels
// index within an image (or plane) in 32 bits; the bounds they need are proven here, and a problem
// beyond them falls through to the direct kernel.
#include <algorithm>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>

#include "cuda/depthwise/depthwise.hpp"
#include "cuda/depthwise/params.hpp"
#include "cuda/depthwise/traits.hpp"

namespace dsconv::cuda {
namespace {

using dw::ceil_div;
using dw::DwParams;
using dw::KernelChoice;
using dw::LaunchConfig;
using dw::Variant;

constexpr int64_t kInt32Max = 0x7fffffff;

std::string dims(int64_t a, int64_t b) { return std::to_string(a) + "x" + std::to_string(b); }

bool aligned(const void* ptr, size_t bytes) { return reinterpret_cast<uintptr_t>(ptr) % bytes == 0; }

// Elements per 16-byte load of the problem's dtype.
int64_t load_vec(const Problem& p) { return 16 / static_cast<int64_t>(dtype_size(p.dtype())); }

class DepthwiseImpl final : public detail::Impl {
 public:
  DepthwiseImpl(std::string name, KernelChoice choice, LaunchConfig cfg, DwParams params, size_t in_align,
                size_t out_align)
      : name_(std::move(name)),
        choice_(choice),
        cfg_(cfg),
        params_(params),
        in_align_(in_align),
        out_align_(out_align) {}

  const std::string& name() const override { return name_; }

  Status run(const Tensors& t, void*, size_t, void* stream) const override {
    DwParams p = params_;
    p.x = t.input;
    p.filter = t.filter;
    p.bias = t.bias;
    p.y = t.output;
    // params_ says whether C (or OW) allows vector accesses; the pointers decide per run. Misaligned
    // tensors (a view offset by one element, say) take the kernels' checked element-wise paths.
    p.vec_in = p.vec_in && aligned(t.input, in_align_);
    p.vec_out = p.vec_out && aligned(t.output, out_align_);
    switch (choice_.variant) {
      case Variant::kNhwcSpecialized:
        return dw::launch_nhwc_specialized(choice_, cfg_, p, stream);
      case Variant::kNhwcGeneric:
        return dw::launch_nhwc_generic(choice_, cfg_, p, stream);
      case Variant::kNchwGeneric:
        return dw::launch_nchw_generic(choice_, cfg_, p, stream);
      case Variant::kDirect:
        return dw::launch_direct(choice_, cfg_, p, stream);
    }
    return Status(StatusCode::kInternalError, "depthwise: unknown kernel variant");
  }

 private:
  std::string name_;
  KernelChoice choice_;
  LaunchConfig cfg_;
  DwParams params_;
  size_t in_align_, out_align_;
};

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
  d.act = p.activation() == Activation::kRelu    ? dw::kActRelu
          : p.activation() == Activation::kRelu6 ? dw::kActRelu6
                                                 : dw::kActNone;
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
  const Bound bounds[] = {{"input elements per image", image_in},   {"output elements per image", image_out},
                          {"filter elements", p.filter_elements()}, {"tiles", tiles},
                          {"input rows reached", reach_h},          {"input columns reached", reach_w}};
  for (const Bound& b : bounds) {
    if (b.value > kInt32Max) {
      return std::string(b.what) + " " + std::to_string(b.value) + " exceed the 32-bit indexing of the tiled kernels";
    }
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

struct Offer {
  std::string name;                    // the concrete implementation name (also on rejection, if known)
  std::string reason;                  // empty: accepted
  std::unique_ptr<detail::Impl> impl;  // set when accepted
};

Offer decline(std::string name, std::string reason) { return Offer{std::move(name), std::move(reason), nullptr}; }

// --- 1. specialized NHWC -------------------------------------------------------------------------

struct SpecializedShape {
  int tile_h = 0, tile_w = 0, threads = 0;
  int64_t smem = 0;
};

// The tile numbers of specialization (k, s), read from the traits (f32 and the 16-bit types stage the
// same f32 tile, so the storage type does not change them).
SpecializedShape specialized_shape(int64_t k, int64_t s) {
  SpecializedShape r;
#define DSCONV_DW_SHAPE(K_, S_)                                                 \
  if (k == (K_) && s == (S_)) {                                                 \
    using Tr = dw::NhwcSpecializedTraits<float, K_, S_>;                        \
    r = SpecializedShape{Tr::kTileH, Tr::kTileW, Tr::kThreads, Tr::kSmemBytes}; \
  }
  DSCONV_DW_NHWC_SPECIALIZATIONS(DSCONV_DW_SHAPE)
#undef DSCONV_DW_SHAPE
  return r;
}

std::string specialized_list() {
  std::string s;
#define DSCONV_DW_NAME(K_, S_) s += std::string(s.empty() ? "" : ", ") + "k" #K_ "s" #S_;
  DSCONV_DW_NHWC_SPECIALIZATIONS(DSCONV_DW_NAME)
#undef DSCONV_DW_NAME
  return s;
}

Offer offer_nhwc_specialized(const Problem& p) {
  const std::string family = "dw_fwd_nhwc_k{K}s{S}";
  if (p.layout() != Layout::kNHWC) return decline(family, "layout is nchw; the specialized kernels are NHWC");
  if (p.kh() != p.kw()) return decline(family, "filter " + dims(p.kh(), p.kw()) + " is not square");
  if (p.stride_h() != p.stride_w())
    return decline(family, "stride " + dims(p.stride_h(), p.stride_w()) + " differs between H and W");
  if (!dw::nhwc_specialization_exists(p.kh(), p.stride_h())) {
    return decline(family, "no specialization for kernel " + std::to_string(p.kh()) + " stride " +
                               std::to_string(p.stride_h()) + " (have " + specialized_list() + ")");
  }
  if (p.dilation_h() != 1 || p.dilation_w() != 1) {
    return decline(family, "dilation " + dims(p.dilation_h(), p.dilation_w()) + "; the specialized kernels are dense");
  }
  if (p.m() != 1) return decline(family, "multiplier " + std::to_string(p.m()) + "; the specialized kernels need 1");

  const SpecializedShape shape = specialized_shape(p.kh(), p.stride_h());
  const int64_t vec = load_vec(p);
  const bool vec_c = p.c() % vec == 0;
  const std::string name = "dw_fwd_nhwc_k" + std::to_string(p.kh()) + "s" + std::to_string(p.stride_h()) + "_" +
                           to_string(p.dtype()) + "x" + std::to_string(vec_c ? vec : 1) + "_tile" +
                           dims(shape.tile_h, shape.tile_w);
  DwParams d = common_params(p);
  d.tiles_h = ceil_div(p.out_h(), shape.tile_h);
  d.tiles_w = ceil_div(p.out_w(), shape.tile_w);
  d.groups = ceil_div(p.c(), dw::kNhwcChannelChunk);
  const int64_t tiles = prod({p.n(), d.tiles_h, d.tiles_w, d.groups});
  const std::string bound = int32_bounds(p, prod({p.h(), p.w(), p.c()}), prod({p.out_h(), p.out_w(), p.c()}), tiles,
                                         shape.tile_h, shape.tile_w);
  if (!bound.empty()) return decline(name, bound);
  d.vec_in = vec_c;
  d.vec_out = p.c() % 2 == 0;
  KernelChoice k;
  k.variant = Variant::kNhwcSpecialized;
  k.dtype = p.dtype();
  k.kernel = static_cast<int>(p.kh());
  k.stride = static_cast<int>(p.stride_h());
  const LaunchConfig cfg{tiles, shape.threads, shape.smem};
  const size_t es = dtype_size(p.dtype());
  return Offer{name, "", std::make_unique<DepthwiseImpl>(name, k, cfg, d, 16, 2 * es)};
}

// --- 2. generic NHWC -----------------------------------------------------------------------------

Offer offer_nhwc_generic(const Problem& p) {
  if (p.layout() != Layout::kNHWC) return decline("dw_fwd_nhwc_generic", "layout is nchw");
  const bool slide = p.stride_w() == 1 && p.dilation_w() == 1;
  const int tile_h = slide ? dw::NhwcGenericTraits<true>::kTileH : dw::NhwcGenericTraits<false>::kTileH;
  const int tile_w = slide ? dw::NhwcGenericTraits<true>::kTileW : dw::NhwcGenericTraits<false>::kTileW;
  const int threads = slide ? dw::NhwcGenericTraits<true>::kThreads : dw::NhwcGenericTraits<false>::kThreads;
  const int64_t vec = load_vec(p);
  const bool vec_c = p.m() == 1 && p.c() % vec == 0;
  const std::string name = std::string("dw_fwd_nhwc_generic") + (slide ? "_slidew_" : "_") + to_string(p.dtype()) +
                           "x" + std::to_string(vec_c ? vec : 1) + "_tile" + dims(tile_h, tile_w);
  const dw::GenericGeometry g = dw::nhwc_generic_geometry(tile_h, tile_w, p.kh(), p.kw(), p.stride_h(), p.stride_w(),
                                                          p.dilation_h(), p.dilation_w(), dw::kGenericSmemBudgetBytes);
  if (!g.fits) {
    return decline(name, "one filter row's staged input needs " +
                             std::to_string(dw::nhwc_generic_smem_bytes(tile_h, tile_w, 1, p.kw(), p.stride_h(),
                                                                        p.stride_w(), p.dilation_h(), p.dilation_w())) +
                             " bytes of shared memory, over the " + std::to_string(dw::kMaxSmemBytesPerBlock) +
                             " a block can have");
  }
  DwParams d = common_params(p);
  d.geo = g;
  d.tiles_h = ceil_div(p.out_h(), tile_h);
  d.tiles_w = ceil_div(p.out_w(), tile_w);
  d.groups = ceil_div(d.cm, dw::kNhwcChannelChunk);
  const int64_t tiles = prod({p.n(), d.tiles_h, d.tiles_w, d.groups});
  const std::string bound =
      int32_bounds(p, prod({p.h(), p.w(), p.c()}), prod({p.out_h(), p.out_w(), d.cm}), tiles, tile_h, tile_w);
  if (!bound.empty()) return decline(name, bound);
  d.vec_in = vec_c;
  d.vec_out = d.cm % 2 == 0;
  KernelChoice k;
  k.variant = Variant::kNhwcGeneric;
  k.dtype = p.dtype();
  k.slide_w = slide;
  const LaunchConfig cfg{tiles, threads, g.smem_bytes};
  const size_t es = dtype_size(p.dtype());
  return Offer{name, "", std::make_unique<DepthwiseImpl>(name, k, cfg, d, 16, 2 * es)};
}

// --- 3. generic NCHW -----------------------------------------------------------------------------

struct NchwShape {
  int tx = 0, ty = 0, tz = 0;
  dw::GenericGeometry geo;
  double cost = 0.0;
};

// Threads along W (tx), along H (ty) and planes per block (tz) for a 128-thread block: the shape with
// the least modeled work (output slots computed, including those past the edge, times taps, plus the
// staged input). Shapes whose passes stay within the staging budget come first; beyond it only when
// no shape fits (one filter row at a time, up to a block's maximum).
NchwShape choose_nchw_shape(const Problem& p, int reg_h, int reg_w, int threads) {
  NchwShape best, best_over_budget;
  const int64_t planes = p.n() * p.c() * p.m();
  const double taps = static_cast<double>(p.kh()) * static_cast<double>(p.kw());
  for (int tx = 1; tx <= 32; ++tx) {
    for (int ty = 1; tx * ty <= threads; ++ty) {
      const int tz = static_cast<int>(std::min<int64_t>(threads / (tx * ty), planes));
      const int tile_h = ty * reg_h, tile_w = tx * reg_w;
      const dw::GenericGeometry g =
          dw::nchw_generic_geometry(tz, tile_h, tile_w, p.kh(), p.kw(), p.stride_h(), p.stride_w(), p.dilation_h(),
                                    p.dilation_w(), reg_w, dw::kGenericSmemBudgetBytes);
      if (!g.fits) continue;
      const double blocks = static_cast<double>(ceil_div(p.out_h(), tile_h)) *
                            static_cast<double>(ceil_div(p.out_w(), tile_w)) *
                            static_cast<double>(ceil_div(planes, tz));
      const double staged = static_cast<double>(tz) *
                            static_cast<double>(dw::halo_extent(tile_h, p.kh(), p.stride_h(), p.dilation_h())) *
                            static_cast<double>(g.region_w);
      const double cost = blocks * (static_cast<double>(threads) * reg_h * reg_w * taps + 4.0 * staged);
      NchwShape& slot = g.smem_bytes <= dw::kGenericSmemBudgetBytes ? best : best_over_budget;
      if (slot.tx == 0 || cost < slot.cost) slot = NchwShape{tx, ty, tz, g, cost};
    }
  }
  return best.tx != 0 ? best : best_over_budget;
}

Offer offer_nchw_generic(const Problem& p) {
  if (p.layout() != Layout::kNCHW) return decline("dw_fwd_nchw_generic", "layout is nhwc");
  const bool slide = p.stride_w() == 1 && p.dilation_w() == 1;
  const int reg_h = slide ? dw::NchwGenericTraits<true>::kRegH : dw::NchwGenericTraits<false>::kRegH;
  const int reg_w = slide ? dw::NchwGenericTraits<true>::kRegW : dw::NchwGenericTraits<false>::kRegW;
  const int threads = slide ? dw::NchwGenericTraits<true>::kThreads : dw::NchwGenericTraits<false>::kThreads;
  const std::string family = std::string("dw_fwd_nchw_generic") + (slide ? "_slidew_" : "_") + to_string(p.dtype());
  const NchwShape shape = choose_nchw_shape(p, reg_h, reg_w, threads);
  if (shape.tx == 0) {
    return decline(family, "one filter row's staged input needs more than " +
                               std::to_string(dw::kMaxSmemBytesPerBlock) + " bytes of shared memory for any tile");
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
  k.variant = Variant::kNchwGeneric;
  k.dtype = p.dtype();
  k.slide_w = slide;
  const LaunchConfig cfg{tiles, threads, g.smem_bytes};
  const size_t es = dtype_size(p.dtype());
  return Offer{name, "", std::make_unique<DepthwiseImpl>(name, k, cfg, d, 16, 4 * es)};
}

// --- 4. direct -----------------------------------------------------------------------------------

Offer offer_direct(const Problem& p) {
  const std::string name = std::string("dw_fwd_") + to_string(p.layout()) + "_direct_" + to_string(p.dtype());
  const DwParams d = common_params(p);
  KernelChoice k;
  k.variant = Variant::kDirect;
  k.dtype = p.dtype();
  // A grid-stride loop covers what a capped grid does not.
  const int64_t blocks = std::min<int64_t>(ceil_div(p.output_elements(), dw::kDirectThreads), int64_t{1} << 20);
  const LaunchConfig cfg{std::max<int64_t>(blocks, 1), dw::kDirectThreads, 0};
  return Offer{name, "", std::make_unique<DepthwiseImpl>(name, k, cfg, d, 1, 1)};
}

}  // namespace

void select_depthwise(const Problem& problem, const PlanOptions& options, detail::Selection* out) {
  using OfferFn = Offer (*)(const Problem&);
  static const OfferFn kList[] = {offer_nhwc_specialized, offer_nhwc_generic, offer_nchw_generic, offer_direct};
  if (problem.op() != Op::kDepthwise) {
    out->rejections.push_back({"cuda", "", std::string("op ") + to_string(problem.op()) + " has no depthwise kernel"});
    out->status = Status(StatusCode::kNotSupported, "the depthwise kernels run op depthwise only");
    return;
  }
  for (OfferFn fn : kList) {
    Offer offer = fn(problem);
    if (!offer.impl) {
      out->rejections.push_back({"cuda", offer.name, offer.reason});
      continue;
    }
    if (std::string why; detail::skipped_by_options(offer.name, options, &why)) {
      out->rejections.push_back({"cuda", offer.name, why});
      continue;
    }
    out->impl = std::move(offer.impl);
    return;
  }
  out->status = Status(StatusCode::kNotSupported, "no depthwise kernel of the cuda backend accepts " +
                                                      problem.descriptor() + " with the given options");
}

}  // namespace dsconv::cuda
