"""The suite's own cgroups: containers of the memory scenarios get a cgroupsPath below one
parent per suite run, so their memory cgroup can be read and everything removed at the end."""

from __future__ import annotations

import contextlib
import os
import signal
from pathlib import Path

CGROUP_ROOT = Path("/sys/fs/cgroup")
MEMORY = CGROUP_ROOT / "memory"


def parent_path() -> str:
    return f"/pyrunc-bench-{os.getpid()}"


def memory_value(cgroups_path: str, name: str) -> int:
    """An integer file (memory.usage_in_bytes, ...) of a v1 memory cgroup."""
    return int((MEMORY / cgroups_path.lstrip("/") / name).read_text().split()[0])


def memory_stat(cgroups_path: str) -> dict[str, int]:
    """memory.stat of a v1 memory cgroup (bytes and counts by name)."""
    text = (MEMORY / cgroups_path.lstrip("/") / "memory.stat").read_text()
    return {k: int(v) for k, v in (line.split() for line in text.splitlines())}


def remove(cgroups_path: str) -> None:
    """Kill whatever is left in the cgroup (every hierarchy) and remove it, deepest first."""
    rel = cgroups_path.lstrip("/")
    for hierarchy in CGROUP_ROOT.iterdir():
        top = hierarchy / rel
        if not top.is_dir():
            continue
        dirs = sorted((p for p in top.rglob("*") if p.is_dir()), key=lambda p: len(p.parts),
                      reverse=True)
        for d in [*dirs, top]:
            with contextlib.suppress(OSError):
                for pid in (d / "cgroup.procs").read_text().split():
                    with contextlib.suppress(OSError):
                        os.kill(int(pid), signal.SIGKILL)
            with contextlib.suppress(OSError):
                d.rmdir()


def remove_all() -> None:
    remove(parent_path())
