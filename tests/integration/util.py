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
