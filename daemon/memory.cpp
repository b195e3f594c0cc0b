#include "daemon/memory.hpp"

#ifdef CASACAL_JEMALLOC
#include <jemalloc/jemalloc.h>

#include <string>
#include <sys/mman.h>
#include <sys/types.h>
#else
#include <malloc.h>
#endif

namespace casacal::daemon {

#ifdef CASACAL_JEMALLOC

// jemalloc keeps the objects of a snapshot together instead of scattering
// them between the build's scratch allocations, so that what a build and
// the snapshot it replaces free is whole pages it can give back (glibc's
// malloc_trim finds few: see docs/performance.md).
void release_free_memory() noexcept {
    // "arena.<MALLCTL_ARENAS_ALL>.purge": every arena's unused dirty pages.
    mallctl("arena.4096.purge", nullptr, nullptr, nullptr, 0);
}

static_assert(MALLCTL_ARENAS_ALL == 4096);

} // namespace casacal::daemon

// jemalloc's compiled-in options (MALLOC_CONF still overrides them). One
// arena instead of one per thread: the build threads live a few
// milliseconds, and the pages fresh arenas fault in cost `agenda` 3–5 ms of
// its 60; thread caches keep the shared arena's lock out of the way.
const char* malloc_conf = "narenas:1"; // declared extern "C" by jemalloc.h

namespace casacal::daemon {

void tune_memory_for_daemon() noexcept {
    // Dirty pages are returned after about 500 ms, with MADV_DONTNEED at
    // once (muzzy pages, merely MADV_FREE'd, would still count as resident).
    ssize_t dirty_ms = 500, muzzy_ms = 0;
    mallctl("arenas.dirty_decay_ms", nullptr, nullptr, &dirty_ms, sizeof dirty_ms);
    mallctl("arenas.muzzy_decay_ms", nullptr, nullptr, &muzzy_ms, sizeof muzzy_ms);
    unsigned arenas = 0;
    std::size_t size = sizeof arenas;
    if (mallctl("arenas.narenas", &arenas, &size, nullptr, 0) == 0) {
        for (unsigned i = 0; i < arenas; ++i) {
            const std::string arena = "arena." + std::to_string(i);
            // Arenas not created yet refuse (EFAULT) and take the defaults above.
            mallctl((arena + ".dirty_decay_ms").c_str(), nullptr, nullptr, &dirty_ms, sizeof dirty_ms);
            mallctl((arena + ".muzzy_decay_ms").c_str(), nullptr, nullptr, &muzzy_ms, sizeof muzzy_ms);
        }
    }
    // Decay otherwise only advances when the program allocates.
    bool background = true;
    mallctl("background_thread", nullptr, nullptr, &background, sizeof background);
}

namespace {

extent_hooks_t* default_hooks = nullptr;
extent_hooks_t huge_page_hooks;

// jemalloc's own extent allocation, then the kernel asked for huge pages
// for it (the machine's THP mode is usually `madvise`).
void* allocate_huge(extent_hooks_t*, void* at, std::size_t size, std::size_t alignment, bool* zero,
                    bool* commit, unsigned arena) {
    void* p = default_hooks->alloc(default_hooks, at, size, alignment, zero, commit, arena);
    if (p) ::madvise(p, size, MADV_HUGEPAGE);
    return p;
}

} // namespace

void tune_memory_for_command() noexcept {
    extent_hooks_t* current = nullptr;
    std::size_t size = sizeof current;
    if (mallctl("arena.0.extent_hooks", &current, &size, nullptr, 0) != 0 || !current ||
        current == &huge_page_hooks) // installed already
        return;
    default_hooks = current;
    huge_page_hooks = *current;
    huge_page_hooks.alloc = &allocate_huge;
    extent_hooks_t* mine = &huge_page_hooks;
    mallctl("arena.0.extent_hooks", nullptr, nullptr, &mine, sizeof mine);
}

#else

void tune_memory_for_daemon() noexcept {}

void tune_memory_for_command() noexcept {}

void release_free_memory() noexcept {
    malloc_trim(0);
}

#endif

} // namespace casacal::daemon
