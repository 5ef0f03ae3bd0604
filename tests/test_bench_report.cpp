// The benchmark's results and their writers (bench/driver/bench_report.hpp) and the suite dump
// (bench/driver/suites.hpp): derived figures from known medians, and JSON / CSV that parse back to
// the same keys and values (read with nlohmann::json, so a malformed file fails).
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "bench/driver/bench_report.hpp"
#include "bench/driver/json_writer.hpp"
#include "bench/driver/suites.hpp"
#include "test_bench_json.hpp"

namespace {

using namespace dsconv;
using namespace dsconv::driver;
using dsconv::bench_test::Json;
using dsconv::bench_test::parse_csv;
using dsconv::bench_test::parse_json;

// ---------------------------------------------------------------------------------------------
// A report with known figures
// ---------------------------------------------------------------------------------------------

BenchRow row(const std::string& problem, const std::string& backend, bool subject, double median_ms) {
  BenchRow r;
  r.suite = "quick";
  r.layer = "layer_" + problem.substr(0, 9);
  r.problem = problem;
  r.flops = 2.0e9;
  r.min_bytes = 1.0e9;
  r.backend = backend;
  r.implementation = backend + "_impl";
  r.subject = subject;
  r.measured = median_ms > 0;
  r.stats = summarize({median_ms * 0.9, median_ms, median_ms * 1.1});
  r.runs_per_sample = 1;
  r.check = Check::kPass;
  r.max_rel_err = 1e-7;
  return r;
}

BenchReport sample_report() {
  BenchReport rep;
  rep.meta.version = "0.1.0";
  rep.meta.date = "2026-11-25T12:00:00Z";
  rep.meta.host = "testhost";
  rep.meta.cpu = "Test CPU, 2 threads";
  rep.meta.device = "Test GPU";
  rep.meta.commit = "abc123";
  rep.meta.command = "dsconv bench --suite quick";
  rep.meta.copy_gbps = 2000.0;
  rep.peers = {"cudnn", "onednn"};
  // Problem A: subject on the device at 1 ms (1 GB -> 1000 GB/s = 50% of copy); cudnn 2 ms; onednn 4 ms.
  BenchRow a = row("depthwise_a", "cuda", true, 1.0);
  a.device = true;
  BenchRow a_cudnn = row("depthwise_a", "cudnn", false, 2.0);
  a_cudnn.device = true;
  BenchRow a_onednn = row("depthwise_a", "onednn", false, 4.0);
  // Problem B: the subject is emulated (no % copy), cudnn did not run, onednn 0.5 ms.
  BenchRow b = row("depthwise_b", "cuda", true, 10.0);
  b.device = true;
  b.emulated = true;
  BenchRow b_cudnn = row("depthwise_b", "cudnn", false, 0.0);
  b_cudnn.check = Check::kOff;
  b_cudnn.note = "not run: backend 'cudnn' cannot run depthwise_b, it said \"no\"";
  BenchRow b_onednn = row("depthwise_b", "onednn", false, 0.5);
  rep.rows = {a, a_cudnn, a_onednn, b, b_cudnn, b_onednn};
  finish_rows(rep);
  return rep;
}

TEST(BenchReport, DerivedFigures) {
  const BenchReport rep = sample_report();
  const BenchRow& a = rep.rows[0];
  EXPECT_DOUBLE_EQ(a.gbps, 1000.0);    // 1e9 bytes in 1 ms
  EXPECT_DOUBLE_EQ(a.gflops, 2000.0);  // 2e9 flop in 1 ms
  EXPECT_DOUBLE_EQ(a.pct_copy, 0.5);   // of 2000 GB/s
  ASSERT_EQ(a.speedups.size(), 2u);
  EXPECT_EQ(a.speedups[0].first, "cudnn");
  EXPECT_DOUBLE_EQ(a.speedups[0].second, 2.0);
  EXPECT_EQ(a.speedups[1].first, "onednn");
  EXPECT_DOUBLE_EQ(a.speedups[1].second, 4.0);
  EXPECT_TRUE(rep.rows[1].speedups.empty()) << "peers carry no speedup";
  EXPECT_TRUE(std::isnan(rep.rows[2].pct_copy)) << "a host row has no % of device copy";

  const BenchRow& b = rep.rows[3];
  EXPECT_TRUE(std::isnan(b.pct_copy)) << "emulated times are not compared with a GPU's copy";
  ASSERT_EQ(b.speedups.size(), 1u) << "no ratio to a peer that did not run";
  EXPECT_EQ(b.speedups[0].first, "onednn");
  EXPECT_DOUBLE_EQ(b.speedups[0].second, 0.05);
  EXPECT_TRUE(std::isnan(rep.rows[4].gbps));
  EXPECT_FALSE(any_failed(rep));
  BenchReport failed = rep;
  failed.rows[2].error = true;
  EXPECT_TRUE(any_failed(failed));
}

TEST(BenchReport, PeersMatchWithinTheSameSuiteAndLayer) {
  // MobileNetV2 and EfficientNet-B0 share their first shape: each suite's subject is compared with
  // its own peer row only, once.
  BenchReport rep;
  rep.peers = {"onednn"};
  BenchRow v2 = row("depthwise_same", "cpu-ref", true, 10.0), v2_peer = row("depthwise_same", "onednn", false, 1.0);
  BenchRow eff = row("depthwise_same", "cpu-ref", true, 8.0), eff_peer = row("depthwise_same", "onednn", false, 4.0);
  v2.suite = v2_peer.suite = "mobilenet_v2";
  eff.suite = eff_peer.suite = "efficientnet_b0";
  rep.rows = {v2, v2_peer, eff, eff_peer};
  finish_rows(rep);
  ASSERT_EQ(rep.rows[0].speedups.size(), 1u);
  EXPECT_DOUBLE_EQ(rep.rows[0].speedups[0].second, 0.1);
  ASSERT_EQ(rep.rows[2].speedups.size(), 1u);
  EXPECT_DOUBLE_EQ(rep.rows[2].speedups[0].second, 0.5);
  std::ostringstream table;
  write_table(table, rep);
  EXPECT_NE(table.str().find("mobilenet_v2/"), std::string::npos);
  EXPECT_NE(table.str().find("efficientnet_b0/"), std::string::npos) << "a heading per suite and layer";
}

TEST(BenchReport, JsonParsesBackWithEveryKey) {
  const BenchReport rep = sample_report();
  std::ostringstream os;
  write_json(os, rep);
  const Json j = parse_json(os.str());
  ASSERT_TRUE(j.is_object());
  for (const char* k : {"schema", "tool", "dsconv_version", "date", "host", "cpu", "device", "commit", "command",
                        "copy_gbps", "timing", "peers", "notes", "rows"})
    EXPECT_TRUE(j.contains(k)) << k;
  EXPECT_EQ(j.at("schema").get<std::string>(), "dsconv-bench-1");
  EXPECT_EQ(j.at("host").get<std::string>(), "testhost");
  EXPECT_EQ(j.at("commit").get<std::string>(), "abc123");
  EXPECT_EQ(j.at("device").get<std::string>(), "Test GPU");
  EXPECT_DOUBLE_EQ(j.at("copy_gbps").get<double>(), 2000.0);
  ASSERT_EQ(j.at("peers").size(), 2u);
  EXPECT_EQ(j.at("peers").at(1).get<std::string>(), "onednn");
  const Json& rows = j.at("rows");
  ASSERT_TRUE(rows.is_array());
  ASSERT_EQ(rows.size(), rep.rows.size());
  for (size_t i = 0; i < rep.rows.size(); ++i) {
    SCOPED_TRACE(i);
    const Json& r = rows.at(i);
    const BenchRow& want = rep.rows[i];
    for (const char* k :
         {"suite", "layer",     "problem",  "backend", "implementation", "subject", "device", "emulated", "measured",
          "error", "median_ms", "min_ms",   "max_ms",  "spread",         "samples", "gbps",   "pct_copy", "gflops",
          "flops", "min_bytes", "verified", "check",   "max_rel_err",    "speedup", "note"})
      EXPECT_TRUE(r.contains(k)) << k;
    EXPECT_EQ(r.at("problem").get<std::string>(), want.problem);
    EXPECT_EQ(r.at("backend").get<std::string>(), want.backend);
    EXPECT_EQ(r.at("implementation").get<std::string>(), want.implementation);
    EXPECT_EQ(r.at("emulated").get<bool>(), want.emulated);
    EXPECT_EQ(r.at("verified").get<bool>(), want.check == Check::kPass);
    EXPECT_EQ(r.at("note").get<std::string>(), want.note);
    if (want.measured) {
      EXPECT_NEAR(r.at("median_ms").get<double>(), want.stats.median_ms, 1e-6 * want.stats.median_ms);
      EXPECT_NEAR(r.at("gbps").get<double>(), want.gbps, 1e-5 * want.gbps);
      EXPECT_NEAR(r.at("gflops").get<double>(), want.gflops, 1e-5 * want.gflops);
    } else {
      EXPECT_TRUE(r.at("median_ms").is_null()) << "not measured is null, never 0";
      EXPECT_TRUE(r.at("gbps").is_null());
    }
    EXPECT_DOUBLE_EQ(r.at("flops").get<double>(), 2.0e9) << "whole numbers are written exactly";
    EXPECT_EQ(r.at("speedup").size(), want.speedups.size());
    for (const auto& [peer, x] : want.speedups)
      EXPECT_NEAR(r.at("speedup").at(peer).get<double>(), x, 1e-5 * x) << peer;
  }
  EXPECT_NEAR(rows.at(0).at("pct_copy").get<double>(), 50.0, 1e-9) << "percent in JSON";
  EXPECT_TRUE(rows.at(3).at("pct_copy").is_null());
}

TEST(BenchReport, CsvParsesBackWithTheSameColumns) {
  const BenchReport rep = sample_report();
  std::ostringstream os;
  write_csv(os, rep);
  const auto rows = parse_csv(os.str());
  ASSERT_EQ(rows.size(), rep.rows.size() + 1);
  const std::vector<std::string>& head = rows[0];
  std::map<std::string, size_t> col;
  for (size_t i = 0; i < head.size(); ++i) col[head[i]] = i;
  for (const char* k : {"suite", "layer", "problem", "backend", "implementation", "median_ms", "min_ms", "spread",
                        "gbps", "pct_copy", "gflops", "verified", "check", "vs_cudnn", "vs_onednn", "note"})
    EXPECT_EQ(col.count(k), 1u) << k;
  for (size_t i = 1; i < rows.size(); ++i) {
    SCOPED_TRACE(i);
    const BenchRow& want = rep.rows[i - 1];
    ASSERT_EQ(rows[i].size(), head.size()) << "every row has every column";
    EXPECT_EQ(rows[i][col["problem"]], want.problem);
    EXPECT_EQ(rows[i][col["backend"]], want.backend);
    EXPECT_EQ(rows[i][col["note"]], want.note) << "quotes and commas survive";
    if (want.measured)
      EXPECT_NEAR(std::stod(rows[i][col["median_ms"]]), want.stats.median_ms, 1e-6 * want.stats.median_ms);
    else
      EXPECT_EQ(rows[i][col["median_ms"]], "");
  }
  EXPECT_NEAR(std::stod(rows[1][col["vs_cudnn"]]), 2.0, 1e-9);
  EXPECT_NEAR(std::stod(rows[1][col["vs_onednn"]]), 4.0, 1e-9);
  EXPECT_EQ(rows[4][col["vs_cudnn"]], "") << "no ratio where the peer did not run";
  EXPECT_NEAR(std::stod(rows[1][col["pct_copy"]]), 50.0, 1e-9);
}

TEST(BenchReport, CsvFieldQuoting) {
  EXPECT_EQ(csv_field("plain"), "plain");
  EXPECT_EQ(csv_field("a,b"), "\"a,b\"");
  EXPECT_EQ(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
  EXPECT_EQ(csv_field("two\nlines"), "\"two\nlines\"");
}

TEST(BenchReport, TableAndMarkdownShowEveryRowAndMarkTheEmulator) {
  const BenchReport rep = sample_report();
  std::ostringstream table, md;
  write_table(table, rep);
  write_markdown(md, rep);
  for (const std::string& text : {table.str(), md.str()}) {
    EXPECT_NE(text.find("depthwise_a"), std::string::npos);
    EXPECT_NE(text.find("depthwise_b"), std::string::npos);
    EXPECT_NE(text.find("cuda(emu)"), std::string::npos) << "emulated rows are labelled";
    EXPECT_NE(text.find("not GPU times"), std::string::npos);
    EXPECT_NE(text.find("vs cudnn"), std::string::npos);
    EXPECT_NE(text.find("2.00x"), std::string::npos) << "the speedup over cudnn";
    EXPECT_NE(text.find("50.0%"), std::string::npos) << "% of copy";
    EXPECT_NE(text.find("cannot run depthwise_b"), std::string::npos) << "the note";
  }
  EXPECT_NE(table.str().find("Test GPU"), std::string::npos);
  EXPECT_NE(table.str().find("2000 GB/s"), std::string::npos);
  // Markdown: a header, a separator and one line per row.
  int table_lines = 0;
  std::istringstream is(md.str());
  for (std::string l; std::getline(is, l);)
    if (l.rfind("| ", 0) == 0 || l.rfind("|---", 0) == 0) ++table_lines;
  EXPECT_EQ(table_lines, 2 + static_cast<int>(rep.rows.size()));
}

TEST(BenchReport, JsonWriterEscapesAndWritesNullForNonFinite) {
  Json v;
  v["text"] = std::string("quote \" backslash \\ newline \n tab \t bell \x07");
  v["nan"] = json_number(NAN);
  v["inf"] = json_number(INFINITY);
  v["big"] = json_number(12207104.0);
  v["small"] = json_number(0.0123456789);
  v["empty"] = Json::array();
  v["row"] = {{"a", 1}, {"b", Json::array({1, 2})}};
  std::ostringstream os;
  write_json_lines(os, v, 1);
  const Json j = parse_json(os.str());
  EXPECT_EQ(j.at("text").get<std::string>(), "quote \" backslash \\ newline \n tab \t bell \x07");
  EXPECT_TRUE(j.at("nan").is_null());
  EXPECT_TRUE(j.at("inf").is_null());
  EXPECT_EQ(os.str().find("12207104"), os.str().find("\"big\":") + 6) << os.str();
  EXPECT_NEAR(j.at("small").get<double>(), 0.0123457, 1e-9);
  EXPECT_NE(os.str().find("\"small\":0.0123457,"), std::string::npos) << "6 significant digits\n" << os.str();
  EXPECT_TRUE(j.at("empty").empty());
  // One top-level element per line; deeper containers on one line.
  EXPECT_NE(os.str().find("\n  \"row\":{\"a\":1,\"b\":[1,2]}\n}"), std::string::npos) << os.str();
}

TEST(BenchSuiteDump, JsonListCarriesEveryResolvedField) {
  const Suite* s = find_suite("deeplab_separable");
  ASSERT_NE(s, nullptr);
  Result<std::vector<SuiteProblem>> ps = suite_problems(*s);
  ASSERT_TRUE(ps.is_ok());
  const Json j = parse_json(dump_json(*ps));
  ASSERT_TRUE(j.is_array());
  ASSERT_EQ(j.size(), ps->size());
  for (size_t i = 0; i < ps->size(); ++i) {
    const Problem& p = (*ps)[i].problem;
    const Json& o = j.at(i);
    EXPECT_EQ(o.at("suite").get<std::string>(), "deeplab_separable");
    EXPECT_EQ(o.at("layer").get<std::string>(), (*ps)[i].layer);
    EXPECT_EQ(o.at("problem").get<std::string>(), p.descriptor());
    EXPECT_EQ(o.at("op").get<std::string>(), "separable");
    EXPECT_EQ(o.at("n").get<double>(), p.n());
    EXPECT_EQ(o.at("c").get<double>(), p.c());
    EXPECT_EQ(o.at("out_channels").get<double>(), p.out_channels());
    EXPECT_EQ(o.at("dilation_h").get<double>(), p.dilation_h());
    EXPECT_EQ(o.at("pad_top").get<double>(), p.pad_top());
    EXPECT_EQ(o.at("pad_bottom").get<double>(), p.pad_bottom());
    EXPECT_EQ(o.at("out_h").get<double>(), p.out_h());
    EXPECT_EQ(o.at("layout").get<std::string>(), "nhwc");
    EXPECT_EQ(o.at("dtype").get<std::string>(), "f32");
    EXPECT_EQ(o.at("bias").get<bool>(), false);
    EXPECT_EQ(o.at("flops").get<double>(), p.flops());
    EXPECT_EQ(o.at("min_bytes").get<double>(), p.min_bytes());
  }
}

}  // namespace
