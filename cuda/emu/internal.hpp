// Shared between the emulator's executor and its runtime functions (not for kernel code).
#pragma once

#include <cstddef>
#include <cstdint>
#include <mutex>
#include <utility>
#include <vector>

#include "cuda/emu/cuda_compat.hpp"

namespace dsconv::emu {

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
