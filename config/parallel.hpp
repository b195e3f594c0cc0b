#pragma once
// One helper for the data-parallel loops of loading, building and rendering.

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <thread>
#include <vector>

namespace casacal {

/// Calls `f(i)` for every i in [0, n) on up to `threads` threads (this one
/// included), each i once.
template <class F> void parallel_for(std::size_t n, unsigned threads, const F& f) {
    const std::size_t workers = std::min<std::size_t>(std::max(threads, 1u), n);
    if (workers <= 1) {
        for (std::size_t i = 0; i < n; ++i)
            f(i);
        return;
    }
    std::atomic<std::size_t> next{0};
    const auto work = [&] {
        for (std::size_t i = next++; i < n; i = next++)
            f(i);
    };
    std::vector<std::jthread> helpers;
    helpers.reserve(workers - 1);
    for (std::size_t t = 1; t < workers; ++t)
        helpers.emplace_back(work);
    work();
}

} // namespace casacal
