// Asynchronous copies from global to shared memory for every kernel family (PTX `cp.async`, sm_80 and
// later): a thread issues 16-byte copies that land in shared memory while it goes on computing, groups
// them with a commit, and waits for all but the newest N groups before reading what they wrote. Multi-stage
// staging is built on these: stage s + N is in flight while stage s is multiplied, and no register holds
// the data on its way.
//
//   cp_async16(dst, src, fill)   dst: 16-byte aligned shared memory; src: 16-byte aligned global memory.
//                                fill == false writes 16 zero bytes and reads nothing (padding, ragged
//                                channels); src must still be a valid address (pass any element of the
//                                tensor).
//   cp_async_commit()            closes the thread's open group (an empty group is fine).
//   cp_async_wait<N>()           returns when at most the newest N committed groups of this thread are
//                                still pending; the copies of the others are in shared memory. Other
//                                threads' copies need a barrier after their waits, as any shared write.
//
// The emulated branch defers every copy to the wait that completes it, as the hardware may: a kernel that
// reads a stage before waiting for it reads stale data on the emulator too (the tests see it), not the
// right data by luck. A kernel waits for all its copies (cp_async_wait<0>) before it ends; the emulator
// holds at most kMaxPendingCopies per thread. Under the performance model (cuda/emu/model) a copy counts,
// where it is issued, as a 16-byte global load (none for a zero fill) and a 16-byte shared store that does
// not wait for it; a wait ends the thread's batch of loads in flight with every copy still pending, and
// counts as 1 / (N + 1) of a round trip in the chain of waits (the copies it waits for were issued N
// stages earlier).
#pragma once

#include <cstdint>
#include <cstdio>
#include <cstdlib>

#include "cuda/common/hd.hpp"
#include "cuda/emu/cuda_compat.hpp"

#if defined(DSCONV_CUDA_EMULATION)
namespace dsconv::emu::model {
// The performance model's counter (cuda/emu/model/counter.cpp), present only in its instrumented build.
void count_async_copy(void* dst, const void* src, unsigned bytes) __attribute__((weak));
void count_async_wait(uint64_t pending_loads, int newer_groups) __attribute__((weak));
}  // namespace dsconv::emu::model
#endif

namespace dsconv::cuda {

namespace async_detail {

#if defined(DSCONV_CUDA_EMULATION)
#if defined(__clang__)
#define DSCONV_ASYNC_NOT_COUNTED __attribute__((no_sanitize("coverage"), noinline))
#else
#define DSCONV_ASYNC_NOT_COUNTED __attribute__((noinline))
#endif

constexpr int kMaxPendingCopies = 64;

struct PendingCopy {
  unsigned char* dst;
  const unsigned char* src;  // null: 16 zero bytes
  uint32_t group;
};
struct CopyQueue {
  PendingCopy copies[kMaxPendingCopies];
  int count;
  uint32_t committed;  // groups this thread has committed; the open group's id
};

// This thread's queue: function-local static storage, one per resident block (blocks run one at a time),
// never counted by the model (the bookkeeping is the emulation's, not the kernel's).
DSCONV_ASYNC_NOT_COUNTED inline CopyQueue& queue() {
  __shared__ CopyQueue q[1024];
  return q[threadIdx.x + blockDim.x * (threadIdx.y + blockDim.y * threadIdx.z)];
}

DSCONV_ASYNC_NOT_COUNTED inline void enqueue(void* dst, const void* src, bool fill) {
  CopyQueue& q = queue();
  if (q.count == kMaxPendingCopies) {
    std::fprintf(stderr, "dsconv emulator: more than %d cp.async copies pending in one thread\n", kMaxPendingCopies);
    std::abort();
  }
  q.copies[q.count++] = PendingCopy{static_cast<unsigned char*>(dst),
                                    fill ? static_cast<const unsigned char*>(src) : nullptr, q.committed};
}

DSCONV_ASYNC_NOT_COUNTED inline void commit() { ++queue().committed; }

// Completes the copies of every group but the newest `newer` committed ones; returns the global loads
// that were pending before (the thread's loads in flight at the wait).
DSCONV_ASYNC_NOT_COUNTED inline uint64_t complete(int newer) {
  CopyQueue& q = queue();
  const uint32_t below = q.committed >= static_cast<uint32_t>(newer) ? q.committed - static_cast<uint32_t>(newer) : 0;
  uint64_t loads = 0;
  int kept = 0;
  for (int i = 0; i < q.count; ++i) {
    const PendingCopy c = q.copies[i];
    loads += c.src != nullptr;
    if (c.group < below) {
      uint64_t w[2] = {0, 0};  // two 8-byte moves, never a memcpy call the model would count
      if (c.src != nullptr) __builtin_memcpy(w, c.src, 16);
      __builtin_memcpy(c.dst, w, 16);
    } else {
      q.copies[kept++] = c;
    }
  }
  q.count = kept;
  return loads;
}
#endif

}  // namespace async_detail

__device__ __forceinline__ void cp_async16(void* smem_dst, const void* gmem_src, bool fill) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
  const unsigned dst = static_cast<unsigned>(__cvta_generic_to_shared(smem_dst));
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(dst), "l"(gmem_src), "r"(fill ? 16 : 0)
               : "memory");
#elif defined(__CUDA_ARCH__)
  __trap();  // built for an older architecture: offers decline such devices before anything launches
#elif defined(DSCONV_CUDA_EMULATION)
  async_detail::enqueue(smem_dst, gmem_src, fill);
  if (dsconv::emu::model::count_async_copy != nullptr)
    dsconv::emu::model::count_async_copy(smem_dst, fill ? gmem_src : nullptr, 16);
#endif
}

__device__ __forceinline__ void cp_async_commit() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
  asm volatile("cp.async.commit_group;\n" ::: "memory");
#elif defined(DSCONV_CUDA_EMULATION)
  async_detail::commit();
#endif
}

template <int N>
__device__ __forceinline__ void cp_async_wait() {
  static_assert(N >= 0, "the newest N groups stay pending");
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
  asm volatile("cp.async.wait_group %0;\n" ::"n"(N) : "memory");
#elif defined(DSCONV_CUDA_EMULATION)
  const uint64_t loads = async_detail::complete(N);
  if (dsconv::emu::model::count_async_wait != nullptr) dsconv::emu::model::count_async_wait(loads, N);
#endif
}

}  // namespace dsconv::cuda
