"""Helpers shared by the real-container tests and tests/conftest.py (no pytest fixtures)."""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable

import pytest


def unique_id(prefix: str = "t") -> str:
    """A container id no other test (or worker) will use."""
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def wait_for(predicate: Callable[[], object], timeout: float = 10.0, interval: float = 0.02,
             what: str = "condition") -> object:
    """Poll ``predicate`` until it returns a true value; fail the test after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


def proc_starttime(pid: int) -> int | None:
    """Start time (clock ticks since boot) of a live, non-zombie process, else None."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            data = f.read()
    except OSError:
        return None
    fields = data[data.rindex(b")") + 2:].split()
    if fields[0] in (b"Z", b"X"):
        return None
    return int(fields[19])


def pid_alive(pid: int) -> bool:
    """True when ``pid`` exists and is not a zombie."""
    return proc_starttime(pid) is not None


def parse_mountinfo(text: str) -> list[dict]:
    """Parse /proc/*/mountinfo text into dicts (mount_point, root, fstype, options, ...)."""

    def unescape(s: str) -> str:
        return re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), s)

    mounts = []
    for line in text.splitlines():
        if not line.strip():
            continue
        left, _, right = line.partition(" - ")
        lf = left.split()
        rf = right.split()
        mounts.append({
            "id": int(lf[0]),
            "parent": int(lf[1]),
            "dev": lf[2],
            "root": unescape(lf[3]),
            "mount_point": unescape(lf[4]),
            "options": lf[5].split(","),
            "optional": lf[6:],
            "fstype": rf[0] if rf else "",
            "source": unescape(rf[1]) if len(rf) > 1 else "",
            "super_options": rf[2].split(",") if len(rf) > 2 else [],
        })
    return mounts


# --------------------------------------------------------------------------- spec tests helpers


def mount_at(mounts: list[dict], point: str) -> dict | None:
    """The topmost mount (last in mountinfo order) whose mount point is ``point``."""
    found = None
    for m in mounts:
        if m["mount_point"] == point:
            found = m
    return found


def propagation_tags(mount: dict) -> dict[str, str]:
    """Optional fields of a mountinfo entry: {'shared': '12', 'master': '7', 'unbindable': ''}."""
    tags = {}
    for field in mount["optional"]:
        key, _, value = field.partition(":")
        tags[key] = value
    return tags


class HostMounts:
    """Mounts made on the host by a test, undone (lazily, innermost first) on exit.

    ``with HostMounts() as hm: hm.mount("-t", "tmpfs", "tmpfs", "/some/dir")`` (arguments of
    mount(8), the last one is the mount point); ``hm.propagation("--make-shared", path)``
    changes a mount's propagation; ``hm.umount(path)`` undoes one mount early.
    """

    def __init__(self):
        self.points: list[str] = []

    @staticmethod
    def _mount(*args: str) -> None:
        import subprocess

        res = subprocess.run(["mount", *args], capture_output=True, text=True, timeout=10)
        if res.returncode != 0:
            pytest.fail(f"host: mount {' '.join(args)} failed: {res.stderr.strip()}")

    def mount(self, *args: str) -> str:
        self._mount(*(str(a) for a in args))
        self.points.append(str(args[-1]))
        return str(args[-1])

    def propagation(self, flag: str, point) -> None:
        self._mount(flag, str(point))

    def umount(self, point) -> None:
        import subprocess

        point = str(point)
        subprocess.run(["umount", "-l", point], capture_output=True, timeout=10)
        if point in self.points:
            self.points.reverse()
            self.points.remove(point)
            self.points.reverse()

    def __enter__(self) -> HostMounts:
        return self

    def __exit__(self, *exc) -> None:
        while self.points:
            self.umount(self.points[-1])


# -- shared by the test files -------------------------------------------------------------

def run_ok(runtime, b, *flags, **kw):
    res = runtime.run_container(b, *flags, **kw)
    assert res.returncode == 0, res.describe()
    return res


def status_fields(text: str) -> dict[str, str]:
    out = {}
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if sep:
            out[key.strip()] = value.strip()
    return out


def assert_create_fails(runtime, b, cid, *needles):
    res = runtime.create(cid, b, check=False)
    assert res.returncode == 1, res.describe()
    for needle in needles:
        assert needle in res.stderr, res.describe()
    assert runtime.status(cid) is None
    assert not (runtime.root / cid).exists()
    return res


# The device nodes every container gets (config-linux.md, "Default Devices"): (major, minor).
DEFAULT_DEVICES = {
    "/dev/null": (1, 3),
    "/dev/zero": (1, 5),
    "/dev/full": (1, 7),
    "/dev/random": (1, 8),
    "/dev/urandom": (1, 9),
    "/dev/tty": (5, 0),
}


def without_ns(kind):
    """A config edit: the namespace `kind` dropped."""
    def edit(c):
        c["linux"]["namespaces"] = [n for n in c["linux"]["namespaces"] if n["type"] != kind]

    return edit


def with_ns(kind):
    """A config edit: a new namespace `kind` added if missing."""
    def edit(c):
        if kind not in [n["type"] for n in c["linux"]["namespaces"]]:
            c["linux"]["namespaces"].append({"type": kind})

    return edit
