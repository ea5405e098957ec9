/*
 * Fork straight into a cgroup: clone3(2) with CLONE_INTO_CGROUP.
 *
 * Moving a process later (a write to cgroup.procs) takes the kernel's global
 * cgroup_threadgroup_rwsem for writing, and the first such write after a
 * quiet spell waits for an RCU grace period (10-16 ms here) while every fork
 * on the host stalls. A child created inside its cgroup costs none of that.
 *
 * The one function of the shim that uses the Python C API (the exception to
 * pyrunc.h's rule): the child goes on running Python, so it needs the same
 * bookkeeping around the clone as os.fork() does (import lock, at-fork hooks,
 * the interpreter's thread state). cffi releases the GIL around the call; it
 * is taken back for the clone and released again before returning.
 *
 * The child is single-threaded, and glibc's per-thread data keeps the
 * parent's thread id (glibc's fork() would have updated it); nothing the
 * container init runs before its execve relies on that id (Python asks the
 * kernel: gettid).
 */
#include <Python.h>

#include "pyrunc.h"

#include <string.h>

#if !defined(__alpha__) && !defined(SYS_clone3)
#define SYS_clone3 435
#endif

#define PYRUNC_CLONE_INTO_CGROUP 0x200000000ULL

/* struct clone_args of the kernel uapi, up to the cgroup field (version 2) */
struct pyrunc_clone_args {
    uint64_t flags;
    uint64_t pidfd;
    uint64_t child_tid;
    uint64_t parent_tid;
    uint64_t exit_signal;
    uint64_t stack;
    uint64_t stack_size;
    uint64_t tls;
    uint64_t set_tid;
    uint64_t set_tid_size;
    uint64_t cgroup;
};

long pyrunc_fork_into_cgroup(int cgroup_fd)
{
    struct pyrunc_clone_args args;
    PyGILState_STATE gil;
    long pid;
    int saved;

    memset(&args, 0, sizeof(args));
    args.flags = PYRUNC_CLONE_INTO_CGROUP;
    args.exit_signal = SIGCHLD;
    args.cgroup = (uint64_t)cgroup_fd;

    gil = PyGILState_Ensure();
    PyOS_BeforeFork();
    pid = syscall(SYS_clone3, &args, sizeof(args));
    saved = errno;
    if (pid == 0)
        PyOS_AfterFork_Child();
    else
        PyOS_AfterFork_Parent();
    PyGILState_Release(gil);
    errno = saved;
    return pid;
}
