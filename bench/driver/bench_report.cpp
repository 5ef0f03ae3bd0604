#include "bench/driver/bench_report.hpp"

#include <algorithm>
#include <cstdio>
#include <sstream>

#include "bench/driver/json_writer.hpp"

namespace dsconv::driver {

namespace {

// v with `digits` significant digits, plain notation ("12.35", "0.003125"); "-" when not a number.
std::string sig(double v, int digits = 4) {
  if (!std::isfinite(v)) return "-";
  if (v == 0) return "0";
  const int magnitude = static_cast<int>(std::floor(std::log10(std::fabs(v))));
  const int decimals = std::clamp(digits - 1 - magnitude, 0, 9);
  char buf[48];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

std::string fixed(double v, int decimals) {
  if (!std::isfinite(v)) return "-";
  char buf[48];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

std::string percent(double fraction) { return std::isfinite(fraction) ? fixed(100.0 * fraction, 1) + "%" : "-"; }

std::string speedup_text(double x) { return std::isfinite(x) ? sig(x, 3) + "x" : "-"; }

// The backend as the tables show it: the emulator's rows are marked so that nobody reads them as
// GPU times.
std::string backend_label(const BenchRow& r) { return r.emulated ? r.backend + "(emu)" : r.backend; }

bool same_layer(const BenchRow& a, const BenchRow& b) {
  return a.problem == b.problem && a.suite == b.suite && a.layer == b.layer;
}

// A row that did not run shows "-" rather than "off".
const char* check_text(const BenchRow& r) { return !r.measured && r.check == Check::kOff ? "-" : to_string(r.check); }

double speedup_over(const BenchRow& r, const std::string& peer) {
  for (const auto& [name, x] : r.speedups)
    if (name == peer) return x;
  return NAN;
}

bool any_device(const BenchReport& rep) {
  return std::any_of(rep.rows.begin(), rep.rows.end(), [](const BenchRow& r) { return r.device && !r.emulated; });
}
bool any_emulated(const BenchReport& rep) {
  return std::any_of(rep.rows.begin(), rep.rows.end(), [](const BenchRow& r) { return r.emulated; });
}

int peer_width(const std::string& peer) { return std::max(9, 3 + static_cast<int>(peer.size())); }
std::string right(int width, const std::string& s) {
  return std::string(static_cast<size_t>(std::max(0, width - static_cast<int>(s.size()))), ' ') + s;
}

std::string layer_label(const BenchRow& r) {
  return r.suite.empty() ? std::string("(command line)") : r.suite + "/" + r.layer;
}

std::string human_count(double v, const char* unit) {
  const char* prefixes[] = {"", "k", "M", "G", "T"};
  int i = 0;
  while (std::fabs(v) >= 1000.0 && i < 4) {
    v /= 1000.0;
    ++i;
  }
  return sig(v, 3) + " " + prefixes[i] + unit;
}

std::string timing_line(const TimingOptions& t) {
  std::ostringstream os;
  os << "median of >= " << t.min_samples << " samples over >= " << t.min_time_s << " s (at most " << t.max_samples
     << " samples, " << t.max_time_s << " s) after " << t.warmup << " warm-up runs; runs shorter than "
     << t.sample_min_ms << " ms are timed in back-to-back batches";
  return os.str();
}

}  // namespace

const char* to_string(Check c) {
  switch (c) {
    case Check::kOff:
      return "off";
    case Check::kPass:
      return "pass";
    case Check::kFail:
      return "FAIL";
    case Check::kSkipped:
      return "skipped";
  }
  return "?";
}

void finish_rows(BenchReport& rep) {
  for (BenchRow& r : rep.rows) {
    r.speedups.clear();
    if (!r.measured || r.stats.median_ms <= 0) {
      r.gbps = r.gflops = r.pct_copy = NAN;
      continue;
    }
    const double seconds = r.stats.median_ms * 1e-3;
    r.gbps = r.min_bytes / seconds * 1e-9;
    r.gflops = r.flops / seconds * 1e-9;
    // Only a real device has a copy bandwidth to compare with; the emulator's would mean nothing.
    r.pct_copy = r.device && !r.emulated && std::isfinite(rep.meta.copy_gbps) && rep.meta.copy_gbps > 0
                     ? r.gbps / rep.meta.copy_gbps
                     : NAN;
  }
  for (BenchRow& subject : rep.rows) {
    if (!subject.subject || !subject.measured) continue;
    for (const std::string& peer : rep.peers) {
      for (const BenchRow& other : rep.rows) {
        // Suites share shapes (MobileNetV2 and EfficientNet-B0 start alike): a peer's row counts
        // for the subject's row of the same suite and layer only.
        if (other.subject || other.backend != peer || !same_layer(other, subject)) continue;
        if (other.measured && other.stats.median_ms > 0) {
          subject.speedups.emplace_back(peer, other.stats.median_ms / subject.stats.median_ms);
          break;
        }
      }
    }
  }
}

bool any_failed(const BenchReport& rep) {
  return std::any_of(rep.rows.begin(), rep.rows.end(), [](const BenchRow& r) { return r.error; });
}

void write_table(std::ostream& os, const BenchReport& rep) {
  const BenchMeta& m = rep.meta;
  const bool show_copy = any_device(rep);
  os << m.tool << " (dsconv " << m.version;
  if (!m.commit.empty()) os << ", " << m.commit;
  os << ", " << m.date << ")\n";
  os << "host: " << m.host << " (" << m.cpu << ")";
  if (!m.device.empty()) os << "; device: " << m.device;
  os << "\n";
  if (show_copy || !m.copy_note.empty())
    os << "device copy: " << (std::isfinite(m.copy_gbps) ? fixed(m.copy_gbps, 0) + " GB/s" : "-")
       << (m.copy_note.empty() ? "" : " (" + m.copy_note + ")") << "\n";
  os << "timing: " << timing_line(m.timing) << "\n";
  if (!rep.peers.empty()) os << "vs PEER: peer median / subject median (above 1: the subject is faster)\n";

  const BenchRow* last = nullptr;
  for (const BenchRow& r : rep.rows) {
    if (last == nullptr || !same_layer(r, *last)) {
      last = &r;
      os << "\n"
         << layer_label(r) << "  " << r.problem << "  (" << human_count(r.flops, "FLOP") << ", "
         << human_count(r.min_bytes, "B") << ")\n";
      char head[256];
      std::snprintf(head, sizeof head, "  %-12s %-28s %10s %10s %7s %9s", "backend", "implementation", "median ms",
                    "min ms", "spread", "GB/s");
      os << head;
      if (show_copy) os << "   %copy";
      std::snprintf(head, sizeof head, " %9s %-7s", "GFLOP/s", "check");
      os << head;
      for (const std::string& p : rep.peers) os << " " << right(peer_width(p), "vs " + p);
      os << "\n";
    }
    char line[256];
    std::snprintf(line, sizeof line, "  %-12s %-28s %10s %10s %7s %9s", backend_label(r).c_str(),
                  r.implementation.empty() ? "-" : r.implementation.c_str(),
                  r.measured ? sig(r.stats.median_ms).c_str() : "-", r.measured ? sig(r.stats.min_ms).c_str() : "-",
                  r.measured ? percent(r.stats.spread()).c_str() : "-", sig(r.gbps, 3).c_str());
    os << line;
    if (show_copy) {
      std::snprintf(line, sizeof line, "  %6s", percent(r.pct_copy).c_str());
      os << line;
    }
    std::snprintf(line, sizeof line, " %9s %-7s", sig(r.gflops, 3).c_str(), check_text(r));
    os << line;
    for (const std::string& p : rep.peers) {
      const std::string text = r.subject ? speedup_text(speedup_over(r, p)) : "";
      os << " " << right(peer_width(p), text);
    }
    os << "\n";
    if (!r.note.empty()) os << "    note: " << r.note << "\n";
  }
  if (any_emulated(rep))
    os << "\n(emu): the CUDA kernels ran on the CPU emulator: these are CPU times, not GPU times.\n";
  for (const std::string& n : m.notes) os << "note: " << n << "\n";
}

void write_markdown(std::ostream& os, const BenchReport& rep) {
  const BenchMeta& m = rep.meta;
  const bool show_copy = any_device(rep);
  os << "| layer | problem | backend | implementation | median ms | min ms | spread | GB/s |";
  if (show_copy) os << " % copy |";
  os << " GFLOP/s | check |";
  for (const std::string& p : rep.peers) os << " vs " << p << " |";
  os << "\n|---|---|---|---|---:|---:|---:|---:|";
  if (show_copy) os << "---:|";
  os << "---:|---|";
  for (size_t i = 0; i < rep.peers.size(); ++i) os << "---:|";
  os << "\n";
  for (const BenchRow& r : rep.rows) {
    os << "| " << layer_label(r) << " | `" << r.problem << "` | " << backend_label(r) << " | "
       << (r.implementation.empty() ? "-" : r.implementation) << " | " << (r.measured ? sig(r.stats.median_ms) : "-")
       << " | " << (r.measured ? sig(r.stats.min_ms) : "-") << " | " << (r.measured ? percent(r.stats.spread()) : "-")
       << " | " << sig(r.gbps, 3) << " |";
    if (show_copy) os << " " << percent(r.pct_copy) << " |";
    os << " " << sig(r.gflops, 3) << " | " << check_text(r) << " |";
    for (const std::string& p : rep.peers) os << " " << (r.subject ? speedup_text(speedup_over(r, p)) : "") << " |";
    os << "\n";
  }
  bool first = true;
  for (const BenchRow& r : rep.rows) {
    if (r.note.empty()) continue;
    if (first) os << "\nNotes:\n";
    first = false;
    os << "- " << layer_label(r) << " " << backend_label(r) << ": " << r.note << "\n";
  }
  if (any_emulated(rep)) os << "\n(emu): CUDA kernels on the CPU emulator: CPU times, not GPU times.\n";
  for (const std::string& n : m.notes) os << "\n" << n << "\n";
}

void write_json(std::ostream& os, const BenchReport& rep) {
  const BenchMeta& m = rep.meta;
  Json j;
  j["schema"] = "dsconv-bench-1";
  j["tool"] = m.tool;
  j["dsconv_version"] = m.version;
  j["date"] = m.date;
  j["host"] = m.host;
  j["cpu"] = m.cpu;
  j["device"] = m.device;
  j["commit"] = m.commit;
  j["command"] = m.command;
  j["copy_gbps"] = json_number(m.copy_gbps);
  j["copy_note"] = m.copy_note;
  j["timing"] = {{"warmup", m.timing.warmup},
                 {"min_time_s", json_number(m.timing.min_time_s)},
                 {"min_samples", m.timing.min_samples},
                 {"max_samples", m.timing.max_samples},
                 {"max_time_s", json_number(m.timing.max_time_s)},
                 {"sample_min_ms", json_number(m.timing.sample_min_ms)}};
  j["peers"] = rep.peers;
  j["notes"] = m.notes;
  Json& rows = j["rows"] = Json::array();
  for (const BenchRow& r : rep.rows) {
    Json speedup = Json::object();
    for (const auto& [peer, x] : r.speedups) speedup[peer] = json_number(x);
    rows.push_back({{"suite", r.suite},
                    {"layer", r.layer},
                    {"problem", r.problem},
                    {"backend", r.backend},
                    {"implementation", r.implementation},
                    {"subject", r.subject},
                    {"device", r.device},
                    {"emulated", r.emulated},
                    {"measured", r.measured},
                    {"error", r.error},
                    {"median_ms", json_number(r.measured ? r.stats.median_ms : NAN)},
                    {"min_ms", json_number(r.measured ? r.stats.min_ms : NAN)},
                    {"max_ms", json_number(r.measured ? r.stats.max_ms : NAN)},
                    {"spread", json_number(r.measured ? r.stats.spread() : NAN)},
                    {"samples", r.stats.samples},
                    {"runs_per_sample", r.runs_per_sample},
                    {"gbps", json_number(r.gbps)},
                    {"pct_copy", json_number(std::isfinite(r.pct_copy) ? 100.0 * r.pct_copy : NAN)},
                    {"gflops", json_number(r.gflops)},
                    {"flops", json_number(r.flops)},
                    {"min_bytes", json_number(r.min_bytes)},
                    {"verified", r.check == Check::kPass},
                    {"check", to_string(r.check)},
                    {"max_rel_err", json_number(r.max_rel_err)},
                    {"speedup", std::move(speedup)},
                    {"note", r.note}});
  }
  write_json_lines(os, j, 2);
  os << "\n";
}

void write_csv(std::ostream& os, const BenchReport& rep) {
  os << "suite,layer,problem,backend,implementation,subject,device,emulated,measured,error,median_ms,min_ms,max_ms,"
        "spread,samples,runs_per_sample,gbps,pct_copy,gflops,flops,min_bytes,verified,check,max_rel_err";
  for (const std::string& p : rep.peers) os << "," << csv_field("vs_" + p);
  os << ",note\n";
  auto num = [](double v) {
    if (!std::isfinite(v)) return std::string();
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.6g", v);
    return std::string(buf);
  };
  for (const BenchRow& r : rep.rows) {
    os << csv_field(r.suite) << "," << csv_field(r.layer) << "," << csv_field(r.problem) << "," << csv_field(r.backend)
       << "," << csv_field(r.implementation) << "," << (r.subject ? 1 : 0) << "," << (r.device ? 1 : 0) << ","
       << (r.emulated ? 1 : 0) << "," << (r.measured ? 1 : 0) << "," << (r.error ? 1 : 0) << ","
       << (r.measured ? num(r.stats.median_ms) : "") << "," << (r.measured ? num(r.stats.min_ms) : "") << ","
       << (r.measured ? num(r.stats.max_ms) : "") << "," << (r.measured ? num(r.stats.spread()) : "") << ","
       << r.stats.samples << "," << r.runs_per_sample << "," << num(r.gbps) << ","
       << num(std::isfinite(r.pct_copy) ? 100.0 * r.pct_copy : NAN) << "," << num(r.gflops) << "," << num(r.flops)
       << "," << num(r.min_bytes) << "," << (r.check == Check::kPass ? 1 : 0) << "," << to_string(r.check) << ","
       << num(r.max_rel_err);
    for (const std::string& p : rep.peers) os << "," << (r.subject ? num(speedup_over(r, p)) : "");
    os << "," << csv_field(r.note) << "\n";
  }
}

std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\r\n") == std::string::npos) return s;
  std::string r = "\"";
  for (char ch : s) {
    if (ch == '"') r += '"';
    r += ch;
  }
  return r + "\"";
}

}  // namespace dsconv::driver
