// `dsconv bench` and `dsconv` (no arguments) as a user runs them: suite listing and dumps, a checked
// run with results written as JSON and CSV, the notes for skipped work, and usage errors.
#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "bench/driver/suites.hpp"
#include "dsconv/config.h"
#include "test_bench_json.hpp"

namespace {

namespace fs = std::filesystem;
using namespace dsconv;
using dsconv::bench_test::Json;
using dsconv::bench_test::parse_csv;
using dsconv::bench_test::parse_json;

struct Proc {
  int code = -1;
  std::string out, err;
};

std::string slurp(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
}

class BenchCli : public ::testing::Test {
 protected:
  void SetUp() override {
#ifndef DSCONV_DRIVER_PATH
    GTEST_SKIP() << "the driver is not built";
#else
    driver_ = DSCONV_DRIVER_PATH;
#endif
    std::string tmpl = (fs::temp_directory_path() / "dsconv_bench_cli_XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override {
    if (!dir_.empty()) fs::remove_all(dir_);
  }
  Proc run(const std::string& args) {
    const fs::path out = dir_ / ".stdout", err = dir_ / ".stderr";
    const std::string cmd =
        "cd '" + dir_.string() + "' && '" + driver_ + "' " + args + " >'" + out.string() + "' 2>'" + err.string() + "'";
    const int st = std::system(cmd.c_str());
    Proc p;
    p.code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    p.out = slurp(out);
    p.err = slurp(err);
    return p;
  }
  std::string driver_;
  fs::path dir_;
};

// Quick timing settings: these tests check behaviour, not speed.
const std::string kFast = " --min-time 0 --max-iters 3 --warmup 1 --no-progress";
const std::string kSmall = "depthwise_n1h9w7c5_k3x3_m2_s2x1_d1x2_psame_nhwc_tf_f32";

TEST_F(BenchCli, ListNamesEverySuite) {
  const Proc p = run("bench --list");
  ASSERT_EQ(p.code, 0) << p.err;
  for (const driver::Suite& s : driver::builtin_suites()) EXPECT_NE(p.out.find(s.name), std::string::npos) << s.name;
}

TEST_F(BenchCli, DumpPrintsDescriptorsThatParse) {
  const Proc p = run("bench --suite convnext,replknet --dump --batch 2");
  ASSERT_EQ(p.code, 0) << p.err;
  std::istringstream is(p.out);
  int lines = 0;
  for (std::string l; std::getline(is, l); ++lines) {
    Result<Problem> q = Problem::parse(l);
    ASSERT_TRUE(q.is_ok()) << l << ": " << q.status().to_string();
    EXPECT_EQ(q->n(), 2) << "--batch overrides every layer";
  }
  EXPECT_EQ(lines, 8);
}

TEST_F(BenchCli, DumpJsonIsAList) {
  const Proc p = run("bench --suite deeplab_aspp --dump --format json");
  ASSERT_EQ(p.code, 0) << p.err;
  const Json j = parse_json(p.out);
  ASSERT_TRUE(j.is_array());
  ASSERT_EQ(j.size(), 6u);
  for (const Json& o : j) {
    EXPECT_EQ(o.at("op").get<std::string>(), "conv2d");
    EXPECT_TRUE(Problem::parse(o.at("problem").get<std::string>()).is_ok());
  }
}

TEST_F(BenchCli, CheckedRunWritesJsonWithOneRowPerBackend) {
  const Proc p = run("bench " + kSmall + " --backend cpu-ref --peers onednn --verify --out r.json" + kFast);
  ASSERT_EQ(p.code, 0) << p.out << p.err;
  EXPECT_NE(p.out.find(kSmall), std::string::npos) << "the table goes to stdout: " << p.out;
  const Json j = parse_json(slurp(dir_ / "r.json"));
  EXPECT_EQ(j.at("schema").get<std::string>(), "dsconv-bench-1");
  EXPECT_FALSE(j.at("date").get<std::string>().empty());
  EXPECT_FALSE(j.at("host").get<std::string>().empty());
  EXPECT_NE(j.at("command").get<std::string>().find("--peers onednn"), std::string::npos);
  const Json& rows = j.at("rows");
  ASSERT_EQ(rows.size(), 2u);
  const Json& subject = rows.at(0);
  EXPECT_EQ(subject.at("problem").get<std::string>(), kSmall);
  EXPECT_EQ(subject.at("backend").get<std::string>(), "cpu-ref");
  EXPECT_TRUE(subject.at("subject").get<bool>());
  EXPECT_TRUE(subject.at("measured").get<bool>());
  EXPECT_TRUE(subject.at("verified").get<bool>());
  EXPECT_GT(subject.at("median_ms").get<double>(), 0.0);
  EXPECT_GT(subject.at("gbps").get<double>(), 0.0);
  EXPECT_GT(subject.at("gflops").get<double>(), 0.0);
  EXPECT_TRUE(subject.at("pct_copy").is_null()) << "no device, no % of copy";
  const Json& peer = rows.at(1);
  EXPECT_EQ(peer.at("backend").get<std::string>(), "onednn");
#if defined(DSCONV_HAVE_ONEDNN)
  EXPECT_TRUE(peer.at("verified").get<bool>()) << peer.at("note").get<std::string>();
  EXPECT_GT(subject.at("speedup").at("onednn").get<double>(), 0.0);
  // Every number is written with 6 significant digits, so the ratio of the written times agrees with the
  // written speedup to about 1e-5 relative (an absolute bound fails when oneDNN is 500x faster).
  const double ratio = peer.at("median_ms").get<double>() / subject.at("median_ms").get<double>();
  EXPECT_NEAR(subject.at("speedup").at("onednn").get<double>(), ratio, 1e-4 * ratio);
#else
  EXPECT_FALSE(peer.at("measured").get<bool>());
  EXPECT_NE(peer.at("note").get<std::string>().find("not built"), std::string::npos);
#endif
}

TEST_F(BenchCli, CsvOutputFromTheExtension) {
  const Proc p = run("bench " + kSmall + " --backend cpu-ref --out r.csv" + kFast);
  ASSERT_EQ(p.code, 0) << p.err;
  const auto rows = parse_csv(slurp(dir_ / "r.csv"));
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0][0], "suite");
  EXPECT_EQ(rows[1][2], kSmall);
  EXPECT_EQ(rows[1][3], "cpu-ref");
}

