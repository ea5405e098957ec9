#include <errno.h>
#include <sys/vfs.h>

#include "statfs.h"

long long pyrunc_fstatfs_type(int fd)
{
    struct statfs st;

    for (;;) {
        if (fstatfs(fd, &st) == 0)
            return (long long)(unsigned long)st.f_type;
        if (errno != EINTR)
            return -1;
    }
}
