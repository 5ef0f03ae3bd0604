// Fuzz target: the C API as an engine might misuse it. The input is a program over a few handle slots:
// create / parse / destroy problems, create (with options) / destroy plans, every query, and runs by
// dsconv_plan_run and dsconv_plan_execute on tiny problems, with handles that are live, destroyed
// (stale), null, of the other kind, misaligned, or foreign (bytes the fuzzer wrote, possibly forging a
// handle's contents), and tensors that are right, null, misaligned, overlapping or unused. Checked:
//  - a handle argument that is not a live handle of its kind is DSCONV_STATUS_INVALID_ARGUMENT with a
//    message, never a crash or a read of freed memory (AddressSanitizer);
//  - every failure leaves a message starting with the function's name;
//  - a run that should be refused is refused and leaves the output (and every input) untouched; a run
//    that should succeed writes every output element and nothing else.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "dsconv/dsconv.h"
#include "fuzz/fuzz_support.hpp"

namespace {

using dsconv::fuzz::ByteReader;

constexpr int kSlots = 4;

template <class E>
void store_enum(E* field, int v) {
  static_assert(sizeof(E) == sizeof(int), "C enums are int-sized");
  std::memcpy(field, &v, sizeof v);
}

std::string last_error() { return dsconv_last_error(); }

void check_failure(dsconv_status_t st, const char* func) {
  FUZZ_CHECK(st >= DSCONV_STATUS_INVALID_ARGUMENT && st <= DSCONV_STATUS_INTERNAL_ERROR,
             std::string(func) + " returned " + std::to_string(static_cast<int>(st)));
  FUZZ_CHECK(st != DSCONV_STATUS_INTERNAL_ERROR, std::string(func) + " hit an internal error: " + last_error());
  FUZZ_CHECK(last_error().rfind(std::string(func) + ": ", 0) == 0,
             std::string(func) + " failed without its message: '" + last_error() + "'");
}

void check_invalid_handle(dsconv_status_t st, const char* func) {
  FUZZ_CHECK(st == DSCONV_STATUS_INVALID_ARGUMENT,
             std::string(func) + " accepted a handle that is not live (" + dsconv_status_string(st) + ")");
  check_failure(st, func);
  FUZZ_CHECK(last_error().find(" is null") != std::string::npos || last_error().find("not a live") != std::string::npos,
             std::string(func) + ": the message does not say what is wrong with the handle: " + last_error());
}

struct PlanRecord {
  dsconv_plan_t handle = nullptr;
  dsconv::Problem problem;
};

class Harness {
 public:
  explicit Harness(ByteReader* r) : r_(*r) {}
  ~Harness() {
    // Everything still live is destroyed (libFuzzer's leak check would report what is not).
    for (dsconv_plan_t& p : plans_)
      if (live_plan(p)) FUZZ_CHECK(dsconv_plan_destroy(forget_plan(p)) == DSCONV_STATUS_SUCCESS, "final plan destroy");
    for (dsconv_problem_t& p : problems_)
      if (live_problem(p)) FUZZ_CHECK(dsconv_problem_destroy(forget_problem(p)) == DSCONV_STATUS_SUCCESS, "destroy");
  }

  void step() {
    switch (r_.u8() % 10) {
      case 0:
        create_problem();
        break;
      case 1:
        parse_problem();
        break;
      case 2:
        destroy_problem();
        break;
      case 3:
        query_problem();
        break;
      case 4:
        create_plan();
        break;
      case 5:
        destroy_plan();
        break;
      case 6:
        query_plan();
        break;
      case 7:
      case 8:
        run_plan(r_.flag());
        break;
      default:
        forge();
        break;
    }
  }

 private:
  // --- handles ---------------------------------------------------------------------------------
  bool live_problem(dsconv_problem_t p) const { return p != nullptr && live_problems_.count(p) > 0; }
  bool live_plan(dsconv_plan_t p) const { return p != nullptr && live_plans_.count(p) > 0; }
  dsconv_problem_t forget_problem(dsconv_problem_t p) {
    live_problems_.erase(p);
    descriptors_.erase(p);
    return p;
  }
  dsconv_plan_t forget_plan(dsconv_plan_t p) {
    live_plans_.erase(p);
    plan_problems_.erase(p);
    return p;
  }

