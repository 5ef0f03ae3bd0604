// Impersonating another device on the emulator, for a scope: DSCONV_EMU_DEVICE set to an architecture
// ("sm_86"), optionally with fewer SMs ("sm_90:4"), and restored after. The library's emulator reads the
// variable at every device query, so plans made in the scope are sized for that device.
#pragma once

#include <cstdlib>
#include <optional>
#include <string>

namespace dsconv::testing {

class EmulatedDevice {
 public:
  explicit EmulatedDevice(const char* arch) {
    if (const char* old = std::getenv("DSCONV_EMU_DEVICE")) saved_ = old;
    ::setenv("DSCONV_EMU_DEVICE", arch, 1);
  }
  ~EmulatedDevice() {
    if (saved_)
      ::setenv("DSCONV_EMU_DEVICE", saved_->c_str(), 1);
    else
      ::unsetenv("DSCONV_EMU_DEVICE");
  }
  EmulatedDevice(const EmulatedDevice&) = delete;
  EmulatedDevice& operator=(const EmulatedDevice&) = delete;

 private:
  std::optional<std::string> saved_;
};

}  // namespace dsconv::testing
