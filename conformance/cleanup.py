"""Removing what a case made, whatever happened: its containers (killed and
force-deleted), host mounts under its bundles, its cgroups and its bundle directories.
What had to be removed by force after the runtime's own delete is reported as left behind.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import stat
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .runner import CaseContext, Runtime

CGROUP_MOUNT = Path("/sys/fs/cgroup")
MNT_DETACH = 2
_libc = ctypes.CDLL(None, use_errno=True)


def host_mounts_under(top: Path) -> list[str]:
    prefix = str(top).rstrip("/") + "/"
    found = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            point = line.split()[4].replace("\\040", " ")
            if point.startswith(prefix):
                found.append(point)
    return found


def cgroup_dirs(rel: str) -> list[Path]:
    """Directories named ``rel`` in every cgroup hierarchy mounted under /sys/fs/cgroup."""
    out = []
    with contextlib.suppress(OSError):
        for entry in CGROUP_MOUNT.iterdir():
            d = entry / rel.lstrip("/")
            if d.is_dir():
                out.append(d)
    return out


def remove_cgroup(d: Path) -> None:
    for sub in sorted((p for p in d.rglob("*") if p.is_dir()), key=lambda p: -len(p.parts)):
        with contextlib.suppress(OSError):
            sub.rmdir()
    with contextlib.suppress(OSError):
        d.rmdir()


def safe_rmtree(top: Path) -> None:
    """Remove a tree without entering another filesystem (a leaked bind mount of a host
    directory must never be emptied)."""
    try:
        dev = os.lstat(top).st_dev
    except FileNotFoundError:
        return

    def rm(path: str) -> bool:
        st = os.lstat(path)
        if not stat.S_ISDIR(st.st_mode):
            os.unlink(path)
            return True
        if st.st_dev != dev:
            return False
        empty = True
        for entry in os.scandir(path):
            with contextlib.suppress(FileNotFoundError):
                empty = rm(entry.path) and empty
        if empty:
            os.rmdir(path)
        return empty

    rm(str(top))


MS_RDONLY, MS_REMOUNT, MS_BIND, MS_PRIVATE = 1, 32, 4096, 1 << 18


def mount_tmpfs(target: Path, flags: int, remount_flags: int | None) -> None:
    target.mkdir(parents=True, exist_ok=True)
    steps = [(b"tmpfs", b"tmpfs", flags), (None, None, MS_PRIVATE)]
    if remount_flags is not None:
        steps.append((None, None, MS_REMOUNT | MS_BIND | remount_flags))
    for source, fstype, fl in steps:
        if _libc.mount(source, str(target).encode(), fstype, fl, None) != 0:
            err = ctypes.get_errno()
            raise OSError(err, f"mount on {target}: {os.strerror(err)}")


def clean_case(ctx: CaseContext) -> list[str]:
    leftovers: list[str] = []
    for cid in ctx.ids:
        if ctx.rt("state", cid, timeout=10).ok:
            ctx.rt("kill", cid, "KILL", timeout=10)
            ctx.rt("delete", "--force", cid, timeout=10)
            if ctx.rt("state", cid, timeout=10).ok:
                leftovers.append(f"container {cid} survives delete --force")
    for bundle in ctx.bundles:
        for point in sorted(host_mounts_under(bundle), key=len, reverse=True):
            leftovers.append(f"host mount {point}")
            _libc.umount2(point.encode(), MNT_DETACH)
        cfg_path = bundle / "config.json"
        for d in _case_cgroups(cfg_path):
            leftovers.append(f"cgroup {d}")
            remove_cgroup(d)
        safe_rmtree(bundle)
    for point in reversed(ctx.host_mounts):
        _libc.umount2(point.encode(), MNT_DETACH)
    for d in ctx.host_dirs:
        for point in sorted(host_mounts_under(d), key=len, reverse=True):
            _libc.umount2(point.encode(), MNT_DETACH)
        safe_rmtree(d)
    return leftovers


def _case_cgroups(cfg_path: Path) -> list[Path]:
    import json

    try:
        rel = json.loads(cfg_path.read_text()).get("linux", {}).get("cgroupsPath")
    except (OSError, ValueError, AttributeError):
        return []
    if not rel or not isinstance(rel, str) or ":" in rel:
        return []
    return cgroup_dirs(rel)


def clean_root(rt: Runtime) -> None:
    """Remove the runtime's state directory (force-deleting anything still in it)."""
    from .runner import run_cmd

    with contextlib.suppress(OSError):
        for entry in rt.root.iterdir():
            run_cmd(rt.argv(["delete", "--force", entry.name]), timeout=10)
    with contextlib.suppress(OSError):
        rt.root.rmdir()
    for d in cgroup_dirs("pyrunc-conformance"):
        with contextlib.suppress(OSError):
            d.rmdir()
