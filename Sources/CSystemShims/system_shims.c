// Operating-system calls that Swift's Glibc module does not import.
#define _GNU_SOURCE
#include "system_shims.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>

int engram_set_thread_name(const char *name) {
    return pthread_setname_np(pthread_self(), name);
}
