// dsconv profile: the GPU performance model of dsconv's cuda kernels, counted on the CPU emulator.
// One row per kernel launch: warp-level global requests and sectors, bytes L2 <-> SM, compulsory DRAM
// bytes against the ideal, shared-memory wavefronts and bank conflicts, occupancy on a named card from
// nvcc's ptxas report, waves, FMAs, loads in flight, and a roofline estimate in modelled microseconds.
// Every figure is a model (cuda/emu/model/README.md), never a measurement. Only an instrumented build
// (the `profile` preset) counts; any other build says so and exits 2.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <vector>

#include "bench/driver/cli.hpp"
#include "bench/driver/commands.hpp"
#include "bench/driver/suites.hpp"
#include "tools/common/device.hpp"

#if defined(DSCONV_HAVE_EMU_PROFILE)
#include "cuda/emu/model/capture.hpp"
#include "cuda/emu/model/cards.hpp"
#include "cuda/emu/model/ptxas_report.hpp"
#include "cuda/emu/model/roofline.hpp"
#include "cuda/emu/model/rules.hpp"
#endif

namespace dsconv::driver {

namespace {

constexpr const char* kCmd = "profile";

// Launches with more blocks are sampled (CaptureOptions::max_blocks). 128 blocks kept every figure within
// 3% of the exact count on the layers compared (3x3 to 7x7, strides 1 and 2, dilated, NCHW; at 64 the
// worst was 6%, where a partial channel chunk makes blocks unequal), and every suite at N=32 takes about
// 50 s on two cores.
constexpr int64_t kDefaultMaxBlocks = 128;

ArgParser make_parser() {
  ArgParser args(kCmd,
                 "model dsconv's cuda kernels on a GPU from their emulated execution: memory traffic, coalescing, "
                 "bank conflicts, occupancy and a roofline time (a model, not a measurement)",
                 "DESCRIPTOR.. | --suite NAME | --problems FILE  [--batch N] [--device CARD] [--impl PREFIX] "
                 "[--skip-impl PREFIX] [--format table|json] [--out FILE]");
  args.positional("DESCRIPTOR", "problems as printed by dsconv (any number, with or instead of --suite)");
  add_problem_flags(args, kAllProblemFlags);
  args.flag({"suite"}, "NAME", "a built-in suite (dsconv bench --list); 'all' for every suite", true)
      .flag({"problems"}, "FILE",
            "descriptors, one per line, each optionally followed by --impl PREFIX ('#' starts a comment)")
      .flag({"device"}, "CARD", "the card to model: h100 (default), h200, a100, sm_86, sm_89")
      .flag({"backend"}, "cuda", "the backend whose kernels are modelled (only cuda: dsconv's own kernels)")
      .flag({"impl"}, "PREFIX", "consider only implementations whose name starts with PREFIX", true)
      .flag({"skip-impl"}, "PREFIX",
            "never consider an implementation whose name starts with PREFIX (e.g. a tile's _tailsplit)", true)
      .switch_flag({"allow-tf32"}, "f32 problems may run on TF32 tensor cores (PlanOptions::allow_tf32)")
      .flag({"max-blocks"}, "N",
            "count at most N blocks of a launch, sampled across its grid and scaled (default 128; 0: every block)")
      .flag({"ptxas-report"}, "FILE", "registers per kernel (default: the build's ptxas_report.txt)")
      .switch_flag({"sites"},
                   "list every static access site of each launch (table: below its row; json: a \"sites\" list)")
      .flag({"format"}, "table|json", "output format (default table; with --out: from its extension)")
      .flag({"out"}, "FILE", "write the rows to FILE in --format; the table still goes to stdout");
  args.epilog(
      "Counts are exact for the emulated execution of the blocks that ran; a launch with more than --max-blocks\n"
      "blocks runs a sample of them (strata across the grid, its first and last block included) and scales the\n"
      "counts: its row says 'sampled'. Times are modelled, uncalibrated until a GPU run compares them with\n"
      "Nsight Compute (bench/gpu_check.sh). See cuda/emu/model/README.md for each figure.\n"
      "\n"
      "exit codes: 0 success; 1 runtime error; 2 usage error, or a build without the model;\n"
      "            3 the cuda backend cannot run the (single) problem.\n"
      "\n"
      "examples:\n"
      "  dsconv profile depthwise_n32h112w112c32_k3x3_s1x1_psame_nhwc_tf_f32\n"
      "  dsconv profile --suite mobilenet_v2 --batch 32 --device h200 --format json --out mv2.json\n");
  return args;
}

#if !defined(DSCONV_HAVE_EMU_PROFILE)

int profile_unavailable() {
  std::fprintf(stderr,
               "dsconv profile: error: this build has no performance model: it counts the instrumented emulated "
               "kernels of the 'profile' preset (clang >= 14 and the CUDA toolkit headers):\n"
               "  cmake --workflow --preset profile && build/profile/bin/dsconv profile ...\n");
  return kExitUsage;
}

#else

namespace model = ::dsconv::emu::model;

struct Row {
  std::string suite, layer, problem, implementation;
  std::string skipped;  // non-empty: the backend did not run the problem, and why
  int launch = 0;
  model::LaunchRecord rec;
  model::Estimate est;
  double ideal_bytes = 0;
  int registers = 0;  // 0: not in the ptxas report
  std::string registers_arch;
  const model::Card* card = nullptr;
};

// One problem to profile, with the implementation prefixes a --problems line adds to --impl.
struct Item {
  SuiteProblem sp;
  std::vector<std::string> impl;
};

// Problems from the command line: suites (adjusted by the per-layer flags), a problems file (a descriptor
// per line, optionally followed by --impl PREFIX), descriptors.
std::string collect_problems(const ArgParser& args, std::vector<Item>* out) {
  Result<std::vector<SuiteProblem> > ps = suites_problems(
      args.get_all("suite"), every_layer_adjust([&args](ProblemDesc* d) { return apply_problem_flags(args, d); }));
  if (!ps) return ps.status().message();
  for (SuiteProblem& sp : *ps) out->push_back({std::move(sp), {}});
  std::vector<std::pair<std::string, std::vector<std::string> > > lines;
  for (const std::string& d : args.positionals()) lines.push_back({d, {}});
  if (std::optional<std::string> file = args.get("problems")) {
    std::ifstream f(*file);
    if (!f) return "--problems: cannot read '" + *file + "'";
    std::string line;
    for (int number = 1; std::getline(f, line); ++number) {
      std::istringstream words(line.substr(0, line.find('#')));
      std::vector<std::string> w{std::istream_iterator<std::string>(words), std::istream_iterator<std::string>()};
      if (w.empty()) continue;
      std::vector<std::string> impl;
      for (size_t i = 1; i < w.size(); i += 2) {
        if (w[i] != "--impl" || i + 1 >= w.size()) {
          return "--problems: " + *file + " line " + std::to_string(number) + ": after the descriptor only '--impl " +
                 "PREFIX' may follow, got '" + w[i] + "'";
        }
        impl.push_back(w[i + 1]);
      }
      lines.push_back({w[0], impl});
    }
  }
  for (const auto& [d, impl] : lines) {
    Result<Problem> p = problem_from_args(args, d);
    if (!p) return p.status().message();
    out->push_back({{"", "", std::move(*p)}, impl});
  }
  if (out->empty() && args.has("op")) {
    Result<Problem> p = problem_from_args(args, "");
    if (!p) return p.status().message();
    out->push_back({{"", "", std::move(*p)}, {}});
  }
  if (out->empty()) return "nothing to profile: give a DESCRIPTOR, --suite NAME or --problems FILE";
  return "";
}

Status profile_problem(const SuiteProblem& sp, const PlanOptions& options, const model::CaptureOptions& capture,
                       std::vector<Row>* rows, bool* unsupported) {
  const Problem& p = sp.problem;
  Row base;
  base.suite = sp.suite;
  base.layer = sp.layer;
  base.problem = p.descriptor();
  base.ideal_bytes = p.min_bytes();
  Result<Plan> plan = Plan::create(p, "cuda", options);
  if (!plan) {
    if (plan.status().code() == StatusCode::kInvalidArgument) return plan.status();
    base.skipped = plan.status().message();
    rows->push_back(base);
    *unsupported = true;
    return Status::ok();
  }
  base.implementation = plan->implementation();
  // Device buffers for every slot the problem uses, and the workspace. The values do not matter to the
  // model (no kernel's memory accesses depend on them); a constant non-NaN byte pattern fills the inputs.
  Result<tools::Stream> stream = tools::Stream::create(MemorySpace::kDevice);
  if (!stream) return stream.status();
  std::vector<tools::Buffer> buffers;
  TensorArgs args;
  for (int i = 0; i < kArgCount; ++i) {
    const Arg slot = static_cast<Arg>(i);
    if (p.arg_use(slot) == ArgUse::kUnused) continue;
    Result<tools::Buffer> b =
        tools::Buffer::create(MemorySpace::kDevice, static_cast<size_t>(p.arg_elements(slot)) * dtype_size(p.dtype()));
    if (!b) return b.status();
    if (p.arg_use(slot) == ArgUse::kRead)
      if (Status s = b->fill_async(0x3c, *stream); !s) return s;
    args.set(slot, b->data());
    buffers.push_back(std::move(b).value());
  }
  Result<tools::Buffer> ws = tools::Buffer::create(MemorySpace::kDevice, plan->workspace_bytes());
  if (!ws) return ws.status();
  if (Status s = stream->synchronize(); !s) return s;

  std::string error;
  if (!model::begin_capture(capture, &error)) return Status(StatusCode::kInternalError, error);
  const Status run = plan->run(args, ws->data(), plan->workspace_bytes(), stream->get());
  const Status sync = stream->synchronize();
  std::vector<model::LaunchRecord> records = model::end_capture();
  if (!run) return run;
  if (!sync) return sync;
  if (records.empty()) {
    return Status(StatusCode::kInternalError,
                  "the plan ran no kernel the model could count (" + base.implementation + ")");
  }
  int launch = 0;
  for (model::LaunchRecord& r : records) {
    Row row = base;
    row.launch = launch++;
    row.rec = std::move(r);
    rows->push_back(std::move(row));
  }
  return Status::ok();
}

void estimate_rows(std::vector<Row>* rows, const model::Card& card, const model::PtxasReport& report) {
  for (Row& row : *rows) {
    row.card = &card;
    if (!row.skipped.empty()) continue;
    model::EstimateInput in;
    in.ideal_bytes = row.launch == 0 ? row.ideal_bytes : 0;  // a problem's ideal belongs to its first launch
    if (const model::KernelResources* k = report.find(row.rec.kernel, card.arch)) {
      row.registers = k->registers;
      row.registers_arch = k->arch;
      in.registers_per_thread = k->registers;
      in.static_smem_bytes = k->static_smem_bytes;
    }
    row.est = model::estimate(row.rec, card, in);
  }
}

// ---------------------------------------------------------------------------------------------
// Output
// ---------------------------------------------------------------------------------------------

std::string json_string(const std::string& s) {
  std::string o = "\"";
  for (char c : s) {
    switch (c) {
      case '"':
        o += "\\\"";
        break;
      case '\\':
        o += "\\\\";
        break;
      case '\n':
        o += "\\n";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          o += buf;
        } else {
          o += c;
        }
    }
  }
  return o + "\"";
}

std::string json_number(double v) {
  if (!std::isfinite(v)) return "null";
  char buf[40];
  if (v == std::floor(v) && std::fabs(v) < 1e15) {
    std::snprintf(buf, sizeof buf, "%.0f", v);
  } else {
    std::snprintf(buf, sizeof buf, "%.6g", v);
  }
  return buf;
}

std::string sampling_text(const model::LaunchRecord& r) {
  if (r.exact) return "all " + std::to_string(r.total_blocks) + " blocks";
  return "sampled " + std::to_string(r.sampled_blocks) + " of " + std::to_string(r.total_blocks) +
         " blocks (strata across the grid), scaled";
}

std::string site_json(const model::SiteRecord& s) {
  std::ostringstream o;
  const double per = s.requests > 0 ? 1.0 / s.requests : 0;
  o << "{\"where\": " << json_string(s.where) << ", \"space\": \"" << (s.shared ? "shared" : "global")
    << "\", \"op\": \"" << (s.store ? "store" : "load") << "\", \"width\": " << s.width
    << ", \"requests\": " << json_number(s.requests);
  if (s.shared) {
    o << ", \"wavefronts_per_request\": " << json_number(s.wavefronts * per)
      << ", \"bank_conflicts\": " << json_number(s.wavefronts - s.ideal_wavefronts);
  } else {
    o << ", \"sectors_per_request\": " << json_number(s.sectors * per)
      << ", \"bytes_per_request\": " << json_number(s.bytes * per);
  }
  o << "}";
  return o.str();
}

std::string site_line(const model::SiteRecord& s) {
  char line[512];
  const double per = s.requests > 0 ? 1.0 / s.requests : 0;
  if (s.shared) {
    std::snprintf(line, sizeof line, "    site %-58s shared %-5s %2uB %10.0f req %6.2f wf/req %8.0f conflicts\n",
                  s.where.c_str(), s.store ? "store" : "load", s.width, s.requests, s.wavefronts * per,
                  s.wavefronts - s.ideal_wavefronts);
  } else {
    std::snprintf(line, sizeof line, "    site %-58s global %-5s %2uB %10.0f req %6.2f sect/req %6.1f B/req\n",
                  s.where.c_str(), s.store ? "store" : "load", s.width, s.requests, s.sectors * per, s.bytes * per);
  }
  return line;
}

std::string to_json(const std::vector<Row>& rows, bool sites) {
  std::ostringstream o;
  o << "[\n";
  for (size_t i = 0; i < rows.size(); ++i) {
    const Row& row = rows[i];
    const model::LaunchRecord& r = row.rec;
    const model::Estimate& e = row.est;
    using Field = std::pair<std::string, std::string>;  // key, JSON value
    std::vector<Field> f;
    auto str = [&f](const char* k, const std::string& v) { f.emplace_back(k, json_string(v)); };
    auto num = [&f](const char* k, double v) { f.emplace_back(k, json_number(v)); };
    str("model", "dsconv GPU performance model on the CPU emulator (uncalibrated; not a measurement)");
    str("suite", row.suite);
    str("layer", row.layer);
    str("problem", row.problem);
    str("device", row.card->key);
    str("device_name", row.card->name);
    if (!row.skipped.empty()) {
      str("implementation", "");
      str("skipped", row.skipped);
    } else {
      str("implementation", row.implementation);
      num("launch", row.launch);
      str("kernel", r.kernel);
      f.emplace_back("grid", "[" + std::to_string(r.grid[0]) + "," + std::to_string(r.grid[1]) + "," +
                                 std::to_string(r.grid[2]) + "]");
      f.emplace_back("block", "[" + std::to_string(r.block[0]) + "," + std::to_string(r.block[1]) + "," +
                                  std::to_string(r.block[2]) + "]");
      num("dynamic_smem_bytes", static_cast<double>(r.dynamic_smem_bytes));
      if (row.registers > 0) {
        num("registers", row.registers);
        str("registers_from", "ptxas report, " + row.registers_arch);
      } else {
        f.emplace_back("registers", "null");
        str("registers_from", "not in the ptxas report: occupancy ignores the register limit");
      }
      num("total_blocks", static_cast<double>(r.total_blocks));
      num("sampled_blocks", static_cast<double>(r.sampled_blocks));
      f.emplace_back("exact", r.exact ? "true" : "false");
      str("sampling", sampling_text(r));
      num("global_requests", e.global_requests);
      num("global_load_requests", r.global_load_requests);
      num("global_store_requests", r.global_store_requests);
      num("sectors_per_request", e.sectors_per_request);
      num("l2_bytes", e.l2_bytes);
      num("l2_load_bytes", e.l2_load_bytes);
      num("l1_hit_bytes", e.l1_hit_bytes);
      num("l2_store_bytes", e.l2_store_bytes);
      num("requested_bytes", r.global_load_bytes + r.global_store_bytes);
      num("dram_bytes", e.dram_bytes);
      num("dram_read_bytes", r.dram_read_bytes);
      num("dram_write_bytes", r.dram_write_bytes);
      num("ideal_bytes", row.launch == 0 ? row.ideal_bytes : 0);
      num("smem_requests", e.smem_requests);
      num("smem_wavefronts", r.smem_wavefronts);
      num("smem_wavefronts_per_request", e.smem_wavefronts_per_request);
      num("smem_bank_conflicts", e.smem_bank_conflicts);
      if (const model::SiteRecord* s = model::worst_shared_site(r)) {
        str("worst_smem_site", s->where);
        num("worst_smem_site_conflicts", s->wavefronts - s->ideal_wavefronts);
      } else {
        str("worst_smem_site", "none (no bank conflicts)");
      }
      if (const model::SiteRecord* s = model::worst_global_site(r)) {
        str("worst_global_site", s->where);
        num("worst_global_site_sectors_per_request", s->requests > 0 ? s->sectors / s->requests : 0);
        num("worst_global_site_bytes_per_request", s->requests > 0 ? s->bytes / s->requests : 0);
      } else {
        str("worst_global_site", "none (every request moves only the sectors its bytes need)");
      }
      num("fmas", r.fmas);
      num("mma_flops", r.mma_flops);
      num("loads_in_flight_per_thread", e.loads_in_flight_per_thread);
      num("bytes_in_flight_per_sm", e.bytes_in_flight_per_sm);
      num("bytes_in_flight_needed_per_sm", e.bytes_in_flight_needed_per_sm);
      if (e.valid) {
        num("occupancy_blocks_per_sm", e.occ.blocks_per_sm);
        num("occupancy_warps_per_sm", e.occ.warps_per_sm);
        str("occupancy_limiter", e.occ.limiter);
        num("waves", e.waves.waves);
        num("tail", e.waves.tail);
        num("t_dram_us", e.t_dram * 1e6);
        num("t_l2_us", e.t_l2 * 1e6);
        num("t_smem_us", e.t_smem * 1e6);
        num("t_fma_us", e.t_fma * 1e6);
        num("t_tensor_us", e.t_tensor * 1e6);
        num("t_latency_us", e.t_latency * 1e6);
        num("t_fill_us", e.t_fill * 1e6);
        num("t_chain_us", e.t_chain * 1e6);
        num("modelled_us", e.time_us);
        str("bound", e.bound);
        num("modelled_pct_copy_bw", e.pct_copy_bw);
      } else {
        str("not_launchable", e.occ.reason);
      }
      if (sites) {
        std::string list = "[";
        for (size_t k = 0; k < r.sites.size(); ++k) list += (k ? ", " : "") + site_json(r.sites[k]);
        f.emplace_back("sites", list + "]");
      }
    }
    o << "  {";
    for (size_t k = 0; k < f.size(); ++k) o << (k ? ", " : "") << json_string(f[k].first) << ": " << f[k].second;
    o << "}" << (i + 1 < rows.size() ? "," : "") << "\n";
  }
  o << "]\n";
  return o.str();
}

std::string fmt(const char* spec, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, spec, v);
  return buf;
}

