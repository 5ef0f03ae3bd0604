// What the host passes to a depthwise kernel, and how the offers (offers.cpp) find the kernel
// instantiation to launch. Plain C++ (no CUDA header), so offers.cpp compiles with the host compiler in
// every build.
#pragma once

#include <cstdint>
#include <string>

#include "cuda/common/activation_code.hpp"
#include "cuda/common/launch.hpp"
#include "cuda/depthwise/traits.hpp"
#include "dsconv/dsconv.hpp"

namespace dsconv::cuda::dw {

// One launch's arguments, by value. Sizes are int64 here; the tiled kernels narrow them to int after the
// host proved the bounds they need (see offers.cpp), the direct kernels keep 64-bit indexing.
struct DwParams {
  const void* x = nullptr;
  const void* filter = nullptr;
  const void* bias = nullptr;      // null: no bias
  const void* residual = nullptr;  // null: no residual; else [N,OH,OW,C*M] in y's layout (may be y itself)
  void* y = nullptr;
  int64_t n = 0, h = 0, w = 0, c = 0, m = 1, cm = 0;  // input [N,H,W,C], multiplier, C*M
  int64_t oh = 0, ow = 0;
  int64_t kh = 0, kw = 0, sh = 1, sw = 1, dh = 1, dw = 1;
  int64_t pad_top = 0, pad_left = 0;
  // Filter element of tap (kr, kc) and output channel oc: filter[(kr*kw + kc)*w_tap_stride + oc*w_oc_stride].
  // TF [KH,KW,C,M]: (C*M, 1); OIHW [C*M,1,KH,KW]: (1, KH*KW). Kernels read either layout directly.
  int64_t w_tap_stride = 0, w_oc_stride = 0;
  int act = kActNone;
  bool nchw = false;    // activation layout (direct kernel only; the tiled kernels are per layout)
  bool vec_in = false;  // 16-byte input loads allowed: C % (16/sizeof(T)) == 0 (NCHW rows: any C) and x 16-byte aligned
  bool vec_out = false;  // NHWC: channel-pair stores (C even, y aligned); NCHW: 4-wide (OW % 4 == 0, y aligned);
                         // NCHW rows: outputs through shared memory, stored as 16-byte vectors (y 16-byte aligned)
  bool vec_res = false;  // residual vector loads: as vec_in, for the residual's pointer
  // NHWC specialized, when vec_in is off: 8- or 4-byte input loads (C a multiple of their elements, x
  // aligned to them; 4 only for 16-bit data), 0 for element-wise.
  int narrow_in = 0;
  bool async_in = false;  // NHWC specialized and generic, NCHW rows: with vec_in, staging by cp.async (sm_80+)
  bool vec_w = false;     // NHWC large-filter mma: a TF filter's 8 channels of a tap in one 16-byte load
  // Tiled kernels: tiles along H and W and channel chunks (NHWC) or plane groups (NCHW).
  // NCHW rows: bands along H, lane slots of a row (tiles_w), plane groups.
  int64_t tiles_h = 1, tiles_w = 1, groups = 1;
  // NHWC lattice kernel: steps between a block's outputs along H and W (each divides the dilation; the
  // grid covers lat_h * lat_w residue classes of tiles_h x tiles_w tiles each); 1 otherwise.
  int64_t lat_h = 1, lat_w = 1;
  // NCHW generic: threads along W, H and planes (tx*ty*tz <= blockDim.x). NCHW rows: lanes per group, strips
  // per band (groups per plane), planes per block.
  int tx = 1, ty = 1, tz = 1;
  // NCHW rows: 0, a block's groups take its planes in order; else the planes a warp holds, taken tz / warp_planes
  // apart (group slot i of warp w: plane (i % warp_planes) * (tz / warp_planes) + w), so that they share their
  // 16-byte lead and a plane pitch can keep their reads out of each other's banks.
  int warp_planes = 0;
  // NCHW rows, adjacent pairs: each lane reads a staged row's words starting where the other lanes of its group
  // read words n apart (nchw_rows.cu: read_span_words), instead of all from their first word.
  bool rotate_reads = false;
  GenericGeometry geo;
};

// The template arguments of one kernel instantiation, as runtime values.
struct KernelChoice {
  DType dtype = DType::kF32;
  int kernel = 0, stride = 0;             // NHWC specialized, NCHW rows
  bool full_epilogue = false;             // NHWC specialized: a residual or an activation beyond the clamps
  bool small_tile = false;                // NHWC specialized: the small tile (NhwcTileConfig)
  int ksteps = 0;                         // NHWC large-filter mma: k-steps of the Toeplitz band
  LargeMmaTraits::Shape mma_shape{0, 0};  // NHWC large-filter mma: a warp's tile (row groups, m-tiles)
  bool slide_w = false;                   // generic NHWC and NCHW
  int cols = 1;                           // NCHW rows: output columns a lane slot (1, 2: pairs, 4: quads)
  bool lattice = false;                   // generic NHWC: outputs spaced (lat_h, lat_w) apart per block
  bool narrow_tile = false;               // generic NHWC lattice, sliding: the 8x8 one-strip tile
};

using cuda::LaunchConfig;

// Every depthwise kernel takes its parameters by value.
using KernelFn = void (*)(DwParams);
// The instantiation for `k`, after checking `cfg` and the geometry in `p` against its traits (block size,
// shared memory, tile); one per kernel file. Called once, at plan creation.
using ResolveFn = Result<KernelFn> (*)(const KernelChoice& k, const LaunchConfig& cfg, const DwParams& p);
Result<KernelFn> resolve_nhwc_specialized(const KernelChoice& k, const LaunchConfig& cfg, const DwParams& p);
Result<KernelFn> resolve_nhwc_generic(const KernelChoice& k, const LaunchConfig& cfg, const DwParams& p);
Result<KernelFn> resolve_nchw_rows(const KernelChoice& k, const LaunchConfig& cfg, const DwParams& p);
Result<KernelFn> resolve_nchw_generic(const KernelChoice& k, const LaunchConfig& cfg, const DwParams& p);
Result<KernelFn> resolve_direct(const KernelChoice& k, const LaunchConfig& cfg, const DwParams& p);
Result<KernelFn> resolve_nhwc_large_mma(const KernelChoice& k, const LaunchConfig& cfg, const DwParams& p);

// Enqueues `kernel` (from a resolve_* function) on `stream` (a cudaStream_t); `name` names it in errors.
// Never synchronizes, never allocates. Defined in launch.cu: only a kernel file can launch.
Status launch(KernelFn kernel, const char* name, const LaunchConfig& cfg, const DwParams& p, void* stream);

// Threads per block of the direct kernels.
constexpr int kDirectThreads = 256;

}  // namespace dsconv::cuda::dw
