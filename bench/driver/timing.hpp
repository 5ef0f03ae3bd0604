// Timing for `dsconv bench`: warm-up, then samples until a time or count budget, summarized by the
// median (the figure reported), the minimum and the interquartile spread. The clock is pluggable:
// the host's steady clock for host backends, device events for device backends.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "dsconv/dsconv.hpp"

namespace dsconv::driver {

struct Stats {
  int64_t samples = 0;
  double median_ms = 0, min_ms = 0, max_ms = 0, mean_ms = 0;
  double q1_ms = 0, q3_ms = 0;  // first and third quartiles
  // Interquartile range over the median: 0.02 means the middle half of the samples lie within 2%
  // of the median's size. Robust to the odd slow sample a busy machine produces.
  double spread() const { return median_ms > 0 ? (q3_ms - q1_ms) / median_ms : 0.0; }
};

// Quantile q in [0, 1] of ascending `sorted`, interpolating linearly between order statistics
// (the common "type 7" definition, NumPy's default), so results can be checked against NumPy.
double quantile(const std::vector<double>& sorted, double q);
// Statistics of samples in milliseconds (any order). No samples: samples == 0, all figures 0.
Stats summarize(std::vector<double> samples_ms);

struct TimingOptions {
  int warmup = 2;            // untimed runs first: the first run carries one-off costs
  double min_time_s = 0.25;  // keep sampling until this much time was spent sampling...
  int min_samples = 3;       // ...and at least this many samples were taken,
  int max_samples = 100;     // but never more samples than this (--max-iters)
  double max_time_s = 10.0;  // nor past this much time, once one sample exists (slow references)
  // A sample is a batch of back-to-back runs when one run is shorter than this: on a GPU that hides
  // launch gaps and event resolution (a 3 us kernel is timed as the throughput of many).
  double sample_min_ms = 1.0;
  int max_runs_per_sample = 1000;
};

// Measures one sample: begin() before its runs are issued, end_ms() after (waits for them).
class SampleTimer {
 public:
  virtual ~SampleTimer() = default;
  virtual Status begin() = 0;
  virtual Result<double> end_ms() = 0;
};

// The host's steady clock: for backends whose run() returns when the work is done.
class HostTimer final : public SampleTimer {
 public:
  Status begin() override;
  Result<double> end_ms() override;

 private:
  int64_t start_ns_ = 0;
};

struct TimingResult {
  Stats stats;                  // per run (a sample's time divided by its runs)
  int64_t runs_per_sample = 1;  // chosen after warm-up
  int64_t timed_runs = 0;       // samples * runs_per_sample
};

// run(i) issues run number i (warm-up runs included), so callers can rotate among buffer sets by i.
// The first failing run stops the measurement and its status is returned.
Result<TimingResult> measure(const TimingOptions& options, SampleTimer& timer,
                             const std::function<Status(int64_t)>& run);

}  // namespace dsconv::driver
