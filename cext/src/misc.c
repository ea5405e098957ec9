/* Process attributes: prctl, personality, resource limits, session keyring,
   pidfds, I/O priority and scheduling policy. */
#include "pyrunc.h"

int pyrunc_prctl(int option, unsigned long arg2, unsigned long arg3,
                 unsigned long arg4, unsigned long arg5)
{
    return prctl(option, arg2, arg3, arg4, arg5);
}

int pyrunc_setrlimit(int resource, uint64_t soft, uint64_t hard)
{
    /* here rather than through Python's `resource` module: loading that
       extension costs the container's setup ~0.8 ms */
    struct rlimit limit = { .rlim_cur = soft, .rlim_max = hard };
    return setrlimit(resource, &limit);
}

int pyrunc_personality(unsigned long persona)
{
    /* the raw syscall: glibc's wrapper cannot tell a persona from -errno
       on every version */
    long r = syscall(SYS_personality, persona);
    return (int)r;
}

int pyrunc_keyctl_join_session_keyring(const char *name)
{
    return (int)syscall(SYS_keyctl, PYRUNC_KEYCTL_JOIN_SESSION_KEYRING, name);
}

int pyrunc_keyctl_setperm(int key, uint32_t perm)
{
    return (int)syscall(SYS_keyctl, PYRUNC_KEYCTL_SETPERM, key, perm);
}

int pyrunc_pidfd_open(int pid, unsigned int flags)
{
    return (int)syscall(SYS_pidfd_open, pid, flags);
}

int pyrunc_pidfd_send_signal(int pidfd, int sig, unsigned int flags)
{
    return (int)syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, flags);
}

int pyrunc_ioprio_set(int which, int who, int ioprio)
{
    return (int)syscall(SYS_ioprio_set, which, who, ioprio);
}

int pyrunc_ioprio_get(int which, int who)
{
    return (int)syscall(SYS_ioprio_get, which, who);
}

int pyrunc_sched_setattr(int pid, uint32_t policy, uint64_t flags,
                         int32_t nice, uint32_t priority, uint64_t runtime,
                         uint64_t deadline, uint64_t period)
{
    struct pyrunc_sched_attr attr = {
        .size = sizeof(attr),
        .sched_policy = policy,
        .sched_flags = flags,
        .sched_nice = nice,
        .sched_priority = priority,
        .sched_runtime = runtime,
        .sched_deadline = deadline,
        .sched_period = period,
    };
    return (int)syscall(SYS_sched_setattr, pid, &attr, 0);
}