TEST_F(BenchCli, SlowReferenceIsSkippedWithANote) {
  const Proc p = run("bench " + kSmall + " --backend cpu-ref --verify --max-ref-gflop 0 --format json" + kFast);
  const Json j = parse_json(p.out);
  const Json& r = j.at("rows").at(0);
  EXPECT_FALSE(r.at("measured").get<bool>());
  EXPECT_NE(r.at("note").get<std::string>().find("too slow"), std::string::npos) << r.at("note").get<std::string>();
  // The subject measured nothing: the results are written, and the exit status says so.
  EXPECT_EQ(p.code, 1);
  EXPECT_NE(p.err.find("ran none of the problems"), std::string::npos) << p.err;
}

TEST_F(BenchCli, SkipImplAppliesToTheSubjectOnly) {
  const Proc p = run("bench " + kSmall + " --backend cpu-ref,onednn --skip-impl ref --format json" + kFast);
  const Json j = parse_json(p.out);
  const Json& subject = j.at("rows").at(0);
  EXPECT_FALSE(subject.at("measured").get<bool>());
  EXPECT_NE(subject.at("note").get<std::string>().find("skipped by options"), std::string::npos)
      << subject.at("note").get<std::string>();
  EXPECT_EQ(p.code, 1) << "the subject measured nothing";
#if defined(DSCONV_HAVE_ONEDNN)
  EXPECT_TRUE(j.at("rows").at(1).at("measured").get<bool>()) << "a peer is timed whatever --skip-impl says";
#endif
}

