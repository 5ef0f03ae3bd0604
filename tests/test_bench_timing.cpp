// The benchmark's timing statistics and its measurement loop (bench/driver/timing.hpp): quantiles
// against values NumPy gives for the same samples, and the loop's budgets driven by a scripted clock.
#include <gtest/gtest.h>

#include <chrono>
#include <thread>
#include <vector>

#include "bench/driver/timing.hpp"

namespace {

using namespace dsconv;
using namespace dsconv::driver;

TEST(BenchTiming, QuantileMatchesNumpyLinearInterpolation) {
  // numpy.quantile([1, 2, 3, 4], [0, .25, .5, .75, 1]) -> 1, 1.75, 2.5, 3.25, 4
  const std::vector<double> s = {1, 2, 3, 4};
  EXPECT_DOUBLE_EQ(quantile(s, 0.0), 1.0);
  EXPECT_DOUBLE_EQ(quantile(s, 0.25), 1.75);
  EXPECT_DOUBLE_EQ(quantile(s, 0.5), 2.5);
  EXPECT_DOUBLE_EQ(quantile(s, 0.75), 3.25);
  EXPECT_DOUBLE_EQ(quantile(s, 1.0), 4.0);
  // numpy.quantile([10, 20, 40], .9) -> 36
  EXPECT_DOUBLE_EQ(quantile({10, 20, 40}, 0.9), 36.0);
  EXPECT_DOUBLE_EQ(quantile({7}, 0.3), 7.0);
}

TEST(BenchTiming, SummarizeUnsortedSamples) {
  const Stats s = summarize({5, 1, 4, 2, 3});
  EXPECT_EQ(s.samples, 5);
  EXPECT_DOUBLE_EQ(s.median_ms, 3.0);
  EXPECT_DOUBLE_EQ(s.min_ms, 1.0);
  EXPECT_DOUBLE_EQ(s.max_ms, 5.0);
  EXPECT_DOUBLE_EQ(s.mean_ms, 3.0);
  EXPECT_DOUBLE_EQ(s.q1_ms, 2.0);
  EXPECT_DOUBLE_EQ(s.q3_ms, 4.0);
  EXPECT_DOUBLE_EQ(s.spread(), 2.0 / 3.0);
}

TEST(BenchTiming, MedianIgnoresOneOutlier) {
  // A busy machine's one slow sample moves the mean, not the median or the spread much.
  const Stats s = summarize({1.00, 1.02, 0.98, 1.01, 0.99, 25.0});
  EXPECT_DOUBLE_EQ(s.median_ms, 1.005);
  EXPECT_DOUBLE_EQ(s.min_ms, 0.98);
  EXPECT_GT(s.mean_ms, 4.0);
  EXPECT_LT(s.spread(), 0.05);
}

TEST(BenchTiming, SummarizeEvenCountAndEmpty) {
  const Stats s = summarize({2, 8});
  EXPECT_DOUBLE_EQ(s.median_ms, 5.0);
  EXPECT_DOUBLE_EQ(s.q1_ms, 3.5);
  EXPECT_DOUBLE_EQ(s.q3_ms, 6.5);
  const Stats e = summarize({});
  EXPECT_EQ(e.samples, 0);
  EXPECT_EQ(e.median_ms, 0.0);
  EXPECT_EQ(e.spread(), 0.0);
}

// A clock that reports a scripted cost per run issued since begin(), so the loop's decisions are
// deterministic.
class ScriptedTimer final : public SampleTimer {
 public:
  explicit ScriptedTimer(const int64_t* runs) : runs_(runs) {}
  double ms_per_run = 0.5;
  int begins = 0;
  Status begin() override {
    ++begins;
    start_runs_ = *runs_;
    return Status::ok();
  }
  Result<double> end_ms() override { return ms_per_run * static_cast<double>(*runs_ - start_runs_); }

