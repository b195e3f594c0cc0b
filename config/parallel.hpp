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

/// How many blocks of `block` items cover `n` items.
constexpr std::size_t block_count(std::size_t n, std::size_t block) {
    return (n + block - 1) / block;
}

/// Cuts [0, n) into blocks of `block` and calls `f(b, begin, end)` for each
/// block b on up to `threads` threads. Work that fills one output per block,
/// joined in block order afterwards, comes out as a serial loop gives it.
template <class F>
void parallel_blocks(std::size_t n, std::size_t block, unsigned threads, const F& f) {
    parallel_for(block_count(n, block), threads,
                 [&](std::size_t b) { f(b, b * block, std::min(n, (b + 1) * block)); });
}

} // namespace casacal