  // A problem handle as a caller might pass one: a slot's (live or stale), null, a plan, misaligned, or
  // the foreign bytes.
  dsconv_problem_t problem_arg() {
    const uint8_t sel = r_.u8();
    switch (sel % 8) {
      case 4:
        return nullptr;
      case 5:
        return reinterpret_cast<dsconv_problem_t>(plans_[sel / 8 % kSlots]);
      case 6:
        return reinterpret_cast<dsconv_problem_t>(reinterpret_cast<uintptr_t>(problems_[sel / 8 % kSlots]) + 1 +
                                                  sel / 32);
      case 7:
        return reinterpret_cast<dsconv_problem_t>(foreign_ + sel / 8 % 8);
      default:
        return problems_[sel % 4];
    }
  }
  dsconv_plan_t plan_arg() {
    const uint8_t sel = r_.u8();
    switch (sel % 8) {
      case 4:
        return nullptr;
      case 5:
        return reinterpret_cast<dsconv_plan_t>(problems_[sel / 8 % kSlots]);
      case 6:
        return reinterpret_cast<dsconv_plan_t>(reinterpret_cast<uintptr_t>(plans_[sel / 8 % kSlots]) + 1 + sel / 32);
      case 7:
        return reinterpret_cast<dsconv_plan_t>(foreign_ + sel / 8 % 8);
      default:
        return plans_[sel % 4];
    }
  }

  // Overwrites the foreign bytes (e.g. with a copy of a live handle's first bytes, or its tag).
  void forge() {
    const uint8_t sel = r_.u8();
    if (sel % 4 == 0) {
      const void* src = sel & 4 ? static_cast<const void*>(plans_[sel / 8 % kSlots])
                                : static_cast<const void*>(problems_[sel / 8 % kSlots]);
      if (src != nullptr && (live_problem(static_cast<dsconv_problem_t>(const_cast<void*>(src))) ||
                             live_plan(static_cast<dsconv_plan_t>(const_cast<void*>(src)))))
        std::memcpy(foreign_, src, 8);  // the tag of a live handle, which a tag check alone would believe
      return;
    }
    const std::string bytes = r_.text(sizeof foreign_);
    std::memcpy(foreign_, bytes.data(), bytes.size());
  }

  // --- problems --------------------------------------------------------------------------------
  void keep_problem(size_t slot, dsconv_status_t st, dsconv_problem_t made, const char* func) {
    if (st != DSCONV_STATUS_SUCCESS) {
      check_failure(st, func);
      FUZZ_CHECK(made == nullptr, std::string(func) + " failed but returned a handle");
      return;
    }
    FUZZ_CHECK(made != nullptr && !live_problem(made), std::string(func) + " returned a null or live handle");
    if (live_problem(problems_[slot]))
      FUZZ_CHECK(dsconv_problem_destroy(forget_problem(problems_[slot])) == DSCONV_STATUS_SUCCESS, "destroy");
    problems_[slot] = made;
    live_problems_.insert(made);
    size_t need = 0;
    FUZZ_CHECK(dsconv_problem_descriptor(made, nullptr, 0, &need) == DSCONV_STATUS_SUCCESS, "size query");
    std::string d(need, '\0');
    FUZZ_CHECK(dsconv_problem_descriptor(made, d.data(), d.size(), &need) == DSCONV_STATUS_SUCCESS, "descriptor");
    d.resize(need - 1);
    dsconv::Result<dsconv::Problem> p = dsconv::Problem::parse(d);
    FUZZ_CHECK(p.is_ok(), "a created problem's descriptor does not parse: " + d);
    descriptors_[made] = *p;
  }

