// `dsconv profile` as a user runs it: the JSON row's fields, the table's labels, the library's direct
// kernel checked against traffic derived from the problem alone, and clear usage errors.
#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

namespace {

struct Proc {
  int code = -1;
  std::string out, err;
};

std::string slurp(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
}

Proc run(const std::string& args) {
  const std::string dir = ::testing::TempDir();
  const std::string tag = std::to_string(getpid());
  const std::string out = dir + "/profile_out_" + tag, err = dir + "/profile_err_" + tag;
  const std::string cmd = std::string(DSCONV_DRIVER_PATH) + " profile " + args + " >" + out + " 2>" + err;
  const int status = std::system(cmd.c_str());
  Proc p;
  p.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  p.out = slurp(out);
  p.err = slurp(err);
  std::remove(out.c_str());
  std::remove(err.c_str());
  return p;
}

// The number after "key": in a one-row JSON list (NaN when absent).
double number(const std::string& json, const std::string& key) {
  const size_t k = json.find("\"" + key + "\": ");
  if (k == std::string::npos) return std::nan("");
  return std::strtod(json.c_str() + k + key.size() + 4, nullptr);
}

std::string text(const std::string& json, const std::string& key) {
  const size_t k = json.find("\"" + key + "\": \"");
  if (k == std::string::npos) return "";
  const size_t b = k + key.size() + 5;
  return json.substr(b, json.find('"', b) - b);
}

TEST(ModelProfileCli, JsonRowHasEveryField) {
  const Proc p = run("depthwise_n1h16w16c32_k3x3_s1x1_psame_nhwc_tf_f32 --format json");
  ASSERT_EQ(p.code, 0) << p.err;
  for (const char* key : {"problem",
                          "implementation",
                          "device",
                          "global_requests",
                          "sectors_per_request",
                          "l2_bytes",
                          "dram_bytes",
                          "ideal_bytes",
                          "smem_wavefronts_per_request",
                          "occupancy_warps_per_sm",
                          "waves",
                          "fmas",
                          "modelled_us",
                          "modelled_pct_copy_bw",
                          "sampled_blocks",
                          "total_blocks",
                          "smem_bank_conflicts",
                          "registers",
                          "model",
                          "l1_hit_bytes"}) {
    EXPECT_NE(p.out.find(std::string("\"") + key + "\": "), std::string::npos) << key << "\n" << p.out;
  }
  EXPECT_EQ(text(p.out, "device"), "h100");
  EXPECT_EQ(text(p.out, "implementation").rfind("dw_fwd_nhwc_k3s1_f32", 0), 0u) << p.out;
  EXPECT_NE(text(p.out, "model").find("uncalibrated"), std::string::npos);
  // 16x16 outputs, one 32-channel chunk: 2 of the large 8x16 tiles would leave SMs idle, so 4 of the
  // small 8x8 ones, all counted.
  EXPECT_EQ(text(p.out, "implementation"), "dw_fwd_nhwc_k3s1_f32x4_tile8x8") << p.out;
  EXPECT_EQ(number(p.out, "total_blocks"), 4);
  EXPECT_EQ(number(p.out, "sampled_blocks"), 4);
  // Every output is 9 taps x 1 FMA: 16 * 16 * 32 * 9 FMAs, none wasted (the tile divides the output).
  EXPECT_EQ(number(p.out, "fmas"), 16 * 16 * 32 * 9);
  // The registers come from the nvcc compile check of the same kernel.
  EXPECT_GT(number(p.out, "registers"), 0) << p.out;
  EXPECT_GT(number(p.out, "modelled_us"), 0);
}

TEST(ModelProfileCli, DirectKernelTrafficMatchesTheProblem) {
  // The direct kernel computes one output per thread, in output order: 8x8x32 = 2048 threads, 64 warps,
  // each storing 32 consecutive floats (one 128-byte request, 4 sectors). Every input and filter byte
  // is read at least once under SAME padding and each output byte written once, so the compulsory DRAM
  // traffic is the ideal: input 8192 + filter 1152 + output 8192 bytes.
  const Proc p = run("depthwise_n1h8w8c32_k3x3_s1x1_psame_nhwc_tf_f32 --impl dw_fwd_nhwc_direct --format json");
  ASSERT_EQ(p.code, 0) << p.err;
  EXPECT_EQ(text(p.out, "implementation"), "dw_fwd_nhwc_direct_f32");
  EXPECT_EQ(number(p.out, "global_store_requests"), 64);
  EXPECT_EQ(number(p.out, "l2_store_bytes"), 64 * 128);
  EXPECT_EQ(number(p.out, "dram_write_bytes"), 8192);
  EXPECT_EQ(number(p.out, "dram_read_bytes"), 8192 + 1152);
  EXPECT_EQ(number(p.out, "dram_bytes"), number(p.out, "ideal_bytes"));
  EXPECT_EQ(number(p.out, "smem_requests"), 0);
}

// A conv2d whose one tile runs in 10 slices: two launches (the slices, then split_fixup_kernel), each a
// row; --skip-impl of the split's name profiles the whole tile, one launch.
TEST(ModelProfileCli, TheSplitTailIsTwoLaunchesAndSkipImplRemovesIt) {
  const std::string problem = "conv2d_n1h3w3c288_k3x3_o64_s1x1_d1x1_psame_nhwc_tf_f32 --format json";
  const Proc split = run(problem);
  ASSERT_EQ(split.code, 0) << split.err;
  EXPECT_EQ(text(split.out, "implementation"), "conv2d_fwd_nhwc_igemm_f32_fma_tile64x64x32_tailsplit10") << split.out;
  EXPECT_NE(split.out.find("split_fixup_kernel"), std::string::npos) << split.out;
  EXPECT_EQ(number(split.out, "total_blocks"), 10);
  const Proc whole = run(problem + " --skip-impl conv2d_fwd_nhwc_igemm_f32_fma_tile64x64x32_tailsplit");
  ASSERT_EQ(whole.code, 0) << whole.err;
  EXPECT_EQ(text(whole.out, "implementation"), "conv2d_fwd_nhwc_igemm_f32_fma_tile64x64x32") << whole.out;
  EXPECT_EQ(whole.out.find("split_fixup_kernel"), std::string::npos) << whole.out;
  EXPECT_EQ(number(whole.out, "total_blocks"), 1);
}

TEST(ModelProfileCli, TableIsLabelledAsAModel) {
  const Proc p = run("depthwise_n1h16w16c32_k3x3_s1x1_psame_nhwc_tf_f32 --device h200");
  ASSERT_EQ(p.code, 0) << p.err;
  EXPECT_NE(p.out.find("MODELLED on H200"), std::string::npos) << p.out;
  EXPECT_NE(p.out.find("uncalibrated"), std::string::npos);
  EXPECT_NE(p.out.find("dw_fwd_nhwc_k3s1_f32"), std::string::npos);
}

TEST(ModelProfileCli, ImplPrefixChoosesTheKernel) {
  const Proc p =
      run("depthwise_n1h16w16c32_k3x3_s1x1_psame_nhwc_tf_f16 --impl dw_fwd_nhwc_generic --format json --device a100");
  ASSERT_EQ(p.code, 0) << p.err;
  EXPECT_EQ(text(p.out, "implementation").rfind("dw_fwd_nhwc_generic", 0), 0u) << p.out;
  EXPECT_EQ(text(p.out, "device"), "a100");
}

// The modelled card's architecture is the one selection sizes kernels for: one output row of 8 at stride 4
// stages 115,456 bytes, which an sm_90 block can hold and an sm_86 block (99 KiB) cannot.
TEST(ModelProfileCli, SelectionFollowsTheModelledCard) {
  const Proc h100 = run("depthwise_n1h41w37c32_k3x3_s4x4_nhwc_f32 --device h100 --format json");
  ASSERT_EQ(h100.code, 0) << h100.err;
  EXPECT_NE(h100.out.find("\"implementation\": \"dw_fwd_nhwc_generic_f32"), std::string::npos) << h100.out;
  const Proc a10 = run("depthwise_n1h41w37c32_k3x3_s4x4_nhwc_f32 --device sm_86 --format json");
  ASSERT_EQ(a10.code, 0) << a10.err;
  EXPECT_NE(a10.out.find("\"implementation\": \"dw_fwd_nhwc_direct_f32"), std::string::npos) << a10.out;
}

TEST(ModelProfileCli, SampledLaunchSaysSo) {
  const Proc p = run("depthwise_n4h64w64c64_k3x3_s1x1_psame_nhwc_tf_f32 --max-blocks 8 --format json");
  ASSERT_EQ(p.code, 0) << p.err;
  // 64x64 outputs in 8x16 tiles x 2 chunks x 4 images = 256 blocks, 8 of them counted.
  EXPECT_EQ(number(p.out, "total_blocks"), 256);
  EXPECT_EQ(number(p.out, "sampled_blocks"), 8);
  EXPECT_NE(text(p.out, "sampling").find("sampled 8 of 256"), std::string::npos) << p.out;
}

TEST(ModelProfileCli, SitesListEveryAccessSiteWithItsWidth) {
  // f16 staging: each 16-byte global load of 8 halves becomes two 16-byte shared stores of 4 floats.
  const Proc p = run("depthwise_n1h16w16c32_k3x3_s1x1_psame_nhwc_tf_f16 --sites --format json");
  ASSERT_EQ(p.code, 0) << p.err;
  EXPECT_NE(p.out.find("\"sites\": [{\"where\": "), std::string::npos) << p.out;
  EXPECT_NE(p.out.find("\"space\": \"global\", \"op\": \"load\", \"width\": 16"), std::string::npos);
  EXPECT_NE(p.out.find("\"space\": \"shared\", \"op\": \"store\", \"width\": 16"), std::string::npos);
  EXPECT_NE(p.out.find("nhwc_specialized.cu:"), std::string::npos);
  const Proc t = run("depthwise_n1h16w16c32_k3x3_s1x1_psame_nhwc_tf_f16 --sites");
  EXPECT_NE(t.out.find("    site "), std::string::npos) << t.out;
}

TEST(ModelProfileCli, ProblemsFileTakesAnImplementationPerLine) {
  const std::string path = ::testing::TempDir() + "/model_problems_" + std::to_string(getpid()) + ".txt";
  {
    std::ofstream f(path);
    f << "# two problems\n"
         "depthwise_n1h8w8c32_k3x3_s1x1_psame_nhwc_tf_f32   # the specialized kernel\n"
         "depthwise_n1h8w8c32_k3x3_s1x1_psame_nhwc_tf_f32 --impl dw_fwd_nhwc_direct\n";
  }
  const Proc p = run("--problems " + path + " --format json");
  ASSERT_EQ(p.code, 0) << p.err;
  EXPECT_NE(p.out.find("\"implementation\": \"dw_fwd_nhwc_k3s1_f32"), std::string::npos) << p.out;
  EXPECT_NE(p.out.find("\"implementation\": \"dw_fwd_nhwc_direct_f32\""), std::string::npos) << p.out;
  {
    std::ofstream f(path);
    f << "depthwise_n1h8w8c32_k3x3 --skip-impl dw\n";
  }
  const Proc bad = run("--problems " + path);
  EXPECT_EQ(bad.code, 2);
  EXPECT_NE(bad.err.find("line 1"), std::string::npos) << bad.err;
  EXPECT_NE(bad.err.find("--skip-impl"), std::string::npos) << bad.err;
  std::remove(path.c_str());
}

TEST(ModelProfileCli, UnsupportedProblemIsSkippedWithItsReason) {
  // 2^32 output pixels in one image: beyond the implicit GEMM's 32-bit pixel indexing, so the cuda backend
  // declines the conv2d (and the model runs nothing).
  const Proc p = run("conv2d_n1h65536w65536c1_k1x1_o1");
  EXPECT_EQ(p.code, 3) << p.out << p.err;
  EXPECT_NE(p.out.find("not run by the cuda backend"), std::string::npos) << p.out;
  EXPECT_NE(p.out.find("output pixels per image 4294967296"), std::string::npos) << p.out;
}

TEST(ModelProfileCli, UsageErrorsNameTheFlag) {
  struct Case {
    const char* args;
    const char* says;
  };
  for (const Case& c : {Case{"depthwise_n1h8w8c4_k3x3 --device v100", "--device must be one of"},
                        Case{"depthwise_n1h8w8c4_k3x3 --backend cudnn", "--backend must be cuda"},
                        Case{"depthwise_n1h8w8c4_k3x3 --max-blocks 1", "--max-blocks"},
                        Case{"depthwise_n1h8w8c4_k3x3 --format csv", "--format must be table or json"},
                        Case{"depthwise_n1h8w8c4_k0x3", "kernel_h"}, Case{"", "nothing to profile"},
                        Case{"--suite nope", "no suite 'nope'"},
                        Case{"depthwise_n1h8w8c4_k3x3 --ptxas-report /nonexistent", "/nonexistent"}}) {
    const Proc p = run(c.args);
    EXPECT_EQ(p.code, 2) << c.args;
    EXPECT_NE(p.err.find(c.says), std::string::npos) << c.args << ": " << p.err;
    EXPECT_TRUE(p.out.empty()) << c.args;
  }
}

}  // namespace