std::string to_table(const std::vector<Row>& rows, const model::Card& card, bool sites) {
  std::ostringstream o;
  o << "MODELLED on " << card.name << " (dsconv performance model on the CPU emulator; uncalibrated, not "
    << "measured)\n";
  char line[512];
  std::snprintf(line, sizeof line, "%-34s %-38s %9s %5s %8s %8s %8s %5s %7s %6s %6s %-9s %9s %6s\n", "layer / problem",
                "implementation", "blocks", "sect", "L2 MB", "DRAM MB", "ideal MB", "wf/rq", "confl", "wrp/SM", "waves",
                "bound", "model us", "%copy");
  o << line;
  for (const Row& row : rows) {
    std::string name = row.layer.empty() ? row.problem : row.suite + "/" + row.layer;
    if (name.size() > 34) name = name.substr(0, 31) + "...";
    if (!row.skipped.empty()) {
      std::snprintf(line, sizeof line, "%-34s not run by the cuda backend: %s\n", name.c_str(), row.skipped.c_str());
      o << line;
      continue;
    }
    const model::LaunchRecord& r = row.rec;
    const model::Estimate& e = row.est;
    std::string impl = row.implementation + (row.launch > 0 ? " #" + std::to_string(row.launch) : "");
    if (impl.size() > 38) impl = impl.substr(0, 35) + "...";
    const std::string blocks = r.exact ? std::to_string(r.total_blocks) : std::to_string(r.total_blocks) + "*";
    std::snprintf(line, sizeof line, "%-34s %-38s %9s %5s %8s %8s %8s %5s %7s %6s %6s %-9s %9s %6s\n", name.c_str(),
                  impl.c_str(), blocks.c_str(), fmt("%.1f", e.sectors_per_request).c_str(),
                  fmt("%.2f", e.l2_bytes / 1e6).c_str(), fmt("%.2f", e.dram_bytes / 1e6).c_str(),
                  fmt("%.2f", row.launch == 0 ? row.ideal_bytes / 1e6 : 0).c_str(),
                  fmt("%.2f", e.smem_wavefronts_per_request).c_str(), fmt("%.0f", e.smem_bank_conflicts).c_str(),
                  e.valid ? std::to_string(e.occ.warps_per_sm).c_str() : "-",
                  e.valid ? fmt("%.2f", e.waves.waves).c_str() : "-", e.valid ? e.bound.c_str() : "n/a",
                  e.valid ? fmt("%.2f", e.time_us).c_str() : "-", e.valid ? fmt("%.1f", e.pct_copy_bw).c_str() : "-");
    o << line;
    if (sites) {
      for (const model::SiteRecord& s : r.sites) o << site_line(s);
    }
  }
  bool sampled = false, unknown_regs = false;
  for (const Row& row : rows) {
    sampled |= row.skipped.empty() && !row.rec.exact;
    unknown_regs |= row.skipped.empty() && row.registers == 0;
  }
  o << "sect = 32-byte sectors per global request; L2 = bytes L2<->SM (every sector requested); DRAM = compulsory "
       "(distinct sectors);\nwf/rq = shared wavefronts per request; confl = extra wavefronts (bank conflicts); "
       "%copy = ideal bytes / modelled time / copy bandwidth.\n";
  if (sampled) o << "* sampled blocks, counts scaled to the grid (--max-blocks 0 counts every block).\n";
  if (unknown_regs) o << "some kernels are missing from the ptxas report: their occupancy ignores registers.\n";
  return o.str();
}

