// The performance model's counter: receives every load and store of the instrumented kernel code
// (clang's SanitizerCoverage calls __sanitizer_cov_load{1,2,4,8,16} / __sanitizer_cov_store* with the
// address) and every fmaf (the link wraps fmaf), keeps each emulated thread's accesses to global and
// shared memory in order, and when a block ends turns a warp's accesses into requests: a lane's n-th
// execution of a static site (the instruction after inlining, named by its return address) belongs to
// the warp's n-th request of that site, as on a GPU whose warp runs the lanes in lockstep.
//
// L1: a block's ordinary global loads (not cp.async, which bypasses L1) that touch a sector the block
// already loaded in the same phase (between two __syncthreads) are counted as L1 hits, with the phase's
// distinct footprint, so that the analysis can serve them from the L1 the card leaves the block
// (roofline.cpp). Reuse across phases is not credited: a lower bound on what L1 serves.
//
// Fiber mode runs a block's threads one after another on one OS thread, so the per-thread streams are
// buffered and grouped per warp at the end of the block (the executor's block_end hook). Compiled only
// into instrumented builds (the profile preset); never itself instrumented.
#include <algorithm>
#include <cmath>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <unordered_set>

#include "cuda/emu/internal.hpp"
#include "cuda/emu/model/capture.hpp"
#include "cuda/emu/model/executor_hooks.hpp"
#include "cuda/emu/model/rules.hpp"
#include "cuda/emu/model/symbols.hpp"

