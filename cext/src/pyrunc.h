/*
 * pyrunc C shim: declarations shared by the cext/src/ C files and the cffi module.
 *
 * Conventions
 *   - Every function is prefixed pyrunc_ and follows the kernel's convention:
 *     it returns -1 and leaves the error in errno on failure (cffi saves errno
 *     right after the call; the Python wrappers read it with ffi.errno).
 *   - Only syscalls and libc; no allocation, no Python API (except fork.c,
 *     whose child goes on running Python: see there).
 *   - Raw syscall(SYS_...) wherever glibc 2.36 has no wrapper (or only a
 *     recent one); our own copies of kernel structs (pyrunc_open_how,
 *     pyrunc_mount_attr, ...) so that no linux/ uapi header is needed and
 *     nothing clashes with glibc's <sys/mount.h>.
 *
 * The part between CDEF-BEGIN and CDEF-END is read by cext/build.py and given
 * to cffi's cdef() verbatim, so it must stay plain C declarations (no
 * preprocessor, no system typedefs besides <stdint.h>/<stddef.h> ones).
 */
#ifndef PYRUNC_H
#define PYRUNC_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/mount.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <unistd.h>

/* libseccomp: its SCMP_* constants are exported (cext/build.py); only
   seccomp.c calls it */
#include <seccomp.h>

/* ------------------------------------------------------------------ */
/* Constants the C library headers may lack (values from the kernel uapi). */

/* namespaces (sched.h) */
#ifndef CLONE_NEWCGROUP
#define CLONE_NEWCGROUP 0x02000000
#endif
#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

/* mount(2) flags (sys/mount.h has most) */
#ifndef MS_NOSYMFOLLOW
#define MS_NOSYMFOLLOW 256
#endif
#ifndef MS_LAZYTIME
#define MS_LAZYTIME (1 << 25)
#endif
#ifndef UMOUNT_NOFOLLOW
#define UMOUNT_NOFOLLOW 8
#endif

/* openat2(2) (linux/openat2.h) */
#ifndef RESOLVE_NO_XDEV
#define RESOLVE_NO_XDEV 0x01
#endif
#ifndef RESOLVE_NO_MAGICLINKS
#define RESOLVE_NO_MAGICLINKS 0x02
#endif
#ifndef RESOLVE_NO_SYMLINKS
#define RESOLVE_NO_SYMLINKS 0x04
#endif
#ifndef RESOLVE_BENEATH
#define RESOLVE_BENEATH 0x08
#endif
#ifndef RESOLVE_IN_ROOT
#define RESOLVE_IN_ROOT 0x10
#endif
#ifndef RESOLVE_CACHED
#define RESOLVE_CACHED 0x20
#endif

struct pyrunc_open_how {
    uint64_t flags;
    uint64_t mode;
    uint64_t resolve;
};

/* new mount API (linux/mount.h) */
#ifndef OPEN_TREE_CLONE
#define OPEN_TREE_CLONE 1
#endif
#ifndef OPEN_TREE_CLOEXEC
#define OPEN_TREE_CLOEXEC O_CLOEXEC
#endif
#ifndef MOVE_MOUNT_F_SYMLINKS
#define MOVE_MOUNT_F_SYMLINKS 0x00000001
#endif
#ifndef MOVE_MOUNT_F_AUTOMOUNTS
#define MOVE_MOUNT_F_AUTOMOUNTS 0x00000002
#endif
#ifndef MOVE_MOUNT_F_EMPTY_PATH
#define MOVE_MOUNT_F_EMPTY_PATH 0x00000004
#endif
#ifndef MOVE_MOUNT_T_SYMLINKS
#define MOVE_MOUNT_T_SYMLINKS 0x00000010
#endif
#ifndef MOVE_MOUNT_T_AUTOMOUNTS
#define MOVE_MOUNT_T_AUTOMOUNTS 0x00000020
#endif
#ifndef MOVE_MOUNT_T_EMPTY_PATH
#define MOVE_MOUNT_T_EMPTY_PATH 0x00000040
#endif
#ifndef MOVE_MOUNT_SET_GROUP
#define MOVE_MOUNT_SET_GROUP 0x00000100
#endif
#ifndef MOVE_MOUNT_BENEATH
#define MOVE_MOUNT_BENEATH 0x00000200
#endif
#ifndef MOUNT_ATTR_RDONLY
#define MOUNT_ATTR_RDONLY 0x00000001
#endif
#ifndef MOUNT_ATTR_NOSUID
#define MOUNT_ATTR_NOSUID 0x00000002
#endif
#ifndef MOUNT_ATTR_NODEV
#define MOUNT_ATTR_NODEV 0x00000004
#endif
#ifndef MOUNT_ATTR_NOEXEC
#define MOUNT_ATTR_NOEXEC 0x00000008
#endif
#ifndef MOUNT_ATTR__ATIME
#define MOUNT_ATTR__ATIME 0x00000070
#endif
#ifndef MOUNT_ATTR_RELATIME
#define MOUNT_ATTR_RELATIME 0x00000000
#endif
#ifndef MOUNT_ATTR_NOATIME
#define MOUNT_ATTR_NOATIME 0x00000010
#endif
#ifndef MOUNT_ATTR_STRICTATIME
#define MOUNT_ATTR_STRICTATIME 0x00000020
#endif
#ifndef MOUNT_ATTR_NODIRATIME
#define MOUNT_ATTR_NODIRATIME 0x00000080
#endif
#ifndef MOUNT_ATTR_IDMAP
#define MOUNT_ATTR_IDMAP 0x00100000
#endif
#ifndef MOUNT_ATTR_NOSYMFOLLOW
#define MOUNT_ATTR_NOSYMFOLLOW 0x00200000
#endif
#ifndef AT_RECURSIVE
#define AT_RECURSIVE 0x8000
#endif
#ifndef AT_EMPTY_PATH
#define AT_EMPTY_PATH 0x1000
#endif
#ifndef AT_NO_AUTOMOUNT
#define AT_NO_AUTOMOUNT 0x800
#endif

