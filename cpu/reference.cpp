// The CPU reference backend: the oracle every other backend is tested against. Plain loops over the
// TF definitions, accumulating in double, 64-bit indexing throughout, parallel over (n, output row).
// Readability over speed: only the filter is converted up front (to double, canonical layout).
#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "src/dispatch/backend.hpp"
#include "src/half.hpp"
#include "src/parallel.hpp"

namespace dsconv::detail {
namespace {

// Element offsets of an activation tensor [N,H,W,C] stored in NHWC or NCHW.
struct ActIndex {
  int64_t sn, sh, sw, sc;
  ActIndex(Layout layout, int64_t h, int64_t w, int64_t c) {
    if (layout == Layout::kNHWC) {
      sc = 1, sw = c, sh = w * c, sn = h * w * c;
    } else {
      sw = 1, sh = w, sc = h * w, sn = c * h * w;
    }
  }
  int64_t operator()(int64_t n, int64_t y, int64_t x, int64_t c) const { return n * sn + y * sh + x * sw + c * sc; }
};

std::vector<double> to_double(const void* p, DType dt, int64_t count) {
  std::vector<double> v(static_cast<size_t>(count));
  for (int64_t i = 0; i < count; ++i) v[static_cast<size_t>(i)] = load_as_float(p, dt, i);
  return v;
}

// Filter as double in the canonical TF layout: [KH][KW][C][M] (depthwise) or [KH][KW][C][O] (conv2d).
std::vector<double> canonical_filter(const Problem& p, const void* filter) {
  const int64_t kh = p.kh(), kw = p.kw(), c = p.c();
  const int64_t last = p.op() == Op::kConv2d ? p.out_channels() : p.m();
  std::vector<double> raw = to_double(filter, p.dtype(), p.filter_elements());
  if (p.filter_layout() == FilterLayout::kTF) return raw;
  std::vector<double> v(raw.size());
  for (int64_t i = 0; i < kh; ++i)
    for (int64_t j = 0; j < kw; ++j)
      for (int64_t ci = 0; ci < c; ++ci)
        for (int64_t k = 0; k < last; ++k) {
          // OIHW: depthwise [C*M][1][KH][KW] with o = c*M + m; conv2d [O][C][KH][KW]
          const int64_t src =
              p.op() == Op::kConv2d ? ((k * c + ci) * kh + i) * kw + j : ((ci * last + k) * kh + i) * kw + j;
          v[static_cast<size_t>(((i * kw + j) * c + ci) * last + k)] = raw[static_cast<size_t>(src)];
        }
  return v;
}

// Pointwise as double [C*M][O].
std::vector<double> canonical_pointwise(const Problem& p, const void* pw) {
  const int64_t cm = p.mid_channels(), o = p.out_channels();
  std::vector<double> raw = to_double(pw, p.dtype(), cm * o);
  if (p.filter_layout() == FilterLayout::kTF) return raw;  // [1][1][CM][O]
  std::vector<double> v(raw.size());
  for (int64_t k = 0; k < cm; ++k)
    for (int64_t oc = 0; oc < o; ++oc) v[static_cast<size_t>(k * o + oc)] = raw[static_cast<size_t>(oc * cm + k)];
  return v;
}

// The activations in double, from their definitions (include/dsconv/dsconv.hpp). NaN propagates: the
// comparisons of relu/relu6 keep it, and every other formula carries it.
double epilogue(double v, Activation a) {
  switch (a) {
    case Activation::kNone:
      return v;
    case Activation::kRelu:
      return v < 0.0 ? 0.0 : v;
    case Activation::kRelu6:
      return v < 0.0 ? 0.0 : v > 6.0 ? 6.0 : v;
    case Activation::kSilu:
      return v / (1.0 + std::exp(-v));
    case Activation::kHswish: {
      const double r = v + 3.0 < 0.0 ? 0.0 : v + 3.0 > 6.0 ? 6.0 : v + 3.0;
      return v * r / 6.0;
    }
    case Activation::kGelu:
      return 0.5 * v * (1.0 + std::erf(v / std::sqrt(2.0)));
    case Activation::kGeluTanh: {
      const double k = std::sqrt(2.0 / 3.14159265358979323846);
      return 0.5 * v * (1.0 + std::tanh(k * (v + 0.044715 * v * v * v)));
    }
  }
  return v;
}

class ReferenceImpl final : public Impl {
 public:
  explicit ReferenceImpl(const Problem& p) : p_(p) {}
  const std::string& name() const override { return name_; }

