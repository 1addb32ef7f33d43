#ifndef ENGRAM_SYSTEM_SHIMS_H
#define ENGRAM_SYSTEM_SHIMS_H

/// Writes the dirty pages of `descriptor` between `offset` and `offset + length` to the device and
/// waits for them (`sync_file_range` with WAIT_BEFORE, WRITE and WAIT_AFTER on Linux; nothing
/// elsewhere): no cache flush, so not durable yet, but no longer waiting in the page cache to join
/// the next `fdatasync` all at once. Returns 0 or an errno. Swift's Glibc module does not import
/// `sync_file_range`, which needs `_GNU_SOURCE`.
int engram_write_back(int descriptor, long long offset, long long length);

/// Names the calling thread (at most 15 bytes are kept), for `top -H`, `perf` and debuggers.
/// Swift's Glibc module does not import `pthread_setname_np`, which needs `_GNU_SOURCE`.
int engram_set_thread_name(const char *name);

/// Asks the processor to start loading the cache line at `address` (a hint: no fault, no effect
/// on the program's meaning). Swift has no prefetch of its own.
static inline void engram_prefetch(const void *address) {
    __builtin_prefetch(address, 0, 3);
}

/// A 64-bit load with acquire ordering: no later load or store moves before it, and it sees every
/// store made before the release store that wrote the value it reads. For the write buffers' links,
/// which one writer thread stores and readers on any thread follow without a lock
/// (docs/STORAGE.md, "Write buffers"). Swift's `Atomic` lives only inside a value it owns, not at an
/// address in an arena, hence these two.
static inline unsigned long long engram_load_acquire(const unsigned long long *address) {
    return __atomic_load_n(address, __ATOMIC_ACQUIRE);
}

/// A 64-bit store with release ordering: every load and store before it is visible to a thread
/// whose acquire load reads this value.
static inline void engram_store_release(unsigned long long *address, unsigned long long value) {
    __atomic_store_n(address, value, __ATOMIC_RELEASE);
}

#endif
