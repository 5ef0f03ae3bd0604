// The emulator's executor: runs a launch's blocks one after another, and a block's threads either as
// fibers on the launching thread or as one OS thread each (see cuda/emu/README.md).
//
// Both modes share the block-level logic below (barrier, warp collectives, deadlock detection); they
// differ only in how a thread waits (switch to the scheduler vs. a condition variable) and whether the
// block's state needs a mutex.
#include <cxxabi.h>
#include <dlfcn.h>
#include <pthread.h>

#include <atomic>
#include <condition_variable>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <new>
#include <string>
#include <vector>

#include "cuda/emu/fiber.hpp"
#include "cuda/emu/internal.hpp"
#include "cuda/emu/model/executor_hooks.hpp"

__thread uint3 threadIdx;
__thread uint3 blockIdx;
__thread dim3 blockDim;
__thread dim3 gridDim;

namespace dsconv::emu {
namespace {

// Launch limits common to every architecture the emulator impersonates (shared memory comes from the
// impersonated device: emulated_device()).
constexpr unsigned kMaxThreadsPerBlock = 1024;
constexpr unsigned kMaxBlockDimXY = 1024;
constexpr unsigned kMaxBlockDimZ = 64;
constexpr unsigned kMaxGridDimX = 2147483647u;
constexpr unsigned kMaxGridDimYZ = 65535u;

enum class State : unsigned char { kRunnable, kAtBarrier, kAtWarp, kDone };

struct Block;

struct EmuThread {
  Block* block = nullptr;
  uint3 idx{};
  unsigned linear = 0, warp = 0, lane = 0;
  unsigned run_pos = 0;  // fiber mode: position in this block's run order
  State state = State::kRunnable;
  int barrier_result = 0;
  WarpRequest req;
  WarpReply reply;
  FiberContext ctx;            // fiber mode
  std::condition_variable cv;  // threads mode
};

struct Launch {
  const void* kernel = nullptr;
  dim3 grid, block;
  size_t smem_bytes = 0;
  void* smem = nullptr;
  KernelThunk thunk = nullptr;
  const void* closure = nullptr;
  uint64_t seq = 0;
};

struct Block {
  const Launch* launch = nullptr;
  Mode mode = Mode::kFibers;
  unsigned n = 0;
  EmuThread* threads = nullptr;
  uint3 idx{};
  // Threads that cannot run now (at a barrier, in a warp collective, or exited). When it reaches n
  // with some thread still unfinished, nothing can ever release them: a deadlock.
  unsigned blocked = 0;
  unsigned done = 0;
  unsigned at_barrier = 0;
  int barrier_count = 0;
  unsigned warp_arrived[kMaxThreadsPerBlock / 32] = {};
  unsigned warp_exists[kMaxThreadsPerBlock / 32] = {};
  std::mutex mu;  // threads mode only
  // Fiber mode: the launching thread's context, the run order (ascending or descending thread index)
  // and whether the scheduler's stack bounds are still to be learned (AddressSanitizer).
  FiberContext scheduler;
  bool reverse = false;
  bool started_by_scheduler = false;
};

__thread EmuThread* tls_thread DSCONV_EMU_TLS = nullptr;
void* g_dynamic_smem = nullptr;
uint64_t g_launch_seq = 0;

// ---------------------------------------------------------------------------------------------
// Diagnostics
// ---------------------------------------------------------------------------------------------

std::string kernel_name(const void* kernel) {
  Dl_info info;
  if (kernel != nullptr && dladdr(kernel, &info) != 0 && info.dli_sname != nullptr) {
    int status = 0;
    char* demangled = abi::__cxa_demangle(info.dli_sname, nullptr, nullptr, &status);
    std::string name = status == 0 && demangled != nullptr ? demangled : info.dli_sname;
    std::free(demangled);
    return name;
  }
  // Kernels with internal linkage have no dynamic symbol; file + offset is what addr2line -f -C takes.
  char buf[512];
  if (kernel != nullptr && dladdr(kernel, &info) != 0 && info.dli_fname != nullptr)
    std::snprintf(buf, sizeof buf, "the kernel at %s+0x%zx (addr2line -f -C -e <that file> <offset> names it)",
                  info.dli_fname,
                  static_cast<size_t>(static_cast<const char*>(kernel) - static_cast<const char*>(info.dli_fbase)));
  else
    std::snprintf(buf, sizeof buf, "the kernel at %p", kernel);
  return buf;
}

[[noreturn]] void fail_in(const Block* b, const EmuThread* t, const std::string& message) {
  std::string where;
  if (b != nullptr) {
    const Launch& L = *b->launch;
    char buf[512];
    std::snprintf(buf, sizeof buf, "\n  in %s, launched with grid (%u,%u,%u) and block (%u,%u,%u); block (%u,%u,%u)",
                  kernel_name(L.kernel).c_str(), L.grid.x, L.grid.y, L.grid.z, L.block.x, L.block.y, L.block.z,
                  b->idx.x, b->idx.y, b->idx.z);
    where = buf;
    if (t != nullptr) {
      std::snprintf(buf, sizeof buf, ", thread (%u,%u,%u) (warp %u, lane %u)", t->idx.x, t->idx.y, t->idx.z, t->warp,
                    t->lane);
      where += buf;
    }
  }
  std::fprintf(stderr, "dsconv CUDA emulator: %s%s\n", message.c_str(), where.c_str());
  std::fflush(stderr);
  std::abort();
}

std::string format(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
std::string format(const char* fmt, ...) {
  char buf[1024];
  va_list ap;
  va_start(ap, fmt);
  std::vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  return buf;
}

const char* op_name(WarpOp op) {
  // clang-format off
  switch (op) {
    case WarpOp::kSync: return "__syncwarp";
    case WarpOp::kShflIdx: return "__shfl_sync";
    case WarpOp::kShflUp: return "__shfl_up_sync";
    case WarpOp::kShflDown: return "__shfl_down_sync";
    case WarpOp::kShflXor: return "__shfl_xor_sync";
    case WarpOp::kBallot: return "__ballot_sync";
    case WarpOp::kAny: return "__any_sync";
    case WarpOp::kAll: return "__all_sync";
    case WarpOp::kMatchAny: return "__match_any_sync";
    case WarpOp::kMatchAll: return "__match_all_sync";
    case WarpOp::kReduceAdd: return "__reduce_add_sync";
    case WarpOp::kReduceMin: return "__reduce_min_sync";
    case WarpOp::kReduceMax: return "__reduce_max_sync";
    case WarpOp::kReduceAnd: return "__reduce_and_sync";
    case WarpOp::kReduceOr: return "__reduce_or_sync";
    case WarpOp::kReduceXor: return "__reduce_xor_sync";
  }
  // clang-format on
  return "a warp collective";
}

[[noreturn]] void report_deadlock(const Block& b) {
  unsigned at_barrier = 0, exited = 0, in_warp = 0;
  for (unsigned i = 0; i < b.n; ++i) {
    const State s = b.threads[i].state;
    at_barrier += s == State::kAtBarrier;
    exited += s == State::kDone;
    in_warp += s == State::kAtWarp;
  }
  std::string msg = format(
      "deadlock: no thread of the block can continue (%u of %u wait at __syncthreads(), %u have exited, %u wait in a "
      "warp collective).",
      at_barrier, b.n, exited, in_warp);
  if (at_barrier > 0 && exited > 0) {
    msg +=
        " A __syncthreads() must be reached by every thread of the block; one after an early return or inside a "
        "branch that not all threads take is a divergent barrier (undefined on a GPU: it hangs or corrupts).";
  }
  int lines = 0;
  for (unsigned w = 0; w * 32 < b.n && lines < 8; ++w) {
    unsigned waiting = 0, gone = 0, at_bar = 0;
    const EmuThread* example = nullptr;
    for (unsigned l = 0; l < 32 && w * 32 + l < b.n; ++l) {
      const EmuThread& t = b.threads[w * 32 + l];
      if (t.state == State::kAtWarp) {
        waiting |= 1u << l;
        if (example == nullptr) example = &t;
      }
      gone |= (t.state == State::kDone ? 1u : 0u) << l;
      at_bar |= (t.state == State::kAtBarrier ? 1u : 0u) << l;
    }
    if (waiting == 0) continue;
    msg += format(
        "\n  warp %u: lanes 0x%08x wait in %s(mask 0x%08x); lanes 0x%08x have exited, lanes 0x%08x wait at "
        "__syncthreads()",
        w, waiting, op_name(example->req.op), example->req.mask, gone, at_bar);
    ++lines;
  }
  fail_in(&b, nullptr, msg);
}

[[noreturn]] void outside_kernel(const char* what) {
  fail_in(nullptr, nullptr, format("%s called outside a kernel", what));
}

// ---------------------------------------------------------------------------------------------
// Waiting and waking, per mode. A fiber that cannot continue switches straight to the next runnable
// thread in the block's run order (wrapping around); only the last one to finish returns to the
// scheduler.
// ---------------------------------------------------------------------------------------------

EmuThread* next_runnable(Block& b, unsigned from_pos) {
  for (unsigned k = 1; k <= b.n; ++k) {
    unsigned pos = from_pos + k;
    if (pos >= b.n) pos -= b.n;
    EmuThread& t = b.threads[b.reverse ? b.n - 1 - pos : pos];
    if (t.state == State::kRunnable) return &t;
  }
  return nullptr;
}

void enter(EmuThread* t) {
  threadIdx = t->idx;
  tls_thread = t;
}

struct BlockLock {
  std::unique_lock<std::mutex> lk;
  explicit BlockLock(Block& b) : lk(b.mu, std::defer_lock) {
    if (b.mode == Mode::kThreads) lk.lock();
  }
};

void park(EmuThread* t, State why, BlockLock& lock) {
  Block& b = *t->block;
  t->state = why;
  if (++b.blocked == b.n) report_deadlock(b);
  if (b.mode == Mode::kFibers) {
    EmuThread* next = next_runnable(b, t->run_pos);  // exists: not every thread is blocked
    enter(next);
    fiber_switch(&t->ctx, &next->ctx);
  } else {
    while (t->state != State::kRunnable) t->cv.wait(lock.lk);
  }
}

void unpark(EmuThread* t) {
  Block& b = *t->block;
  t->state = State::kRunnable;
  --b.blocked;
  if (b.mode == Mode::kThreads) t->cv.notify_one();
}

void thread_exit(EmuThread* t) {
  Block& b = *t->block;
  BlockLock lock(b);
  t->state = State::kDone;
  ++b.done;
  if (++b.blocked == b.n && b.done < b.n) report_deadlock(b);
}

void run_body(EmuThread* t) {
  const Launch& L = *t->block->launch;
  try {
    L.thunk(L.closure);
  } catch (const std::exception& e) {
    fail_in(t->block, t, format("the kernel threw an exception: %s", e.what()));
  } catch (...) {
    fail_in(t->block, t, "the kernel threw an exception");
  }
}

// ---------------------------------------------------------------------------------------------
// Warp collectives: the last lane to arrive computes every lane's result
// ---------------------------------------------------------------------------------------------

bool is_shuffle(WarpOp op) {
  return op == WarpOp::kShflIdx || op == WarpOp::kShflUp || op == WarpOp::kShflDown || op == WarpOp::kShflXor;
}

// The source lane of a shuffle, as PTX's shfl.sync defines it: CUDA passes c = ((32 - width) << 8) |
// (up ? 0 : 31); an out-of-segment source means "keep your own value".
unsigned shuffle_source(WarpOp op, unsigned lane, int arg, int width) {
  const unsigned segmask = static_cast<unsigned>(32 - width) & 31u;
  const unsigned cval = op == WarpOp::kShflUp ? 0u : 31u;
  const unsigned b = static_cast<unsigned>(arg) & 31u;
  const int max_lane = static_cast<int>((lane & segmask) | (cval & ~segmask));
  const int min_lane = static_cast<int>(lane & segmask);
  int j = 0;
  bool in_range = false;
  switch (op) {
    case WarpOp::kShflUp:
      j = static_cast<int>(lane) - static_cast<int>(b);
      in_range = j >= max_lane;
      break;
    case WarpOp::kShflDown:
      j = static_cast<int>(lane + b);
      in_range = j <= max_lane;
      break;
    case WarpOp::kShflXor:
      j = static_cast<int>(lane ^ b);
      in_range = j <= max_lane;
      break;
    default:
      j = min_lane | static_cast<int>(b & ~segmask);
      in_range = j <= max_lane;
      break;
  }
  return in_range ? static_cast<unsigned>(j) : lane;
}

void complete_warp_op(Block& b, unsigned warp, unsigned group) {
  EmuThread* lanes = b.threads + warp * 32;
  const EmuThread& first = lanes[__builtin_ctz(group)];
  const WarpRequest& req0 = first.req;
  for (unsigned g = group; g != 0; g &= g - 1) {
    const EmuThread& t = lanes[__builtin_ctz(g)];
    if (t.req.op != req0.op || t.req.mask != req0.mask || t.req.bytes != req0.bytes) {
      fail_in(&b, &t,
              format("lanes of warp %u disagree: lane %u called %s(mask 0x%08x, %zu-byte value) while lane %u called "
                     "%s(mask 0x%08x, %zu-byte value); every lane named in a mask must make the same call",
                     warp, t.lane, op_name(t.req.op), t.req.mask, t.req.bytes, first.lane, op_name(req0.op), req0.mask,
                     req0.bytes));
    }
  }
  unsigned votes = 0;
  for (unsigned g = group; g != 0; g &= g - 1)
    votes |= (lanes[__builtin_ctz(g)].req.arg != 0 ? 1u : 0u) << __builtin_ctz(g);

  for (unsigned g = group; g != 0; g &= g - 1) {
    EmuThread& t = lanes[__builtin_ctz(g)];
    WarpReply& r = t.reply;
    r = WarpReply{};
    switch (req0.op) {
      case WarpOp::kSync:
        break;
      case WarpOp::kShflIdx:
      case WarpOp::kShflUp:
      case WarpOp::kShflDown:
      case WarpOp::kShflXor: {
        const unsigned src = shuffle_source(req0.op, t.lane, t.req.arg, t.req.width);
        // Reading a lane that is not taking part is undefined on a GPU; poison makes it visible.
        if ((group >> src) & 1u)
          std::memcpy(r.value, lanes[src].req.value, kWarpValueBytes);
        else
          std::memset(r.value, 0xff, kWarpValueBytes);
        break;
      }
      case WarpOp::kBallot:
        r.bits = votes;
        break;
      case WarpOp::kAny:
        r.flag = votes != 0;
        break;
      case WarpOp::kAll:
        r.flag = votes == group;
        break;
      case WarpOp::kMatchAny:
      case WarpOp::kMatchAll: {
        unsigned same = 0;
        for (unsigned h = group; h != 0; h &= h - 1) {
          const unsigned l = __builtin_ctz(h);
          if (std::memcmp(lanes[l].req.value, t.req.value, t.req.bytes) == 0) same |= 1u << l;
        }
        if (req0.op == WarpOp::kMatchAny) {
          r.bits = same;
        } else {
          r.flag = same == group;
          r.bits = r.flag ? group : 0u;
        }
        break;
      }
      case WarpOp::kReduceAdd:
      case WarpOp::kReduceMin:
      case WarpOp::kReduceMax:
      case WarpOp::kReduceAnd:
      case WarpOp::kReduceOr:
      case WarpOp::kReduceXor: {
        bool have = false;
        uint32_t acc = 0;
        for (unsigned h = group; h != 0; h &= h - 1) {
          uint32_t v;
          std::memcpy(&v, lanes[__builtin_ctz(h)].req.value, 4);
          if (!have) {
            acc = v;
            have = true;
            continue;
          }
          switch (req0.op) {
            case WarpOp::kReduceAdd:
              acc += v;
              break;
            case WarpOp::kReduceMin:
              acc = req0.is_signed ? (static_cast<int32_t>(v) < static_cast<int32_t>(acc) ? v : acc)
                                   : (v < acc ? v : acc);
              break;
            case WarpOp::kReduceMax:
              acc = req0.is_signed ? (static_cast<int32_t>(v) > static_cast<int32_t>(acc) ? v : acc)
                                   : (v > acc ? v : acc);
              break;
            case WarpOp::kReduceAnd:
              acc &= v;
              break;
            case WarpOp::kReduceOr:
              acc |= v;
              break;
            default:
              acc ^= v;
              break;
          }
        }
        std::memcpy(r.value, &acc, 4);
        break;
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Fiber mode
// ---------------------------------------------------------------------------------------------

size_t fiber_stack_bytes() {
#if defined(__SANITIZE_ADDRESS__)
  size_t kib = 1024;  // AddressSanitizer's redzones make frames several times larger
#else
  size_t kib = 256;
#endif
  if (const char* env = std::getenv("DSCONV_EMU_STACK_KB")) {
    char* end = nullptr;
    const unsigned long v = std::strtoul(env, &end, 10);
    if (end != env && *end == '\0' && v >= 16) kib = v;
  }
  return kib * 1024;
}

std::vector<std::unique_ptr<FiberStack>>& fiber_stacks() {
  static std::vector<std::unique_ptr<FiberStack>> stacks;  // reused by every launch; guarded by device_mutex()
  return stacks;
}

void fiber_main(void* arg) {
  EmuThread* t = static_cast<EmuThread*>(arg);
  Block& b = *t->block;
  fiber_started(b.started_by_scheduler ? &b.scheduler : nullptr);
  b.started_by_scheduler = false;
  run_body(t);
  thread_exit(t);
  if (EmuThread* next = next_runnable(b, t->run_pos)) {
    enter(next);
    fiber_exit_to(&next->ctx);
  }
  fiber_exit_to(&b.scheduler);  // the block is done
}

void set_block_index(Block& b, uint64_t linear) {
  const Launch& L = *b.launch;
  b.idx.x = static_cast<unsigned>(linear % L.grid.x);
  b.idx.y = static_cast<unsigned>(linear / L.grid.x % L.grid.y);
  b.idx.z = static_cast<unsigned>(linear / (static_cast<uint64_t>(L.grid.x) * L.grid.y));
}

void reset_block(Block& b) {
  b.blocked = b.done = b.at_barrier = 0;
  b.barrier_count = 0;
  std::memset(b.warp_arrived, 0, sizeof b.warp_arrived);
  for (unsigned i = 0; i < b.n; ++i) b.threads[i].state = State::kRunnable;
  // 0xff bytes: NaN as f32/f16/bf16, so a read before any write poisons the result.
  if (b.launch->smem_bytes > 0) std::memset(b.launch->smem, 0xff, b.launch->smem_bytes);
}

// `hooks`: the performance model's, when it counts this launch (cuda/emu/model/executor_hooks.hpp).
void run_fibers(Block& b, uint64_t blocks, const model::ExecutorHooks* hooks) {
  auto& stacks = fiber_stacks();
  const size_t stack_bytes = fiber_stack_bytes();
  if (!stacks.empty() && stacks.front()->size() < stack_bytes) stacks.clear();
  while (stacks.size() < b.n) stacks.push_back(std::make_unique<FiberStack>(stack_bytes));

  for (uint64_t k = 0; k < blocks; ++k) {
    if (hooks != nullptr && !hooks->run_block(k)) continue;
    set_block_index(b, k);
    blockIdx = b.idx;
    reset_block(b);
    // Alternating the order in which threads first run makes a missing barrier show whichever way
    // the data flows between threads (reading a lower or a higher thread's element).
    b.reverse = ((b.launch->seq + k) & 1u) != 0;
    for (unsigned i = 0; i < b.n; ++i) {
      EmuThread& t = b.threads[i];
      t.run_pos = b.reverse ? b.n - 1 - i : i;
      fiber_init(&t.ctx, *stacks[i], &fiber_main, &t);
    }
    EmuThread* first = &b.threads[b.reverse ? b.n - 1 : 0];
    b.started_by_scheduler = true;
    enter(first);
    if (hooks != nullptr) hooks->block_begin(k);
    fiber_switch(&b.scheduler, &first->ctx);  // returns when the block's last thread has finished
    tls_thread = nullptr;
    if (b.done != b.n) report_deadlock(b);
    if (hooks != nullptr) hooks->block_end();
  }
}

// ---------------------------------------------------------------------------------------------
// Threads mode
// ---------------------------------------------------------------------------------------------

// Blocks start through two alternating gates, each with its own mutex: the threads of block k meet
// only at gate k%2 before their bodies run, and the thread that finishes block k last opens gate
// (k+1)%2. So block k happens-before block k+1, while nothing inside a block's body is ordered by the
// executor itself; a missing __syncthreads() then leaves two accesses unordered, which
// ThreadSanitizer reports whatever the OS scheduling was.
struct Gate {
  std::mutex mu;
  std::condition_variable cv;
  uint64_t open_block = ~uint64_t{0};
};

struct ThreadsRun {
  Block* block = nullptr;
  uint64_t blocks = 0;
  Gate gates[2];
  EmuThread* thread = nullptr;  // per OS thread, see ThreadArg
};

struct ThreadArg {
  ThreadsRun* run;
  EmuThread* thread;
};

void* threads_main(void* p) {
  const ThreadArg* arg = static_cast<const ThreadArg*>(p);
  ThreadsRun& run = *arg->run;
  EmuThread* t = arg->thread;
  Block& b = *run.block;
  blockDim = b.launch->block;
  gridDim = b.launch->grid;
  threadIdx = t->idx;
  tls_thread = t;
  for (uint64_t k = 0; k < run.blocks; ++k) {
    {
      Gate& g = run.gates[k & 1];
      std::unique_lock<std::mutex> lk(g.mu);
      g.cv.wait(lk, [&] { return g.open_block == k; });
    }
    blockIdx = b.idx;  // written by the opener of this gate
    run_body(t);
    bool last = false;
    {
      BlockLock lock(b);
      t->state = State::kDone;
      ++b.done;
      if (++b.blocked == b.n && b.done < b.n) report_deadlock(b);
      last = b.done == b.n;
      if (last && k + 1 < run.blocks) {
        set_block_index(b, k + 1);
        reset_block(b);
      }
    }
    if (last && k + 1 < run.blocks) {
      Gate& next = run.gates[(k + 1) & 1];
      std::lock_guard<std::mutex> lk(next.mu);
      next.open_block = k + 1;
      next.cv.notify_all();
    }
  }
  tls_thread = nullptr;
  return nullptr;
}

void run_threads(Block& b, uint64_t blocks) {
  ThreadsRun run;
  run.block = &b;
  run.blocks = blocks;
  set_block_index(b, 0);
  reset_block(b);
  run.gates[0].open_block = 0;
  std::vector<ThreadArg> args(b.n);
  std::vector<pthread_t> handles(b.n);
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setstacksize(&attr, size_t{4} << 20);
  for (unsigned i = 0; i < b.n; ++i) {
    args[i] = ThreadArg{&run, &b.threads[i]};
    const int rc = pthread_create(&handles[i], &attr, &threads_main, &args[i]);
    if (rc != 0)
      fail_in(&b, nullptr,
              format("cannot start OS thread %u of %u for the threads mode (%s); use DSCONV_EMU_MODE=fibers or a "
                     "smaller block",
                     i, b.n, std::strerror(rc)));
  }
  pthread_attr_destroy(&attr);
  for (unsigned i = 0; i < b.n; ++i) pthread_join(handles[i], nullptr);
}

// ---------------------------------------------------------------------------------------------
// Mode selection
// ---------------------------------------------------------------------------------------------

#if defined(DSCONV_EMU_TSAN)
constexpr bool kFibersSupported = false;
#else
constexpr bool kFibersSupported = true;
#endif

Mode build_default_mode() {
#if defined(DSCONV_EMU_TSAN) || defined(DSCONV_EMU_DEFAULT_MODE_THREADS)
  return Mode::kThreads;
#else
  return Mode::kFibers;
#endif
}

struct ModeState {
  std::atomic<int> mode{-1};
  std::string error;  // why DSCONV_EMU_MODE cannot be honoured; launches fail while set
};

ModeState& mode_state() {
  static ModeState* s = [] {
    auto* st = new ModeState;
    Mode m = build_default_mode();
    if (const char* env = std::getenv("DSCONV_EMU_MODE"); env != nullptr && *env != '\0') {
      const std::string v = env;
      if (v == "fibers" && kFibersSupported) {
        m = Mode::kFibers;
      } else if (v == "threads") {
        m = Mode::kThreads;
      } else if (v == "fibers") {
        st->error =
            "DSCONV_EMU_MODE=fibers is not available in a ThreadSanitizer build (it needs OS threads); unset "
            "it or set it to 'threads'";
      } else {
        st->error = "DSCONV_EMU_MODE must be 'fibers' or 'threads', got '" + v + "'";
      }
    }
    st->mode.store(static_cast<int>(m));
    return st;
  }();
  return *s;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Public entry points (emu.hpp)
// ---------------------------------------------------------------------------------------------

const char* to_string(Mode m) { return m == Mode::kFibers ? "fibers" : "threads"; }

Mode mode() { return static_cast<Mode>(mode_state().mode.load()); }

bool set_mode(Mode m) {
  if (m == Mode::kFibers && !kFibersSupported) return false;
  mode_state().mode.store(static_cast<int>(m));
  return true;
}

std::mutex& device_mutex() {
  static std::mutex mu;
  return mu;
}

void* dynamic_smem() { return g_dynamic_smem; }

std::atomic<const model::ExecutorHooks*>& model::executor_hooks() {
  static std::atomic<const ExecutorHooks*> hooks{nullptr};
  return hooks;
}

namespace {
void model_thread_waits() {
  if (const model::ExecutorHooks* h = model::executor_hooks().load(std::memory_order_relaxed)) h->thread_waits();
}
void model_thread_at_barrier() {
  if (const model::ExecutorHooks* h = model::executor_hooks().load(std::memory_order_relaxed)) h->thread_at_barrier();
}
}  // namespace

void sync_block() { (void)sync_block_count(0); }

int sync_block_count(int predicate) {
  EmuThread* t = tls_thread;
  if (t == nullptr) outside_kernel("__syncthreads()");
  Block& b = *t->block;
  model_thread_waits();
  model_thread_at_barrier();
  BlockLock lock(b);
  b.barrier_count += predicate != 0;
  if (++b.at_barrier < b.n) {
    park(t, State::kAtBarrier, lock);
    return t->barrier_result;
  }
  const int result = b.barrier_count;
  b.at_barrier = 0;
  b.barrier_count = 0;
  for (unsigned i = 0; i < b.n; ++i) {
    EmuThread& o = b.threads[i];
    if (o.state != State::kAtBarrier) continue;
    o.barrier_result = result;
    unpark(&o);
  }
  return result;
}

WarpReply warp_collective(const WarpRequest& req) {
  EmuThread* t = tls_thread;
  if (t == nullptr) outside_kernel(op_name(req.op));
  Block& b = *t->block;
  if (((req.mask >> t->lane) & 1u) == 0)
    fail_in(
        &b, t,
        format("%s(mask 0x%08x) called by lane %u, which the mask does not name", op_name(req.op), req.mask, t->lane));
  if (is_shuffle(req.op) && (req.width < 1 || req.width > 32 || (req.width & (req.width - 1)) != 0))
    fail_in(&b, t,
            format("%s with width %d; the width must be a power of two from 1 to 32", op_name(req.op), req.width));
  model_thread_waits();
  BlockLock lock(b);
  t->req = req;
  const unsigned group = req.mask & b.warp_exists[t->warp];
  unsigned& arrived = b.warp_arrived[t->warp];
  arrived |= 1u << t->lane;
  if ((arrived & group) != group) {
    park(t, State::kAtWarp, lock);
    return t->reply;
  }
  complete_warp_op(b, t->warp, group);
  arrived &= ~group;
  for (unsigned g = group; g != 0; g &= g - 1) {
    EmuThread& o = b.threads[t->warp * 32 + static_cast<unsigned>(__builtin_ctz(g))];
    if (&o != t) unpark(&o);
  }
  return t->reply;
}

unsigned active_mask() {
  EmuThread* t = tls_thread;
  if (t == nullptr) outside_kernel("__activemask()");
  Block& b = *t->block;
  BlockLock lock(b);
  unsigned m = 0;
  for (unsigned l = 0; l < 32; ++l) {
    const unsigned i = t->warp * 32 + l;
    if (i < b.n && b.threads[i].state != State::kDone) m |= 1u << l;
  }
  return m;
}

cudaError_t launch_erased(const void* kernel, dim3 grid, dim3 block, size_t dynamic_smem_bytes, cudaStream_t stream,
                          KernelThunk thunk, const void* closure) {
  if (EmuThread* t = tls_thread)
    fail_in(t->block, t, "a kernel launched another kernel; dynamic parallelism is not emulated");
  // Like the real launch helper (which reads the launch error with cudaGetLastError), a failed
  // launch reports its error only by the return value.
  ModeState& ms = mode_state();
  if (!ms.error.empty()) {
    std::fprintf(stderr, "dsconv CUDA emulator: %s\n", ms.error.c_str());
    return cudaErrorInvalidValue;
  }
  const uint64_t threads = static_cast<uint64_t>(block.x) * block.y * block.z;
  if (block.x == 0 || block.y == 0 || block.z == 0 || block.x > kMaxBlockDimXY || block.y > kMaxBlockDimXY ||
      block.z > kMaxBlockDimZ || threads > kMaxThreadsPerBlock)
    return cudaErrorInvalidConfiguration;
  if (grid.x == 0 || grid.y == 0 || grid.z == 0 || grid.x > kMaxGridDimX || grid.y > kMaxGridDimYZ ||
      grid.z > kMaxGridDimYZ)
    return cudaErrorInvalidConfiguration;
  // As on a GPU: above 48 KiB only after the kernel opted in (cudaFuncSetAttribute), and never above the
  // device's per-block maximum.
  if (emulated_device() == nullptr) return cudaErrorNoDevice;
  if (dynamic_smem_bytes > max_dynamic_smem(kernel)) return cudaErrorInvalidValue;
  if (!is_known_stream(stream)) return cudaErrorInvalidResourceHandle;

  std::lock_guard<std::mutex> device_lock(device_mutex());
  // Exactly the requested size, so that AddressSanitizer sees an overrun of dynamic shared memory.
  struct SmemFree {
    void operator()(void* p) const { ::operator delete (p, std::align_val_t{16}); }
  };
  std::unique_ptr<void, SmemFree> smem(
      ::operator new (dynamic_smem_bytes == 0 ? 1 : dynamic_smem_bytes, std::align_val_t{16}));
  Launch L;
  L.kernel = kernel;
  L.grid = grid;
  L.block = block;
  L.smem_bytes = dynamic_smem_bytes;
  L.smem = smem.get();
  L.thunk = thunk;
  L.closure = closure;
  L.seq = g_launch_seq++;
  g_dynamic_smem = L.smem;

  const unsigned n = static_cast<unsigned>(threads);
  std::unique_ptr<EmuThread[]> emu_threads(new EmuThread[n]);
  // A launch the performance model counts runs as fibers: its instrumentation sees one thread at a time.
  const model::ExecutorHooks* hooks = model::executor_hooks().load(std::memory_order_acquire);
  if (hooks != nullptr && !(kFibersSupported && hooks->launch_begin(kernel, grid, block, L.smem, L.smem_bytes)))
    hooks = nullptr;
  Block b;
  b.launch = &L;
  b.mode = hooks != nullptr ? Mode::kFibers : mode();
  b.n = n;
  b.threads = emu_threads.get();
  for (unsigned i = 0; i < n; ++i) {
    EmuThread& t = emu_threads[i];
    t.block = &b;
    t.linear = i;
    t.idx = uint3{i % block.x, i / block.x % block.y, i / (block.x * block.y)};
    t.warp = i / 32;
    t.lane = i % 32;
  }
  for (unsigned w = 0; w * 32 < n; ++w) {
    const unsigned lanes = n - w * 32 >= 32 ? 32 : n - w * 32;
    b.warp_exists[w] = lanes == 32 ? ~0u : (1u << lanes) - 1u;
  }

  const uint64_t blocks = static_cast<uint64_t>(grid.x) * grid.y * grid.z;
  const dim3 saved_block_dim = blockDim, saved_grid_dim = gridDim;
  const uint3 saved_block_idx = blockIdx, saved_thread_idx = threadIdx;
  if (b.mode == Mode::kFibers) {
    blockDim = block;
    gridDim = grid;
    run_fibers(b, blocks, hooks);
  } else {
    run_threads(b, blocks);
  }
  if (hooks != nullptr) hooks->launch_end();
  blockDim = saved_block_dim;
  gridDim = saved_grid_dim;
  blockIdx = saved_block_idx;
  threadIdx = saved_thread_idx;
  g_dynamic_smem = nullptr;
  return cudaSuccess;
}

}  // namespace dsconv::emu