namespace dsconv::emu::model {
namespace {

// An access as recorded: the site and the address, with the size, direction and space in the top byte
// (user-space addresses fit in 56 bits).
constexpr int kAddressBits = 56;
constexpr uint64_t kAddressMask = (uint64_t{1} << kAddressBits) - 1;
constexpr uint64_t kStoreBit = uint64_t{1} << 61;
constexpr int kSpaceShift = 62;
enum Space : uint64_t { kNotCounted = 0, kGlobal = 1, kSharedDynamic = 2, kSharedStatic = 3 };

struct Event {
  uint64_t pc;
  uint64_t word;
  uint32_t phase;  // the thread's barriers before it
  bool async;      // a cp.async's load or store
  uint64_t address() const { return word & kAddressMask; }
  unsigned size() const { return static_cast<unsigned>((word >> kAddressBits) & 31u); }
  bool store() const { return (word & kStoreBit) != 0; }
  Space space() const { return static_cast<Space>(word >> kSpaceShift); }
};

struct ThreadCounts {
  std::vector<Event> events;
  uint32_t phase = 0;  // __syncthreads() so far in the block
  uint64_t fmas = 0, mma_flops = 0;
  uint32_t batch = 0;  // global loads issued since the thread last had to wait
  uint64_t batches = 0, batched = 0;
  double round_trips = 0;  // the chain of waits: one per batch, less for a pipelined cp.async wait
  void end_batch(double trips = 1.0) {
    if (batch == 0) return;
    ++batches;
    batched += batch;
    batch = 0;
    round_trips += trips;
  }
};

// Which counted blocks touched each 32-byte sector of an allocation: 0 none, b + 1 only block b,
// kShared more than one. Sectors several sampled blocks share (a filter, a constant) are read once
// however many blocks the sample stands for; those only one sampled block touched scale with it.
constexpr uint32_t kShared = ~uint32_t{0};
struct Footprint {
  std::vector<uint32_t> owner;  // made on first touch
  uint64_t single = 0, shared = 0;
};
struct Allocation {
  uint64_t begin = 0, end = 0;
  Footprint read, write;
};

struct Launch {
  LaunchRecord rec;
  const void* kernel = nullptr;
  unsigned threads_per_block = 0;
  uint64_t smem_begin = 0, smem_end = 0;
  std::vector<std::pair<uint64_t, uint64_t>> static_ranges;
  std::vector<Allocation> allocations;
  size_t last_allocation = 0;
  // Sampling: the blocks that run (ascending) and the blocks each stands for; empty = every block.
  std::vector<uint64_t> picks;
  std::vector<double> weights;
  size_t cursor = 0;
  double weight = 1;                  // of the running block
  std::vector<double> block_weights;  // of each counted block, in the order they ran
  std::vector<ThreadCounts> threads;
  std::unordered_map<uint64_t, uint32_t> site_of_pc;
  std::vector<SiteRecord> sites;
  // Scratch of the per-warp grouping.
  std::vector<uint32_t> occurrences;
  std::vector<uint32_t> touched;
  std::vector<std::pair<uint64_t, const Event*>> keys;
  std::vector<LaneAccess> lanes;
  std::vector<uint64_t> sectors;
  // L1, per phase of the running block: the sectors its ordinary loads touched, and the repeats.
  std::unordered_map<uint32_t, std::unordered_set<uint64_t>> l1_sectors;
  std::unordered_map<uint32_t, uint64_t> l1_repeats;
};

struct State {
  std::mutex mu;
  bool capturing = false;
  CaptureOptions options;
  std::vector<LaunchRecord> records;
  std::vector<const void*> kernels;
  std::unique_ptr<Launch> launch;
};

State& state() {
  static State* s = new State;  // never destroyed: a capture may outlive static destruction order
  return *s;
}

// The OS thread that runs a counted block (fibers: all of the block's emulated threads) and the launch.
__thread bool t_counting __attribute__((tls_model("initial-exec"))) = false;
Launch* g_launch = nullptr;

unsigned linear_thread() { return threadIdx.x + blockDim.x * (threadIdx.y + blockDim.y * threadIdx.z); }

Allocation* find_allocation(Launch& L, uint64_t a) {
  if (L.allocations.empty()) return nullptr;
  Allocation& last = L.allocations[L.last_allocation];
  if (a - last.begin < last.end - last.begin) return &last;
  auto it = std::upper_bound(L.allocations.begin(), L.allocations.end(), a,
                             [](uint64_t v, const Allocation& x) { return v < x.begin; });
  if (it == L.allocations.begin()) return nullptr;
  --it;
  if (a - it->begin >= it->end - it->begin) return nullptr;
  L.last_allocation = static_cast<size_t>(it - L.allocations.begin());
  return &*it;
}

Space classify(Launch& L, uint64_t a) {
  if (a - L.smem_begin < L.smem_end - L.smem_begin) return kSharedDynamic;
  if (find_allocation(L, a) != nullptr) return kGlobal;
  for (const auto& [begin, end] : L.static_ranges) {
    if (a - begin < end - begin) return kSharedStatic;
  }
  return kNotCounted;  // the thread's stack, the launch's parameters, constants: registers on a GPU
}

// `async`: a cp.async's load or store, which neither joins the thread's batch nor waits for it (the wait
// does: count_async_wait).
inline void record(const void* p, unsigned size, bool store, uint64_t pc, bool async = false) {
  Launch& L = *g_launch;
  const uint64_t a = reinterpret_cast<uint64_t>(p);
  const Space space = classify(L, a);
  if (space == kNotCounted) return;
  ThreadCounts& t = L.threads[linear_thread()];
  if (async) {
    // counted below, outside the batches
  } else if (space == kGlobal && !store) {
    ++t.batch;
  } else {
    t.end_batch();  // a store or a shared access usually consumes what the loads brought
  }
  t.events.push_back(Event{pc,
                           (a & kAddressMask) | (static_cast<uint64_t>(size) << kAddressBits) |
                               (store ? kStoreBit : 0) | (static_cast<uint64_t>(space) << kSpaceShift),
                           t.phase, async});
}

// A memcpy of n bytes by kernel code is the vector access of the helpers that emulate float2/float4/uint4
// loads and stores (cuda/depthwise/device_ops.cuh): one access per naturally sized piece of at most 16
// bytes, all at the call's return address.
void record_copy(void* dst, const void* src, size_t n, uint64_t pc) {
  for (int store = 0; store < 2; ++store) {
    const char* p = static_cast<const char*>(store ? dst : src);
    for (size_t done = 0; done < n;) {
      size_t piece = 16;
      while (piece > n - done) piece /= 2;
      record(p + done, static_cast<unsigned>(piece), store != 0, pc);
      done += piece;
    }
  }
}

uint32_t site_index(Launch& L, const Event& e) {
  // One memcpy call is a load and a store at one return address: two sites.
  const uint64_t key = (e.pc << 1) | (e.store() ? 1u : 0u);
  auto [it, added] = L.site_of_pc.emplace(key, static_cast<uint32_t>(L.sites.size()));
  if (added) {
    SiteRecord s;
    s.pc = e.pc;
    s.shared = e.space() != kGlobal;
    s.store = e.store();
    s.width = e.size();
    L.sites.push_back(s);
  }
  return it->second;
}

void mark_sector(Launch& L, uint64_t sector, bool store) {
  Allocation* a = find_allocation(L, sector * kSectorBytes);
  if (a == nullptr) return;
  Footprint& f = store ? a->write : a->read;
  if (f.owner.empty()) f.owner.assign((a->end - a->begin + kSectorBytes - 1) / kSectorBytes, 0);
  uint32_t& o = f.owner[(sector * kSectorBytes - a->begin) / kSectorBytes];
  const uint32_t me = static_cast<uint32_t>(L.rec.sampled_blocks + 1);
  if (o == 0) {
    o = me;
    ++f.single;
  } else if (o != me && o != kShared) {
    o = kShared;
    --f.single;
    ++f.shared;
  }
}

// One warp-level request: the lanes that executed one site's n-th time, in one memory space; `l1_phase`
// names the block phase of an ordinary global load (-1: a store or a cp.async, which L1 does not serve).
void account_request(Launch& L, SiteRecord& site, Space space, bool store, int64_t l1_phase) {
  const double w = L.weight;
  LaunchRecord& r = L.rec;
  double bytes = 0;
  for (const LaneAccess& a : L.lanes) bytes += a.size;
  site.requests += w;
  site.bytes += bytes * w;
  if (space == kGlobal) {
    global_sectors(L.lanes.data(), static_cast<int>(L.lanes.size()), &L.sectors);
    const double n = static_cast<double>(L.sectors.size());
    site.sectors += n * w;
    (store ? r.global_store_requests : r.global_load_requests) += w;
    (store ? r.global_store_sectors : r.global_load_sectors) += n * w;
    (store ? r.global_store_bytes : r.global_load_bytes) += bytes * w;
    for (uint64_t s : L.sectors) mark_sector(L, s, store);
    if (l1_phase >= 0) {
      std::unordered_set<uint64_t>& seen = L.l1_sectors[static_cast<uint32_t>(l1_phase)];
      uint64_t repeats = 0;
      for (uint64_t s : L.sectors) repeats += seen.insert(s).second ? 0 : 1;
      if (repeats > 0) L.l1_repeats[static_cast<uint32_t>(l1_phase)] += repeats;
    }
  } else {
    const SharedCost c = shared_wavefronts(L.lanes.data(), static_cast<int>(L.lanes.size()));
    site.wavefronts += c.wavefronts * w;
    site.ideal_wavefronts += c.ideal * w;
    (store ? r.smem_store_requests : r.smem_load_requests) += w;
    r.smem_wavefronts += c.wavefronts * w;
    r.smem_ideal_wavefronts += c.ideal * w;
  }
}

void process_warp(Launch& L, unsigned first, unsigned count) {
  L.keys.clear();
  for (unsigned lane = 0; lane < count; ++lane) {
    const ThreadCounts& t = L.threads[first + lane];
    for (uint32_t s : L.touched) L.occurrences[s] = 0;
    L.touched.clear();
    for (const Event& e : t.events) {
      const uint32_t s = site_index(L, e);
      if (L.occurrences.size() <= s) L.occurrences.resize(s + 1, 0);
      const uint32_t n = L.occurrences[s]++;
      if (n == 0) L.touched.push_back(s);
      L.keys.emplace_back((static_cast<uint64_t>(s) << 40) | (static_cast<uint64_t>(n) << 5) | lane, &e);
    }
  }
  std::sort(L.keys.begin(), L.keys.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  for (size_t i = 0; i < L.keys.size();) {
    const uint64_t request = L.keys[i].first >> 5;
    size_t j = i;
    while (j < L.keys.size() && (L.keys[j].first >> 5) == request) ++j;
    SiteRecord& site = L.sites[static_cast<size_t>(request >> 35)];
    // Lanes of one instruction normally share a space; a generic pointer that differs per lane makes
    // one request per space.
    for (Space space : {kGlobal, kSharedDynamic, kSharedStatic}) {
      L.lanes.clear();
      bool store = false;
      int64_t l1_phase = -1;
      for (size_t k = i; k < j; ++k) {
        const Event& e = *L.keys[k].second;
        if (e.space() != space) continue;
        const uint64_t a = space == kSharedDynamic ? e.address() - L.smem_begin : e.address();
        L.lanes.push_back(LaneAccess{static_cast<unsigned>(L.keys[k].first & 31u), a, e.size()});
        store = e.store();
        if (L.lanes.size() == 1)
          l1_phase = space == kGlobal && !store && !e.async ? static_cast<int64_t>(e.phase) : int64_t{-1};
      }
      if (!L.lanes.empty()) account_request(L, site, space, store, l1_phase);
    }
    i = j;
  }
}

// ---------------------------------------------------------------------------------------------
// The executor's hooks
// ---------------------------------------------------------------------------------------------

bool hook_launch_begin(const void* kernel, dim3 grid, dim3 block, const void* smem, size_t smem_bytes) {
  State& st = state();
  std::lock_guard<std::mutex> lk(st.mu);
  if (!st.capturing) return false;
  auto L = std::make_unique<Launch>();
  L->kernel = kernel;
  L->rec.grid[0] = grid.x, L->rec.grid[1] = grid.y, L->rec.grid[2] = grid.z;
  L->rec.block[0] = block.x, L->rec.block[1] = block.y, L->rec.block[2] = block.z;
  L->rec.dynamic_smem_bytes = smem_bytes;
  const uint64_t blocks = static_cast<uint64_t>(grid.x) * grid.y * grid.z;
  L->rec.total_blocks = blocks;
  L->threads_per_block = block.x * block.y * block.z;
  L->threads.resize(L->threads_per_block);
  L->smem_begin = reinterpret_cast<uint64_t>(smem);
  L->smem_end = L->smem_begin + smem_bytes;
  L->static_ranges = writable_segments(kernel);
  for (const auto& [begin, bytes] : device_allocations()) {
    Allocation a;
    a.begin = begin;
    a.end = begin + bytes;
    L->allocations.push_back(std::move(a));
  }
  const uint64_t budget = st.options.max_blocks;
  if (budget > 0 && blocks > budget) {
    // Strata of consecutive blocks, one block from each: the first and the last block of the grid
    // (image corners in every tiled kernel) and one at a seeded random place in every other stratum
    // (interior and edge tiles in their proportions, without aliasing on the tile grid's period).
    uint64_t seed = blocks * 0x9e3779b97f4a7c15ull ^ budget;
    auto next = [&seed] {
      uint64_t z = (seed += 0x9e3779b97f4a7c15ull);
      z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
      z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
      return z ^ (z >> 31);
    };
    for (uint64_t j = 0; j < budget; ++j) {
      const uint64_t lo = blocks * j / budget, hi = blocks * (j + 1) / budget;
      const uint64_t pick = j == 0 ? lo : j + 1 == budget ? hi - 1 : lo + next() % (hi - lo);
      L->picks.push_back(pick);
      L->weights.push_back(static_cast<double>(hi - lo));
    }
    L->rec.exact = false;
  }
  g_launch = L.get();
  st.launch = std::move(L);
  return true;
}

bool hook_run_block(uint64_t linear) {
  Launch& L = *g_launch;
  if (L.picks.empty()) return true;
  while (L.cursor < L.picks.size() && L.picks[L.cursor] < linear) ++L.cursor;
  return L.cursor < L.picks.size() && L.picks[L.cursor] == linear;
}

void hook_block_begin(uint64_t) {
  Launch& L = *g_launch;
  L.weight = L.picks.empty() ? 1.0 : L.weights[L.cursor];
  t_counting = true;
}

void hook_block_end() {
  t_counting = false;
  Launch& L = *g_launch;
  LaunchRecord& r = L.rec;
  const double w = L.weight;
  double block_chain = 0;
  for (ThreadCounts& t : L.threads) {
    t.end_batch();
    r.threads += w;
    r.fmas += static_cast<double>(t.fmas) * w;
    r.mma_flops += static_cast<double>(t.mma_flops) * w;
    r.load_batches += static_cast<double>(t.batches) * w;
    r.batched_loads += static_cast<double>(t.batched) * w;
    r.max_batches_per_thread = std::max(r.max_batches_per_thread, t.round_trips);
    block_chain = std::max(block_chain, t.round_trips);
  }
  r.block_chain_batches += block_chain * w;
  L.block_weights.push_back(w);
  for (unsigned first = 0; first < L.threads_per_block; first += 32) {
    process_warp(L, first, std::min(32u, L.threads_per_block - first));
  }
  for (const auto& [phase, repeats] : L.l1_repeats) {
    const double footprint = static_cast<double>(L.l1_sectors[phase].size() * kSectorBytes);
    r.l1_repeat_sectors += static_cast<double>(repeats) * w;
    r.l1_repeat_footprint += static_cast<double>(repeats) * w * footprint;
  }
  L.l1_sectors.clear();
  L.l1_repeats.clear();
  for (ThreadCounts& t : L.threads) {
    t.events.clear();
    t.phase = 0;
    t.fmas = t.mma_flops = t.batches = t.batched = 0;
    t.batch = 0;
    t.round_trips = 0;
  }
  ++r.sampled_blocks;
}

void hook_thread_waits() {
  if (t_counting) g_launch->threads[linear_thread()].end_batch();
}

void hook_thread_at_barrier() {
  if (t_counting) ++g_launch->threads[linear_thread()].phase;
}

void hook_launch_end() {
  State& st = state();
  std::lock_guard<std::mutex> lk(st.mu);
  Launch& L = *g_launch;
  LaunchRecord& r = L.rec;
  const double sector_bytes = static_cast<double>(kSectorBytes);
  for (const Allocation& a : L.allocations) {
    const double sectors = std::ceil(static_cast<double>(a.end - a.begin) / kSectorBytes);
    // Exact: every sector touched once. Sampled: shared sectors once, the others for the blocks their
    // one sampled block stands for; neighbouring blocks' halos, which isolated samples each count
    // again, cannot exceed the allocation.
    auto distinct = [&](const Footprint& f) {
      double est = static_cast<double>(f.shared) + static_cast<double>(f.single);
      if (!r.exact) {
        est = static_cast<double>(f.shared);
        for (uint32_t o : f.owner) {
          if (o != 0 && o != kShared) est += L.block_weights[o - 1];
        }
      }
      return std::min(est, sectors) * sector_bytes;
    };
    r.dram_read_bytes += distinct(a.read);
    r.dram_write_bytes += distinct(a.write);
  }
  r.sites = std::move(L.sites);
  st.records.push_back(std::move(r));
  st.kernels.push_back(L.kernel);
  g_launch = nullptr;
  st.launch.reset();
}

const ExecutorHooks kHooks = {hook_launch_begin, hook_run_block,  hook_block_begin,      hook_block_end,
                              hook_thread_waits, hook_launch_end, hook_thread_at_barrier};

}  // namespace

bool begin_capture(const CaptureOptions& options, std::string* error) {
  State& st = state();
  {
    std::lock_guard<std::mutex> lk(st.mu);
    if (st.capturing) {
      if (error != nullptr) *error = "a capture is already running";
      return false;
    }
    st.capturing = true;
    st.options = options;
    st.records.clear();
    st.kernels.clear();
  }
  executor_hooks().store(&kHooks, std::memory_order_release);
  return true;
}

std::vector<LaunchRecord> end_capture() {
  State& st = state();
  std::vector<LaunchRecord> records;
  std::vector<const void*> kernels;
  {
    std::lock_guard<std::mutex> device_lock(device_mutex());  // no counted launch is in flight
    executor_hooks().store(nullptr, std::memory_order_release);
    std::lock_guard<std::mutex> lk(st.mu);
    st.capturing = false;
    records = std::move(st.records);
    kernels = std::move(st.kernels);
    st.records.clear();
    st.kernels.clear();
  }
  // Names: every kernel, and the sites asked for. The return address follows the hook's call, so
  // address - 1 lies within the instrumented access's line.
  using SiteNames = CaptureOptions::SiteNames;
  const SiteNames which = st.options.site_names;
  auto named_sites = [which](LaunchRecord& r) {
    std::vector<SiteRecord*> v;
    if (which == SiteNames::kAll) {
      for (SiteRecord& s : r.sites) v.push_back(&s);
    } else if (which == SiteNames::kWorst) {
      for (const SiteRecord* s : {worst_shared_site(r), worst_global_site(r)}) {
        if (s != nullptr) v.push_back(&r.sites[static_cast<size_t>(s - r.sites.data())]);
      }
    }
    return v;
  };
  std::vector<uint64_t> addresses;
  std::vector<std::string*> targets;
  std::vector<bool> is_kernel;
  for (size_t i = 0; i < records.size(); ++i) {
    addresses.push_back(reinterpret_cast<uint64_t>(kernels[i]));
    targets.push_back(&records[i].kernel);
    is_kernel.push_back(true);
    for (SiteRecord* s : named_sites(records[i])) {
      addresses.push_back(s->pc - 1);
      targets.push_back(&s->where);
      is_kernel.push_back(false);
    }
  }
  const std::vector<CodeLocation> names = resolve_code(addresses, which != SiteNames::kNone);
  for (size_t k = 0; k < names.size(); ++k) {
    *targets[k] = is_kernel[k] && !names[k].function.empty() ? names[k].function : names[k].where;
  }
  for (LaunchRecord& r : records) {
    for (SiteRecord& s : r.sites) {
      if (s.where.empty()) {
        char buf[32];
        std::snprintf(buf, sizeof buf, "pc 0x%llx", static_cast<unsigned long long>(s.pc));
        s.where = buf;
      }
    }
  }
  return records;
}

void count_fmas(uint64_t n) {
  if (!t_counting) return;
  ThreadCounts& t = g_launch->threads[linear_thread()];
  t.fmas += n;
  t.end_batch();
}

void count_mma_flops(uint64_t flops) {
  if (!t_counting) return;
  ThreadCounts& t = g_launch->threads[linear_thread()];
  t.mma_flops += flops;
  t.end_batch();
}

void count_async_copy(void* dst, const void* src, unsigned bytes) {
  if (!t_counting) return;
  const uint64_t pc = reinterpret_cast<uint64_t>(__builtin_return_address(0));
  if (src != nullptr) record(src, bytes, false, pc, true);
  record(dst, bytes, true, pc, true);
}

void count_async_wait(uint64_t pending_loads, int newer_groups) {
  if (!t_counting) return;
  ThreadCounts& t = g_launch->threads[linear_thread()];
  // Loads of its own the thread issued since its last wait travel beside the copies: one batch. It is a
  // whole round trip when it holds such loads (issued just now), else 1 / (N + 1) of one (the copies it
  // waits for were issued N stages earlier).
  const bool own = t.batch > 0;
  t.batch += static_cast<uint32_t>(pending_loads);
  t.end_batch(own ? 1.0 : 1.0 / (1.0 + newer_groups));
}

}  // namespace dsconv::emu::model

// ---------------------------------------------------------------------------------------------
// The instrumentation's entry points (clang -fsanitize-coverage=trace-loads,trace-stores) and the
// wrapped fmaf (-Wl,--wrap=fmaf). Outside a counted block each is one thread-local test.
// ---------------------------------------------------------------------------------------------

#define DSCONV_MODEL_HOOK(N, T)                                                                         \
  extern "C" DSCONV_MODEL_API void __sanitizer_cov_load##N(T* p) {                                      \
    if (dsconv::emu::model::t_counting)                                                                 \
      dsconv::emu::model::record(p, N, false, reinterpret_cast<uint64_t>(__builtin_return_address(0))); \
  }                                                                                                     \
  extern "C" DSCONV_MODEL_API void __sanitizer_cov_store##N(T* p) {                                     \
    if (dsconv::emu::model::t_counting)                                                                 \
      dsconv::emu::model::record(p, N, true, reinterpret_cast<uint64_t>(__builtin_return_address(0)));  \
  }
DSCONV_MODEL_HOOK(1, uint8_t)
DSCONV_MODEL_HOOK(2, uint16_t)
DSCONV_MODEL_HOOK(4, uint32_t)
DSCONV_MODEL_HOOK(8, uint64_t)
DSCONV_MODEL_HOOK(16, __int128)
#undef DSCONV_MODEL_HOOK

extern "C" float __real_fmaf(float a, float b, float c);
extern "C" DSCONV_MODEL_API float __wrap_fmaf(float a, float b, float c) {
  dsconv::emu::model::count_fmas(1);
  return __real_fmaf(a, b, c);
}

// Kernel sources are compiled with -fno-builtin-memcpy in the profile build, so each memcpy stays a
// call the link wraps (-Wl,--wrap=memcpy) instead of scalar accesses the optimizer splits it into.
extern "C" void* __real_memcpy(void* dst, const void* src, size_t n);
extern "C" DSCONV_MODEL_API void* __wrap_memcpy(void* dst, const void* src, size_t n) {
  if (dsconv::emu::model::t_counting)
    dsconv::emu::model::record_copy(dst, src, n, reinterpret_cast<uint64_t>(__builtin_return_address(0)));
  return __real_memcpy(dst, src, n);
}
