#include "cuda/cudnn/geometry.hpp"

#include <algorithm>
#include <climits>
#include <cstdint>
#include <initializer_list>
#include <string>

namespace dsconv::cudnn {
namespace {

size_t align_up(size_t v) { return (v + kWorkspaceAlignment - 1) / kWorkspaceAlignment * kWorkspaceAlignment; }

// Appends a region of `bytes` at *cursor (aligned) when bytes > 0.
Region take(size_t bytes, size_t* cursor) {
  Region r;
  if (bytes == 0) return r;
  r.offset = align_up(*cursor);
  r.bytes = bytes;
  *cursor = r.offset + bytes;
  return r;
}

struct Extents {
  int64_t padded_h, padded_w;
};

Extents padded_extents(const Problem& p, const PadSplit& sh, const PadSplit& sw) {
  return {p.h() + sh.extra_before + sh.extra_after, p.w() + sw.extra_before + sw.extra_after};
}

// The product of positive factors, saturated at INT64_MAX. Counts that are not a tensor of the problem
// can overflow int64 although every tensor fits: the padded input (explicit padding far beyond a small
// input, with a stride large enough to keep the output small), and for conv2d N*C*OH*OW (many input
// channels, few output channels).
int64_t saturating_product(std::initializer_list<int64_t> factors) {
  int64_t r = 1;
  for (int64_t f : factors)
    if (__builtin_mul_overflow(r, f, &r)) return INT64_MAX;
  return r;
}

}  // namespace

PadSplit split_padding(int64_t in, int64_t k, int64_t s, int64_t d, int64_t lo, int64_t hi, int64_t out) {
  PadSplit r;
  // Rows past the input that the last window touches: (out-1)*s + span - (in + lo).
  const int64_t reach_after = std::max<int64_t>(0, (out - 1) * s + (k - 1) * d + 1 - (in + lo));
  const int64_t used_after = std::min(hi, reach_after);
  r.dropped_after = hi - used_after;
  r.symmetric = std::min(lo, used_after);
  r.extra_before = lo - r.symmetric;
  r.extra_after = used_after - r.symmetric;
  return r;
}

std::string static_rejection(const Problem& p) {
  const PadSplit sh =
      split_padding(p.h(), p.kh(), p.stride_h(), p.dilation_h(), p.pad_top(), p.pad_bottom(), p.out_h());
  const PadSplit sw =
      split_padding(p.w(), p.kw(), p.stride_w(), p.dilation_w(), p.pad_left(), p.pad_right(), p.out_w());
  const Extents e = padded_extents(p, sh, sw);
  // cuDNN's 4-D descriptors take int dimensions, and a tensor (with padding) is limited to 2^31-1 elements.
  struct Limit {
    const char* what;
    int64_t value;
  };
  const Limit limits[] = {
      {"batch", p.n()},
      {"channels", p.c()},
      {"padded input height", e.padded_h},
      {"padded input width", e.padded_w},
      {"output channels", p.out_channels()},
      {"depthwise output channels (C*M)", p.mid_channels()},
      {"kernel_h", p.kh()},
      {"kernel_w", p.kw()},
      {"stride_h", p.stride_h()},
      {"stride_w", p.stride_w()},
      {"dilation_h", p.dilation_h()},
      {"dilation_w", p.dilation_w()},
      {"padding (height)", sh.symmetric},
      {"padding (width)", sw.symmetric},
      {"input elements (padded)", saturating_product({p.n(), p.c(), e.padded_h, e.padded_w})},
      {"output elements", p.output_elements()},
      {"depthwise stage output elements", saturating_product({p.n(), p.mid_channels(), p.out_h(), p.out_w()})},
      {"filter elements", p.filter_elements()},
      {"pointwise filter elements", p.pointwise_elements()},
  };
  for (const Limit& l : limits) {
    if (l.value > INT_MAX) {
      return std::string("cuDNN's 4-D descriptors are limited to 2^31-1 (int32); ") + l.what + " is " +
             (l.value == INT64_MAX ? std::string("beyond int64") : std::to_string(l.value));
    }
  }
  return "";
}

Geometry make_geometry(const Problem& p) {
  Geometry g;
  g.nhwc = p.layout() == Layout::kNHWC;
  g.elem_bytes = dtype_size(p.dtype());
  g.separable = p.op() == Op::kSeparable;
  g.pad_h = split_padding(p.h(), p.kh(), p.stride_h(), p.dilation_h(), p.pad_top(), p.pad_bottom(), p.out_h());
  g.pad_w = split_padding(p.w(), p.kw(), p.stride_w(), p.dilation_w(), p.pad_left(), p.pad_right(), p.out_w());
  const Extents e = padded_extents(p, g.pad_h, g.pad_w);
  const int64_t N = p.n(), C = p.c(), KH = p.kh(), KW = p.kw();
  const bool tf = p.filter_layout() == FilterLayout::kTF;

  g.prepad = g.pad_h.extra_before + g.pad_h.extra_after + g.pad_w.extra_before + g.pad_w.extra_after > 0;
  if (g.prepad) {
    if (g.nhwc) {
      g.pad = Pad4d{
          {N, p.h(), p.w(), C}, {N, e.padded_h, e.padded_w, C}, {0, g.pad_h.extra_before, g.pad_w.extra_before, 0}};
    } else {
      g.pad = Pad4d{
          {N, C, p.h(), p.w()}, {N, C, e.padded_h, e.padded_w}, {0, 0, g.pad_h.extra_before, g.pad_w.extra_before}};
    }
  }

  ConvShape& f = g.first;
  f.n = static_cast<int>(N);
  f.c = static_cast<int>(C);
  f.h = static_cast<int>(e.padded_h);
  f.w = static_cast<int>(e.padded_w);
  f.r = static_cast<int>(KH);
  f.s = static_cast<int>(KW);
  f.pad_h = static_cast<int>(g.pad_h.symmetric);
  f.pad_w = static_cast<int>(g.pad_w.symmetric);
  f.stride_h = static_cast<int>(p.stride_h());
  f.stride_w = static_cast<int>(p.stride_w());
  f.dilation_h = static_cast<int>(p.dilation_h());
  f.dilation_w = static_cast<int>(p.dilation_w());
  f.out_h = static_cast<int>(p.out_h());
  f.out_w = static_cast<int>(p.out_w());

  if (p.op() == Op::kConv2d) {
    const int64_t O = p.out_channels();
    f.k = static_cast<int>(O);
    f.c_per_group = static_cast<int>(C);
    f.groups = 1;
    // TF [KH,KW,C,O]: (r,s,c,o) at ((r*KW+s)*C+c)*O+o.  OIHW [O,C,KH,KW]: ((o*C+c)*KH+r)*KW+s.
    if (g.nhwc) {  // KRSC [O][KH][KW][C]
      g.reorder_filter = true;
      g.filter_gather = tf ? Gather4d{{O, KH, KW, C}, {1, KW * C * O, C * O, O}}
                           : Gather4d{{O, KH, KW, C}, {C * KH * KW, KW, 1, KH * KW}};
    } else if (tf) {  // KCRS [O][C][KH][KW]; OIHW already is
      g.reorder_filter = true;
      g.filter_gather = Gather4d{{O, C, KH, KW}, {1, O, KW * C * O, C * O}};
    }
  } else {
    // Grouped with one input channel per group: KRSC and KCRS are the same [C*M][KH][KW], which is OIHW
    // depthwise [C*M,1,KH,KW] as given. TF [KH,KW,C,M] has (r,s,k=c*M+m) at (r*KW+s)*C*M + k.
    const int64_t CM = p.mid_channels();
    f.k = static_cast<int>(CM);
    f.c_per_group = 1;
    f.groups = static_cast<int>(C);
    if (tf) {
      g.reorder_filter = true;
      g.filter_gather = Gather4d{{CM, KH, KW, 1}, {1, KW * CM, CM, 0}};
    }
  }

  if (g.separable) {
    const int64_t CM = p.mid_channels(), O = p.out_channels();
    ConvShape& pw = g.pointwise;
    pw.n = f.n;
    pw.c = static_cast<int>(CM);
    pw.h = f.out_h;
    pw.w = f.out_w;
    pw.k = static_cast<int>(O);
    pw.c_per_group = static_cast<int>(CM);
    pw.r = pw.s = 1;
    pw.out_h = f.out_h;
    pw.out_w = f.out_w;
    // TF [1,1,CM,O] holds (cm,o) at cm*O+o; cuDNN wants [O][CM] (KRSC and KCRS agree for 1x1). OIHW already is.
    if (tf) {
      g.reorder_pointwise = true;
      g.pointwise_gather = Gather4d{{O, CM, 1, 1}, {1, O, 0, 0}};
    }
  }

  size_t cursor = 0;
  const size_t es = g.elem_bytes;
  g.filter = take(g.reorder_filter ? static_cast<size_t>(p.filter_elements()) * es : 0, &cursor);
  g.pointwise_filter = take(g.reorder_pointwise ? static_cast<size_t>(p.pointwise_elements()) * es : 0, &cursor);
  g.padded_input = take(g.prepad ? static_cast<size_t>(N * C * e.padded_h * e.padded_w) * es : 0, &cursor);
  g.mid = take(g.separable ? static_cast<size_t>(N * p.mid_channels() * p.out_h() * p.out_w()) * es : 0, &cursor);
  g.scratch_offset = align_up(cursor);

  g.out_channels = p.out_channels();
  g.epilogue_inner = g.nhwc ? 1 : p.out_h() * p.out_w();
  return g;
}

}  // namespace dsconv::cudnn
