"""The container process: limits, identity (user, groups, capabilities), cwd, executable."""

import os
import stat

from runtime import capabilities
from runtime.errors import PyruncError
from runtime.paths import Root

DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
PR_SET_NO_NEW_PRIVS = 38
PR_SET_KEEPCAPS = 8


# Linux's resource numbers (asm-generic/resource.h); Python's `resource` lacks RLIMIT_LOCKS.
RLIMITS = {name: i for i, name in enumerate((
    "RLIMIT_CPU", "RLIMIT_FSIZE", "RLIMIT_DATA", "RLIMIT_STACK", "RLIMIT_CORE", "RLIMIT_RSS",
    "RLIMIT_NPROC", "RLIMIT_NOFILE", "RLIMIT_MEMLOCK", "RLIMIT_AS", "RLIMIT_LOCKS",
    "RLIMIT_SIGPENDING", "RLIMIT_MSGQUEUE", "RLIMIT_NICE", "RLIMIT_RTPRIO", "RLIMIT_RTTIME"))}
def apply_rlimits(kernel, process) -> None:
    for index, rl in enumerate(process.rlimits):
        with kernel.because(f"/process/rlimits/{index}"):
            num = RLIMITS.get(rl.type)
            if num is None:
                raise PyruncError(f"unknown rlimit type {rl.type!r}")
            kernel.setrlimit(num, rl.soft, rl.hard, rl.type)


def set_identity(kernel, process) -> None:
    """Capabilities and user, in the only order that works: the bounding set is cut while
    CAP_SETPCAP is still held, the ids change with KEEPCAPS so that the permitted set survives,
    then the final sets are installed and the ambient ones raised."""
    caps = process.capabilities
    user = process.user
    uid = user.uid if user else 0
    gid = user.gid if user else 0
    known = capabilities.last_cap()
    if caps is not None:
        with kernel.because("/process/capabilities/bounding"):
            keep = capabilities.mask(caps.bounding, "/process/capabilities/bounding", known)
            for cap in range(known + 1):
                if not keep & (1 << cap):
                    kernel.drop_bounding(cap, capabilities.name(cap))
        kernel.prctl(PR_SET_KEEPCAPS, 1, "PR_SET_KEEPCAPS")
    with kernel.because("/process/user"):
        kernel.setgroups(list(user.additional_gids) if user else [])
        kernel.setresgid(gid)
        kernel.setresuid(uid)
    if caps is not None:
        kernel.prctl(PR_SET_KEEPCAPS, 0, "PR_SET_KEEPCAPS")
        permitted = capabilities.mask(caps.permitted, "/process/capabilities/permitted", known)
        inheritable = capabilities.mask(caps.inheritable, "/process/capabilities/inheritable", known)
        with kernel.because("/process/capabilities"):
            kernel.capset(capabilities.mask(caps.effective, "/process/capabilities/effective", known),
                          permitted, inheritable)
        with kernel.because("/process/capabilities/ambient"):
            for name in caps.ambient:
                num = capabilities.NUMBERS.get(name.upper(), known + 1)
                # The kernel raises an ambient capability only if it is permitted and
                # inheritable; like runc, others are left out rather than failing the start.
                if num <= known and permitted & inheritable & (1 << num):
                    kernel.ambient_raise(num, name)
                else:
                    kernel.note(f"ambient {name} left out: not both permitted and inheritable")
    if process.no_new_privileges:
        with kernel.because("/process/noNewPrivileges"):
            kernel.prctl(PR_SET_NO_NEW_PRIVS, 1, "PR_SET_NO_NEW_PRIVS")


def enter_cwd(kernel, cwd: str) -> None:
    """chdir to process.cwd resolved inside the current root (the container's): symlinks stay
    inside it and magic links such as /proc/self/fd/N, which could name a directory fd of the
    runtime on the host, are refused (CVE-2024-21626)."""
    root = Root(kernel, "/")
    try:
        target = root.open(cwd, os.O_PATH | os.O_DIRECTORY)
    finally:
        root.close()
    try:
        kernel.fchdir(target.fd, target.display)
    finally:
        kernel.close(target.fd)


def env_path(env: list[str]) -> str:
    for item in env:
        if item.startswith("PATH="):
            return item[5:]
    return DEFAULT_PATH


def find_executable(name: str, env: list[str]) -> str:
    """Resolve process.args[0] the way execvp would, inside the container, with runc's errors."""
    if "/" in name:
        return _check_executable(name, name)
    for directory in env_path(env).split(":"):
        candidate = os.path.join(directory or ".", name)
        if os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return candidate
    raise PyruncError(f'exec: "{name}": executable file not found in $PATH')


def _check_executable(name: str, path: str) -> str:
    try:
        st = os.stat(path)
    except OSError as e:
        raise PyruncError(f'exec: "{name}": {e.strerror.lower()}') from None
    if not os.path.isfile(path) or not st.st_mode & 0o111 or not os.access(path, os.X_OK):
        raise PyruncError(f'exec: "{name}": permission denied')
    return path


def exec_environment(process) -> list[str]:
    env = list(process.env)
    if not any(e.startswith("HOME=") for e in env):
        env.append("HOME=" + home_of(process.user.uid if process.user else 0))
    return env


def home_of(uid: int) -> str:
    """HOME from the container's /etc/passwd, "/" when the user has no entry (as runc)."""
    try:
        # The image's file: a FIFO there must not hang the runtime, nor a device be read.
        fd = os.open("/etc/passwd", os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
        with open(fd, errors="replace") as f:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                return "/"
            for line in f:
                parts = line.rstrip("\n").split(":")
                if len(parts) >= 6 and parts[2] == str(uid):
                    return parts[5] or "/"
    except OSError:
        pass
    return "/"

