// dsconv bench: times problems (built-in suites, or one given on the command line) on a subject
// backend and its peers, all on the same random data, each result checked against the reference
// first when asked; reports median time, GB/s, % of device copy bandwidth, GFLOP/s and the
// subject's speedup over each peer. `dsconv` with no arguments runs the small "quick" suite.
#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <iostream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "bench/driver/bench_report.hpp"
#include "bench/driver/cli.hpp"
#include "bench/driver/commands.hpp"
#include "bench/driver/device_timing.hpp"
#include "bench/driver/peer_onednn.hpp"
#include "bench/driver/suites.hpp"
#include "bench/driver/timing.hpp"
#include "tools/common/device.hpp"
#include "tools/common/oracle.hpp"
#include "tools/common/tensor.hpp"

namespace dsconv::driver {

namespace {

using tools::Comparison;
using tools::HostTensor;
using tools::TensorBuffers;
using tools::TensorSet;

constexpr const char* kCmd = "bench";
constexpr const char* kOnednn = "onednn";

#if defined(DSCONV_HAVE_CUDA_EMULATION)
constexpr bool kEmulatedCuda = true;
#else
constexpr bool kEmulatedCuda = false;
#endif

// Last-level cache of the host, for choosing how many buffer sets to rotate among.
double host_cache_bytes() {
  long l3 = sysconf(_SC_LEVEL3_CACHE_SIZE);
  if (l3 <= 0) l3 = sysconf(_SC_LEVEL2_CACHE_SIZE);
  return l3 > 0 ? static_cast<double>(l3) : 32.0 * 1024 * 1024;
}

struct Config {
  std::vector<std::string> backends;  // [0] is the subject
  PlanOptions subject_options;        // the subject's plan only: a peer named explicitly is what it is
  TimingOptions timing;
  bool verify = false;
  double max_ref_gflop = 2.0;
  uint64_t seed = 1;
  // Bytes the rotated buffer sets cover: twice the host's last-level cache; on a device over five
  // times an H100's 50 MB L2.
  double host_rotate_bytes = 2.0 * host_cache_bytes();
  double device_rotate_bytes = 256.0 * 1024 * 1024;
  bool progress = true;
};

// ---------------------------------------------------------------------------------------------
// Run-wide facts: host, date, commit
// ---------------------------------------------------------------------------------------------

std::string utc_now() {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string host_name() {
  char buf[256] = {};
  if (gethostname(buf, sizeof buf - 1) != 0) return "unknown";
  return buf;
}

std::string cpu_model() {
  std::ifstream f("/proc/cpuinfo");
  std::string line, model = "unknown CPU";
  while (std::getline(f, line)) {
    if (line.rfind("model name", 0) == 0) {
      const size_t colon = line.find(':');
      if (colon != std::string::npos) model = line.substr(line.find_first_not_of(" \t", colon + 1));
      break;
    }
  }
  std::string text = model + ", " + std::to_string(std::max(1u, std::thread::hardware_concurrency())) + " threads";
  // A run pinned to fewer CPUs (taskset) says so: its figures are not the whole machine's.
  cpu_set_t mask;
  CPU_ZERO(&mask);
  if (sched_getaffinity(0, sizeof mask, &mask) == 0 &&
      static_cast<unsigned>(CPU_COUNT(&mask)) < std::thread::hardware_concurrency())
    text += " (" + std::to_string(CPU_COUNT(&mask)) + " in this process's affinity mask)";
  if (const char* omp = std::getenv("OMP_NUM_THREADS"); omp != nullptr && *omp != '\0')
    text += ", OMP_NUM_THREADS=" + std::string(omp);
  return text;
}

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  return s;
}

// The commit the source tree is at ("abc123def456", "-dirty" when it has changes): from
// DSCONV_COMMIT when set (scripts pass it), else asked of git where the build came from.
std::string source_commit() {
  if (const char* env = std::getenv("DSCONV_COMMIT"); env != nullptr && *env != '\0') return env;
#if defined(DSCONV_SOURCE_DIR)
  const std::string cmd =
      std::string("git -C '") + DSCONV_SOURCE_DIR + "' describe --always --dirty --abbrev=12 --exclude='*' 2>/dev/null";
  if (FILE* p = popen(cmd.c_str(), "r")) {
    char buf[128] = {};
    const size_t n = std::fread(buf, 1, sizeof buf - 1, p);
    const int rc = pclose(p);
    if (rc == 0 && n > 0) return trim(std::string(buf, n));
  }
#endif
  return "";
}

std::string command_line(int argc, char** argv) {
  std::string s = "dsconv";
  for (int i = 0; i < argc; ++i) s += std::string(" ") + argv[i];
  return s;
}

// ---------------------------------------------------------------------------------------------
// One problem on one backend
// ---------------------------------------------------------------------------------------------

// How many copies of the tensors to rotate among so that one pass over them exceeds the cache:
// otherwise a small layer is timed out of the cache, faster than it runs inside a network.
int rotation_sets(const Problem& p, double target_bytes) {
  const double sets = std::ceil(target_bytes / std::max(1.0, p.min_bytes()));
  return static_cast<int>(std::clamp(sets, 1.0, 2048.0));
}

// Shared by every backend of one problem: the random data (set 0), the copies of it that timing
// rotates among (host and device, made when a backend first needs them) and, computed once when
// the first check needs it, the reference and its error scale.
struct ProblemData {
  const SuiteProblem& sp;
  const Config& cfg;
  uint64_t seed;
  TensorSet data;
  std::optional<HostTensor> ref, scale;
  std::string ref_error;
  std::vector<TensorSet> host_sets;
  std::vector<TensorBuffers> device_sets;

