// Counting kernel launches on the emulator: the entry points `dsconv profile` and the model's tests
// call. Defined only in a build whose kernels are instrumented (the `profile` preset:
// DSCONV_EMU_PROFILE=ON, clang's -fsanitize-coverage=trace-loads,trace-stores on the emulated kernel
// sources); exported from libdsconv with default visibility so that the driver can reach them.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "cuda/emu/model/launch_record.hpp"

#define DSCONV_MODEL_API __attribute__((visibility("default")))

namespace dsconv::emu::model {

struct CaptureOptions {
  // Launches with more blocks than this are sampled: this many blocks in strata of consecutive blocks
  // (the first and the last block always among them), each standing for its stratum. 0: every block.
  uint64_t max_blocks = 0;
  // Which sites get their source lines (addr2line, once per module and capture): each launch's worst
  // shared and worst global site, every site, or none (kernel names are always resolved).
  enum class SiteNames { kWorst, kAll, kNone };
  SiteNames site_names = SiteNames::kWorst;
};

// Starts counting every launch made from now on (any host thread; launches are serialized). Returns
// false with *error when a capture is already running.
DSCONV_MODEL_API bool begin_capture(const CaptureOptions& options, std::string* error);
// Stops counting and returns one record per launch, in launch order.
DSCONV_MODEL_API std::vector<LaunchRecord> end_capture();

// Counting an FMA that does not go through fmaf (e.g. a future emulated MMA wrapper): n FMAs, or
// tensor-core FLOPs, by the running emulated thread.
DSCONV_MODEL_API void count_fmas(uint64_t n);
DSCONV_MODEL_API void count_mma_flops(uint64_t flops);
// cp.async (cuda/common/async_copy.cuh): a copy of `bytes` from src (null: a zero fill, nothing read) to
// shared dst, counted where it is issued without joining or ending the thread's batch of loads; and a
// wait with `pending_loads` copies in flight, of which the newest `newer_groups` groups stay in flight.
DSCONV_MODEL_API void count_async_copy(void* dst, const void* src, unsigned bytes);
DSCONV_MODEL_API void count_async_wait(uint64_t pending_loads, int newer_groups);

}  // namespace dsconv::emu::model
