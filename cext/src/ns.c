/* Namespaces and the UTS names (hostname, NIS domain name). */
#include "pyrunc.h"

int pyrunc_unshare(int flags)
{
    return unshare(flags);
}

int pyrunc_setns(int fd, int nstype)
{
    return setns(fd, nstype);
}

int pyrunc_sethostname(const char *name, size_t len)
{
    return sethostname(name, len);
}

int pyrunc_setdomainname(const char *name, size_t len)
{
    return setdomainname(name, len);
}
