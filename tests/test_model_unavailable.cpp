// `dsconv profile` in a build without the performance model (every preset but `profile`): it names
// the preset that has it and exits 2, printing no figures. The profile preset's own tests cover the
// command where it works (tests/model/).
#include <gtest/gtest.h>

#include <sys/wait.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

namespace {

TEST(ModelUnavailable, ProfileNamesThePresetAndExits2) {
#if defined(DSCONV_HAVE_EMU_PROFILE)
  GTEST_SKIP() << "this build has the performance model (tests/model/ test it)";
#elif !defined(DSCONV_DRIVER_PATH)
  GTEST_SKIP() << "the driver is not built";
#else
  const std::string out = ::testing::TempDir() + "/model_unavailable_out";
  const std::string err = ::testing::TempDir() + "/model_unavailable_err";
  const std::string cmd = std::string(DSCONV_DRIVER_PATH) +
                          " profile depthwise_n1h8w8c32_k3x3_s1x1_psame_nhwc_tf_f32 >" + out + " 2>" + err;
  const int status = std::system(cmd.c_str());
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 2);
  std::ifstream o(out), e(err);
  const std::string stdout_text((std::istreambuf_iterator<char>(o)), std::istreambuf_iterator<char>());
  const std::string stderr_text((std::istreambuf_iterator<char>(e)), std::istreambuf_iterator<char>());
  EXPECT_TRUE(stdout_text.empty()) << stdout_text;
  EXPECT_NE(stderr_text.find("--preset profile"), std::string::npos) << stderr_text;
  std::remove(out.c_str());
  std::remove(err.c_str());
#endif
}

}  // namespace
