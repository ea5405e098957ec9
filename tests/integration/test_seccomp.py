"""runtime-spec config-linux.md "Seccomp", seen from inside the container: actions and their
errno, the default action, unknown syscall names, a Podman-like default profile (with and
without noNewPrivileges, which decides when the init loads the filter), and SCMP_ACT_NOTIFY
with listenerPath / listenerMetadata (the container process state sent with the listener).

All but the two marked pyrunc_only pass with runc 1.1.5 too."""

from __future__ import annotations

import json
import os
import platform
import socket
import threading

import pytest

import cext

from .util import assert_create_fails, run_ok

ENOSYS, EPERM, EACCES, EDQUOT = 38, 1, 13, 122
SIGSYS = 31
MKDIR = ["mkdir", "mkdirat"]
TRY_MKDIR = "mkdir /tmp/made 2>&1; echo rc=$?"


def profile(default: str = "SCMP_ACT_ALLOW", syscalls: list | None = None, **extra) -> dict:
    return {"defaultAction": default, "syscalls": syscalls or [], **extra}


# A compact equivalent of Podman's default profile (containers/common pkg/seccomp/seccomp.json)
# for a container with runc's default capabilities (no CAP_SYS_ADMIN, CAP_SYS_PTRACE, ...):
# unknown syscalls fail with ENOSYS, a set of obsolete or dangerous ones with EPERM, the common
# ones are allowed, personality() only for the usual personas, socket(AF_NETLINK, ...,
# NETLINK_AUDIT) only with CAP_AUDIT_WRITE (which runc's defaults have).
PODMAN_EPERM = """bdflush io_pgetevents kexec_file_load kexec_load membarrier migrate_pages move_pages
nfsservctl nice oldfstat oldlstat oldolduname oldstat olduname pciconfig_iobase pciconfig_read
pciconfig_write sgetmask ssetmask swapcontext swapoff swapon sysfs uselib userfaultfd ustat vm86
vm86old vmsplice
bpf fanotify_init lookup_dcookie perf_event_open quotactl setdomainname sethostname chroot
delete_module init_module finit_module query_module get_mempolicy mbind set_mempolicy acct kcmp
process_madvise process_vm_readv process_vm_writev ptrace iopl ioperm settimeofday stime
clock_settime clock_settime64 vhangup open_by_handle_at"""
PODMAN_ALLOW = """
_llseek _newselect accept accept4 access adjtimex alarm bind brk capget capset chdir chmod chown
chown32 clock_adjtime clock_adjtime64 clock_getres clock_getres_time64 clock_gettime
clock_gettime64 clock_nanosleep clock_nanosleep_time64 clone clone3 close close_range connect
copy_file_range creat dup dup2 dup3 epoll_create epoll_create1 epoll_ctl epoll_ctl_old epoll_pwait
epoll_pwait2 epoll_wait epoll_wait_old eventfd eventfd2 execve execveat exit exit_group faccessat
faccessat2 fadvise64 fadvise64_64 fallocate fanotify_mark fchdir fchmod fchmodat fchown fchown32
fchownat fcntl fcntl64 fdatasync fgetxattr flistxattr flock fork fremovexattr fsconfig fsetxattr
fsmount fsopen fspick fstat fstat64 fstatat64 fstatfs fstatfs64 fsync ftruncate ftruncate64 futex
futex_time64 futimesat get_robust_list get_thread_area getcpu getcwd getdents getdents64 getegid
getegid32 geteuid geteuid32 getgid getgid32 getgroups getgroups32 getitimer getpeername getpgid
getpgrp getpid getppid getpriority getrandom getresgid getresgid32 getresuid getresuid32 getrlimit
getrusage getsid getsockname getsockopt gettid gettimeofday getuid getuid32 getxattr
inotify_add_watch inotify_init inotify_init1 inotify_rm_watch io_cancel io_destroy io_getevents
io_setup io_submit ioctl ioprio_get ioprio_set ipc keyctl kill lchown lchown32 lgetxattr link
linkat listen listxattr llistxattr lremovexattr lseek lsetxattr lstat lstat64 madvise memfd_create
mincore mkdir mkdirat mknod mknodat mlock mlock2 mlockall mmap mmap2 mount move_mount mprotect
mq_getsetattr mq_notify mq_open mq_timedreceive mq_timedreceive_time64 mq_timedsend
mq_timedsend_time64 mq_unlink mremap msgctl msgget msgrcv msgsnd msync munlock munlockall munmap
name_to_handle_at nanosleep newfstatat open openat openat2 open_tree pause pidfd_getfd pidfd_open
pidfd_send_signal pipe pipe2 pivot_root pkey_alloc pkey_free pkey_mprotect poll ppoll
ppoll_time64 prctl pread64 preadv preadv2 prlimit64 pselect6 pselect6_time64 pwrite64 pwritev
pwritev2 read readahead readdir readlink readlinkat readv reboot recv recvfrom recvmmsg
recvmmsg_time64 recvmsg remap_file_pages removexattr rename renameat renameat2 restart_syscall
rmdir rseq rt_sigaction rt_sigpending rt_sigprocmask rt_sigqueueinfo rt_sigreturn rt_sigsuspend
rt_sigtimedwait rt_sigtimedwait_time64 rt_tgsigqueueinfo sched_get_priority_max
sched_get_priority_min sched_getaffinity sched_getattr sched_getparam sched_getscheduler
sched_rr_get_interval sched_rr_get_interval_time64 sched_setaffinity sched_setattr sched_setparam
sched_setscheduler sched_yield seccomp select semctl semget semop semtimedop semtimedop_time64 send
sendfile sendfile64 sendmmsg sendmsg sendto setns set_robust_list set_thread_area set_tid_address
setfsgid setfsgid32 setfsuid setfsuid32 setgid setgid32 setgroups setgroups32 setitimer setpgid
setpriority setregid setregid32 setresgid setresgid32 setresuid setresuid32 setreuid setreuid32
setrlimit setsid setsockopt setuid setuid32 setxattr shmat shmctl shmdt shmget shutdown
sigaltstack signalfd signalfd4 sigreturn socketcall socketpair splice stat stat64 statfs statfs64
statx symlink symlinkat sync sync_file_range syncfs sysinfo syslog tee tgkill time timer_create
timer_delete timer_getoverrun timer_gettime timer_gettime64 timer_settime timer_settime64
timerfd_create timerfd_gettime timerfd_gettime64 timerfd_settime timerfd_settime64 times tkill
truncate truncate64 ugetrlimit umask umount umount2 uname unlink unlinkat unshare utime utimensat
utimensat_time64 utimes vfork wait4 waitid waitpid write writev socket"""
PODMAN_PERSONAS = (0x0, 0x8, 0x20000, 0x20008, 0xFFFFFFFF)
# Podman keeps the native architecture and its companions (its archMap).
ARCH_FAMILIES = {
    "x86_64": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
    "aarch64": ["SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"],
    "s390x": ["SCMP_ARCH_S390X", "SCMP_ARCH_S390"],
}