  void create_problem() {
    const size_t slot = r_.u8() % kSlots;
    dsconv_problem_desc_t d;
    dsconv_problem_desc_init(&d);
    // Tiny sizes, so that runs take microseconds; the enums sometimes out of range.
    store_enum(&d.op, r_.u8() % 4);
    d.batch = 1 + r_.u8() % 2;
    d.height = 1 + r_.u8() % 6;
    d.width = 1 + r_.u8() % 6;
    d.channels = 1 + r_.u8() % 4;
    d.kernel_h = 1 + r_.u8() % 3;
    d.kernel_w = 1 + r_.u8() % 3;
    d.multiplier = 1 + r_.u8() % 2;
    d.out_channels = r_.u8() % 5;
    d.stride_h = r_.u8() % 4;
    d.stride_w = 1 + r_.u8() % 2;
    d.dilation_h = 1 + r_.u8() % 2;
    d.dilation_w = 1 + r_.u8() % 2;
    store_enum(&d.padding, r_.u8() % 4);
    d.pad_top = r_.u8() % 3;
    d.pad_bottom = r_.u8() % 3;
    d.pad_left = r_.u8() % 3;
    d.pad_right = r_.u8() % 3;
    store_enum(&d.layout, r_.u8() % 2);
    store_enum(&d.filter_layout, r_.u8() % 2);
    store_enum(&d.dtype, r_.u8() % 3);
    const uint8_t flags = r_.u8();
    d.has_bias = flags & 1;
    d.has_residual = flags & 2;
    store_enum(&d.activation, (flags >> 2) % 8);
    dsconv_problem_t made = nullptr;
    const dsconv_status_t st = dsconv_problem_create(r_.u8() == 0xff ? nullptr : &made, &d);
    keep_problem(slot, st, made, "dsconv_problem_create");
  }

  void parse_problem() {
    const size_t slot = r_.u8() % kSlots;
    const std::string text = r_.text(r_.u8() % 64);
    dsconv_problem_t made = nullptr;
    const dsconv_status_t st = dsconv_problem_parse(&made, text.c_str());
    keep_problem(slot, st, made, "dsconv_problem_parse");
  }

  void destroy_problem() {
    const dsconv_problem_t p = problem_arg();
    const bool live = live_problem(p);
    const dsconv_status_t st = dsconv_problem_destroy(p);
    if (live) {
      FUZZ_CHECK(st == DSCONV_STATUS_SUCCESS, "destroying a live problem failed: " + last_error());
      forget_problem(p);  // the slot keeps the stale value
    } else if (p == nullptr) {
      FUZZ_CHECK(st == DSCONV_STATUS_SUCCESS, "destroying NULL must succeed like free()");
    } else {
      check_invalid_handle(st, "dsconv_problem_destroy");
    }
  }

  void query_problem() {
    const dsconv_problem_t p = problem_arg();
    const bool live = live_problem(p);
    if (r_.flag()) {
      int64_t dims[4] = {-7, -7, -7, -7};
      const dsconv_status_t st = dsconv_problem_output_shape(p, r_.u8() == 0xff ? nullptr : dims);
      if (!live) return check_invalid_handle(st, "dsconv_problem_output_shape");
      if (st != DSCONV_STATUS_SUCCESS) return check_failure(st, "dsconv_problem_output_shape");
      const std::vector<int64_t> want = descriptors_.at(p).output_shape();
      FUZZ_CHECK(std::equal(want.begin(), want.end(), dims), "output shape disagrees");
      return;
    }
    const std::string want = live ? descriptors_.at(p).descriptor() : std::string();
    const uint8_t sel = r_.u8();
    const size_t size = sel % 4 == 0 ? 0 : sel % 4 == 1 ? want.size() : sel % 4 == 2 ? want.size() + 1 : 512;
    std::string buf(512, '#');
    size_t need = 12345;
    const dsconv_status_t st = dsconv_problem_descriptor(p, (sel & 4) ? nullptr : buf.data(), (sel & 4) ? 0 : size,
                                                         (sel & 8) ? nullptr : &need);
    if (!live) return check_invalid_handle(st, "dsconv_problem_descriptor");
    if (!(sel & 8)) FUZZ_CHECK(need == want.size() + 1, "needed size disagrees");
    if (st != DSCONV_STATUS_SUCCESS) {
      check_failure(st, "dsconv_problem_descriptor");
      FUZZ_CHECK(buf == std::string(512, '#'), "a failed descriptor call wrote into buf");
      return;
    }
    if (!(sel & 4)) FUZZ_CHECK(buf.compare(0, want.size() + 1, want.c_str(), want.size() + 1) == 0, "descriptor text");
  }

