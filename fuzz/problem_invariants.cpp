// The invariants of an accepted Problem (see fuzz_support.hpp).
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "cuda/cudnn/geometry.hpp"
#include "fuzz/fuzz_support.hpp"

namespace dsconv::fuzz {
namespace {

constexpr int64_t kMaxBytes = std::numeric_limits<int64_t>::max();

// The product of dims, or -1 when it overflows int64.
int64_t checked_product(const std::vector<int64_t>& dims) {
  int64_t p = 1;
  for (int64_t d : dims)
    if (__builtin_mul_overflow(p, d, &p)) return -1;
  return p;
}

// A tensor the problem names: positive dims whose element and 4-byte counts fit in int64.
void check_tensor(const Problem& p, const char* what, const std::vector<int64_t>& dims) {
  const std::string where = p.descriptor() + ": " + what;
  for (int64_t d : dims) FUZZ_CHECK(d >= 1, where + " has a dimension < 1");
  const int64_t elements = checked_product(dims);
  FUZZ_CHECK(elements >= 1, where + " element count overflows int64");
  FUZZ_CHECK(elements <= kMaxBytes / 4, where + " byte count overflows int64");
}

// out = floor((in + lo + hi - span) / s) + 1, evaluated in 128 bits.
void check_dim(const Problem& p, const char* dim, int64_t in, int64_t k, int64_t s, int64_t d, int64_t lo, int64_t hi,
               int64_t out) {
  const std::string where = p.descriptor() + ": " + dim;
  FUZZ_CHECK(lo >= 0 && hi >= 0, where + " has negative padding");
  FUZZ_CHECK(out >= 1, where + " output extent < 1");
  const __int128 span = static_cast<__int128>(k - 1) * d + 1;
  const __int128 padded = static_cast<__int128>(in) + lo + hi;
  FUZZ_CHECK(padded >= span, where + " kernel exceeds the padded input");
  FUZZ_CHECK((padded - span) / s + 1 == out, where + " output extent disagrees with the padding rule");
  if (p.desc().padding == PaddingMode::kSame) {
    FUZZ_CHECK(out == in / s + (in % s != 0 ? 1 : 0), where + " SAME output is not ceil(in/stride)");
    FUZZ_CHECK(hi - lo == 0 || hi - lo == 1, where + " SAME padding is not split with the odd pixel after");
  }
  if (p.desc().padding == PaddingMode::kValid) FUZZ_CHECK(lo == 0 && hi == 0, where + " VALID has padding");
}

}  // namespace

void check_problem_invariants(const Problem& p) {
  const std::string d = p.descriptor();
  FUZZ_CHECK(p.direction() == Direction::kForward, d + ": a reserved direction was accepted");
  check_dim(p, "height", p.h(), p.kh(), p.stride_h(), p.dilation_h(), p.pad_top(), p.pad_bottom(), p.out_h());
  check_dim(p, "width", p.w(), p.kw(), p.stride_w(), p.dilation_w(), p.pad_left(), p.pad_right(), p.out_w());
  for (int i = 0; i < kArgCount; ++i) {
    const Arg slot = static_cast<Arg>(i);
    if (p.arg_use(slot) == ArgUse::kUnused) {
      FUZZ_CHECK(p.arg_shape(slot).empty() && p.arg_elements(slot) == 0, d + ": an unused slot has a shape");
      continue;
    }
    check_tensor(p, to_string(slot), p.arg_shape(slot));
    FUZZ_CHECK(p.arg_elements(slot) == checked_product(p.arg_shape(slot)), d + ": arg_elements disagrees");
  }
  // What backends allocate besides the slots: the separable intermediate [N, OH, OW, C*M].
  if (p.op() == Op::kSeparable) check_tensor(p, "intermediate", {p.n(), p.out_h(), p.out_w(), p.mid_channels()});
  FUZZ_CHECK(p.input_elements() == p.arg_elements(Arg::kInput), d + ": input_elements disagrees");
  FUZZ_CHECK(p.output_elements() == p.arg_elements(Arg::kOutput), d + ": output_elements disagrees");
  FUZZ_CHECK(p.filter_elements() == p.arg_elements(Arg::kFilter), d + ": filter_elements disagrees");
  FUZZ_CHECK(std::isfinite(p.flops()) && p.flops() > 0, d + ": flops not finite and positive");
  FUZZ_CHECK(std::isfinite(p.min_bytes()) && p.min_bytes() > 0, d + ": min_bytes not finite and positive");

  // The descriptor is a complete description: it parses back to the same problem.
  Result<Problem> again = Problem::parse(d);
  FUZZ_CHECK(again.is_ok(), d + ": its own descriptor does not parse: " + again.status().to_string());
  FUZZ_CHECK(*again == p && again->out_h() == p.out_h() && again->out_w() == p.out_w() &&
                 again->pad_top() == p.pad_top() && again->pad_left() == p.pad_left(),
             d + ": parses back as " + again->descriptor());
  // Problem::create is a fixed point: creating from the normalized desc gives the same problem.
  Result<Problem> recreated = Problem::create(p.desc());
  FUZZ_CHECK(recreated.is_ok() && *recreated == p, d + ": Problem::create(p.desc()) differs");

  // The cuDNN mapping is plain arithmetic on the problem: defined (UBSan) for every accepted problem, and
  // within int32 whenever static_rejection lets it through.
  const std::string why = cudnn::static_rejection(p);
  if (why.empty()) {
    const cudnn::Geometry g = cudnn::make_geometry(p);
    FUZZ_CHECK(g.first.n >= 1 && g.first.c >= 1 && g.first.h >= 1 && g.first.w >= 1 && g.first.k >= 1,
               d + ": cuDNN geometry has an empty dimension");
    FUZZ_CHECK(g.first.out_h == p.out_h() && g.first.out_w == p.out_w(), d + ": cuDNN geometry's output differs");
  } else {
    FUZZ_CHECK(why.find("int32") != std::string::npos, d + ": cuDNN rejection does not name its bound: " + why);
  }
}

void run_small_reference(const Problem& p) {
  if (!small_enough_to_run(p)) return;
  const std::string d = p.descriptor();
  Result<Plan> plan = Plan::create(p, "cpu-ref");
  FUZZ_CHECK(plan.is_ok(), d + ": cpu-ref cannot plan an accepted problem: " + plan.status().to_string());

  // Every tensor in f32-sized storage (wide enough for any dtype), inputs nonzero and finite (0x3c00 is
  // 1.0 in f16, 0x3c003c00 1.00048828125 in f32, 0x3c00 0.0078125 in bf16), the output NaN between guards.
  constexpr int64_t kGuard = 16;
  const size_t es = dtype_size(p.dtype());
  std::vector<std::vector<uint32_t>> storage(kArgCount);
  TensorArgs args;
  for (int i = 0; i < kArgCount; ++i) {
    const Arg slot = static_cast<Arg>(i);
    if (p.arg_use(slot) == ArgUse::kUnused) continue;
    std::vector<uint32_t>& s = storage[static_cast<size_t>(i)];
    const int64_t words = (p.arg_elements(slot) * static_cast<int64_t>(es) + 3) / 4;
    if (slot == Arg::kOutput) {
      s.assign(static_cast<size_t>(words + 2 * kGuard), 0xffffffffu);  // NaN in every dtype
      args.set(slot, s.data() + kGuard);
    } else {
      s.assign(static_cast<size_t>(words), 0x3c003c00u);
      args.set(slot, s.data());
    }
  }
  const Status st = plan->run(args, nullptr, 0);
  FUZZ_CHECK(st.is_ok(), d + ": cpu-ref run failed: " + st.to_string());
  const std::vector<uint32_t>& out = storage[static_cast<size_t>(Arg::kOutput)];
  const auto* bytes = reinterpret_cast<const uint8_t*>(out.data() + kGuard);
  const int64_t n = p.output_elements();
  for (int64_t i = 0; i < n; ++i) {
    bool all_ones = true;
    for (size_t b = 0; b < es; ++b) all_ones = all_ones && bytes[static_cast<size_t>(i) * es + b] == 0xff;
    FUZZ_CHECK(!all_ones, d + ": output element " + std::to_string(i) + " was not written");
  }
  for (int64_t g = 0; g < kGuard; ++g) {
    FUZZ_CHECK(out[static_cast<size_t>(g)] == 0xffffffffu, d + ": a guard before the output was written");
    FUZZ_CHECK(out[out.size() - 1 - static_cast<size_t>(g)] == 0xffffffffu,
               d + ": a guard after the output was written");
  }
}

}  // namespace dsconv::fuzz