def podman_like_profile(without: tuple[str, ...] = ()) -> dict:
    allow = [n for n in PODMAN_ALLOW.split() if n not in without]
    calls = [
        {"names": PODMAN_EPERM.split(), "action": "SCMP_ACT_ERRNO", "errnoRet": EPERM},
        {"names": allow, "action": "SCMP_ACT_ALLOW"},
    ]
    calls += [{"names": ["personality"], "action": "SCMP_ACT_ALLOW",
               "args": [{"index": 0, "value": p, "op": "SCMP_CMP_EQ"}]} for p in PODMAN_PERSONAS]
    if platform.machine() in ("x86_64", "i686"):
        calls.append({"names": ["arch_prctl", "modify_ldt"], "action": "SCMP_ACT_ALLOW"})
    return {"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": ENOSYS,
            "architectures": ARCH_FAMILIES.get(platform.machine(), []), "syscalls": calls}


def with_seccomp(seccomp: dict, nnp: bool = True):
    def edit(cfg: dict) -> None:
        cfg.setdefault("linux", {})["seccomp"] = seccomp
        cfg["process"]["noNewPrivileges"] = nnp
    return edit


def seccomp_status(text: str) -> dict[str, str]:
    out = {}
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.startswith("Seccomp"):
            out[key] = value.strip()
    return out


