// Shared between the emulator's executor and its runtime functions (not for kernel code).
#pragma once

#include <cstddef>
#include <cstdint>
#include <mutex>
#include <utility>
#include <vector>

#include "cuda/emu/cuda_compat.hpp"
#include "src/dispatch/device_info.hpp"

namespace dsconv::emu {

// The device the emulator impersonates: DSCONV_EMU_DEVICE=sm_80|sm_86|sm_89|sm_90 (read at every query,
// so a test can switch it between plans), sm_90 when unset. Its limits (shared memory per block and
// per SM, SM count, compute capability) are what the runtime functions report and what launches are
// checked against. Null, with a message on stderr, when the variable names no known architecture: the
// emulated device is then absent (cudaGetDeviceCount fails) rather than silently another one.
const detail::DeviceInfo* emulated_device();

// The dynamic shared memory `kernel` may launch with: 48 KiB, or what cudaFuncSetAttribute set (capped
// by the emulated device's opt-in maximum), as on a GPU.
size_t max_dynamic_smem(const void* kernel);

// Whether `stream` may be passed to a launch or an async call: the legacy/per-thread default stream
// handles, or a stream made by cudaStreamCreate* and not yet destroyed.
bool is_known_stream(cudaStream_t stream);

// Every launch and every runtime call that touches emulated device memory holds this lock, so that
// launches from several host threads are serialized (one static __shared__ instance per kernel) and
// a copy never overlaps a running kernel, as with a single in-order device.
std::mutex& device_mutex();

// The live cudaMalloc allocations as (start address, bytes), sorted by start: what the performance
// model (cuda/emu/model/) counts as global memory.
std::vector<std::pair<uintptr_t, size_t>> device_allocations();

}  // namespace dsconv::emu
