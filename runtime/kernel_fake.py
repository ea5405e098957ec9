"""A kernel that records the steps instead of doing them.

It runs the very code that sets a container up (runtime.container_init) with every syscall
replaced by an entry in `steps`, so unit tests can check the plan without root, and
`pyrunc explain` can print it without touching the host.
"""

import errno
import os

from runtime.kernel import InRoot, RealKernel


def _host_kernel_path(path) -> bool:
    return isinstance(path, str) and path.startswith(("/proc/", "/sys/"))


class Step:
    __slots__ = ("proc", "name", "args", "field")

    def __init__(self, proc: str, name: str, args: tuple, field: str | None):
        self.proc, self.name, self.args, self.field = proc, name, args, field

    def __repr__(self) -> str:
        where = f"  <- {self.field}" if self.field else ""
        return f"{self.proc}: {self.name}({', '.join(map(repr, self.args))}){where}"


class RecordingKernel(RealKernel):
    """Same methods as RealKernel (so the same argument rendering); only `_step` differs.

    `files` answers the queries: a path (inside the rootfs, as the setup code shows it) maps to
    'dir' or 'file'; anything else does not exist. Bind sources default to directories.
    """

    def __init__(self, proc: str = "init", files: dict | None = None, steps: list | None = None):
        super().__init__(proc, tracer=None)
        self.steps: list[Step] = [] if steps is None else steps
        self.files = files or {}
        self._next_fd = 100

    def child(self, proc: str) -> "RecordingKernel":
        """The kernel of a forked process: its steps go to the same list."""
        return RecordingKernel(proc, self.files, self.steps)

    def _step(self, name, fn, args, shown=None):
        shown = args if shown is None else shown
        shown = tuple(a.display if isinstance(a, InRoot) else a for a in shown)
        if name == "openat2" and _host_kernel_path(shown[0]) and not os.path.exists(shown[0]):
            # The container's /proc and /sys are the host kernel's: what this host lacks
            # (a masked path like /proc/kcore) is skipped by the real run, and so here.
            raise self._error(name, shown, OSError(errno.ENOENT, os.strerror(errno.ENOENT)))
        self.steps.append(Step(self.proc, name, shown, self.field))
        if name in ("open", "openat2", "open_tree"):
            self._next_fd += 1
            return self._next_fd
        if name == "openpty":
            self._next_fd += 2
            return self._next_fd - 1, self._next_fd
        return 0

    def note(self, text: str) -> None:
        self.steps.append(Step(self.proc, "note", (text,), self.field))

    def seccomp_load(self, flt, shown: tuple) -> int:
        return self._step("seccomp", None, (), shown)

    def close(self, fd: int) -> None:
        pass

    def kind_of(self, path) -> str | None:
        shown = getattr(path, "display", str(path))
        if _host_kernel_path(shown):
            return "dir" if os.path.isdir(shown) else ("file" if os.path.exists(shown) else None)
        return self.files.get(shown, "dir")

    def exists_at(self, dir_fd: int, name: str) -> bool:
        return False

    def node_at(self, dir_fd: int, name: str):
        return None

    def mount_flags(self, target) -> int:
        return 0

    def ttyname(self, fd: int) -> str:
        return "/dev/pts/0"

    def find_executable(self, name: str, env: list[str]) -> str:
        return name if "/" in name else f"$PATH/{name}"

    def exec_when_started(self, start_fd, path, argv, env):
        self._step("execve", None, (path, argv))

    def names(self) -> list[str]:
        return [s.name for s in self.steps]
