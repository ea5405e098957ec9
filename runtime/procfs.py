"""procfs and device files the runtime writes to or mounts from, checked to be what they claim.

A hostile image (or a container sharing a volume with this one) can put a symlink, or a bind
mount of some other file, where the runtime expects `/proc/self/oom_score_adj`,
`/proc/sys/...` or `/dev/null`, hoping to redirect a write or a mount (CVE-2019-16884,
CVE-2025-31133, CVE-2025-52565, CVE-2025-52881). So these files are opened by fd and the fd is
checked before use:

* procfs files are opened beneath a `/proc` that is the root of a procfs (fstatfs magic
  0x9fa0, inode 1), with openat2 refusing magic links, escapes and mount crossings; the file
  itself must then be on procfs;
* device nodes must be the character device they stand for (fstat: S_IFCHR and the numbers).

Checks that run inside container setup go through the kernel object (`check`), so that a
recording kernel (unit tests, `pyrunc explain`) shows them as steps and touches nothing.
"""

import errno
import os
import stat

import cext
from runtime.errors import PyruncError

PROC_SUPER_MAGIC = 0x9FA0
DEVPTS_SUPER_MAGIC = 0x1CD1
PROC_ROOT_INO = 1
NULL_DEVICE = (1, 3)
PR_SET_DUMPABLE = 4
PR_GET_DUMPABLE = 3

# Beneath the procfs root only; `self` and `thread-self` are plain symlinks and allowed, magic
# links (fd/N, exe, root, cwd) and anything mounted over a procfs file are not.
_PROC_RESOLVE = cext.RESOLVE_BENEATH | cext.RESOLVE_NO_MAGICLINKS | cext.RESOLVE_NO_XDEV


def check(kernel, name: str, fn, shown: tuple) -> None:
    """Run the verification `fn` as a step of `kernel` (traced; skipped by a recording kernel).
    `fn` raises PyruncError when the file is not what it claims."""
    kernel.verify(name, fn, shown)


# -- procfs -------------------------------------------------------------------------------

def open_procfs_root(path: str = "/proc") -> int:
    """An O_PATH fd of `path`, which must be the root of a procfs mount."""
    fd = os.open(path, os.O_PATH | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
    try:
        if cext.fstatfs_type(fd) != PROC_SUPER_MAGIC or os.fstat(fd).st_ino != PROC_ROOT_INO:
            raise PyruncError(f"{path} is not the root of a procfs mount")
    except BaseException:
        os.close(fd)
        raise
    return fd


def open_proc_file(path: str, flags: int) -> int:
    """Open `/proc/<rel>` for `flags` (O_WRONLY, ...) and return the fd, checked to be procfs's
    own file: no symlink out of procfs, no magic link, nothing mounted over it."""
    rel = proc_relative(path)
    root = open_procfs_root()
    try:
        try:
            fd = _open_beneath(root, rel, flags)
        except OSError as e:
            if e.errno in (errno.EXDEV, errno.ELOOP):
                raise PyruncError(f"{path} is not procfs's own file (a mount or link covers it)") from None
            raise OSError(e.errno, os.strerror(e.errno), path) from None
    finally:
        os.close(root)
    try:
        if cext.fstatfs_type(fd) != PROC_SUPER_MAGIC:
            raise PyruncError(f"{path} is not on procfs")
    except BaseException:
        os.close(fd)
        raise
    return fd


def _open_beneath(root: int, rel: str, flags: int) -> int:
    try:
        return cext.openat2(root, rel, flags | os.O_NOFOLLOW | os.O_CLOEXEC, 0, _PROC_RESOLVE)
    except PermissionError:
        # A non-dumpable process's own /proc files belong to the host's root, out of reach of
        # the root of a new user namespace. Dumpable just for this open (the fd keeps its
        # access); nothing else runs in between.
        if not rel.startswith(("self/", "thread-self/")) or cext.prctl(PR_GET_DUMPABLE) != 0:
            raise
        cext.prctl(PR_SET_DUMPABLE, 1)
        try:
            return cext.openat2(root, rel, flags | os.O_NOFOLLOW | os.O_CLOEXEC, 0, _PROC_RESOLVE)
        finally:
            cext.prctl(PR_SET_DUMPABLE, 0)


def proc_relative(path: str) -> str:
    if not path.startswith("/proc/") or "/../" in path + "/":
        raise ValueError(f"not a path under /proc: {path!r}")
    return path[len("/proc/"):]


def write_proc_file(path: str, data: str) -> None:
    fd = open_proc_file(path, os.O_WRONLY)
    try:
        os.write(fd, data.encode())
    finally:
        os.close(fd)


# -- checks of fds the setup holds ---------------------------------------------------------

def require_char_device(fd: int, major: int, minor: int, display: str) -> None:
    st = os.fstat(fd)
    if not stat.S_ISCHR(st.st_mode) or (os.major(st.st_rdev), os.minor(st.st_rdev)) != (major, minor):
        raise PyruncError(f"{display} is not the character device {major}:{minor}")


def require_fs(fd: int, magic: int, what: str, display: str) -> None:
    if cext.fstatfs_type(fd) != magic:
        raise PyruncError(f"{display} is not on {what}")


def is_procfs_root(fd: int) -> bool:
    return cext.fstatfs_type(fd) == PROC_SUPER_MAGIC and os.fstat(fd).st_ino == PROC_ROOT_INO


def check_null_device(kernel, target) -> None:
    """`target` (an InRoot) must be the null device: what masks a file is bound from it."""
    check(kernel, "fstat", lambda: require_char_device(target.fd, *NULL_DEVICE, target.display),
          (target, "S_IFCHR 1:3"))


def check_on_procfs(kernel, target) -> None:
    check(kernel, "fstatfs", lambda: require_fs(target.fd, PROC_SUPER_MAGIC, "procfs", target.display),
          (target, "PROC_SUPER_MAGIC"))


def check_not_procfs_root(kernel, target) -> None:
    """Nothing but procfs may be mounted over the container's procfs (CVE-2019-16884)."""
    def refuse():
        if is_procfs_root(target.fd):
            raise PyruncError(f"{target.display} is procfs: only procfs may be mounted there")
    check(kernel, "fstatfs", refuse, (target, "not the procfs root"))