  Status run(const TensorArgs& args, void*, size_t, void*) const override {
    const Problem& p = p_;
    const Tensors t{args.input(), args.filter(), args.pointwise(), args.bias(), args.output()};
    const void* const residual = args.get(Arg::kResidual);
    const std::vector<double> w = canonical_filter(p, t.filter);
    const std::vector<double> pw =
        p.op() == Op::kSeparable ? canonical_pointwise(p, t.pointwise) : std::vector<double>{};
    const std::vector<double> bias =
        p.has_bias() ? to_double(t.bias, p.dtype(), p.bias_elements()) : std::vector<double>{};
    const ActIndex xi(p.layout(), p.h(), p.w(), p.c());
    const ActIndex yi(p.layout(), p.out_h(), p.out_w(), p.out_channels());
    const int64_t C = p.c(), M = p.m(), O = p.out_channels(), CM = p.mid_channels();
    const int64_t last = p.op() == Op::kConv2d ? O : M;  // innermost filter dim

    parallel_for(p.n() * p.out_h(), [&](int64_t begin, int64_t end) {
      std::vector<double> acc(static_cast<size_t>(p.op() == Op::kConv2d ? O : CM));
      std::vector<double> out(static_cast<size_t>(O));
      for (int64_t row = begin; row < end; ++row) {
        const int64_t n = row / p.out_h(), oy = row % p.out_h();
        for (int64_t ox = 0; ox < p.out_w(); ++ox) {
          std::fill(acc.begin(), acc.end(), 0.0);
          for (int64_t i = 0; i < p.kh(); ++i) {
            const int64_t y = oy * p.stride_h() - p.pad_top() + i * p.dilation_h();
            if (y < 0 || y >= p.h()) continue;  // zero padding
            for (int64_t j = 0; j < p.kw(); ++j) {
              const int64_t x = ox * p.stride_w() - p.pad_left() + j * p.dilation_w();
              if (x < 0 || x >= p.w()) continue;
              const double* wt = &w[static_cast<size_t>((i * p.kw() + j) * C * last)];
              for (int64_t c = 0; c < C; ++c) {
                const double xv = load_as_float(t.input, p.dtype(), xi(n, y, x, c));
                if (p.op() == Op::kConv2d) {
                  for (int64_t o = 0; o < O; ++o) acc[static_cast<size_t>(o)] += xv * wt[c * O + o];
                } else {
                  for (int64_t m = 0; m < M; ++m) acc[static_cast<size_t>(c * M + m)] += xv * wt[c * M + m];
                }
              }
            }
          }
          if (p.op() == Op::kSeparable) {
            std::fill(out.begin(), out.end(), 0.0);
            for (int64_t k = 0; k < CM; ++k)
              for (int64_t o = 0; o < O; ++o)
                out[static_cast<size_t>(o)] += acc[static_cast<size_t>(k)] * pw[static_cast<size_t>(k * O + o)];
          } else {
            std::copy(acc.begin(), acc.end(), out.begin());
          }
          for (int64_t o = 0; o < O; ++o) {
            double v = out[static_cast<size_t>(o)];
            if (p.has_bias()) v += bias[static_cast<size_t>(o)];
            // Read just before the same element is written: a residual that is the output works in place.
            if (p.has_residual()) v += load_as_float(residual, p.dtype(), yi(n, oy, ox, o));
            store_from_float(t.output, p.dtype(), yi(n, oy, ox, o), static_cast<float>(epilogue(v, p.activation())));
          }
        }
      }
    });
    return Status::ok();
  }

 private:
  Problem p_;
  std::string name_ = "ref_direct_f64acc";
};

Offer offer_reference(const OfferContext& ctx) { return Offer::accept(std::make_unique<ReferenceImpl>(ctx.problem)); }

class ReferenceBackend final : public Backend {
 public:
  const char* name() const override { return backend_names::kCpuRef; }
  MemorySpace memory_space() const override { return MemorySpace::kHost; }
  bool available(std::string*) const override { return true; }
  const std::vector<ImplList>& lists() const override {
    // One implementation serves every forward op.
    static const std::vector<ImplList> lists = {{Op::kDepthwise, Direction::kForward, {offer_reference}},
                                                {Op::kConv2d, Direction::kForward, {offer_reference}},
                                                {Op::kSeparable, Direction::kForward, {offer_reference}}};
    return lists;
  }
};

}  // namespace

const Backend& cpu_reference_backend() {
  static const ReferenceBackend backend;
  return backend;
}

}  // namespace dsconv::detail
