// Operating-system calls that Swift's Glibc module does not import.
#define _GNU_SOURCE
#include "system_shims.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>

int engram_write_back(int descriptor, long long offset, long long length) {
#if defined(__linux__)
    unsigned int flags = SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE | SYNC_FILE_RANGE_WAIT_AFTER;
    if (sync_file_range(descriptor, (off_t)offset, (off_t)length, flags) != 0) {
        return errno;
    }
#endif
    return 0;
}

int engram_set_thread_name(const char *name) {
    return pthread_setname_np(pthread_self(), name);
}
