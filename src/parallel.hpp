// A minimal parallel-for over [0, count) on std::threads (internal). Work is split into contiguous
// chunks, one per thread; used by host backends and test utilities.
#pragma once

#include <algorithm>
#include <cstdint>
#include <thread>
#include <vector>

namespace dsconv::detail {

inline unsigned host_threads() {
  const unsigned n = std::thread::hardware_concurrency();
  return n == 0 ? 1u : n;
}

// fn(begin, end) is called on disjoint ranges covering [0, count). Runs inline for small counts.
template <class Fn>
void parallel_for(int64_t count, Fn&& fn, int64_t min_per_thread = 1) {
  if (count <= 0) return;
  const int64_t max_threads = std::max<int64_t>(1, count / std::max<int64_t>(1, min_per_thread));
  const int64_t threads = std::min<int64_t>(host_threads(), max_threads);
  if (threads <= 1) {
    fn(int64_t{0}, count);
    return;
  }
  std::vector<std::thread> pool;
  pool.reserve(static_cast<size_t>(threads - 1));
  const int64_t chunk = (count + threads - 1) / threads;
  for (int64_t t = 1; t < threads; ++t) {
    const int64_t b = t * chunk, e = std::min(count, b + chunk);
    if (b < e) pool.emplace_back([&fn, b, e] { fn(b, e); });
  }
  fn(int64_t{0}, std::min(count, chunk));
  for (std::thread& th : pool) th.join();
}

}  // namespace dsconv::detail