# --------------------------------------------------------------------------- actions


@pytest.mark.parametrize("nnp", [True, False], ids=["noNewPrivileges", "privileged-load"])
def test_errno_action_blocks_mkdir_with_eperm(runtime, bundle, nnp):
    rules = [{"names": MKDIR, "action": "SCMP_ACT_ERRNO"}]
    b = bundle(["sh", "-c", TRY_MKDIR + "; grep ^Seccomp /proc/self/status"],
               edit=with_seccomp(profile(syscalls=rules), nnp))
    res = run_ok(runtime, b)
    assert "Operation not permitted" in res.stdout, res.describe()
    assert "rc=1" in res.stdout
    status = seccomp_status(res.stdout)
    assert status["Seccomp"] == "2"  # SECCOMP_MODE_FILTER
    if "Seccomp_filters" in status:
        assert status["Seccomp_filters"] == "1"


def test_errno_ret_of_a_rule(runtime, bundle):
    rules = [{"names": MKDIR, "action": "SCMP_ACT_ERRNO", "errnoRet": EDQUOT}]
    b = bundle(["sh", "-c", TRY_MKDIR], edit=with_seccomp(profile(syscalls=rules)))
    res = run_ok(runtime, b)
    assert os.strerror(EDQUOT) in res.stdout, res.describe()


def test_default_errno_ret(runtime, bundle):
    # everything the shell needs is allowed; mkdir falls to the default action
    seccomp = podman_like_profile(without=tuple(MKDIR))
    seccomp["defaultErrnoRet"] = EACCES
    b = bundle(["sh", "-c", TRY_MKDIR], edit=with_seccomp(seccomp))
    res = run_ok(runtime, b)
    assert "Permission denied" in res.stdout, res.describe()


def test_kill_process_action_kills_with_sigsys(runtime, bundle):
    rules = [{"names": MKDIR, "action": "SCMP_ACT_KILL_PROCESS"}]
    b = bundle(["mkdir", "/tmp/made"], edit=with_seccomp(profile(syscalls=rules)))
    res = runtime.run_container(b)
    assert res.returncode == 128 + SIGSYS, res.describe()
    assert not (b.rootfs / "tmp" / "made").exists()


def test_unknown_syscall_names_are_skipped(runtime, bundle):
    rules = [{"names": ["no_such_syscall_at_all", *MKDIR], "action": "SCMP_ACT_ERRNO"}]
    b = bundle(["sh", "-c", TRY_MKDIR], edit=with_seccomp(profile(syscalls=rules)))
    res = run_ok(runtime, b)
    assert "Operation not permitted" in res.stdout, res.describe()


@pytest.mark.pyrunc_only(reason="runc 1.1.5's message names no field")
def test_bad_action_fails_create_naming_the_field(runtime, bundle, cid):
    rules = [{"names": MKDIR, "action": "SCMP_ACT_FOO"}]
    b = bundle(["true"], edit=with_seccomp(profile(syscalls=rules)))
    assert_create_fails(runtime, b, cid, "/linux/seccomp/syscalls/0/action")


@pytest.mark.pyrunc_only(reason="runc 1.1.5 ignores errnoRet there, the spec says MUST fail")
def test_errno_ret_on_an_action_without_errno_fails_create(runtime, bundle, cid):
    rules = [{"names": MKDIR, "action": "SCMP_ACT_KILL_PROCESS", "errnoRet": 5}]
    b = bundle(["true"], edit=with_seccomp(profile(syscalls=rules)))
    assert_create_fails(runtime, b, cid, "/linux/seccomp/syscalls/0/errnoRet")


# --------------------------------------------------------------------------- a real profile