  // --- plans -----------------------------------------------------------------------------------
  void create_plan() {
    const size_t slot = r_.u8() % kSlots;
    const dsconv_problem_t p = problem_arg();
    static const char* const kBackends[] = {"cpu-ref", "auto", "cuda", "cudnn", "cpu", "bogus", "", nullptr};
    const char* backend = kBackends[r_.u8() % 8];
    static const char* const kPrefixes[] = {"ref", "ref_direct", "dw_", "", "cudnn", nullptr};
    const char* skip[3];
    const char* only[3];
    dsconv_plan_options_t o;
    dsconv_plan_options_init(&o);
    const uint8_t sel = r_.u8();
    const bool with_options = sel & 1;
    if (with_options) {
      o.skip_count = (sel >> 1) % 3;
      o.only_count = (sel >> 3) % 3;
      for (size_t i = 0; i < 3; ++i) skip[i] = kPrefixes[r_.u8() % 6], only[i] = kPrefixes[r_.u8() % 6];
      o.skip_implementations = (sel & 0x20) && o.skip_count > 0 ? nullptr : skip;
      o.only_implementations = (sel & 0x40) && o.only_count > 0 ? nullptr : only;
      o.autotune = (sel & 0x80) ? 1 : 0;
      o.deterministic = r_.u8() & 1;
    }
    dsconv_plan_t made = reinterpret_cast<dsconv_plan_t>(foreign_);  // must be overwritten
    const dsconv_status_t st =
        with_options ? dsconv_plan_create_with_options(&made, p, backend, &o) : dsconv_plan_create(&made, p, backend);
    const char* func = with_options ? "dsconv_plan_create_with_options" : "dsconv_plan_create";
    if (!live_problem(p)) {
      check_invalid_handle(st, func);
      FUZZ_CHECK(made == nullptr, "a failed plan creation left a handle");
      return;
    }
    if (st != DSCONV_STATUS_SUCCESS) {
      check_failure(st, func);
      FUZZ_CHECK(made == nullptr, "a failed plan creation left a handle");
      return;
    }
    FUZZ_CHECK(made != nullptr && !live_plan(made), "plan creation returned a null or live handle");
    if (live_plan(plans_[slot]))
      FUZZ_CHECK(dsconv_plan_destroy(forget_plan(plans_[slot])) == DSCONV_STATUS_SUCCESS, "destroy");
    plans_[slot] = made;
    live_plans_.insert(made);
    plan_problems_[made] = descriptors_.at(p);
  }

  void destroy_plan() {
    const dsconv_plan_t p = plan_arg();
    const bool live = live_plan(p);
    const dsconv_status_t st = dsconv_plan_destroy(p);
    if (live) {
      FUZZ_CHECK(st == DSCONV_STATUS_SUCCESS, "destroying a live plan failed: " + last_error());
      forget_plan(p);
    } else if (p == nullptr) {
      FUZZ_CHECK(st == DSCONV_STATUS_SUCCESS, "destroying NULL must succeed like free()");
    } else {
      check_invalid_handle(st, "dsconv_plan_destroy");
    }
  }

  void query_plan() {
    const dsconv_plan_t p = plan_arg();
    const bool live = live_plan(p);
    const uint8_t sel = r_.u8();
    const bool null_out = (sel & 4) != 0;
    dsconv_status_t st;
    const char* func;
    switch (sel % 4) {
      case 0: {
        size_t bytes = 77;
        st = dsconv_plan_workspace_size(p, null_out ? nullptr : &bytes), func = "dsconv_plan_workspace_size";
        if (live && !null_out) FUZZ_CHECK(st == DSCONV_STATUS_SUCCESS && bytes == 0, "a host plan needs no workspace");
        break;
      }
      case 1: {
        const char* name = nullptr;
        st = dsconv_plan_backend(p, null_out ? nullptr : &name), func = "dsconv_plan_backend";
        if (live && !null_out) FUZZ_CHECK(st == DSCONV_STATUS_SUCCESS && name != nullptr && *name != '\0', "backend");
        break;
      }
      case 2: {
        const char* name = nullptr;
        st = dsconv_plan_implementation(p, null_out ? nullptr : &name), func = "dsconv_plan_implementation";
        if (live && !null_out) FUZZ_CHECK(st == DSCONV_STATUS_SUCCESS && name != nullptr && *name != '\0', "impl");
        break;
      }
      default: {
        int on_device = 7;
        st = dsconv_plan_uses_device_memory(p, null_out ? nullptr : &on_device),
        func = "dsconv_plan_uses_device_memory";
        if (live && !null_out)
          FUZZ_CHECK(st == DSCONV_STATUS_SUCCESS && on_device == 0, "a fuzz build runs on the host");
        break;
      }
    }
    if (!live) return check_invalid_handle(st, func);
    if (null_out) {
      FUZZ_CHECK(st == DSCONV_STATUS_INVALID_ARGUMENT, std::string(func) + " accepted a null out-parameter");
      check_failure(st, func);
    }
  }