struct pyrunc_mount_attr {
    uint64_t attr_set;
    uint64_t attr_clr;
    uint64_t propagation;
    uint64_t userns_fd;
};

/* prctl(2) (sys/prctl.h) */
#ifndef PR_SET_NO_NEW_PRIVS
#define PR_SET_NO_NEW_PRIVS 38
#endif
#ifndef PR_GET_NO_NEW_PRIVS
#define PR_GET_NO_NEW_PRIVS 39
#endif
#ifndef PR_SET_CHILD_SUBREAPER
#define PR_SET_CHILD_SUBREAPER 36
#endif
#ifndef PR_GET_CHILD_SUBREAPER
#define PR_GET_CHILD_SUBREAPER 37
#endif
#ifndef PR_CAP_AMBIENT
#define PR_CAP_AMBIENT 47
#endif
#ifndef PR_CAP_AMBIENT_IS_SET
#define PR_CAP_AMBIENT_IS_SET 1
#endif
#ifndef PR_CAP_AMBIENT_RAISE
#define PR_CAP_AMBIENT_RAISE 2
#endif
#ifndef PR_CAP_AMBIENT_LOWER
#define PR_CAP_AMBIENT_LOWER 3
#endif
#ifndef PR_CAP_AMBIENT_CLEAR_ALL
#define PR_CAP_AMBIENT_CLEAR_ALL 4
#endif

/* capabilities (linux/capability.h), v3 ABI: two 32-bit words per set */
#define PYRUNC_CAP_V3 0x20080522
struct pyrunc_cap_header {
    uint32_t version;
    int pid;
};
struct pyrunc_cap_data {
    uint32_t effective;
    uint32_t permitted;
    uint32_t inheritable;
};

/* keyctl(2) (linux/keyctl.h) */
#define PYRUNC_KEYCTL_SETPERM 5
#define PYRUNC_KEYCTL_JOIN_SESSION_KEYRING 1
#ifndef KEY_SPEC_SESSION_KEYRING
#define KEY_SPEC_SESSION_KEYRING -3
#endif

/* close_range(2) (linux/close_range.h) */
#ifndef CLOSE_RANGE_UNSHARE
#define CLOSE_RANGE_UNSHARE 2
#endif
#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC 4
#endif

/* pidfd_open(2) */
#ifndef PIDFD_NONBLOCK
#define PIDFD_NONBLOCK O_NONBLOCK
#endif

/* ioprio_set(2) (linux/ioprio.h) */
#define IOPRIO_CLASS_NONE 0
#define IOPRIO_CLASS_RT 1
#define IOPRIO_CLASS_BE 2
#define IOPRIO_CLASS_IDLE 3
#define IOPRIO_CLASS_SHIFT 13
#define IOPRIO_WHO_PROCESS 1
#define IOPRIO_WHO_PGRP 2
#define IOPRIO_WHO_USER 3

