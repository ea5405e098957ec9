"""The one interface through which container setup reaches the kernel.

Every method is a *step*: a syscall (or a tight group of them) that the trace shows with its
arguments, the process it ran in and the config field behind it. `RealKernel` does the steps;
`runtime.kernel_fake.RecordingKernel` records them without touching the host, for unit tests
and for `pyrunc explain`, which runs the same setup code against it.
"""

import os
import time

import cext
from runtime.errors import SetupError
from runtime.procfs import write_proc_file  # loaded before pivot_root, like all of kernel

CLOSE_RANGE_CLOEXEC = 4

_MS_NAMES = [(getattr(cext, n), n) for n in (
    "MS_RDONLY", "MS_NOSUID", "MS_NODEV", "MS_NOEXEC", "MS_SYNCHRONOUS", "MS_REMOUNT", "MS_MANDLOCK",
    "MS_DIRSYNC", "MS_NOATIME", "MS_NODIRATIME", "MS_BIND", "MS_MOVE", "MS_REC", "MS_SILENT",
    "MS_UNBINDABLE", "MS_PRIVATE", "MS_SLAVE", "MS_SHARED", "MS_RELATIME", "MS_STRICTATIME",
    "MS_LAZYTIME")]
_CLONE_NAMES = [(getattr(cext, n), n) for n in (
    "CLONE_NEWNS", "CLONE_NEWCGROUP", "CLONE_NEWUTS", "CLONE_NEWIPC", "CLONE_NEWUSER", "CLONE_NEWPID",
    "CLONE_NEWNET", "CLONE_NEWTIME")]


def flag_text(value: int, table) -> str:
    names = [name for bit, name in table if value & bit]
    rest = value
    for bit, _ in table:
        if value & bit:
            rest &= ~bit
    if rest:
        names.append(hex(rest))
    return "|".join(names) or "0"


class InRoot:
    """A path already resolved inside the rootfs, held as an O_PATH fd.

    Mounting on `/proc/self/fd/N` reaches exactly the inode that was resolved, so a symlink
    swapped in afterwards cannot redirect the mount; `display` is the path the trace shows.
    """

    __slots__ = ("fd", "display")

    def __init__(self, fd: int, display: str):
        self.fd = fd
        self.display = display

    def __str__(self) -> str:
        return f"/proc/self/fd/{self.fd}"

    def __repr__(self) -> str:
        return repr(self.display)


def _arg(a) -> str:
    if isinstance(a, InRoot):
        return repr(a.display)
    if isinstance(a, (list, tuple)) and len(a) > 6:
        return "[" + ", ".join(map(repr, a[:6])) + f", ... {len(a)} items]"
    return repr(a)