  // --- runs ---------------------------------------------------------------------------------------
  void run_plan(bool by_slots) {
    constexpr int kCount = DSCONV_ARG_COUNT;
    const dsconv_plan_t plan = plan_arg();
    const bool live = live_plan(plan);
    const dsconv::Problem problem = live ? plan_problems_.at(plan) : dsconv::Problem();
    // A plan of a problem parsed from fuzzed text may be large: its runs are not tried (one would take
    // minutes on the host; a long run found such an input as a 4-minute timeout).
    if (live && !dsconv::fuzz::small_enough_to_run(problem)) return;
    const size_t es = live ? dsconv::dtype_size(problem.dtype()) : 4;
    auto used = [&](int i) { return live && problem.arg_use(static_cast<dsconv::Arg>(i)) != dsconv::ArgUse::kUnused; };
    // One arena: each slot's tensor at its own 64-byte aligned place with a gap after it, the output
    // after the readable slots, so that a tensor placed to overlap the output stays inside the arena.
    size_t offset[kCount] = {};
    size_t bytes[kCount] = {};
    size_t total = 64;
    for (int i = 0; i < kCount; ++i) {
      const int64_t n = used(i) ? problem.arg_elements(static_cast<dsconv::Arg>(i)) : 4;
      bytes[i] = static_cast<size_t>(n) * es;
      offset[i] = total;
      total = (total + bytes[i] + 64 + 63) / 64 * 64;
    }
    std::vector<uint8_t> arena(total + 64, 0xee);
    const size_t out = offset[DSCONV_ARG_OUTPUT];
    const size_t out_bytes = bytes[DSCONV_ARG_OUTPUT];
    for (int i = 0; i < kCount; ++i) {
      // Inputs hold 1.0 (as f16; 0x3c003c00 is 1.00048828125 as f32), the output NaN in every dtype.
      uint8_t* p = arena.data() + offset[i];
      if (i == DSCONV_ARG_OUTPUT) {
        std::memset(p, 0xff, bytes[i]);
      } else {
        for (size_t b = 0; b + 1 < bytes[i]; b += 2) p[b] = 0x00, p[b + 1] = 0x3c;
      }
    }

    // Where each slot's pointer goes: mostly right, the rest spread over the misuses.
    uint8_t* ptr[kCount];
    bool repeat[kCount] = {};
    for (int i = 0; i < kCount; ++i) {
      const uint8_t sel = r_.u8();
      uint8_t* right = arena.data() + offset[i];
      if (sel < 160) {
        ptr[i] = used(i) || sel % 2 == 1 ? right : nullptr;
      } else {
        switch (sel % 5) {
          case 0:
            ptr[i] = nullptr;
            break;
          case 1:  // misaligned for every dtype
            ptr[i] = right + 1 + sel % (es == 4 ? 3 : 1);
            break;
          case 2:  // the output itself
            ptr[i] = arena.data() + out;
            break;
          case 3:  // ends inside the output
            ptr[i] = i == DSCONV_ARG_OUTPUT ? right : arena.data() + out - std::min(bytes[i], out_bytes) + es;
            break;
          default:  // right, and given twice when passed by slots
            ptr[i] = right;
            repeat[i] = true;
            break;
        }
      }
    }
    // The fixed form (dsconv_plan_run) has no slot for a residual or the reserved slots: they are null.
    if (!by_slots)
      for (int i = DSCONV_ARG_RESIDUAL; i < kCount; ++i)
        if (i != DSCONV_ARG_OUTPUT) ptr[i] = nullptr;

    // What Plan::run must say: every used slot given and element-aligned, no unused slot given, nothing
    // overlapping the output but a residual that is exactly the output (in place).
    bool expect_ok = live;
    bool in_place = false;
    const uint8_t* out_ptr = ptr[DSCONV_ARG_OUTPUT];
    for (int i = 0; i < kCount; ++i) {
      if (!used(i)) {
        if (ptr[i] != nullptr) expect_ok = false;
        continue;
      }
      if (ptr[i] == nullptr || reinterpret_cast<uintptr_t>(ptr[i]) % es != 0) {
        expect_ok = false;
        continue;
      }
      if (i == DSCONV_ARG_OUTPUT || out_ptr == nullptr) continue;
      if (i == DSCONV_ARG_RESIDUAL && ptr[i] == out_ptr) {
        in_place = true;
      } else if (ptr[i] < out_ptr + out_bytes && out_ptr < ptr[i] + bytes[i]) {
        expect_ok = false;
      }
    }
    const std::vector<uint8_t> before = arena;

    const uint8_t ws_sel = r_.u8();
    void* workspace = ws_sel % 3 == 0 ? nullptr : ws_sel % 3 == 1 ? arena.data() : arena.data() + out;
    const size_t ws_size = ws_sel / 3 % 3 == 0 ? 0 : ws_sel / 3 % 3 == 1 ? 16 : SIZE_MAX;
    void* stream = (ws_sel & 0x80) ? static_cast<void*>(foreign_) : nullptr;  // host plans ignore the stream

    dsconv_status_t st;
    const char* func;
    if (by_slots) {
      func = "dsconv_plan_execute";
      std::vector<dsconv_exec_arg_t> args;
      const uint8_t order = r_.u8();
      for (int k = 0; k < kCount; ++k) {
        const int i = (k + order) % kCount;
        if (ptr[i] == nullptr && (order & 1)) continue;  // an absent slot is null
        dsconv_exec_arg_t a;
        store_enum(&a.arg, i);
        a.data = ptr[i];
        args.push_back(a);
        if (repeat[i]) {
          args.push_back(a);
          expect_ok = false;
        }
      }
      if (order >= 0xf0) {  // a slot number that does not exist
        dsconv_exec_arg_t a;
        store_enum(&a.arg, order % 2 ? -1 : DSCONV_ARG_COUNT + order % 7);
        a.data = arena.data();
        args.push_back(a);
        expect_ok = false;
      }
      const bool null_list = !args.empty() && order == 0xee;
      if (null_list) expect_ok = false;
      st = dsconv_plan_execute(plan, args.size(), null_list ? nullptr : args.data(), workspace, ws_size, stream);
    } else {
      func = "dsconv_plan_run";
      st = dsconv_plan_run(plan, ptr[DSCONV_ARG_INPUT], ptr[DSCONV_ARG_FILTER], ptr[DSCONV_ARG_POINTWISE],
                           ptr[DSCONV_ARG_BIAS], ptr[DSCONV_ARG_OUTPUT], workspace, ws_size, stream);
    }
    if (!live) return check_invalid_handle(st, func);
    const std::string d = problem.descriptor();
    if (!expect_ok) {
      FUZZ_CHECK(st != DSCONV_STATUS_SUCCESS, std::string(func) + " accepted a misused run of " + d);
      check_failure(st, func);
      FUZZ_CHECK(arena == before, std::string(func) + " refused a run of " + d + " but wrote memory");
      return;
    }
    FUZZ_CHECK(st == DSCONV_STATUS_SUCCESS, std::string(func) + " refused a proper run of " + d + ": " + last_error());
    // Nothing outside the output changed; every output element was written (not left all-ones, the NaN
    // poison; in place the output held the residual, so only the first check applies).
    for (size_t b = 0; b < arena.size(); ++b) {
      if (b >= out && b < out + out_bytes) continue;
      FUZZ_CHECK(arena[b] == before[b],
                 std::string(func) + " wrote outside the output of " + d + " at byte " + std::to_string(b));
    }
    if (in_place) return;
    for (size_t e = 0; e < out_bytes / es; ++e) {
      bool all_ones = true;
      for (size_t b = 0; b < es; ++b) all_ones = all_ones && arena[out + e * es + b] == 0xff;
      FUZZ_CHECK(!all_ones,
                 std::string(func) + " left output element " + std::to_string(e) + " of " + d + " unwritten");
    }
  }

  ByteReader& r_;
  dsconv_problem_t problems_[kSlots] = {};
  dsconv_plan_t plans_[kSlots] = {};
  std::set<const void*> live_problems_, live_plans_;
  std::map<const void*, dsconv::Problem> descriptors_;
  std::map<const void*, dsconv::Problem> plan_problems_;
  alignas(16) char foreign_[80] = {};
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  ByteReader r(data, size);
  Harness h(&r);
  for (int steps = 0; steps < 64 && !r.empty(); ++steps) h.step();
  return 0;
}