 private:
  const int64_t* runs_;
  int64_t start_runs_ = 0;
};

TEST(BenchTiming, MeasureStopsAtMinSamplesWhenTimeBudgetIsMet) {
  int64_t runs = 0;
  std::vector<int64_t> indices;
  ScriptedTimer timer(&runs);
  TimingOptions o;
  o.warmup = 3;
  o.min_time_s = 0;
  o.min_samples = 5;
  o.max_samples = 100;
  o.sample_min_ms = 0.1;  // one 0.5 ms run already fills a sample
  Result<TimingResult> r = measure(o, timer, [&](int64_t i) {
    indices.push_back(i);
    ++runs;
    return Status::ok();
  });
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  EXPECT_EQ(r->runs_per_sample, 1);
  EXPECT_EQ(r->stats.samples, 5);
  EXPECT_EQ(r->timed_runs, 5);
  EXPECT_DOUBLE_EQ(r->stats.median_ms, 0.5);
  EXPECT_EQ(runs, 3 + 5);  // warm-up, then the samples
  ASSERT_EQ(indices.size(), 8u);
  for (size_t i = 0; i < indices.size(); ++i)
    EXPECT_EQ(indices[i], static_cast<int64_t>(i)) << "run numbers rotate buffers";
}

TEST(BenchTiming, ShortRunsAreBatched) {
  int64_t runs = 0;
  ScriptedTimer timer(&runs);
  timer.ms_per_run = 0.01;
  TimingOptions o;
  o.warmup = 0;
  o.min_time_s = 0;
  o.min_samples = 4;
  o.sample_min_ms = 1.0;
  Result<TimingResult> r = measure(o, timer, [&](int64_t) {
    ++runs;
    return Status::ok();
  });
  ASSERT_TRUE(r.is_ok());
  EXPECT_EQ(r->runs_per_sample, 100);  // ceil(1 ms / 0.01 ms)
  EXPECT_EQ(r->stats.samples, 4);      // the single-run calibration sample is not one of them
  EXPECT_EQ(r->timed_runs, 400);
  EXPECT_EQ(runs, 1 + 400);
  EXPECT_NEAR(r->stats.median_ms, 0.01, 1e-12);  // per run, not per batch
}

TEST(BenchTiming, BatchSizeIsCapped) {
  int64_t runs = 0;
  ScriptedTimer timer(&runs);
  timer.ms_per_run = 1e-9;
  TimingOptions o;
  o.warmup = 0;
  o.min_time_s = 0;
  o.min_samples = 2;
  o.max_runs_per_sample = 64;
  Result<TimingResult> r = measure(o, timer, [&](int64_t) {
    ++runs;
    return Status::ok();
  });
  ASSERT_TRUE(r.is_ok());
  EXPECT_EQ(r->runs_per_sample, 64);
}

TEST(BenchTiming, MaxSamplesBoundsTheLoop) {
  int64_t runs = 0;
  ScriptedTimer timer(&runs);
  TimingOptions o;
  o.warmup = 0;
  o.min_time_s = 1e9;  // the time budget is never met: only the count stops the loop
  o.max_time_s = 1e9;
  o.max_samples = 7;
  o.sample_min_ms = 0;
  Result<TimingResult> r = measure(o, timer, [&](int64_t) {
    ++runs;
    return Status::ok();
  });
  ASSERT_TRUE(r.is_ok());
  EXPECT_EQ(r->stats.samples, 7);
  EXPECT_EQ(runs, 7);
}

TEST(BenchTiming, MaxTimeStopsAfterOneSample) {
  int64_t runs = 0;
  ScriptedTimer timer(&runs);
  TimingOptions o;
  o.warmup = 2;
  o.min_samples = 3;
  o.max_time_s = 0;  // a run slower than the whole budget: one sample, not three
  o.sample_min_ms = 0;
  Result<TimingResult> r = measure(o, timer, [&](int64_t) {
    ++runs;
    return Status::ok();
  });
  ASSERT_TRUE(r.is_ok());
  EXPECT_EQ(r->stats.samples, 1);
  EXPECT_EQ(runs, 2) << "one warm-up (the budget is spent) and one sample";
}

TEST(BenchTiming, RunErrorStopsTheMeasurement) {
  int64_t runs = 0;
  ScriptedTimer timer(&runs);
  TimingOptions o;
  o.warmup = 1;
  o.min_time_s = 0;
  o.min_samples = 10;
  o.sample_min_ms = 0;
  Result<TimingResult> r = measure(o, timer, [&](int64_t i) {
    ++runs;
    if (i == 4) return Status(StatusCode::kDeviceError, "launch failed at run 4");
    return Status::ok();
  });
  ASSERT_FALSE(r.is_ok());
  EXPECT_EQ(r.status().code(), StatusCode::kDeviceError);
  EXPECT_NE(r.status().message().find("run 4"), std::string::npos);
  EXPECT_EQ(runs, 5);
}

TEST(BenchTiming, HostTimerMeasuresWallTime) {
  HostTimer t;
  ASSERT_TRUE(t.begin().is_ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  Result<double> ms = t.end_ms();
  ASSERT_TRUE(ms.is_ok());
  EXPECT_GE(*ms, 5.0);
  EXPECT_LT(*ms, 5000.0);
}

}  // namespace
