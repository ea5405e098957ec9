/* seccomp: thin wrappers over libseccomp (compile a filter) and the raw
   seccomp(2) calls (load a compiled one, probe the kernel).

   libseccomp reports errors as a negative errno; the wrappers turn that into
   the shim's convention (-1, errno set). Unlike the rest of the shim this
   file allocates: a filter context lives from pyrunc_seccomp_init() to
   pyrunc_seccomp_release().

   The runtime compiles with libseccomp, exports the program as classic BPF
   (pyrunc_seccomp_export_bpf) and loads those bytes with
   pyrunc_seccomp_set_mode_filter: the process that loads needs neither
   libseccomp nor a context, and every seccomp(2) flag is available whatever
   libseccomp's version knows (2.5 has no WAIT_KILLABLE_RECV). */
#include "pyrunc.h" /* first: it defines _GNU_SOURCE (dladdr) and includes seccomp.h */

#include <dlfcn.h>
#include <string.h>

/* a libseccomp return code -> the shim's convention */
static int rc(int r)
{
    if (r < 0) {
        errno = -r;
        return -1;
    }
    return r;
}

void *pyrunc_seccomp_init(uint32_t def_action)
{
    scmp_filter_ctx ctx = seccomp_init(def_action);
    if (ctx == NULL)
        errno = EINVAL; /* bad action, or no memory: libseccomp does not say */
    return ctx;
}

void pyrunc_seccomp_release(void *ctx)
{
    seccomp_release(ctx);
}

int pyrunc_seccomp_arch_add(void *ctx, uint32_t arch_token)
{
    return rc(seccomp_arch_add(ctx, arch_token));
}

uint32_t pyrunc_seccomp_arch_native(void)
{
    return seccomp_arch_native();
}

uint32_t pyrunc_seccomp_arch_resolve_name(const char *name)
{
    return seccomp_arch_resolve_name(name);
}

int pyrunc_seccomp_syscall_resolve_name(const char *name)
{
    return seccomp_syscall_resolve_name(name);
}

int pyrunc_seccomp_rule_add(void *ctx, uint32_t action, int syscall_nr,
                            unsigned int count, const unsigned int *arg,
                            const int *op, const uint64_t *datum_a,
                            const uint64_t *datum_b)
{
    struct scmp_arg_cmp cmp[6];
    unsigned int i;

    if (count > 6) {
        errno = EINVAL;
        return -1;
    }
    memset(cmp, 0, sizeof(cmp));
    for (i = 0; i < count; i++) {
        cmp[i].arg = arg[i];
        cmp[i].op = (enum scmp_compare)op[i];
        cmp[i].datum_a = datum_a[i];
        cmp[i].datum_b = datum_b[i];
    }
    return rc(seccomp_rule_add_array(ctx, action, syscall_nr, count, cmp));
}

int pyrunc_seccomp_attr_set(void *ctx, int attr, uint32_t value)
{
    return rc(seccomp_attr_set(ctx, (enum scmp_filter_attr)attr, value));
}

int pyrunc_seccomp_load(void *ctx)
{
    return rc(seccomp_load(ctx));
}

int pyrunc_seccomp_notify_fd(void *ctx)
{
    return rc(seccomp_notify_fd(ctx));
}

int pyrunc_seccomp_export_bpf(void *ctx, int fd)
{
    return rc(seccomp_export_bpf(ctx, fd));
}

unsigned int pyrunc_seccomp_api_get(void)
{
    return seccomp_api_get();
}

void pyrunc_seccomp_version(unsigned int *major, unsigned int *minor,
                            unsigned int *micro)
{
    const struct scmp_version *v = seccomp_version();
    *major = v->major;
    *minor = v->minor;
    *micro = v->micro;
}

/* The file libseccomp was loaded from (NULL if unknown): a cache of compiled
   filters keys on it, as distributions patch syscall tables without a new
   version number. */
const char *pyrunc_seccomp_library(void)
{
    Dl_info info;
    if (dladdr((void *)seccomp_init, &info) == 0 || info.dli_fname == NULL) {
        errno = ENOENT;
        return NULL;
    }
    return info.dli_fname;
}

/* seccomp(SECCOMP_SET_MODE_FILTER, flags, prog): prog is an array of
   struct sock_filter (8 bytes each), as seccomp_export_bpf writes it.
   Returns the listener fd with SECCOMP_FILTER_FLAG_NEW_LISTENER, else 0. */
struct pyrunc_sock_fprog {
    unsigned short len;
    const void *filter;
};

int pyrunc_seccomp_set_mode_filter(unsigned int flags, const char *prog,
                                   size_t size)
{
    struct pyrunc_sock_fprog fprog;

    if (size == 0 || size % 8 != 0 || size / 8 > 0xffff) {
        errno = EINVAL;
        return -1;
    }
    fprog.len = (unsigned short)(size / 8);
    fprog.filter = prog;
    return (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, &fprog);
}

/* Whether the kernel takes these filter flags: with a NULL program a
   known flag set gets as far as copying it (EFAULT), an unknown one is
   refused first (EINVAL). 1 yes, 0 no, -1 with errno for anything else. */
int pyrunc_seccomp_flags_supported(unsigned int flags)
{
    long r = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, NULL);
    if (r < 0 && errno == EFAULT)
        return 1;
    if (r < 0 && errno == EINVAL)
        return 0;
    if (r >= 0)
        errno = EPROTO; /* a filter cannot load from NULL */
    return -1;
}

/* seccomp(SECCOMP_GET_ACTION_AVAIL): 0 when the kernel knows the action
   (SECCOMP_RET_* value, i.e. SCMP_ACT_*), -1/EOPNOTSUPP when not. */
int pyrunc_seccomp_action_available(uint32_t action)
{
    return (int)syscall(SYS_seccomp, SECCOMP_GET_ACTION_AVAIL, 0, &action);
}

/* pidfd_getfd(2): a copy of another process's descriptor (the runtime takes
   the container init's seccomp listener this way). */
int pyrunc_pidfd_getfd(int pidfd, int fd, unsigned int flags)
{
    return (int)syscall(SYS_pidfd_getfd, pidfd, fd, flags);
}
