// Direct depthwise forward kernel: one output element per thread, 64-bit indexing throughout, no
// shared memory. The last entry of the implementation list: it accepts every problem, including those
// whose sizes exceed the 32-bit bounds of the tiled kernels or whose dilated halo does not fit in
// shared memory. Taps that fall in padding are skipped exactly per output (the valid filter rows and
// columns are computed, not tested per tap).
#include "cuda/common/static_switch.hpp"
#include "cuda/depthwise/device_ops.cuh"

namespace dsconv::cuda::dw {
namespace {

template <class T>
__global__ void __launch_bounds__(kDirectThreads) dw_fwd_direct_kernel(DwParams p) {
  const T* __restrict__ const xg = static_cast<const T*>(p.x);
  const T* __restrict__ const wg = static_cast<const T*>(p.filter);
  const T* __restrict__ const bg = static_cast<const T*>(p.bias);
  const T* const rg = static_cast<const T*>(p.residual);  // may alias y: read before the same element is written
  T* const yg = static_cast<T*>(p.y);                     // not __restrict__: the residual may be y itself
  // Element strides of the input [N,H,W,C] in its layout.
  const int64_t xs_c = p.nchw ? p.h * p.w : 1;
  const int64_t xs_w = p.nchw ? 1 : p.c;
  const int64_t xs_h = p.nchw ? p.w : p.w * p.c;
  const int64_t xs_n = p.h * p.w * p.c;
  const int64_t total = p.n * p.oh * p.ow * p.cm;
  const int64_t step = static_cast<int64_t>(gridDim.x) * blockDim.x;

  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < total; i += step) {
    // i is the output's flat index in its own layout.
    int64_t n, oy, ox, oc, t = i;
    if (p.nchw) {
      ox = t % p.ow, t /= p.ow;
      oy = t % p.oh, t /= p.oh;
      oc = t % p.cm, n = t / p.cm;
    } else {
      oc = t % p.cm, t /= p.cm;
      ox = t % p.ow, t /= p.ow;
      oy = t % p.oh, n = t / p.oh;
    }
    const TapRange rows = valid_taps(oy, oy + 1, p.h, p.kh, p.sh, p.dh, p.pad_top);
    const TapRange cols = valid_taps(ox, ox + 1, p.w, p.kw, p.sw, p.dw, p.pad_left);
    const T* const xp = xg + n * xs_n + (oc / p.m) * xs_c;
    const T* const wp = wg + oc * p.w_oc_stride;
    float acc = 0.f;
    for (int64_t kr = rows.first; kr < rows.last; ++kr) {
      const int64_t iy = oy * p.sh - p.pad_top + kr * p.dh;
      for (int64_t kc = cols.first; kc < cols.last; ++kc) {
        const int64_t ix = ox * p.sw - p.pad_left + kc * p.dw;
        acc = fmaf(to_float(xp[iy * xs_h + ix * xs_w]), to_float(wp[(kr * p.kw + kc) * p.w_tap_stride]), acc);
      }
    }
    if (bg != nullptr) acc += to_float(bg[oc]);
    if (rg != nullptr) acc += to_float(rg[i]);
    yg[i] = from_float<T>(activate(acc, p.act));
  }
}

}  // namespace

Result<KernelFn> resolve_direct(const KernelChoice& k, const LaunchConfig& cfg, const DwParams&) {
  return dispatch_dtype(k.dtype, [&](auto type_tag) -> Result<KernelFn> {
    using T = typename decltype(type_tag)::type;
    if (cfg.block != kDirectThreads || cfg.smem_bytes != 0) {
      return Status(StatusCode::kInternalError, "depthwise: direct launch disagrees with its traits");
    }
    return &dw_fwd_direct_kernel<T>;
  });
}

}  // namespace dsconv::cuda::dw
