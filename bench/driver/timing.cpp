#include "bench/driver/timing.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <numeric>

namespace dsconv::driver {

namespace {

int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace

double quantile(const std::vector<double>& sorted, double q) {
  if (sorted.empty()) return 0.0;
  const double pos = std::clamp(q, 0.0, 1.0) * static_cast<double>(sorted.size() - 1);
  const size_t lo = static_cast<size_t>(std::floor(pos));
  const size_t hi = std::min(lo + 1, sorted.size() - 1);
  const double frac = pos - static_cast<double>(lo);
  return sorted[lo] + frac * (sorted[hi] - sorted[lo]);
}

Stats summarize(std::vector<double> samples_ms) {
  Stats s;
  if (samples_ms.empty()) return s;
  std::sort(samples_ms.begin(), samples_ms.end());
  s.samples = static_cast<int64_t>(samples_ms.size());
  s.min_ms = samples_ms.front();
  s.max_ms = samples_ms.back();
  s.median_ms = quantile(samples_ms, 0.5);
  s.q1_ms = quantile(samples_ms, 0.25);
  s.q3_ms = quantile(samples_ms, 0.75);
  s.mean_ms = std::accumulate(samples_ms.begin(), samples_ms.end(), 0.0) / static_cast<double>(samples_ms.size());
  return s;
}

Status HostTimer::begin() {
  start_ns_ = now_ns();
  return Status::ok();
}

Result<double> HostTimer::end_ms() { return static_cast<double>(now_ns() - start_ns_) * 1e-6; }

Result<TimingResult> measure(const TimingOptions& o, SampleTimer& timer, const std::function<Status(int64_t)>& run) {
  int64_t next_run = 0;
  // One sample of `runs` back-to-back runs; its time in ms.
  auto sample = [&](int64_t runs) -> Result<double> {
    if (Status s = timer.begin(); !s) return s;
    for (int64_t r = 0; r < runs; ++r)
      if (Status s = run(next_run++); !s) return s;
    return timer.end_ms();
  };

  const int64_t start = now_ns();
  auto elapsed_s = [&] { return static_cast<double>(now_ns() - start) * 1e-9; };

  for (int i = 0; i < o.warmup; ++i) {
    if (Status s = run(next_run++); !s) return s;
    if (elapsed_s() > o.max_time_s) break;  // a slow run: one warm-up is enough
  }
  // Calibration: also the first sample, so a run slower than the whole budget is run once only.
  Result<double> first = sample(1);
  if (!first) return first.status();
  TimingResult result;
  result.runs_per_sample = 1;
  if (*first < o.sample_min_ms) {
    const double per_run = std::max(*first, 1e-6);
    result.runs_per_sample =
        std::clamp<int64_t>(static_cast<int64_t>(std::ceil(o.sample_min_ms / per_run)), 1, o.max_runs_per_sample);
  }
  std::vector<double> per_run_ms;
  // A batched regime starts fresh: the single-run calibration sample measured something else.
  if (result.runs_per_sample == 1) per_run_ms.push_back(*first);

  const double sampling_start_s = elapsed_s();
  auto sampling_s = [&] { return elapsed_s() - sampling_start_s; };
  while (static_cast<int>(per_run_ms.size()) < std::max(1, o.max_samples)) {
    const bool enough = sampling_s() >= o.min_time_s && static_cast<int>(per_run_ms.size()) >= o.min_samples;
    const bool out_of_time = elapsed_s() >= o.max_time_s && !per_run_ms.empty();
    if (enough || out_of_time) break;
    Result<double> ms = sample(result.runs_per_sample);
    if (!ms) return ms.status();
    per_run_ms.push_back(*ms / static_cast<double>(result.runs_per_sample));
  }
  result.stats = summarize(per_run_ms);
  result.timed_runs = result.stats.samples * result.runs_per_sample;
  return result;
}

}  // namespace dsconv::driver