TEST_F(BenchCli, ImplAppliesToTheSubjectOnly) {
  Proc p = run("bench " + kSmall + " --backend cpu-ref,onednn --impl nothing_matches --format json" + kFast);
  Json j = parse_json(p.out);
  const Json& subject = j.at("rows").at(0);
  EXPECT_FALSE(subject.at("measured").get<bool>());
  EXPECT_NE(subject.at("note").get<std::string>().find("only_implementations: nothing_matches"), std::string::npos)
      << subject.at("note").get<std::string>();
  EXPECT_EQ(p.code, 1) << "the subject measured nothing";
#if defined(DSCONV_HAVE_ONEDNN)
  EXPECT_TRUE(j.at("rows").at(1).at("measured").get<bool>()) << "a peer is timed whatever --impl says";
#endif
  p = run("bench " + kSmall + " --backend cpu-ref --impl nothing_matches,ref --verify --format json" + kFast);
  ASSERT_EQ(p.code, 0) << p.err;
  j = parse_json(p.out);
  EXPECT_TRUE(j.at("rows").at(0).at("measured").get<bool>());
  EXPECT_EQ(j.at("rows").at(0).at("implementation").get<std::string>(), "ref_direct_f64acc");
  p = run("bench --help");
  EXPECT_NE(p.out.find("--impl NAME_PREFIX (repeatable)"), std::string::npos) << p.out;
  EXPECT_NE(p.out.find("--skip-impl NAME_PREFIX (repeatable)"), std::string::npos) << p.out;
}

#if defined(DSCONV_HAVE_CUDA_EMULATION)
TEST_F(BenchCli, EmulatedTimesAreLabelled) {
  const Proc p = run("bench " + kSmall + " --backend cuda --verify --skip-impl ref" + kFast);
  ASSERT_EQ(p.code, 0) << p.out << p.err;
  EXPECT_NE(p.out.find("cuda(emu)"), std::string::npos) << p.out;
  EXPECT_NE(p.out.find("not GPU times"), std::string::npos) << p.out;
}
#endif

TEST_F(BenchCli, DefaultRunChecksTheQuickSuite) {
  const Proc p = run("");
  ASSERT_EQ(p.code, 0) << p.out << p.err;
  const driver::Suite* quick = driver::find_suite("quick");
  ASSERT_NE(quick, nullptr);
  int passes = 0;
  for (size_t at = p.out.find(" pass"); at != std::string::npos; at = p.out.find(" pass", at + 1)) ++passes;
  EXPECT_GE(passes, static_cast<int>(quick->layers.size())) << p.out;
  EXPECT_EQ(p.out.find("FAIL"), std::string::npos) << p.out;
}

// The Python tools (bench/report.py, bench/torch_peer.py) read and compute what the driver writes;
// they run here when python3 is present.
class BenchPythonTools : public BenchCli {
 protected:
  void SetUp() override {
    BenchCli::SetUp();
    if (std::system("python3 -c 'import json, argparse' >/dev/null 2>&1") != 0) GTEST_SKIP() << "no python3";
  }
  std::string tool(const std::string& name) const { return std::string(DSCONV_SOURCE_DIR) + "/bench/" + name; }
  Proc python(const std::string& args) {
    const fs::path out = dir_ / ".py_stdout", err = dir_ / ".py_stderr";
    const std::string cmd =
        "cd '" + dir_.string() + "' && python3 " + args + " >'" + out.string() + "' 2>'" + err.string() + "'";
    const int st = std::system(cmd.c_str());
    Proc p;
    p.code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    p.out = slurp(out);
    p.err = slurp(err);
    return p;
  }
};

