// Where the CUDA emulator's executor tells the performance model what runs: launches, blocks, and a
// thread reaching a barrier or warp collective. The model installs the hooks only while it captures
// (cuda/emu/model/counter.cpp, instrumented builds); otherwise the pointer is null and the executor pays
// one load per launch, block and barrier.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

#include <vector_types.h>

namespace dsconv::emu::model {

struct ExecutorHooks {
  // A launch is about to run. Returns whether the model counts it; a counted launch runs its blocks
  // as fibers (one OS thread, so that the instrumentation sees one thread at a time) and asks run_block.
  bool (*launch_begin)(const void* kernel, dim3 grid, dim3 block, const void* dynamic_smem, size_t smem_bytes);
  // Whether block `linear` (blockIdx.x fastest) of the counted launch runs: false skips it (sampling).
  bool (*run_block)(uint64_t linear);
  void (*block_begin)(uint64_t linear);
  void (*block_end)();
  // The running emulated thread waits: __syncthreads() or a warp collective.
  void (*thread_waits)();
  void (*launch_end)();
  // The running emulated thread reaches __syncthreads() (after thread_waits): a new phase of the block,
  // the window within which the model lets L1 serve a block's repeated loads.
  void (*thread_at_barrier)();
};

// Defined by the executor (cuda/emu/executor.cpp).
std::atomic<const ExecutorHooks*>& executor_hooks();

}  // namespace dsconv::emu::model