/* sched_setattr(2) (linux/sched.h, linux/sched/types.h) */
#ifndef SCHED_BATCH
#define SCHED_BATCH 3
#endif
#ifndef SCHED_IDLE
#define SCHED_IDLE 5
#endif
#ifndef SCHED_DEADLINE
#define SCHED_DEADLINE 6
#endif
#ifndef SCHED_FLAG_RESET_ON_FORK
#define SCHED_FLAG_RESET_ON_FORK 0x01
#endif
#ifndef SCHED_FLAG_RECLAIM
#define SCHED_FLAG_RECLAIM 0x02
#endif
#ifndef SCHED_FLAG_DL_OVERRUN
#define SCHED_FLAG_DL_OVERRUN 0x04
#endif
#ifndef SCHED_FLAG_KEEP_POLICY
#define SCHED_FLAG_KEEP_POLICY 0x08
#endif
#ifndef SCHED_FLAG_KEEP_PARAMS
#define SCHED_FLAG_KEEP_PARAMS 0x10
#endif
#ifndef SCHED_FLAG_UTIL_CLAMP_MIN
#define SCHED_FLAG_UTIL_CLAMP_MIN 0x20
#endif
#ifndef SCHED_FLAG_UTIL_CLAMP_MAX
#define SCHED_FLAG_UTIL_CLAMP_MAX 0x40
#endif

struct pyrunc_sched_attr {
    uint32_t size;
    uint32_t sched_policy;
    uint64_t sched_flags;
    int32_t sched_nice;
    uint32_t sched_priority;
    uint64_t sched_runtime;
    uint64_t sched_deadline;
    uint64_t sched_period;
};

/* seccomp(2) (linux/seccomp.h) */
#ifndef SECCOMP_SET_MODE_FILTER
#define SECCOMP_SET_MODE_FILTER 1
#endif
#ifndef SECCOMP_GET_ACTION_AVAIL
#define SECCOMP_GET_ACTION_AVAIL 2
#endif
#ifndef SECCOMP_FILTER_FLAG_TSYNC
#define SECCOMP_FILTER_FLAG_TSYNC (1UL << 0)
#endif
#ifndef SECCOMP_FILTER_FLAG_LOG
#define SECCOMP_FILTER_FLAG_LOG (1UL << 1)
#endif
#ifndef SECCOMP_FILTER_FLAG_SPEC_ALLOW
#define SECCOMP_FILTER_FLAG_SPEC_ALLOW (1UL << 2)
#endif
#ifndef SECCOMP_FILTER_FLAG_NEW_LISTENER
#define SECCOMP_FILTER_FLAG_NEW_LISTENER (1UL << 3)
#endif
#ifndef SECCOMP_FILTER_FLAG_TSYNC_ESRCH
#define SECCOMP_FILTER_FLAG_TSYNC_ESRCH (1UL << 4)
#endif
#ifndef SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV
#define SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV (1UL << 5)
#endif
/* SCMP_ACT_ERRNO(x) and SCMP_ACT_TRACE(x) are (base | (x & 0xffff)) */
#define SCMP_ACT_ERRNO_BASE SCMP_ACT_ERRNO(0)
#define SCMP_ACT_TRACE_BASE SCMP_ACT_TRACE(0)

/* exec_when_started: where a failure happened (*stage) */
#define PYRUNC_STAGE_EOF 1    /* start_fd reached EOF before a byte came */
#define PYRUNC_STAGE_READ 2   /* read(start_fd) failed; *detail = its errno */
#define PYRUNC_STAGE_EXEC 3   /* execve failed; errno is execve's */

/* recv_fd: errno values for the non-syscall failures */
/*   ECONNRESET  peer closed the socket, nothing received                 */
/*   EBADMSG     a message came but carried no file descriptor             */
/*   EMSGSIZE    control data truncated (descriptors were lost, any closed) */

/* Syscall numbers glibc's headers may lack. The newer syscalls have one
   number on every architecture except alpha (which adds 110). */
#if !defined(__alpha__)
#ifndef SYS_open_tree
#define SYS_open_tree 428
#endif
#ifndef SYS_move_mount
#define SYS_move_mount 429
#endif
#ifndef SYS_pidfd_send_signal
#define SYS_pidfd_send_signal 424
#endif
#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_close_range
#define SYS_close_range 436
#endif
#ifndef SYS_openat2
#define SYS_openat2 437
#endif
#ifndef SYS_mount_setattr
#define SYS_mount_setattr 442
#endif
#ifndef SYS_pidfd_getfd
#define SYS_pidfd_getfd 438
#endif
#endif

/* CDEF-BEGIN */
/* ns.c: namespaces, UTS names */
int pyrunc_unshare(int flags);
int pyrunc_setns(int fd, int nstype);
int pyrunc_sethostname(const char *name, size_t len);
int pyrunc_setdomainname(const char *name, size_t len);

/* mount.c: classic and new mount API */
int pyrunc_mount(const char *source, const char *target, const char *fstype,
                 unsigned long flags, const char *data);