  ProblemData(const SuiteProblem& s, const Config& c, uint64_t data_seed)
      : sp(s), cfg(c), seed(data_seed), data(TensorSet::random(s.problem, data_seed, tools::DataKind::kUniform)) {}

  bool reference_ready() {
    if (ref && scale) return true;
    if (!ref_error.empty()) return false;
    Result<HostTensor> r = tools::reference_output(sp.problem, data);
    Result<HostTensor> s = r ? tools::reference_output(sp.problem, data, /*absolute=*/true) : r.status();
    if (!r || !s) {
      ref_error = (r ? s.status() : r.status()).to_string();
      return false;
    }
    ref = std::move(*r);
    scale = std::move(*s);
    return true;
  }

  // The problem's tensors with a poisoned output, for one checked run.
  TensorSet poisoned_copy() const {
    TensorSet t = data;
    tools::poison_nan(t.output);
    return t;
  }

  std::vector<TensorSet>& host_rotation() {
    if (host_sets.empty())
      host_sets.assign(static_cast<size_t>(rotation_sets(sp.problem, cfg.host_rotate_bytes)), data);
    return host_sets;
  }

  // Device copies without workspace: each plan brings its own (one, shared by the sets).
  Result<std::vector<TensorBuffers>*> device_rotation() {
    if (device_sets.empty()) {
      const int k = rotation_sets(sp.problem, cfg.device_rotate_bytes);
      for (int i = 0; i < k; ++i) {
        Result<TensorBuffers> b = TensorBuffers::create(MemorySpace::kDevice, data, 0);
        if (!b) {
          device_sets.clear();
          return b.status();
        }
        device_sets.push_back(std::move(*b));
      }
    }
    return &device_sets;
  }
};

std::string gflop_text(const Problem& p) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f GFLOP", p.flops() * 1e-9);
  return buf;
}

BenchRow base_row(const SuiteProblem& sp) {
  BenchRow r;
  r.suite = sp.suite;
  r.layer = sp.layer;
  r.problem = sp.problem.descriptor();
  r.flops = sp.problem.flops();
  r.min_bytes = sp.problem.min_bytes();
  return r;
}

void record_check(BenchRow& row, ProblemData& pd, const HostTensor* output) {
  const Comparison c = tools::compare(pd.sp.problem, *output, *pd.ref, *pd.scale, tools::runs_tf32(row.implementation));
  row.max_rel_err = c.max_rel_err;
  row.check = c.pass ? Check::kPass : Check::kFail;
  if (!c.pass) {
    row.error = true;
    row.note = "check against the reference FAILED (seed " + std::to_string(pd.seed) + "): " + c.summary();
  }
}

// Whether the check runs for this problem; sets row.check/note when it does not.
bool check_wanted(BenchRow& row, ProblemData& pd) {
  if (!pd.cfg.verify) return false;
  if (pd.sp.problem.flops() > pd.cfg.max_ref_gflop * 1e9) {
    row.check = Check::kSkipped;
    return false;
  }
  if (!pd.reference_ready()) {
    row.check = Check::kSkipped;
    row.note = "check skipped: the reference failed: " + pd.ref_error;
    return false;
  }
  return true;
}

void apply_timing(BenchRow& row, const Result<TimingResult>& t) {
  if (!t) {
    row.error = true;
    row.note = "timing run failed: " + t.status().to_string();
    return;
  }
  row.measured = true;
  row.stats = t->stats;
  row.runs_per_sample = t->runs_per_sample;
}

void run_onednn(BenchRow& row, ProblemData& pd) {
  row.backend = kOnednn;
  Result<std::unique_ptr<OnednnPeer>> peer = OnednnPeer::create(pd.sp.problem);
  if (!peer) {
    row.note = "not run: " + peer.status().message();
    return;
  }
  row.implementation = (*peer)->implementation();
  if (Status s = (*peer)->set_weights(pd.data.view()); !s) {
    row.error = true;
    row.note = s.to_string();
    return;
  }
  if (check_wanted(row, pd)) {
    TensorSet t = pd.poisoned_copy();
    if (Status s = (*peer)->run(t.input.data(), t.output.data()); !s) {
      row.error = true;
      row.note = s.to_string();
      return;
    }
    record_check(row, pd, &t.output);
    if (row.check == Check::kFail) return;
  }
  std::vector<TensorSet>& sets = pd.host_rotation();
  HostTimer timer;
  apply_timing(row, measure(pd.cfg.timing, timer, [&](int64_t i) {
                 TensorSet& s = sets[static_cast<size_t>(i) % sets.size()];
                 return (*peer)->run(s.input.data(), s.output.data());
               }));
}

void time_host_plan(BenchRow& row, ProblemData& pd, const Plan& plan) {
  std::vector<TensorSet>& sets = pd.host_rotation();
  const size_t ws_bytes = plan.workspace_bytes();
  HostTensor ws(DType::kF32, {static_cast<int64_t>((ws_bytes + 3) / 4)});
  HostTimer timer;
  apply_timing(row, measure(pd.cfg.timing, timer, [&](int64_t i) {
                 return plan.run(sets[static_cast<size_t>(i) % sets.size()].view(), ws_bytes > 0 ? ws.data() : nullptr,
                                 ws_bytes, nullptr);
               }));
}

#if defined(DSCONV_HAVE_CUDA)
void time_device_plan(BenchRow& row, ProblemData& pd, const Plan& plan, const tools::Stream& stream) {
  if (stream.space() != MemorySpace::kDevice) {
    row.error = true;
    row.note = "no device stream (see the run's notes)";
    return;
  }
  Result<std::vector<TensorBuffers>*> sets = pd.device_rotation();
  if (!sets) {
    row.error = true;
    row.note = "device buffers: " + sets.status().to_string();
    return;
  }
  // One workspace shared by the rotated sets: plans own no memory of their own.
  const size_t ws_bytes = plan.workspace_bytes();
  tools::Buffer ws;
  if (ws_bytes > 0) {
    Result<tools::Buffer> b = tools::Buffer::create(MemorySpace::kDevice, ws_bytes);
    if (!b) {
      row.error = true;
      row.note = "workspace: " + b.status().to_string();
      return;
    }
    ws = std::move(*b);
  }
  Result<std::unique_ptr<DeviceEventTimer>> timer = DeviceEventTimer::create(stream);
  if (!timer) {
    row.error = true;
    row.note = timer.status().to_string();
  } else {
    apply_timing(row, measure(pd.cfg.timing, **timer, [&](int64_t i) {
                   const TensorBuffers& b = (**sets)[static_cast<size_t>(i) % (*sets)->size()];
                   return plan.run(b.view(), ws.data(), ws_bytes, stream.get());
                 }));
  }
  // Errors of asynchronous work surface here, not in run().
  if (Status s = stream.synchronize(); !s) {
    row.measured = false;
    row.error = true;
    row.note = "device error after timing: " + s.to_string();
  }
}
#endif

void run_plan_backend(BenchRow& row, ProblemData& pd, const std::string& backend, const tools::Stream& stream) {
  const Problem& p = pd.sp.problem;
  const Config& cfg = pd.cfg;
  row.backend = backend;
  Result<Plan> plan = Plan::create(p, backend, row.subject ? cfg.subject_options : PlanOptions{});
  if (!plan) {
    row.note = "not run: " + plan.status().message();
    return;
  }
  row.backend = plan->backend();
  row.implementation = plan->implementation();
  row.device = plan->memory_space() == MemorySpace::kDevice;
  row.emulated = row.device && kEmulatedCuda;
  // The reference and the emulator are orders of magnitude slower than a real implementation: on
  // big layers they would take minutes per run.
  const bool slow = row.backend == "cpu-ref" || row.emulated;
  if (slow && p.flops() > cfg.max_ref_gflop * 1e9) {
    row.note = "not run: " + std::string(row.emulated ? "the emulator" : "the reference") + " is too slow for " +
               gflop_text(p) + " (--max-ref-gflop " + std::to_string(static_cast<int64_t>(cfg.max_ref_gflop)) + ")";
    return;
  }
  if (check_wanted(row, pd)) {
    TensorSet t = pd.poisoned_copy();
    if (Status s = tools::execute(*plan, &t); !s) {
      row.error = true;
      row.note = "the checked run failed: " + s.to_string();
      return;
    }
    record_check(row, pd, &t.output);
    if (row.check == Check::kFail) return;
  }
  if (!row.device) {
    time_host_plan(row, pd, *plan);
    return;
  }
#if defined(DSCONV_HAVE_CUDA)
  time_device_plan(row, pd, *plan, stream);
#else
  (void)stream;
  row.error = true;
  row.note = "device plan in a build without CUDA";
#endif
}

// ---------------------------------------------------------------------------------------------
// The whole run
// ---------------------------------------------------------------------------------------------

class Progress {
 public:
  Progress(bool enabled, size_t total) : enabled_(enabled), total_(total), tty_(isatty(STDERR_FILENO) != 0) {}
  ~Progress() {
    if (tty_ && shown_) std::fputs("\r\033[K", stderr);
  }
  void step(size_t index, const SuiteProblem& sp, const std::string& backend) {
    const double s = seconds();
    // On a terminal one line is rewritten; in a log, a line per step once the run is long enough
    // to wonder about.
    if (!enabled_ || (!tty_ && s < 3.0)) return;
    const std::string where = sp.suite.empty() ? sp.problem.descriptor() : sp.suite + "/" + sp.layer;
    std::fprintf(stderr, "%s[%zu/%zu] %.1fs %s %s%s", tty_ ? "\r\033[K" : "", index + 1, total_, s, where.c_str(),
                 backend.c_str(), tty_ ? "" : "\n");
    std::fflush(stderr);
    shown_ = true;
  }
  double seconds() const { return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count(); }

