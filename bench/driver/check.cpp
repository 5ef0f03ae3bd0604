// dsconv check: one problem on seeded random data, one backend against the CPU reference, PASS or FAIL.
// The data, the run, the reference and the verdict are the toolkit's (tools/common/), the same the tests'
// ConvTester uses: a failing test prints the `dsconv check` line that replays it bit for bit. The
// reference is computed in f32 from the very values the backend saw (already rounded to the dtype), so
// the only differences left are the backend's accumulation order and its roundings.
#include <cstdio>
#include <string>
#include <vector>

#include "bench/driver/cli.hpp"
#include "bench/driver/commands.hpp"
#include "tools/common/device.hpp"
#include "tools/common/oracle.hpp"
#include "tools/common/tensor.hpp"

namespace dsconv::driver {

namespace {

using tools::DataKind;

constexpr const char* kCmd = "check";

ArgParser make_parser() {
  ArgParser args(kCmd, "compare a backend with the CPU reference on random (seeded, nonzero) data",
                 "DESCRIPTOR | --op OP <problem flags>  [--backend B] [--seed S] [--data int|uniform] "
                 "[--impl PREFIX] [--skip-impl PREFIX]");
  args.positional("DESCRIPTOR",
                  "a problem as printed by dsconv, e.g. depthwise_n1h13w11c17_k3x3_m2_s2x2_d1x1_psame_nhwc_tf_f32 "
                  "(omitted fields take defaults; problem flags given as well override its fields)");
  add_problem_flags(args, kAllProblemFlags);
  args.flag({"backend"}, "auto|cpu-ref|cpu|cuda|cudnn", "backend under test (default auto)")
      .flag({"seed"}, "S", "seed of the random inputs (default: a fresh random seed; always printed)")
      .flag({"data"}, "int|uniform",
            "int: small nonzero integers (f32 results are exact and compared for equality); uniform: magnitudes "
            "in [0.125, 1], random signs (default uniform)");
  add_impl_flags(args);
  args.switch_flag({"digest"}, "print an FNV-1a digest of every input tensor and of the output")
      .switch_flag({"verbose"}, "print the plan (chosen implementation, rejected ones) to stderr");
  args.epilog(
      "PASS when every output element y satisfies |y - ref| <= tolerance * sum|x*w| (the reference on absolute\n"
      "values); NaN never passes. The output is NaN-poisoned and guarded before the run, so unwritten elements\n"
      "and writes outside the output fail. A failing test prints the check line that replays it bit for bit.\n"
      "\n"
      "exit codes: 0 PASS; 1 FAIL (or the run failed); 2 usage error; 3 the backend cannot run this problem.\n"
      "\n"
      "examples:\n"
      "  dsconv check depthwise_n1h13w11c17_k3x3_m1_s1x1_d1x1_psame_nhwc_tf_f32 --backend cuda --skip-impl ref\n"
      "  dsconv check depthwise_n2h13w11c17_k3x3 --backend cuda --impl dw_fwd_nhwc_generic --seed 7 --data int\n"
      "  dsconv check --op conv2d --h 33 --w 33 --c 8 --o 16 --k 3 --dilation 6 --padding SAME --dtype f16\n");
  return args;
}

}  // namespace

int cmd_check(int argc, char** argv) {
  ArgParser args = make_parser();
  if (std::string e = args.parse(argc, argv); !e.empty()) return usage_error(kCmd, e);
  if (args.help_requested()) {
    std::fputs(args.help().c_str(), stdout);
    return kExitOk;
  }
  if (args.positionals().size() > 1)
    return usage_error(kCmd, "expected at most one DESCRIPTOR, got '" + args.positionals()[1] + "' as well");
  const std::string descriptor = args.positionals().empty() ? "" : args.positionals()[0];
  if (descriptor.empty() && !args.has("op"))
    return usage_error(kCmd, "give a DESCRIPTOR, or --op with the problem flags");

  Result<Problem> problem = problem_from_args(args, descriptor);
  if (!problem) return usage_error(kCmd, problem.status().message());
  const Problem& p = *problem;

  int64_t seed_value = 0;
  uint64_t seed = 0;
  if (std::optional<std::string> s = args.get("seed")) {
    if (std::string e = parse_int("--seed", *s, 0, &seed_value); !e.empty()) return usage_error(kCmd, e);
    seed = static_cast<uint64_t>(seed_value);
  } else {
    seed = random_seed();
  }
  DataKind data = DataKind::kUniform;
  if (std::optional<std::string> d = args.get("data")) {
    std::optional<DataKind> kind = tools::parse_data_kind(*d);
    if (!kind) return usage_error(kCmd, "--data must be int or uniform, got '" + *d + "'");
    data = *kind;
  }
  const PlanOptions options = impl_options(args);
  const std::string backend = args.get_or("backend", "auto");

  std::printf("problem: %s\nseed: %llu\ndata: %s\n", p.descriptor().c_str(), static_cast<unsigned long long>(seed),
              tools::to_string(data));
  std::fflush(stdout);
  Result<Plan> plan = Plan::create(p, backend, options);
  if (!plan) {
    // An unknown backend name is a typo on the command line; anything else is the backend's verdict.
    if (plan.status().code() == StatusCode::kInvalidArgument) return usage_error(kCmd, plan.status().message());
    return runtime_error(kCmd, plan.status().to_string(), kExitUnsupported);
  }
  if (args.has("verbose")) std::fputs(plan->explain().c_str(), stderr);
  std::printf("backend: %s\nimplementation: %s\n", plan->backend().c_str(), plan->implementation().c_str());

  tools::TensorSet t = tools::TensorSet::random(p, seed, data);
  if (Status s = tools::execute(*plan, &t); !s) {
    std::printf("FAIL\n");
    return runtime_error(kCmd, "the run failed: " + s.to_string());
  }
  if (args.has("digest")) std::printf("digest: %s\n", tools::digest_line(t).c_str());
  Result<tools::HostTensor> ref = tools::reference_output(p, t);
  if (!ref) return runtime_error(kCmd, "the reference failed: " + ref.status().to_string());
  Result<tools::HostTensor> scale = tools::reference_output(p, t, /*absolute=*/true);
  if (!scale) return runtime_error(kCmd, "the reference failed: " + scale.status().to_string());

  const tools::Comparison c = tools::compare(
      p, t.output, *ref, *scale, tools::tolerance(p, data, *scale, tools::runs_tf32(plan->implementation())));
  std::printf("%s\n%s%s\n", c.summary().c_str(), c.pass ? "" : c.failures_text.c_str(), c.pass ? "PASS" : "FAIL");
  return c.pass ? kExitOk : kExitFailure;
}

}  // namespace dsconv::driver