class Kernel:
    """Step bookkeeping shared by the real and the recording kernel."""

    def __init__(self, proc: str = "runtime", tracer=None):
        self.proc = proc
        self.tracer = tracer  # callable(dict) or None
        self.field: str | None = None

    def because(self, field: str | None) -> "_Field":
        """Attribute the steps inside a `with` block to a config field (a JSON pointer)."""
        return _Field(self, field)

    def _step(self, name: str, fn, args: tuple, shown: tuple | None = None):
        shown = args if shown is None else shown
        if self.tracer is None:
            try:
                return fn(*args)
            except OSError as e:
                raise self._error(name, shown, e) from e
        t0 = time.perf_counter_ns()
        try:
            result = fn(*args)
        except OSError as e:
            self._trace(name, shown, t0, error=e)
            raise self._error(name, shown, e) from e
        self._trace(name, shown, t0, result=result)
        return result

    def note(self, text: str) -> None:
        """A fact for the trace that is not a step (e.g. a field left unapplied, and why)."""
        if self.tracer is not None:
            self.tracer({"proc": self.proc, "step": f"note: {text}", "field": self.field, "us": 0})

    def _trace(self, name, shown, t0, result=None, error=None) -> None:
        entry = {"proc": self.proc, "step": f"{name}({', '.join(map(_arg, shown))})",
                 "field": self.field, "us": (time.perf_counter_ns() - t0) // 1000}
        if error is not None:
            entry["error"] = f"{errno_name(error.errno)}: {os.strerror(error.errno)}"
        elif isinstance(result, int) and not isinstance(result, bool):
            entry["result"] = result
        self.tracer(entry)

    def _error(self, name: str, shown: tuple, e: OSError) -> SetupError:
        call = f"{name}({', '.join(map(_arg, shown))})"
        # cext's own message repeats the call; the step text already has it.
        reason = f"{os.strerror(e.errno)} ({errno_name(e.errno)})"
        return SetupError(call, self.field, OSError(e.errno, reason))


class _Field:
    def __init__(self, kernel: Kernel, field: str | None):
        self.kernel, self.field, self.saved = kernel, field, None

    def __enter__(self):
        self.saved = self.kernel.field
        self.kernel.field = self.field

    def __exit__(self, exc_type, exc, tb):
        self.kernel.field = self.saved
        # The innermost field an error passed through names it (the `with` is gone by the
        # time the error is reported).
        if exc is not None and self.field and getattr(exc, "field", None) is None:
            try:
                exc.field = self.field
            except AttributeError:
                pass


def errno_name(num: int | None) -> str:
    import errno

    return errno.errorcode.get(num or 0, f"errno {num}")


class RealKernel(Kernel):
    # namespaces
    def unshare(self, flags: int):
        return self._step("unshare", cext.unshare, (flags,), (flag_text(flags, _CLONE_NAMES),))

    def setns(self, fd: int, nstype: int, path: str = ""):
        return self._step("setns", cext.setns, (fd, nstype), (path or fd, flag_text(nstype, _CLONE_NAMES)))

    # files
    def open(self, path, flags: int, mode: int = 0o644, dir_fd: int | None = None) -> int:
        return self._step("open", lambda: os.open(str(path), flags | os.O_CLOEXEC, mode, dir_fd=dir_fd),
                          (), (path,))

    def openat2(self, dir_fd: int, path: str, flags: int, resolve: int, display: str) -> int:
        return self._step("openat2", cext.openat2, (dir_fd, path, flags | os.O_CLOEXEC, 0, resolve),
                          (display,))

    def close(self, fd: int) -> None:
        os.close(fd)

    def mkdirat(self, dir_fd: int, name: str, mode: int, display: str) -> None:
        self._step("mkdir", lambda: os.mkdir(name, mode, dir_fd=dir_fd), (), (display, oct(mode)))

    def mknodat(self, dir_fd: int, name: str, mode: int, dev: int, display: str) -> None:
        self._step("mknod", lambda: os.mknod(name, mode, dev, dir_fd=dir_fd), (),
                   (display, oct(mode), f"{os.major(dev)}:{os.minor(dev)}"))

    def symlinkat(self, target: str, dir_fd: int, name: str, display: str) -> None:
        self._step("symlink", lambda: os.symlink(target, name, dir_fd=dir_fd), (), (target, display))

    def unlinkat(self, dir_fd: int, name: str, display: str) -> None:
        self._step("unlink", lambda: os.unlink(name, dir_fd=dir_fd), (), (display,))

    def create_file_at(self, dir_fd: int, name: str, mode: int, display: str) -> None:
        def create():
            os.close(os.open(name, os.O_CREAT | os.O_WRONLY | os.O_CLOEXEC | os.O_NOFOLLOW, mode,
                             dir_fd=dir_fd))
        self._step("creat", create, (), (display, oct(mode)))

    def chown_at(self, dir_fd: int, name: str, uid: int, gid: int, display: str) -> None:
        self._step("chown", lambda: os.chown(name, uid, gid, dir_fd=dir_fd, follow_symlinks=False), (),
                   (display, uid, gid))

    def write_file(self, path: str, data: str) -> None:
        if path.startswith("/proc/"):
            # Through an fd checked to be procfs's own file (runtime.procfs, CVE-2025-52881).
            self._step("write", write_proc_file, (path, data))
            return

        def write():
            fd = os.open(path, os.O_WRONLY | os.O_CLOEXEC)
            try:
                os.write(fd, data.encode())
            finally:
                os.close(fd)
        self._step("write", write, (), (path, data))

    def write_fd(self, fd: int, data: str, display: str) -> None:
        self._step("write", lambda: os.write(fd, data.encode()), (), (display, data))

    def fork_into_cgroup(self, cgroup_fd: int, display: str) -> int:
        """os.fork(), the child born in the cgroup2 directory open on cgroup_fd (clone3)."""
        return self._step("clone3", cext.fork_into_cgroup, (cgroup_fd,), ("CLONE_INTO_CGROUP", display))

    def verify(self, name: str, fn, shown: tuple) -> None:
        """A check of a file the setup is about to use (runtime.procfs): a step like any
        other, so traces show it and a recording kernel skips it."""
        self._step(name, fn, (), shown)

    # mounts and the root
    def mount(self, source, target, fstype, flags: int, data=None) -> None:
        self._step("mount", cext.mount, (source, str(target), fstype, flags, data),
                   (source, target, fstype, flag_text(flags, _MS_NAMES), data))

    def mount_setattr(self, target, attr_set: int, attr_clr: int, recursive: bool = True) -> None:
        flags = cext.AT_RECURSIVE if recursive else 0
        self._step("mount_setattr", lambda: cext.mount_setattr(target.fd, "", flags | cext.AT_EMPTY_PATH,
                                                               attr_set, attr_clr), (),
                   (target, hex(attr_set), hex(attr_clr)))

    def umount2(self, target, flags: int = 0) -> None:
        self._step("umount2", cext.umount2, (str(target), flags), (target, flags))

    def pivot_root(self, new_root: str, put_old: str) -> None:
        self._step("pivot_root", cext.pivot_root, (new_root, put_old))

    def chroot(self, path: str) -> None:
        self._step("chroot", os.chroot, (path,))

    def chdir(self, path: str) -> None:
        self._step("chdir", os.chdir, (path,))

    # identity of the process
    def sethostname(self, name: str) -> None:
        self._step("sethostname", cext.sethostname, (name,))

    def setdomainname(self, name: str) -> None:
        self._step("setdomainname", cext.setdomainname, (name,))

    def setrlimit(self, resource: int, soft: int, hard: int, name: str = "") -> None:
        """Limits as the config gives them: RLIM_INFINITY is 2**64 - 1."""
        self._step("setrlimit", cext.setrlimit, (resource, soft, hard), (name or resource, soft, hard))

    def setgroups(self, gids: list[int]) -> None:
        self._step("setgroups", os.setgroups, (gids,))

    def setresgid(self, gid: int) -> None:
        self._step("setresgid", os.setresgid, (gid, gid, gid))

    def setresuid(self, uid: int) -> None:
        self._step("setresuid", os.setresuid, (uid, uid, uid))

    def umask(self, mask: int) -> int:
        return self._step("umask", os.umask, (mask,), (oct(mask),))

    def prctl(self, option: int, arg2: int = 0, name: str = "") -> int:
        return self._step("prctl", cext.prctl, (option, arg2), (name or option, arg2))

    def capset(self, effective: int, permitted: int, inheritable: int) -> None:
        self._step("capset", cext.capset, (effective, permitted, inheritable),
                   (hex(effective), hex(permitted), hex(inheritable)))

    def drop_bounding(self, cap: int, name: str) -> None:
        self._step("prctl", cext.drop_bounding, (cap,), ("PR_CAPBSET_DROP", name))

    def ambient_raise(self, cap: int, name: str) -> None:
        self._step("prctl", cext.ambient_raise, (cap,), ("PR_CAP_AMBIENT_RAISE", name))

    def join_session_keyring(self, name: str) -> int:
        return self._step("keyctl", cext.keyctl_join_session_keyring, (name,),
                          ("KEYCTL_JOIN_SESSION_KEYRING", name))

    def setsid(self) -> None:
        self._step("setsid", os.setsid, ())

    def dup2(self, fd: int, fd2: int) -> None:
        self._step("dup2", os.dup2, (fd, fd2, True))

    def ioctl(self, fd: int, request: int, arg, name: str):
        import fcntl

        return self._step("ioctl", fcntl.ioctl, (fd, request, arg), (fd, name))

    def openpty(self) -> tuple[int, int]:
        return self._step("openpty", os.openpty, ())

    def send_fd(self, sock_fd: int, fd: int, name: str) -> None:
        self._step("sendmsg", cext.send_fd, (sock_fd, fd, name.encode()), ("SCM_RIGHTS", fd, name))

    def mark_cloexec_from(self, first: int) -> None:
        self._step("close_range", cext.close_range, (first, 0xFFFFFFFF, CLOSE_RANGE_CLOEXEC),
                   (first, "~0", "CLOSE_RANGE_CLOEXEC"))

    def personality(self, persona: int, name: str) -> None:
        self._step("personality", cext.personality, (persona,), (name,))

    def sched_setattr(self, policy: int, flags: int, nice: int, priority: int, runtime: int,
                      deadline: int, period: int, name: str) -> None:
        self._step("sched_setattr", lambda: cext.sched_setattr(0, policy, flags, nice, priority, runtime,
                                                               deadline, period), (),
                   (0, name, hex(flags), nice, priority, runtime, deadline, period))

    def ioprio_set(self, ioprio: int, name: str) -> None:
        self._step("ioprio_set", cext.ioprio_set, (cext.IOPRIO_WHO_PROCESS, 0, ioprio),
                   ("IOPRIO_WHO_PROCESS", 0, name))

    def set_mempolicy(self, mode: int, nodes: list[int], name: str) -> None:
        self._step("set_mempolicy", cext.set_mempolicy, (mode, nodes), (name, nodes))

    def copy_tree(self, src_dir: int, dst_dir: int, display: str) -> None:
        from runtime import copyup

        def copy():
            copyup.copy_tree(src_dir, dst_dir)
            copyup.copy_root_attributes(src_dir, dst_dir)
        self._step("copyup", copy, (), (display,))

    def move_mount_to(self, fd: int, target) -> None:
        flags = cext.MOVE_MOUNT_F_EMPTY_PATH | cext.MOVE_MOUNT_T_EMPTY_PATH
        self._step("move_mount", cext.move_mount, (fd, "", target.fd, "", flags), (fd, target))

    def seccomp_load(self, flt, shown: tuple) -> int:
        return self._step("seccomp", flt.load_or_explain, (), shown)

    def fchdir(self, fd: int, display: str) -> None:
        self._step("fchdir", os.fchdir, (fd,), (display,))

    # Queries: they read the host or the rootfs and change nothing, so they are not traced.
    # The recording kernel answers them from its own idea of the filesystem.
    def kind_of(self, path) -> str | None:
        """'dir', 'file' (anything else that exists) or None."""
        try:
            return "dir" if os.path.isdir(str(path)) else ("file" if os.path.exists(str(path)) else None)
        except OSError:
            return None

    def exists_at(self, dir_fd: int, name: str) -> bool:
        try:
            os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
            return True
        except FileNotFoundError:
            return False

    def node_at(self, dir_fd: int, name: str) -> tuple[int, int] | None:
        """(file type bits, rdev) of what is at `name`, None if nothing is."""
        import stat

        try:
            st = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
        except FileNotFoundError:
            return None
        return stat.S_IFMT(st.st_mode), st.st_rdev

    def readlink_at(self, dir_fd: int, name: str) -> str:
        return os.readlink(name, dir_fd=dir_fd)

    def mount_flags(self, target) -> int:
        return os.statvfs(str(target)).f_flag

    def ttyname(self, fd: int) -> str:
        return os.ttyname(fd)

    def find_executable(self, name: str, env: list[str]) -> str:
        from runtime.process import find_executable

        return find_executable(name, env)

    def link_up(self, name: str) -> None:
        from runtime import netlink_lite

        self._step("ioctl", netlink_lite.link_up, (name,), ("SIOCSIFFLAGS", name, "IFF_UP"))

    def exec_when_started(self, start_fd: int, path: str, argv: list[str], env: list[str]):
        if self.tracer is not None:
            self._trace("execve", (path, argv), time.perf_counter_ns())
        try:
            cext.exec_when_started(start_fd, path, argv, env)
        except OSError as e:
            raise self._error("execve", (path, argv), e) from e
