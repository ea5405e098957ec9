"""Observations shared by the reliability tests: cgroups of a process, tracebacks, leftovers."""

from __future__ import annotations

import os

CGROUP_ROOT = "/sys/fs/cgroup"


def cgroup_dirs(pid: int) -> list[str]:
    """The cgroup directories (every hierarchy) of a live process, below their mount points."""
    dirs = []
    try:
        with open(f"/proc/{pid}/cgroup") as f:
            lines = f.read().splitlines()
    except OSError:
        return dirs
    for line in lines:
        _, controllers, path = line.split(":", 2)
        if path in ("", "/"):
            continue
        if controllers == "":
            top = os.path.join(CGROUP_ROOT, "unified")
        else:
            name = controllers.split(",")[0].removeprefix("name=")
            top = _v1_mount(controllers) or os.path.join(CGROUP_ROOT, name)
        dirs.append(top + path)
    return [d for d in dirs if os.path.isdir(d)]


def _v1_mount(controllers: str) -> str | None:
    for candidate in (controllers, controllers.replace("name=", "")):
        path = os.path.join(CGROUP_ROOT, candidate)
        if os.path.isdir(path):
            return path
    return None


def container_cgroups(pid: int) -> list[str]:
    """The cgroup directories of a container's init that its runtime made (not the host's own)."""
    own = set(cgroup_dirs(os.getpid()))
    return [d for d in cgroup_dirs(pid) if d not in own]


def assert_clean_failure(res, *needles: str) -> None:
    """Exit status 1, a message, and no Python traceback."""
    text = res.stderr + res.stdout
    assert res.returncode == 1, res.describe()
    assert "Traceback" not in text, res.describe()
    assert res.stderr.strip(), res.describe()
    for needle in needles:
        assert needle in res.stderr, f"{needle!r} not in the error:\n" + res.describe()


def assert_no_traceback(res) -> None:
    assert "Traceback" not in res.stderr + res.stdout, res.describe()


class Cli:
    """Thread-safe runtime commands for concurrent tests: each call's output goes to its own
    files (a container started by `create` inherits them, so pipes would never close)."""

    def __init__(self, runtime, workdir):
        import itertools
        import threading

        self.runtime = runtime
        self.dir = workdir / "cli"
        self.dir.mkdir(exist_ok=True)
        self._n = itertools.count()
        self._lock = threading.Lock()

    def __call__(self, *args, timeout: float = 60.0):
        import subprocess

        with self._lock:
            n = next(self._n)
        out_path, err_path = self.dir / f"{n:05d}.out", self.dir / f"{n:05d}.err"
        argv = self.runtime.argv(*args)
        with open(out_path, "wb") as out, open(err_path, "wb") as err:
            cp = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                                timeout=timeout, cwd="/")
        return CliResult(argv, cp.returncode, out_path.read_bytes().decode(errors="replace"),
                         err_path.read_bytes().decode(errors="replace"))


class CliResult:
    def __init__(self, args, returncode: int, stdout: str, stderr: str):
        self.args, self.returncode, self.stdout, self.stderr = args, returncode, stdout, stderr

    def describe(self) -> str:
        return (f"$ {' '.join(map(str, self.args))}\nexit status {self.returncode}\n--- stdout ---\n"
                f"{self.stdout}--- stderr ---\n{self.stderr}")


def cgroup_candidates(name: str) -> list[str]:
    """Where a runtime puts a cgroup named ``name`` (a container id or a cgroupsPath): an
    absolute one below each hierarchy's mount point, a relative one below this process's
    cgroup in each hierarchy."""
    out = []
    with open("/proc/self/cgroup") as f:
        for line in f.read().splitlines():
            _, controllers, own = line.split(":", 2)
            if controllers == "":
                top = os.path.join(CGROUP_ROOT, "unified")
            else:
                top = _v1_mount(controllers) or os.path.join(CGROUP_ROOT, controllers)
            base = top if name.startswith("/") else top + own.rstrip("/")
            out.append(os.path.normpath(base + "/" + name.lstrip("/")))
    return out


def mounts_under(top: str) -> list[str]:
    from integration.util import parse_mountinfo

    top = top.rstrip("/")
    with open("/proc/self/mountinfo") as f:
        mounts = parse_mountinfo(f.read())
    return [m["mount_point"] for m in mounts if m["mount_point"] == top
            or m["mount_point"].startswith(top + "/")]


def processes_rooted_in(path: str) -> list[int]:
    st = os.stat(path)
    ident = (st.st_dev, st.st_ino)
    found = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            rst = os.stat(f"/proc/{entry.name}/root")
        except OSError:
            continue
        if (rst.st_dev, rst.st_ino) == ident:
            found.append(int(entry.name))
    return found
