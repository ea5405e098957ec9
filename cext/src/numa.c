/* NUMA memory policy of the calling thread (linux.memoryPolicy). glibc has no wrapper
 * without libnuma, so this is the raw syscall. */
#include "pyrunc.h"

int pyrunc_set_mempolicy(int mode, const unsigned long *nodemask, unsigned long maxnode)
{
    return (int)syscall(SYS_set_mempolicy, mode, nodemask, maxnode);
}
