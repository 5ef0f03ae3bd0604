// dsconv run: one convolution on .npy files. The problem's shapes come from the files; the flags add
// what a file cannot say (stride, dilation, padding, layouts, dtype, activation). Every check happens
// before anything is written, and the output is written atomically, so a failed run leaves no file.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "bench/driver/cli.hpp"
#include "bench/driver/commands.hpp"
#include "dsconv/npy.hpp"
#include "tools/common/device.hpp"
#include "tools/common/tensor.hpp"

namespace dsconv::driver {

namespace {

using tools::HostTensor;
using tools::TensorSet;

constexpr const char* kCmd = "run";

ArgParser make_parser() {
  ArgParser args(kCmd, "run one convolution on .npy files and write the result as a float32 .npy",
                 "--op OP --input X.npy --filter W.npy [--pointwise P.npy] [--bias B.npy] [--residual R.npy] [flags] "
                 "--output Y.npy");
  args.flag({"input"}, "X.npy", "input activations: [N,H,W,C] for --layout NHWC, [N,C,H,W] for NCHW")
      .flag({"filter"}, "W.npy",
            "filter (the depthwise filter for separable): tf layout [KH,KW,C,M] (depthwise) or [KH,KW,C,O] "
            "(conv2d); oihw layout [C*M,1,KH,KW] or [O,C,KH,KW]")
      .flag({"pointwise"}, "P.npy", "separable only: pointwise filter, tf [1,1,C*M,O] or oihw [O,C*M,1,1]")
      .flag({"bias"}, "B.npy", "optional bias [O] (O = output channels), added before the activation")
      .flag({"residual"}, "R.npy",
            "optional residual of the output's shape, in --layout like the output, added before the activation")
      .flag({"output"}, "Y.npy", "where the result is written (float32, in --layout)");
  add_problem_flags(args, kConvFlags);
  args.flag({"backend"}, "auto|cpu-ref|cpu|cuda|cudnn", "backend to run on (default auto)");
  add_impl_flags(args);
  args.switch_flag({"verbose"}, "print the plan (chosen implementation, rejected ones) to stderr");
  args.epilog(
      "Inputs may be float32 ('<f4') or float16 ('<f2') .npy files (NumPy format 1.0-3.0, C order). They are\n"
      "converted to --dtype, which defaults to f16 when the input file is float16 and to f32 otherwise.\n"
      "\n"
      "exit codes: 0 success; 1 runtime error (missing or malformed file, shapes that do not fit\n"
      "together, backend failure); 2 usage error (unknown flag, bad or missing flag value).\n"
      "\n"
      "example:\n"
      "  dsconv run --op depthwise --input x.npy --filter w.npy --padding SAME --stride 2 --output y.npy\n");
  return args;
}

struct Loaded {
  std::string path;
  npy::Array array;
};

std::string describe(const Loaded& f) { return f.path + " shape " + npy::shape_string(f.array.shape); }

// Builds the problem's shape fields from the arrays, or explains (naming files and shapes) why they
// do not fit together.
std::string shapes_to_desc(const Loaded& x, const Loaded& w, const Loaded* pw, const Loaded* bias, ProblemDesc* d) {
  const bool nhwc = d->layout == Layout::kNHWC;
  const bool tf = d->filter_layout == FilterLayout::kTF;
  const std::vector<int64_t>& xs = x.array.shape;
  if (xs.size() != 4)
    return x.path + ": input must have rank 4 (" +
           (nhwc ? "[N,H,W,C] for --layout NHWC" : "[N,C,H,W] for --layout NCHW") + "), got shape " +
           npy::shape_string(xs);
  d->batch = xs[0];
  d->height = nhwc ? xs[1] : xs[2];
  d->width = nhwc ? xs[2] : xs[3];
  d->channels = nhwc ? xs[3] : xs[1];
  const int64_t c = d->channels;
  const std::string cs = std::to_string(c);

  const std::vector<int64_t>& ws = w.array.shape;
  const bool conv = d->op == Op::kConv2d;
  const char* want =
      conv ? (tf ? "[KH,KW,C,O] (conv2d, --filter-layout tf)" : "[O,C,KH,KW] (conv2d, --filter-layout oihw)")
           : (tf ? "[KH,KW,C,M] (depthwise, --filter-layout tf)" : "[C*M,1,KH,KW] (depthwise, --filter-layout oihw)");
  auto mismatch = [&](const std::string& why) {
    return describe(w) + " does not fit input " + describe(x) + ": the filter must be " + want + why;
  };
  if (ws.size() != 4) return mismatch(", got rank " + std::to_string(ws.size()));
  for (int64_t dim : ws)
    if (dim < 1) return mismatch("; every dimension must be >= 1");
  if (conv) {
    const int64_t fc = tf ? ws[2] : ws[1];
    if (fc != c) return mismatch(" with C = " + cs + " (the input's channels), got C = " + std::to_string(fc));
    d->kernel_h = tf ? ws[0] : ws[2];
    d->kernel_w = tf ? ws[1] : ws[3];
    d->out_channels = tf ? ws[3] : ws[0];
    d->multiplier = 1;
  } else if (tf) {
    if (ws[2] != c) return mismatch(" with C = " + cs + " (the input's channels), got C = " + std::to_string(ws[2]));
    d->kernel_h = ws[0];
    d->kernel_w = ws[1];
    d->multiplier = ws[3];
  } else {
    if (ws[1] != 1) return mismatch(", whose second dimension is 1; got " + std::to_string(ws[1]));
    if (c < 1 || ws[0] % c != 0)
      return mismatch(" whose first dimension is a multiple of C = " + cs + " (the input's channels); got " +
                      std::to_string(ws[0]));
    d->kernel_h = ws[2];
    d->kernel_w = ws[3];
    d->multiplier = ws[0] / c;
  }
  if (d->op == Op::kDepthwise) d->out_channels = 0;  // derived: C*M

  if (pw != nullptr) {
    const std::vector<int64_t>& ps = pw->array.shape;
    const int64_t cm = c * d->multiplier;
    const std::string expect =
        tf ? "[1,1,C*M,O] = [1,1," + std::to_string(cm) + ",O]" : "[O,C*M,1,1] = [O," + std::to_string(cm) + ",1,1]";
    const std::string why = describe(*pw) + " does not fit input " + describe(x) + " and filter " + describe(w) +
                            ": the pointwise filter must be " + expect;
    if (ps.size() != 4) return why + ", got rank " + std::to_string(ps.size());
    const bool ok = tf ? (ps[0] == 1 && ps[1] == 1 && ps[2] == cm && ps[3] >= 1)
                       : (ps[0] >= 1 && ps[1] == cm && ps[2] == 1 && ps[3] == 1);
    if (!ok) return why;
    d->out_channels = tf ? ps[3] : ps[0];
  }
  if (bias != nullptr) {
    const int64_t o = d->op == Op::kDepthwise ? c * d->multiplier : d->out_channels;
    const std::vector<int64_t>& bs = bias->array.shape;
    if (bs.size() != 1 || bs[0] != o)
      return describe(*bias) + " does not fit: the bias must be [" + std::to_string(o) +
             "] (one value per output channel of " + describe(w) + ")";
    d->has_bias = true;
  }
  return "";
}

bool all_finite(const std::vector<float>& v) {
  for (float f : v)
    if (!std::isfinite(f)) return false;
  return true;
}

}  // namespace

int cmd_run(int argc, char** argv) {
  ArgParser args = make_parser();
  if (std::string e = args.parse(argc, argv); !e.empty()) return usage_error(kCmd, e);
  if (args.help_requested()) {
    std::fputs(args.help().c_str(), stdout);
    return kExitOk;
  }
  if (!args.positionals().empty()) return usage_error(kCmd, "unexpected argument '" + args.positionals()[0] + "'");
  for (const char* required : {"op", "input", "filter", "output"})
    if (!args.has(required)) return usage_error(kCmd, std::string("--") + required + " is required");

  // Flag syntax first: a typo in --padding is a usage error even when a file is missing too.
  ProblemDesc desc;
  if (std::string e = apply_problem_flags(args, &desc); !e.empty()) return usage_error(kCmd, e);
  const std::string backend = args.get_or("backend", "auto");
  const std::vector<std::string> known = known_backends();
  if (std::find(known.begin(), known.end(), backend) == known.end()) {
    std::string names;
    for (const std::string& n : known) names += (names.empty() ? "" : ", ") + n;
    return usage_error(kCmd, "--backend must be one of " + names + "; got '" + backend + "'");
  }
  const bool separable = desc.op == Op::kSeparable;
  if (separable && !args.has("pointwise")) return usage_error(kCmd, "--pointwise is required for --op separable");
  if (!separable && args.has("pointwise"))
    return usage_error(kCmd, std::string("--pointwise is only for --op separable, not ") + to_string(desc.op));
  for (const char* f : {"input", "filter", "pointwise", "bias", "residual", "output"})
    if (args.has(f) && args.get(f)->empty()) return usage_error(kCmd, std::string("--") + f + " is an empty path");

  auto load = [&](const char* flag, Loaded* out) -> Status {
    out->path = *args.get(flag);
    Result<npy::Array> a = npy::load(out->path);
    if (!a) return a.status();
    out->array = std::move(a).value();
    return Status::ok();
  };
  Loaded x, w, pw, bias, residual;
  for (auto [flag, slot] : {std::pair<const char*, Loaded*>{"input", &x},
                            {"filter", &w},
                            {"pointwise", &pw},
                            {"bias", &bias},
                            {"residual", &residual}}) {
    if (!args.has(flag)) continue;
    if (Status s = load(flag, slot); !s) return runtime_error(kCmd, s.message());
  }
  if (!args.has("dtype")) desc.dtype = x.array.dtype;

  if (std::string e = shapes_to_desc(x, w, separable ? &pw : nullptr, args.has("bias") ? &bias : nullptr, &desc);
      !e.empty())
    return runtime_error(kCmd, e);
  desc.has_residual = args.has("residual");
  Result<Problem> problem = Problem::create(desc);
  if (!problem)
    return runtime_error(kCmd, "input " + describe(x) + ", filter " + describe(w) + ": " + problem.status().message());
  const Problem& p = *problem;
  // The residual takes the output's shape and layout: anything else is an error naming both shapes.
  if (p.has_residual() && residual.array.shape != p.output_shape())
    return runtime_error(kCmd, describe(residual) + " does not fit: the residual must have the output's shape " +
                                   npy::shape_string(p.output_shape()) + " (" + to_string(p.layout()) + ")");

  Result<Plan> plan = Plan::create(p, backend, impl_options(args));
  if (!plan) return runtime_error(kCmd, plan.status().message());
  if (args.has("verbose")) std::fputs(plan->explain().c_str(), stderr);

  TensorSet t;
  t.input = HostTensor::from_floats(p.dtype(), p.input_shape(), x.array.values);
  t.filter = HostTensor::from_floats(p.dtype(), p.filter_shape(), w.array.values);
  if (separable) t.pointwise = HostTensor::from_floats(p.dtype(), p.pointwise_shape(), pw.array.values);
  if (p.has_bias()) t.bias = HostTensor::from_floats(p.dtype(), p.bias_shape(), bias.array.values);
  if (p.has_residual()) t.residual = HostTensor::from_floats(p.dtype(), p.output_shape(), residual.array.values);
  t.output = HostTensor(p.dtype(), p.output_shape());
  tools::poison_nan(t.output);

  if (Status s = tools::execute(*plan, &t); !s)
    return runtime_error(kCmd, plan->backend() + "/" + plan->implementation() + " failed: " + s.to_string());

  const std::vector<float> y = t.output.to_floats();
  // The output was NaN-poisoned: NaN from finite inputs means an element was never written.
  if (all_finite(x.array.values) && all_finite(w.array.values) && all_finite(pw.array.values) &&
      all_finite(bias.array.values) && all_finite(residual.array.values)) {
    if (const int64_t nan = tools::count_nan(t.output); nan > 0)
      return runtime_error(kCmd, plan->backend() + "/" + plan->implementation() + " left " + std::to_string(nan) +
                                     " of " + std::to_string(t.output.elements()) +
                                     " output elements NaN although every input is finite (unwritten, or overflow)");
  }
  const std::string out_path = *args.get("output");
  if (Status s = npy::save_f32(out_path, p.output_shape(), y.data()); !s) return runtime_error(kCmd, s.message());
  std::printf("%s: %s f32 (%s on %s/%s)\n", out_path.c_str(), npy::shape_string(p.output_shape()).c_str(),
              p.descriptor().c_str(), plan->backend().c_str(), plan->implementation().c_str());
  return kExitOk;
}

}  // namespace dsconv::driver