 private:
  bool enabled_;
  size_t total_;
  bool tty_;
  bool shown_ = false;
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
};

bool is_device_backend_name(const std::string& b) { return b == "cuda" || b == "cudnn" || b == "auto"; }

// Device name and copy bandwidth, when a device backend is in the run.
void describe_device(BenchMeta& meta, const Config& cfg, const tools::Stream& stream) {
#if defined(DSCONV_HAVE_CUDA)
  if (std::none_of(cfg.backends.begin(), cfg.backends.end(), is_device_backend_name)) return;
  std::string why;
  if (!backend_available("cuda", &why)) return;
  meta.device = tools::device_name();
  if (kEmulatedCuda) {
    meta.copy_note = "emulated device: no copy bandwidth";
    return;
  }
  const size_t bytes = size_t{256} << 20;
  TimingOptions t = cfg.timing;
  t.min_time_s = std::max(0.1, t.min_time_s);
  Result<double> gbps = measure_copy_gbps(stream, bytes, t);
  if (gbps) {
    meta.copy_gbps = *gbps;
    meta.copy_note = "cudaMemcpyAsync device to device, 256 MiB, bytes read + written";
  } else {
    meta.copy_note = "copy measurement failed: " + gbps.status().to_string();
  }
#else
  (void)meta;
  (void)cfg;
  (void)stream;
#endif
}

BenchReport run_all(const std::vector<SuiteProblem>& problems, const Config& cfg, BenchMeta meta) {
  BenchReport rep;
  rep.meta = std::move(meta);
  rep.meta.timing = cfg.timing;
  rep.peers.assign(cfg.backends.begin() + 1, cfg.backends.end());

  // One device stream for every device row; a host stream (none) when no device backend can run.
  tools::Stream stream;
  std::string why;
  if (backend_available("cuda", &why)) {
    Result<tools::Stream> s = tools::Stream::create(MemorySpace::kDevice);
    if (s)
      stream = std::move(*s);
    else
      rep.meta.notes.push_back("no device stream: " + s.status().to_string());
  }
  describe_device(rep.meta, cfg, stream);

  Progress progress(cfg.progress, problems.size());
  for (size_t i = 0; i < problems.size(); ++i) {
    const SuiteProblem& sp = problems[i];
    ProblemData pd(sp, cfg, cfg.seed + i);
    for (size_t b = 0; b < cfg.backends.size(); ++b) {
      progress.step(i, sp, cfg.backends[b]);
      BenchRow row = base_row(sp);
      row.subject = b == 0;
      if (cfg.backends[b] == kOnednn)
        run_onednn(row, pd);
      else
        run_plan_backend(row, pd, cfg.backends[b], stream);
      if (row.check == Check::kSkipped && row.note.empty())
        row.note = "check skipped: the reference is too slow for " + gflop_text(sp.problem) + " (--max-ref-gflop)";
      rep.rows.push_back(std::move(row));
    }
  }
  finish_rows(rep);
  return rep;
}

BenchMeta make_meta(int argc, char** argv, std::string commit) {
  BenchMeta m;
  m.version = dsconv::version();
  m.date = utc_now();
  m.host = host_name();
  m.cpu = cpu_model();
  m.commit = commit.empty() ? source_commit() : std::move(commit);
  m.command = command_line(argc, argv);
  if (onednn_built()) m.notes.push_back("oneDNN " + onednn_version() + " built in");
  return m;
}

// ---------------------------------------------------------------------------------------------
// Output
// ---------------------------------------------------------------------------------------------

enum class Format { kTable, kJson, kCsv, kMarkdown };

std::optional<Format> parse_format(const std::string& s) {
  if (s == "table" || s == "text") return Format::kTable;
  if (s == "json") return Format::kJson;
  if (s == "csv") return Format::kCsv;
  if (s == "md" || s == "markdown") return Format::kMarkdown;
  return std::nullopt;
}

void write_report(std::ostream& os, const BenchReport& rep, Format f) {
  switch (f) {
    case Format::kTable:
      write_table(os, rep);
      break;
    case Format::kJson:
      write_json(os, rep);
      break;
    case Format::kCsv:
      write_csv(os, rep);
      break;
    case Format::kMarkdown:
      write_markdown(os, rep);
      break;
  }
}

// ---------------------------------------------------------------------------------------------
// Command line
// ---------------------------------------------------------------------------------------------

ArgParser make_parser() {
  ArgParser args(kCmd,
                 "time problems on a backend and its peers, on the same random data, with speedups over each peer",
                 "[--suite NAME[,NAME..]] [DESCRIPTOR | <problem flags>] [--backend B[,PEER..]] [--peers onednn] ...");
  args.positional("DESCRIPTOR", "a problem as printed by dsconv (with or instead of --suite)");
  add_problem_flags(args, kAllProblemFlags);
  args.flag({"suite"}, "NAME", "a built-in suite (see --list); 'all' for every suite", true)
      .switch_flag({"list"}, "print the built-in suites and exit")
      .switch_flag({"dump"}, "print the selected problems (descriptors; a JSON list with --format json) and exit")
      .flag({"backend"}, "B[,PEER..]",
            "backends to time: the first is the subject, the others its peers (auto, cpu-ref, cpu, cuda, cudnn, "
            "onednn; default auto)",
            true)
      .flag({"peers"}, "PEER[,PEER..]", "more peers, e.g. onednn (CPU) or cudnn", true)
      .switch_flag({"verify"}, "check every backend's result against the reference before timing it")
      .flag({"min-time"}, "S", "sample each measurement for at least S seconds (default 0.25)")
      .flag({"max-iters"}, "N", "at most N timed samples per measurement (default 100)")
      .flag({"max-time"}, "S", "stop sampling after S seconds even below the minimum sample count (default 10)")
      .flag({"warmup"}, "N", "untimed runs before timing (default 2)")
      .flag({"sample-ms"}, "MS", "runs shorter than MS are timed in back-to-back batches of at least MS (default 1)")
      .flag({"rotate-mib"}, "MIB",
            "rotate among copies of the tensors covering MIB MiB, so caches do not hold them (default: twice the "
            "host's last-level cache; 256 on a device)")
      .flag({"max-ref-gflop"}, "G",
            "skip the reference check, and skip timing cpu-ref and the emulated cuda backend, on problems above G "
            "GFLOP (default 2)")
      .flag({"seed"}, "S", "seed of the random data (default 1; problem i uses S+i)")
      .flag({"format"}, "table|json|csv|md", "output format (default table; with --out: from its extension)")
      .flag({"out"}, "FILE", "write the results to FILE in --format; the table still goes to stdout")
      .flag({"commit"}, "TEXT", "the commit to record (default: asked of git, or $DSCONV_COMMIT)")
      .switch_flag({"no-progress"}, "no progress line on stderr");
  // The subject only: a peer named explicitly is timed as what it is.
  add_impl_flags(args, "the subject");
  args.epilog(
      "Timing: warm-up runs, then samples until --min-time and 3 samples (at most --max-iters samples, --max-time\n"
      "seconds); the median is reported, with the minimum and the spread (interquartile range / median). Device\n"
      "backends are timed with CUDA events. GB/s counts each input read once and the output written once; % copy\n"
      "compares that with a device-to-device copy measured in the same run. vs PEER = peer median / subject median.\n"
      "Rows of the emulated cuda backend, marked (emu), are CPU times of the emulator, not GPU times.\n"
      "\n"
      "exit codes: 0 success; 1 a check failed or a run failed; 2 usage error.\n"
      "\n"
      "examples:\n"
      "  dsconv bench --list\n"
      "  dsconv bench --suite mobilenet_v2 --backend cpu-ref --peers onednn --verify\n"
      "  dsconv bench --suite all --backend cuda,cudnn --verify --format json --out results.json\n"
      "  dsconv bench --suite deeplab_aspp --dump --format json\n"
      "  dsconv bench depthwise_n8h56w56c144_k3x3_m1_s1x1_d1x1_psame_nhwc_tf_f16 --backend cuda,cudnn\n");
  return args;
}

// Numeric flag helpers: a usage error message, or "".
std::string read_double(const ArgParser& args, const char* name, double min, double* out) {
  std::optional<std::string> v = args.get(name);
  if (!v) return "";
  char* end = nullptr;
  const double d = std::strtod(v->c_str(), &end);
  if (v->empty() || end != v->c_str() + v->size() || !std::isfinite(d) || d < min)
    return std::string("--") + name + " must be a number >= " + std::to_string(min) + ", got '" + *v + "'";
  *out = d;
  return "";
}

std::string read_int(const ArgParser& args, const char* name, int64_t min, int* out) {
  std::optional<std::string> v = args.get(name);
  if (!v) return "";
  int64_t x = 0;
  if (std::string e = parse_int(std::string("--") + name, *v, min, &x); !e.empty()) return e;
  *out = static_cast<int>(std::min<int64_t>(x, 1 << 30));
  return "";
}

std::string read_config(const ArgParser& args, Config* cfg) {
  for (const std::string& b : args.get_all("backend")) cfg->backends.push_back(b);
  if (cfg->backends.empty()) cfg->backends.push_back("auto");
  for (const std::string& b : args.get_all("peers")) cfg->backends.push_back(b);
  std::vector<std::string> known = known_backends();
  known.push_back(kOnednn);
  for (size_t i = 0; i < cfg->backends.size(); ++i) {
    const std::string& b = cfg->backends[i];
    if (std::find(known.begin(), known.end(), b) == known.end()) {
      std::string names;
      for (const std::string& n : known) names += (names.empty() ? "" : ", ") + n;
      return "backend must be one of " + names + "; got '" + b + "'";
    }
    for (size_t j = 0; j < i; ++j)
      if (cfg->backends[j] == b) return "backend '" + b + "' is named twice";
  }
  cfg->subject_options = impl_options(args);
  cfg->verify = args.has("verify");
  cfg->progress = !args.has("no-progress");
  for (const std::string& e :
       {read_double(args, "min-time", 0, &cfg->timing.min_time_s),
        read_int(args, "max-iters", 1, &cfg->timing.max_samples),
        read_double(args, "max-time", 0, &cfg->timing.max_time_s), read_int(args, "warmup", 0, &cfg->timing.warmup),
        read_double(args, "sample-ms", 0, &cfg->timing.sample_min_ms),
        read_double(args, "max-ref-gflop", 0, &cfg->max_ref_gflop)})
    if (!e.empty()) return e;
  cfg->timing.min_samples = std::min(cfg->timing.min_samples, cfg->timing.max_samples);
  double mib = -1;
  if (std::string e = read_double(args, "rotate-mib", 0, &mib); !e.empty()) return e;
  if (mib >= 0) cfg->host_rotate_bytes = cfg->device_rotate_bytes = mib * 1024 * 1024;
  int64_t seed = 1;
  if (std::optional<std::string> s = args.get("seed"))
    if (std::string e = parse_int("--seed", *s, 0, &seed); !e.empty()) return e;
  cfg->seed = static_cast<uint64_t>(seed);
  return "";
}

// Shape flags describe one problem; with --suite only the flags that change every layer alike
// (batch, dtype, layouts, epilogue) make sense.
constexpr const char* kSingleProblemFlags[] = {"op", "h", "w", "c", "k", "m", "o", "stride", "dilation", "padding"};

// The problems selected by --suite and/or a descriptor or problem flags; a usage error message on failure.
std::string select_problems(const ArgParser& args, std::vector<SuiteProblem>* out) {
  const std::vector<std::string> suites = args.get_all("suite");
  const std::string descriptor = args.positionals().empty() ? "" : args.positionals()[0];
  if (args.positionals().size() > 1)
    return "expected at most one DESCRIPTOR, got '" + args.positionals()[1] + "' as well";
  const bool single = !descriptor.empty() || args.has("op");
  if (!suites.empty()) {
    for (const char* f : kSingleProblemFlags)
      if (args.has(f) && !single)
        return std::string("--") + f +
               " describes one problem; with --suite only --batch, --dtype, --layout, "
               "--filter-layout, --bias, --residual and --activation apply";
    Result<std::vector<SuiteProblem>> ps =
        suites_problems(suites, every_layer_adjust([&args](ProblemDesc* d) { return apply_problem_flags(args, d); }));
    if (!ps) return ps.status().message();
    out->insert(out->end(), ps->begin(), ps->end());
  }
  if (single) {
    Result<Problem> p = problem_from_args(args, descriptor);
    if (!p) return p.status().message();
    out->push_back({"", "", std::move(*p)});
  }
  if (out->empty())
    return "nothing to run: give --suite NAME (see --list), a DESCRIPTOR, or --op with the problem flags";
  return "";
}

void print_suites() {
  for (const Suite& s : builtin_suites())
    std::printf("%-18s %2zu layers  %s\n", s.name.c_str(), s.layers.size(), s.description.c_str());
}

int run_and_report(const std::vector<SuiteProblem>& problems, const Config& cfg, BenchMeta meta,
                   std::optional<Format> format, const std::optional<std::string>& out_path) {
  const BenchReport rep = run_all(problems, cfg, std::move(meta));
  if (out_path) {
    std::ofstream f(*out_path);
    write_report(f, rep, format.value_or(Format::kJson));
    f.close();
    if (!f) return runtime_error(kCmd, "could not write '" + *out_path + "'");
    write_table(std::cout, rep);
  } else {
    write_report(std::cout, rep, format.value_or(Format::kTable));
  }
  std::cout.flush();
  if (any_failed(rep)) return kExitFailure;
  // A run in which the subject timed nothing measured nothing it was asked about (no device, say).
  if (std::none_of(rep.rows.begin(), rep.rows.end(), [](const BenchRow& r) { return r.subject && r.measured; }))
    return runtime_error(kCmd,
                         "the subject backend '" + cfg.backends[0] + "' ran none of the problems (see the notes)");
  return kExitOk;
}

}  // namespace