int pyrunc_umount2(const char *target, int flags);
int pyrunc_pivot_root(const char *new_root, const char *put_old);
int pyrunc_open_tree(int dirfd, const char *path, unsigned int flags);
int pyrunc_move_mount(int from_dirfd, const char *from_path, int to_dirfd,
                      const char *to_path, unsigned int flags);
int pyrunc_mount_setattr(int dirfd, const char *path, unsigned int flags,
                         uint64_t attr_set, uint64_t attr_clr,
                         uint64_t propagation, int userns_fd);

/* fs.c: file descriptors and path resolution */
int pyrunc_openat2(int dirfd, const char *path, uint64_t flags,
                   uint64_t mode, uint64_t resolve);
int pyrunc_close_range(unsigned int first, unsigned int last,
                       unsigned int flags);

/* caps.c: capabilities */
int pyrunc_capget(int pid, uint64_t *effective, uint64_t *permitted,
                  uint64_t *inheritable);
int pyrunc_capset(uint64_t effective, uint64_t permitted,
                  uint64_t inheritable);
int pyrunc_cap_last_cap(void);
int pyrunc_drop_bounding(int cap);
int pyrunc_ambient_raise(int cap);
int pyrunc_ambient_clear_all(void);

/* misc.c: process attributes */
int pyrunc_prctl(int option, unsigned long arg2, unsigned long arg3,
                 unsigned long arg4, unsigned long arg5);
int pyrunc_setrlimit(int resource, uint64_t soft, uint64_t hard);
int pyrunc_personality(unsigned long persona);
int pyrunc_keyctl_join_session_keyring(const char *name);
int pyrunc_keyctl_setperm(int key, uint32_t perm);
int pyrunc_pidfd_open(int pid, unsigned int flags);
int pyrunc_pidfd_send_signal(int pidfd, int sig, unsigned int flags);
int pyrunc_ioprio_set(int which, int who, int ioprio);
int pyrunc_ioprio_get(int which, int who);
int pyrunc_set_mempolicy(int mode, const unsigned long *nodemask, unsigned long maxnode);
int pyrunc_sched_setattr(int pid, uint32_t policy, uint64_t flags,
                         int32_t nice, uint32_t priority, uint64_t runtime,
                         uint64_t deadline, uint64_t period);

/* fork.c: clone3(CLONE_INTO_CGROUP) with os.fork()'s bookkeeping -> pid */
long pyrunc_fork_into_cgroup(int cgroup_fd);

/* fdpass.c: SCM_RIGHTS */
int pyrunc_send_fd(int sock, int fd, const char *data, size_t len);
int pyrunc_recv_fd(int sock, char *buf, size_t cap, size_t *len, int *fd);

/* exec.c: the container init's last step */
int pyrunc_exec_when_started(int start_fd, const char *path, char **argv,
                             char **envp, int *stage, int *detail);

/* seccomp.c: libseccomp (compile a filter; ctx is a scmp_filter_ctx) and
   the raw seccomp(2) calls (load compiled BPF, probe the kernel) */
void *pyrunc_seccomp_init(uint32_t def_action);
void pyrunc_seccomp_release(void *ctx);
int pyrunc_seccomp_arch_add(void *ctx, uint32_t arch_token);
uint32_t pyrunc_seccomp_arch_native(void);
uint32_t pyrunc_seccomp_arch_resolve_name(const char *name);
int pyrunc_seccomp_syscall_resolve_name(const char *name);
int pyrunc_seccomp_rule_add(void *ctx, uint32_t action, int syscall_nr,
                            unsigned int count, const unsigned int *arg,
                            const int *op, const uint64_t *datum_a,
                            const uint64_t *datum_b);
int pyrunc_seccomp_attr_set(void *ctx, int attr, uint32_t value);
int pyrunc_seccomp_load(void *ctx);
int pyrunc_seccomp_notify_fd(void *ctx);
int pyrunc_seccomp_export_bpf(void *ctx, int fd);
unsigned int pyrunc_seccomp_api_get(void);
void pyrunc_seccomp_version(unsigned int *major, unsigned int *minor,
                            unsigned int *micro);
const char *pyrunc_seccomp_library(void);
int pyrunc_seccomp_set_mode_filter(unsigned int flags, const char *prog,
                                   size_t size);
int pyrunc_seccomp_flags_supported(unsigned int flags);
int pyrunc_seccomp_action_available(uint32_t action);
int pyrunc_pidfd_getfd(int pidfd, int fd, unsigned int flags);
/* CDEF-END */

#endif /* PYRUNC_H */
