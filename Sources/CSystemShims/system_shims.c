// Operating-system calls that Swift's Glibc module does not import.
#define _GNU_SOURCE
#include "system_shims.h"

#include <errno.h>
#include <fcntl.h>

int engram_start_writeback(int descriptor) {
#if defined(__linux__)
    if (sync_file_range(descriptor, 0, 0, SYNC_FILE_RANGE_WRITE) != 0) {
        return errno;
    }
#endif
    return 0;
}
