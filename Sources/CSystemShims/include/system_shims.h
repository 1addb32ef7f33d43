#ifndef ENGRAM_SYSTEM_SHIMS_H
#define ENGRAM_SYSTEM_SHIMS_H

/// Starts writeback of every dirty page of `descriptor` without waiting for it
/// (`sync_file_range(SYNC_FILE_RANGE_WRITE)` on Linux; nothing elsewhere). Returns 0 or an errno.
/// Swift's Glibc module does not import `sync_file_range`, which needs `_GNU_SOURCE`.
int engram_start_writeback(int descriptor);

/// Asks the processor to start loading the cache line at `address` (a hint: no fault, no effect
/// on the program's meaning). Swift has no prefetch of its own.
static inline void engram_prefetch(const void *address) {
    __builtin_prefetch(address, 0, 3);
}

#endif
