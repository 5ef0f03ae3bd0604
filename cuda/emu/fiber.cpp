#include "cuda/emu/fiber.hpp"

#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>

#if defined(__SANITIZE_ADDRESS__)
#define DSCONV_EMU_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define DSCONV_EMU_ASAN 1
#endif
#endif

#if defined(DSCONV_EMU_ASAN)
#include <sanitizer/common_interface_defs.h>
#endif

#if defined(DSCONV_EMU_ASM_SWITCH)
// dsconv_emu_switch(void** save_sp, void* load_sp): pushes the callee-saved registers on the current
// stack, stores the stack pointer in *save_sp, loads load_sp and pops the same frame from there. A
// new context's frame returns into dsconv_emu_fiber_start, which calls r13(r12). The MXCSR and x87
// control words are left alone: every fiber of a launch runs with its launching thread's settings
// and kernels do not change them, and reloading them costs more than the rest of the switch.
extern "C" void dsconv_emu_switch(void** save_sp, void* load_sp);
extern "C" void dsconv_emu_fiber_start();
__asm__(R"(
  .text
  .globl dsconv_emu_switch
  .hidden dsconv_emu_switch
  .type dsconv_emu_switch, @function
  .p2align 4
dsconv_emu_switch:
  .cfi_startproc
  pushq %rbp
  pushq %rbx
  pushq %r12
  pushq %r13
  pushq %r14
  pushq %r15
  movq %rsp, (%rdi)
  movq %rsi, %rsp
  popq %r15
  popq %r14
  popq %r13
  popq %r12
  popq %rbx
  popq %rbp
  ret
  .cfi_endproc
  .size dsconv_emu_switch, .-dsconv_emu_switch

  .globl dsconv_emu_fiber_start
  .hidden dsconv_emu_fiber_start
  .type dsconv_emu_fiber_start, @function
  .p2align 4
dsconv_emu_fiber_start:
  .cfi_startproc
  .cfi_undefined rip
  movq %r12, %rdi
  callq *%r13
  ud2
  .cfi_endproc
  .size dsconv_emu_fiber_start, .-dsconv_emu_fiber_start
)");
#endif

namespace dsconv::emu {

FiberStack::FiberStack(size_t size) {
  const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  size_ = (size + page - 1) / page * page;
  mapping_size_ = size_ + page;
  mapping_ = mmap(nullptr, mapping_size_, PROT_READ | PROT_WRITE,
                  MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1, 0);
  if (mapping_ == MAP_FAILED) {
    std::fprintf(stderr, "dsconv CUDA emulator: cannot map a %zu-byte fiber stack\n", mapping_size_);
    std::abort();
  }
  // Stacks grow down: the guard page sits below the usable range.
  if (mprotect(mapping_, page, PROT_NONE) != 0) {
    std::fprintf(stderr, "dsconv CUDA emulator: cannot protect a fiber stack's guard page\n");
    std::abort();
  }
  bottom_ = static_cast<char*>(mapping_) + page;
}

FiberStack::~FiberStack() {
  if (mapping_ != nullptr) munmap(mapping_, mapping_size_);
}

#if defined(DSCONV_EMU_ASM_SWITCH)

void fiber_init(FiberContext* ctx, const FiberStack& stack, FiberEntry entry, void* arg) {
  const uintptr_t top = (reinterpret_cast<uintptr_t>(stack.bottom()) + stack.size()) & ~uintptr_t{15};
  // dsconv_emu_fiber_start runs with rsp == top - 16 (16-byte aligned at its call, as the ABI wants).
  auto* frame = reinterpret_cast<uint64_t*>(top - 16 - 56);
  frame[0] = 0;                                                    // r15
  frame[1] = 0;                                                    // r14
  frame[2] = reinterpret_cast<uint64_t>(entry);                    // r13
  frame[3] = reinterpret_cast<uint64_t>(arg);                      // r12
  frame[4] = 0;                                                    // rbx
  frame[5] = 0;                                                    // rbp
  frame[6] = reinterpret_cast<uint64_t>(&dsconv_emu_fiber_start);  // return address
  ctx->sp = frame;
  ctx->stack_bottom = stack.bottom();
  ctx->stack_size = stack.size();
}

static inline void raw_switch(FiberContext* from, FiberContext* to) { dsconv_emu_switch(&from->sp, to->sp); }

#else

namespace {
void ucontext_start(unsigned hi_entry, unsigned lo_entry, unsigned hi_arg, unsigned lo_arg) {
  const auto entry = reinterpret_cast<FiberEntry>((static_cast<uintptr_t>(hi_entry) << 32) | lo_entry);
  void* arg = reinterpret_cast<void*>((static_cast<uintptr_t>(hi_arg) << 32) | lo_arg);
  entry(arg);
  std::abort();
}
}  // namespace

void fiber_init(FiberContext* ctx, const FiberStack& stack, FiberEntry entry, void* arg) {
  getcontext(&ctx->uc);
  ctx->uc.uc_stack.ss_sp = stack.bottom();
  ctx->uc.uc_stack.ss_size = stack.size();
  ctx->uc.uc_link = nullptr;
  const auto e = reinterpret_cast<uintptr_t>(entry);
  const auto a = reinterpret_cast<uintptr_t>(arg);
  makecontext(&ctx->uc, reinterpret_cast<void (*)()>(&ucontext_start), 4, static_cast<unsigned>(e >> 32),
              static_cast<unsigned>(e), static_cast<unsigned>(a >> 32), static_cast<unsigned>(a));
  ctx->stack_bottom = stack.bottom();
  ctx->stack_size = stack.size();
}

static inline void raw_switch(FiberContext* from, FiberContext* to) { swapcontext(&from->uc, &to->uc); }

#endif

void fiber_switch(FiberContext* from, FiberContext* to) {
#if defined(DSCONV_EMU_ASAN)
  void* fake_stack = nullptr;
  __sanitizer_start_switch_fiber(&fake_stack, to->stack_bottom, to->stack_size);
  raw_switch(from, to);
  __sanitizer_finish_switch_fiber(fake_stack, nullptr, nullptr);
#else
  raw_switch(from, to);
#endif
}

void fiber_started(FiberContext* from) {
#if defined(DSCONV_EMU_ASAN)
  if (from != nullptr)
    __sanitizer_finish_switch_fiber(nullptr, &from->stack_bottom, &from->stack_size);
  else
    __sanitizer_finish_switch_fiber(nullptr, nullptr, nullptr);
#else
  (void)from;
#endif
}

void fiber_exit_to(FiberContext* to) {
#if defined(DSCONV_EMU_ASAN)
  __sanitizer_start_switch_fiber(nullptr, to->stack_bottom, to->stack_size);
#endif
  // The saved state of the abandoned context is never resumed (fiber_init starts it afresh). It is not
  // a local: once the switch is announced, AddressSanitizer may already have released this frame.
  static thread_local FiberContext dead;
  raw_switch(&dead, to);
  std::abort();
}

}  // namespace dsconv::emu
