// User-mode contexts for the emulator's fiber mode: one stack per emulated thread, switched at barriers
// and warp collectives. On x86-64 a hand-written switch (the callee-saved registers; no system
// call), elsewhere ucontext. AddressSanitizer is told about every stack
// switch; ThreadSanitizer builds never use fibers (the executor runs OS threads there).
#pragma once

#include <cstddef>

#if defined(__x86_64__)
#define DSCONV_EMU_ASM_SWITCH 1
#else
#include <ucontext.h>
#endif

namespace dsconv::emu {

// A stack of `size` usable bytes with an inaccessible guard page below it, so that an overflow
// faults instead of corrupting the neighbouring fiber.
class FiberStack {
 public:
  explicit FiberStack(size_t size);
  ~FiberStack();
  FiberStack(const FiberStack&) = delete;
  FiberStack& operator=(const FiberStack&) = delete;
  void* bottom() const { return bottom_; }
  size_t size() const { return size_; }

 private:
  void* mapping_ = nullptr;
  size_t mapping_size_ = 0;
  void* bottom_ = nullptr;
  size_t size_ = 0;
};

struct FiberContext {
#if defined(DSCONV_EMU_ASM_SWITCH)
  void* sp = nullptr;
#else
  ucontext_t uc;
#endif
  // Bounds of the stack this context runs on, for AddressSanitizer's fiber annotations; for the
  // scheduler (a thread's own stack) they are learned when the first fiber starts.
  const void* stack_bottom = nullptr;
  size_t stack_size = 0;
};

using FiberEntry = void (*)(void* arg);

// Makes `ctx` start entry(arg) on `stack` when first switched to. entry must never return: it ends by
// switching away with fiber_exit_to.
void fiber_init(FiberContext* ctx, const FiberStack& stack, FiberEntry entry, void* arg);
// Saves the running context in *from and resumes *to; returns when something switches back to *from.
void fiber_switch(FiberContext* from, FiberContext* to);
// Called first thing in a fiber's entry: completes the switch that started it. When `from` is given,
// the bounds of the stack that switched here are recorded in it (how the scheduler's become known).
void fiber_started(FiberContext* from);
// The last switch of a fiber whose stack will be reused: the current context is abandoned.
[[noreturn]] void fiber_exit_to(FiberContext* to);

}  // namespace dsconv::emu
