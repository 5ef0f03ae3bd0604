// The results of `dsconv bench`: one row per (problem, backend), derived figures (GB/s, GFLOP/s,
// % of copy bandwidth, speedup over each peer) and the writers: a readable table, markdown, JSON
// and CSV. JSON and CSV carry the same keys; bench/plot.py and bench/report.py read the JSON.
#pragma once

#include <cmath>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include "bench/driver/timing.hpp"

namespace dsconv::driver {

enum class Check { kOff, kPass, kFail, kSkipped };
const char* to_string(Check c);

struct BenchRow {
  std::string suite, layer;  // empty for problems given on the command line
  std::string problem;       // the descriptor
  double flops = 0, min_bytes = 0;
  std::string backend, implementation;
  bool subject = false;   // the first backend named: speedups are its figures over each peer
  bool device = false;    // ran on device memory (a GPU, or the emulated device)
  bool emulated = false;  // the CUDA emulator: CPU times, not GPU times
  bool measured = false;  // false: skipped or failed, `note` says why
  bool error = false;     // a run or the check failed (a skip is not an error)
  Stats stats;
  int64_t runs_per_sample = 0;
  Check check = Check::kOff;
  double max_rel_err = NAN;  // largest |out - ref| / tolerance scale seen by the check
  std::string note;
  // Derived by finish_rows().
  double gbps = NAN, gflops = NAN, pct_copy = NAN;
  std::vector<std::pair<std::string, double>> speedups;  // peer backend -> peer median / this median
};

struct BenchMeta {
  std::string tool = "dsconv bench";
  std::string version;     // dsconv's
  std::string date;        // ISO 8601, UTC
  std::string host;        // host name
  std::string cpu;         // CPU model and thread count
  std::string device;      // GPU name; empty when no device backend ran
  std::string commit;      // git describe of the source tree, when known
  std::string command;     // the command line, to rerun
  double copy_gbps = NAN;  // measured device-to-device copy, bytes read + written per second / 1e9
  std::string copy_note;   // how it was measured, or why not
  TimingOptions timing;
  std::vector<std::string> notes;  // run-wide remarks (e.g. what --max-ref-gflop skipped)
};

struct BenchReport {
  BenchMeta meta;
  std::vector<std::string> peers;  // peer backends in column order
  std::vector<BenchRow> rows;      // grouped by (suite, layer, problem), the subject first
};

// Fills gbps, gflops, pct_copy and the subject rows' speedups from the measured medians; a peer's row
// is matched to the subject's by suite, layer and problem.
void finish_rows(BenchReport& report);

// Whether any row failed its check or could not run (the command's exit status).
bool any_failed(const BenchReport& report);

void write_table(std::ostream& os, const BenchReport& report);
void write_markdown(std::ostream& os, const BenchReport& report);
void write_json(std::ostream& os, const BenchReport& report);
void write_csv(std::ostream& os, const BenchReport& report);

// RFC 4180: quoted when it holds a comma, quote or line break.
std::string csv_field(const std::string& s);

}  // namespace dsconv::driver