int cmd_bench(int argc, char** argv) {
  ArgParser args = make_parser();
  if (std::string e = args.parse(argc, argv); !e.empty()) return usage_error(kCmd, e);
  if (args.help_requested()) {
    std::fputs(args.help().c_str(), stdout);
    return kExitOk;
  }
  if (args.has("list")) {
    print_suites();
    return kExitOk;
  }
  std::optional<Format> format;
  if (std::optional<std::string> f = args.get("format")) {
    format = parse_format(*f);
    if (!format) return usage_error(kCmd, "--format must be table, json, csv or md; got '" + *f + "'");
  }
  const std::optional<std::string> out_path = args.get("out");
  if (out_path && !format) {
    const std::string& p = *out_path;
    auto ends = [&p](const char* ext) {
      const std::string e(ext);
      return p.size() >= e.size() && p.compare(p.size() - e.size(), e.size(), e) == 0;
    };
    format = ends(".csv")   ? Format::kCsv
             : ends(".md")  ? Format::kMarkdown
             : ends(".txt") ? Format::kTable
                            : Format::kJson;
  }

  std::vector<SuiteProblem> problems;
  if (std::string e = select_problems(args, &problems); !e.empty()) return usage_error(kCmd, e);
  if (args.has("dump")) {
    if (format == Format::kJson) {
      std::fputs(dump_json(problems).c_str(), stdout);
    } else {
      for (const SuiteProblem& sp : problems) std::printf("%s\n", sp.problem.descriptor().c_str());
    }
    return kExitOk;
  }
  Config cfg;
  if (std::string e = read_config(args, &cfg); !e.empty()) return usage_error(kCmd, e);
  return run_and_report(problems, cfg, make_meta(argc, argv, args.get_or("commit", "")), format, out_path);
}