@pytest.mark.parametrize("nnp", [True, False], ids=["noNewPrivileges", "privileged-load"])
def test_podman_like_default_profile(runtime, bundle, nnp):
    b = bundle(["sh", "-c", "echo ok; mkdir /tmp/d && echo made; grep ^Seccomp: /proc/self/status"],
               edit=with_seccomp(podman_like_profile(), nnp))
    res = run_ok(runtime, b)
    lines = res.stdout.split()
    assert lines[:2] == ["ok", "made"], res.describe()
    assert seccomp_status(res.stdout)["Seccomp"] == "2"


def test_podman_like_profile_eperm_and_enosys(runtime, bundle):
    # swapoff is in the EPERM list; anything unlisted (here: mkdir, taken out) gets ENOSYS
    b = bundle(["sh", "-c", "swapoff /nothing 2>&1; " + TRY_MKDIR],
               edit=with_seccomp(podman_like_profile(without=tuple(MKDIR))))
    res = run_ok(runtime, b)
    assert "Operation not permitted" in res.stdout, res.describe()
    assert "Function not implemented" in res.stdout, res.describe()


# --------------------------------------------------------------------------- SCMP_ACT_NOTIFY


class Agent:
    """A seccomp agent's socket: accepts one connection, keeps the fd and the state JSON."""

    def __init__(self, path: str):
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(path)
        self.sock.listen(1)
        self.sock.settimeout(15)
        self.fd = -1
        self.data = b""
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        try:
            conn, _ = self.sock.accept()
            with conn:
                self.fd, self.data = cext.recv_fd(conn.fileno(), 65536)
                while True:  # the runtime may send the rest of a long state in more writes
                    more = conn.recv(65536)
                    if not more:
                        break
                    self.data += more
        except BaseException as e:  # noqa: BLE001 - reported by the test
            self.error = e

    def close(self) -> None:
        if self.thread.is_alive() and self.fd < 0:
            # nobody came: end the pending accept() with a connection that sends nothing
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as poke:
                try:
                    poke.connect(self.path)
                except OSError:
                    pass
        self.thread.join(10)
        self.sock.close()
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


def test_listener_gets_the_notify_fd_and_the_process_state(runtime, bundle, workdir, cid):
    agent = Agent(str(workdir / "agent.sock"))
    try:
        seccomp = profile(syscalls=[{"names": MKDIR, "action": "SCMP_ACT_NOTIFY"}],
                          listenerPath=agent.path, listenerMetadata="MKDIR=/tmp")
        b = bundle(["sh", "-c", TRY_MKDIR], edit=with_seccomp(seccomp))
        created = runtime.create(cid, b)
        agent.thread.join(2)  # create has returned: a runtime that sends has sent
        assert agent.error is None, agent.error
        assert agent.fd >= 0
        doc = json.loads(agent.data.rstrip(b"\0"))
        state = runtime.state(cid)
        assert doc["ociVersion"]
        assert doc["fds"] == ["seccompFd"]
        assert doc["pid"] == state["pid"]
        assert doc["metadata"] == "MKDIR=/tmp"
        assert doc["state"]["id"] == cid
        assert doc["state"]["status"] == "creating"
        assert doc["state"]["pid"] == state["pid"]
        assert doc["state"]["bundle"] == str(b.path)
        # The agent holds the only listener: once it is gone, the notified call fails
        # with ENOSYS instead of waiting.
        agent.close()
        runtime.start(cid)
        runtime.wait_status(cid, "stopped")
        out = created.read_out()  # the container writes to create's stdout
        assert "Function not implemented" in out and "rc=1" in out, out
    finally:
        agent.close()


def test_notify_without_listener_path_fails_create(runtime, bundle, cid):
    # as runc ("listenerPath is not set"): no agent could ever get the listener
    seccomp = profile(syscalls=[{"names": MKDIR, "action": "SCMP_ACT_NOTIFY"}])
    b = bundle(["true"], edit=with_seccomp(seccomp))
    assert_create_fails(runtime, b, cid, "listenerPath")