TEST_F(BenchPythonTools, ReportMergesTabulatesAndSummarizes) {
  ASSERT_EQ(run("bench --suite quick --backend cpu-ref --peers onednn --out a.json" + kFast).code, 0);
  ASSERT_EQ(run("bench " + kSmall + " --backend cpu-ref --peers onednn --out b.json" + kFast).code, 0);
  Proc p = python("'" + tool("report.py") + "' merge a.json b.json -o m.json");
  ASSERT_EQ(p.code, 0) << p.err;
  const Json a = parse_json(slurp(dir_ / "a.json")), m = parse_json(slurp(dir_ / "m.json"));
  ASSERT_EQ(m.at("rows").size(), a.at("rows").size() + 2);
  for (size_t i = 0; i < a.at("rows").size(); ++i) {
    const Json& before = a.at("rows").at(i);
    const Json& after = m.at("rows").at(i);
    EXPECT_EQ(after.at("problem").get<std::string>(), before.at("problem").get<std::string>());
    EXPECT_EQ(after.at("backend").get<std::string>(), before.at("backend").get<std::string>());
#if defined(DSCONV_HAVE_ONEDNN)
    if (before.at("subject").get<bool>())
      EXPECT_NEAR(after.at("speedup").at("onednn").get<double>(), before.at("speedup").at("onednn").get<double>(),
                  1e-4 * before.at("speedup").at("onednn").get<double>())
          << "report.py recomputes the driver's speedups";
#endif
  }
  p = python("'" + tool("report.py") + "' markdown m.json");
  ASSERT_EQ(p.code, 0) << p.err;
  EXPECT_NE(p.out.find("| quick/b1_dw3x3 |"), std::string::npos) << p.out;
  EXPECT_NE(p.out.find("vs onednn"), std::string::npos);
  EXPECT_NE(p.out.find(kSmall), std::string::npos);
  p = python("'" + tool("report.py") + "' summary m.json");
  ASSERT_EQ(p.code, 0) << p.err;
  EXPECT_NE(p.out.find("quick"), std::string::npos) << p.out;
  EXPECT_NE(p.out.find("(command line)"), std::string::npos) << p.out;
}

TEST_F(BenchPythonTools, TorchPeerStatisticsMatchTheDrivers) {
  // torch_peer.py's quantile and summary must define median and spread as timing.cpp does
  // (tests/test_bench_timing.cpp checks the same samples); the script needs no torch for this.
  const Proc p = python("-c \"import sys; sys.path.insert(0, '" + std::string(DSCONV_SOURCE_DIR) +
                        "/bench'); import torch_peer as t; s = t.summarize([5, 1, 4, 2, 3]); "
                        "print(t.quantile([1, 2, 3, 4], 0.25), t.quantile([10, 20, 40], 0.9), s['median_ms'], "
                        "s['min_ms'], s['spread'])\"");
  ASSERT_EQ(p.code, 0) << p.err;
  std::istringstream is(p.out);
  double q1 = 0, q9 = 0, median = 0, min = 0, spread = 0;
  is >> q1 >> q9 >> median >> min >> spread;
  EXPECT_DOUBLE_EQ(q1, 1.75);
  EXPECT_DOUBLE_EQ(q9, 36.0);
  EXPECT_DOUBLE_EQ(median, 3.0);
  EXPECT_DOUBLE_EQ(min, 1.0);
  EXPECT_NEAR(spread, 2.0 / 3.0, 1e-12);
}

TEST_F(BenchCli, UsageErrors) {
  struct Case {
    std::string args, needle;
  };
  for (const Case& c : {Case{"bench", "nothing to run"}, Case{"bench --suite nope", "mobilenet_v2"},
                        Case{"bench --suite quick --k 5", "--k describes one problem"},
                        Case{"bench --suite quick --backend gpu", "backend must be one of"},
                        Case{"bench --suite quick --backend cpu-ref --peers cpu-ref", "named twice"},
                        Case{"bench --suite quick --min-time -1", "--min-time"},
                        Case{"bench --suite quick --format xml", "--format"}}) {
    SCOPED_TRACE(c.args);
    const Proc p = run(c.args);
    EXPECT_EQ(p.code, 2);
    EXPECT_NE(p.err.find(c.needle), std::string::npos) << p.err;
    EXPECT_TRUE(p.out.empty()) << p.out;
  }
}

}  // namespace