int cmd_default() {
  // The "quick" suite at N=1 on the best backend present, checked against the reference, with every
  // peer this build has, in a few seconds.
  Result<std::vector<SuiteProblem>> ps = suite_problems(*find_suite("quick"));
  if (!ps) return runtime_error("", ps.status().to_string());
  Config cfg;
  cfg.backends = {"auto"};
  std::string why;
  if (backend_available("cudnn", &why)) cfg.backends.push_back("cudnn");
  if (onednn_built()) cfg.backends.push_back(kOnednn);
  cfg.verify = true;
  cfg.timing.warmup = 1;
  cfg.timing.min_time_s = 0.1;
  cfg.timing.max_samples = 20;
  cfg.timing.max_time_s = 2.0;
  // Say up front which backend "auto" takes here and why (e.g. no CUDA device), so a newcomer on a
  // machine without a GPU knows why the table shows the CPU.
  if (!ps->empty()) {
    Result<Plan> plan = Plan::create(ps->front().problem, "auto");
    if (plan) {
      std::printf("auto: %s/%s\n", plan->backend().c_str(), plan->implementation().c_str());
      for (const Rejection& r : plan->rejections())
        std::printf("  not %s%s%s: %s\n", r.backend.c_str(), r.implementation.empty() ? "" : "/",
                    r.implementation.c_str(), r.reason.c_str());
    }
  }
  BenchMeta meta = make_meta(0, nullptr, "");
  meta.tool = "dsconv (default set: the quick suite on the best backend; see dsconv --help, dsconv bench --help)";
  return run_and_report(*ps, cfg, std::move(meta), Format::kTable, std::nullopt);
}

}  // namespace dsconv::driver
