/* File descriptors and safe path resolution. */
#include "pyrunc.h"

/* How often openat2 is retried when the kernel answers EAGAIN because a
   concurrent rename could have let ".." escape RESOLVE_IN_ROOT/BENEATH. */
#define OPENAT2_RETRIES 64

int pyrunc_openat2(int dirfd, const char *path, uint64_t flags,
                   uint64_t mode, uint64_t resolve)
{
    struct pyrunc_open_how how = {
        .flags = flags,
        .mode = mode,
        .resolve = resolve,
    };
    int tries = 0;
    long fd;

    for (;;) {
        fd = syscall(SYS_openat2, dirfd, path, &how, sizeof(how));
        if (fd >= 0)
            return (int)fd;
        if (errno == EINTR)
            continue;
        /* with RESOLVE_CACHED, EAGAIN means "not in the dcache": the
           caller asked to be told, so do not retry */
        if (errno == EAGAIN && !(resolve & RESOLVE_CACHED)
            && ++tries < OPENAT2_RETRIES)
            continue;
        return -1;
    }
}

int pyrunc_close_range(unsigned int first, unsigned int last,
                       unsigned int flags)
{
    return (int)syscall(SYS_close_range, first, last, flags);
}
