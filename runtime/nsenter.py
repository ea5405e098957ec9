"""Entering a running container's namespaces from a forked child of the runtime.

Used for the hooks that run "in the container namespace" and, later, for `exec`. The child
opens every namespace of the target that differs from its own, joins the user namespace
first (so that it may join the others), the mount namespace last (it changes what paths
mean, and setns() into it also moves the root and cwd to the container's), then forks once
more, because a pid or time namespace applies only to children.
"""

import os

import cext
from runtime.namespaces import CLONE_FLAGS, PROC_NAMES

# Join order: user first, mount last.
_ORDER = ["user", "cgroup", "ipc", "uts", "network", "pid", "time", "mount"]


def open_namespaces(pid: int) -> list[tuple[str, int]]:
    """(kind, fd) for each namespace of `pid` that is not ours."""
    found = []
    for kind in _ORDER:
        name = PROC_NAMES[kind]
        try:
            theirs = os.stat(f"/proc/{pid}/ns/{name}")
            mine = os.stat(f"/proc/self/ns/{name}")
        except FileNotFoundError:
            continue  # a kernel without this namespace kind
        if (theirs.st_dev, theirs.st_ino) != (mine.st_dev, mine.st_ino):
            found.append((kind, os.open(f"/proc/{pid}/ns/{name}", os.O_RDONLY | os.O_CLOEXEC)))
    return found


PR_SET_DUMPABLE = 4


def enter(pid: int) -> None:
    """In a forked child: join the namespaces of `pid`. The caller must fork again before
    exec for the pid and time namespaces to apply.

    The child becomes non-dumpable first (its children inherit it until their execve): a
    container process must not ptrace it, read its memory or fds, or open its executable, the
    host's interpreter (CVE-2019-5736, CVE-2016-9962)."""
    cext.prctl(PR_SET_DUMPABLE, 0)
    for kind, fd in open_namespaces(pid):
        cext.setns(fd, CLONE_FLAGS[kind])
        os.close(fd)
