#pragma once
// Handing freed memory back to the system.

namespace casacal::daemon {

/// For a long-running daemon: pages freed outside builds (the snapshot a
/// reload replaced, once its last reader lets go) go back to the system
/// within half a second, from an allocator thread that sleeps while there
/// is nothing to return. One-shot commands keep the allocator's defaults.
void tune_memory_for_daemon() noexcept;

/// For a one-shot command (export, agenda): the memory it allocates from
/// now on is backed by transparent huge pages where the kernel allows them,
/// so a build faults in a few hundred pages instead of tens of thousands.
/// A daemon does not want this: huge pages would keep its resident set
/// larger than the snapshot needs.
void tune_memory_for_command() noexcept;

/// Returns the pages the allocator keeps free to the system: a build frees
/// tens of MiB of scratch memory (parse trees, rendered texts) and, once
/// swapped out, a whole snapshot. Costs a few milliseconds; call it off the
/// io thread.
void release_free_memory() noexcept;

} // namespace casacal::daemon