int run_profile(int argc, char** argv) {
  ArgParser args = make_parser();
  if (std::string e = args.parse(argc, argv); !e.empty()) return usage_error(kCmd, e);
  if (args.help_requested()) {
    std::fputs(args.help().c_str(), stdout);
    return kExitOk;
  }
  const std::string backend = args.get_or("backend", "cuda");
  if (backend != "cuda")
    return usage_error(kCmd, "--backend must be cuda (the model counts dsconv's own kernels), got '" + backend + "'");
  const std::string device = args.get_or("device", "h100");
  const model::Card* card = model::find_card(device);
  if (card == nullptr)
    return usage_error(kCmd, "--device must be one of " + model::card_keys() + ", got '" + device + "'");
  // The emulator impersonates the card's architecture, so plans choose and size their kernels for it (an
  // sm_86 card has 99 KiB of shared memory per block, not sm_90's 227) and launches keep to its limits.
  ::setenv("DSCONV_EMU_DEVICE", card->arch, 1);
  model::CaptureOptions capture;
  int64_t max_blocks = kDefaultMaxBlocks;
  if (std::optional<std::string> s = args.get("max-blocks")) {
    if (std::string e = parse_int("--max-blocks", *s, 0, &max_blocks); !e.empty()) return usage_error(kCmd, e);
    if (max_blocks == 1) return usage_error(kCmd, "--max-blocks must be 0 (every block) or at least 2, got 1");
  }
  capture.max_blocks = static_cast<uint64_t>(max_blocks);
  const bool sites = args.has("sites");
  if (sites) capture.site_names = model::CaptureOptions::SiteNames::kAll;
  std::optional<std::string> format = args.get("format");
  const std::optional<std::string> out = args.get("out");
  if (!format && out) format = out->size() > 5 && out->substr(out->size() - 5) == ".json" ? "json" : "table";
  if (format && *format != "table" && *format != "json")
    return usage_error(kCmd, "--format must be table or json, got '" + *format + "'");
  PlanOptions options;
  options.only_implementations = args.get_all("impl");
  options.skip_implementations = args.get_all("skip-impl");
  options.allow_tf32 = args.has("allow-tf32");

  std::vector<Item> problems;
  if (std::string e = collect_problems(args, &problems); !e.empty()) return usage_error(kCmd, e);

  const std::string report_path = args.get_or("ptxas-report", DSCONV_MODEL_PTXAS_REPORT);
  std::string report_error;
  const model::PtxasReport report = model::PtxasReport::load(report_path, &report_error);
  if (!report_error.empty()) {
    if (args.has("ptxas-report")) return usage_error(kCmd, "--ptxas-report: " + report_error);
    std::fprintf(stderr, "dsconv profile: note: %s; occupancy ignores registers\n", report_error.c_str());
  }

  std::vector<Row> rows;
  bool unsupported = false;
  for (const Item& item : problems) {
    PlanOptions o = options;
    o.only_implementations.insert(o.only_implementations.end(), item.impl.begin(), item.impl.end());
    if (Status s = profile_problem(item.sp, o, capture, &rows, &unsupported); !s) {
      if (s.code() == StatusCode::kInvalidArgument) return usage_error(kCmd, s.message());
      return runtime_error(kCmd, item.sp.problem.descriptor() + ": " + s.to_string());
    }
  }
  estimate_rows(&rows, *card, report);

  const std::string table = to_table(rows, *card, sites);
  if (out) {
    std::ofstream f(*out);
    f << (format.value_or("table") == "json" ? to_json(rows, sites) : table);
    f.close();
    if (!f) return runtime_error(kCmd, "could not write '" + *out + "'");
    std::fputs(table.c_str(), stdout);
  } else {
    std::fputs(format.value_or("table") == "json" ? to_json(rows, sites).c_str() : table.c_str(), stdout);
  }
  return unsupported && problems.size() == 1 ? kExitUnsupported : kExitOk;
}

#endif

}  // namespace

int cmd_profile(int argc, char** argv) {
#if defined(DSCONV_HAVE_EMU_PROFILE)
  return run_profile(argc, argv);
#else
  // --help still works, so that `dsconv help profile` describes the command everywhere.
  ArgParser args = make_parser();
  if (args.parse(argc, argv).empty() && args.help_requested()) {
    std::fputs(args.help().c_str(), stdout);
    return kExitOk;
  }
  return profile_unavailable();
#endif
}

}  // namespace dsconv::driver
