/* Capabilities: the v3 capget/capset ABI (64-bit sets as two 32-bit words),
   the bounding set and the ambient set. */
#include <stdio.h>
#include <stdlib.h>

#include "pyrunc.h"

int pyrunc_capget(int pid, uint64_t *effective, uint64_t *permitted,
                  uint64_t *inheritable)
{
    struct pyrunc_cap_header hdr = { .version = PYRUNC_CAP_V3, .pid = pid };
    struct pyrunc_cap_data data[2] = { { 0, 0, 0 }, { 0, 0, 0 } };

    if (syscall(SYS_capget, &hdr, data) < 0)
        return -1;
    *effective = (uint64_t)data[1].effective << 32 | data[0].effective;
    *permitted = (uint64_t)data[1].permitted << 32 | data[0].permitted;
    *inheritable = (uint64_t)data[1].inheritable << 32 | data[0].inheritable;
    return 0;
}

int pyrunc_capset(uint64_t effective, uint64_t permitted,
                  uint64_t inheritable)
{
    struct pyrunc_cap_header hdr = { .version = PYRUNC_CAP_V3, .pid = 0 };
    struct pyrunc_cap_data data[2] = {
        { (uint32_t)effective, (uint32_t)permitted, (uint32_t)inheritable },
        { (uint32_t)(effective >> 32), (uint32_t)(permitted >> 32),
          (uint32_t)(inheritable >> 32) },
    };

    return (int)syscall(SYS_capset, &hdr, data);
}

/* The highest capability number the kernel knows. Read once from
   /proc/sys/kernel/cap_last_cap; where /proc is not mounted (inside a
   rootfs being set up) probe the bounding set instead: PR_CAPBSET_READ
   fails with EINVAL past the last capability. */
int pyrunc_cap_last_cap(void)
{
    static int cached = -1;
    int fd, cap;

    if (cached >= 0)
        return cached;

    fd = open("/proc/sys/kernel/cap_last_cap", O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        char buf[16];
        ssize_t n;
        do
            n = read(fd, buf, sizeof(buf) - 1);
        while (n < 0 && errno == EINTR);
        close(fd);
        if (n > 0) {
            char *end;
            long v;
            buf[n] = '\0';
            v = strtol(buf, &end, 10);
            if (end != buf && v >= 0 && v < 64) {
                cached = (int)v;
                return cached;
            }
        }
    }

    for (cap = 0; cap < 64; cap++) {
        if (prctl(PR_CAPBSET_READ, (unsigned long)cap, 0, 0, 0) < 0)
            break;
    }
    if (cap == 0) {
        errno = ENOSYS;
        return -1;
    }
    cached = cap - 1;
    return cached;
}

int pyrunc_drop_bounding(int cap)
{
    return prctl(PR_CAPBSET_DROP, (unsigned long)cap, 0, 0, 0);
}

int pyrunc_ambient_raise(int cap)
{
    return prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, (unsigned long)cap,
                 0, 0);
}

int pyrunc_ambient_clear_all(void)
{
    return prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
}
