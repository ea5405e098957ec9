"""A busybox-static root filesystem and a config.json shaped like the one ``runc spec``
writes: the parts the harness's build and the test suite's ``scripts/make_bundle.py`` have
in common.  They live here because the harness is installed without ``scripts/``; the
script imports them.  Standard library only.
"""

from __future__ import annotations

import errno
import os
import shutil
import stat
import subprocess
from collections.abc import Iterable
from pathlib import Path

BUSYBOX_CANDIDATES = ("/bin/busybox", "/usr/bin/busybox", "/sbin/busybox")

# (path, mode, uid, gid), created in this order
ROOTFS_DIRS: tuple[tuple[str, int, int, int], ...] = (
    ("bin", 0o755, 0, 0),
    ("sbin", 0o755, 0, 0),
    ("usr", 0o755, 0, 0),
    ("usr/bin", 0o755, 0, 0),
    ("usr/sbin", 0o755, 0, 0),
    ("proc", 0o555, 0, 0),
    ("sys", 0o555, 0, 0),
    ("dev", 0o755, 0, 0),
    ("tmp", 0o1777, 0, 0),
    ("etc", 0o755, 0, 0),
    ("root", 0o700, 0, 0),
    ("home", 0o755, 0, 0),
    ("home/test", 0o755, 1000, 1000),
    ("run", 0o755, 0, 0),
)

SPEC_CAPS = ("CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE")
SPEC_MASKED_PATHS = ("/proc/kcore", "/proc/keys", "/proc/timer_list", "/sys/firmware", "/proc/scsi")
SPEC_READONLY_PATHS = ("/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger")


# --------------------------------------------------------------------------- busybox


def find_busybox() -> str:
    """Path of a statically linked busybox on this host."""
    for cand in BUSYBOX_CANDIDATES:
        if os.path.isfile(cand) and os.access(cand, os.X_OK):
            return os.path.realpath(cand)
    found = shutil.which("busybox")
    if found:
        return os.path.realpath(found)
    raise FileNotFoundError("busybox not found (install the busybox-static package)")


def busybox_applets(busybox: str) -> list[str]:
    """Relative install paths of the applets (``bin/sh``, ``usr/bin/id``, ...)."""
    out = subprocess.run(
        [busybox, "--list-full"], check=True, capture_output=True, text=True, timeout=30
    ).stdout
    applets = []
    for line in out.splitlines():
        rel = line.strip().strip("/")
        # only applets installed in a directory (busybox also lists a top-level 'linuxrc')
        if rel and "/" in rel and rel != "bin/busybox":
            applets.append(rel)
    return applets


# --------------------------------------------------------------------------- rootfs


def _chown_as_root(path: str | os.PathLike, uid: int, gid: int) -> None:
    if os.geteuid() == 0:
        os.chown(path, uid, gid)


def build_busybox_tree(
    root: str | os.PathLike, busybox: str, dirs: Iterable[tuple[str, int, int, int]] = ROOTFS_DIRS
) -> Path:
    """``root`` (created if missing) with ``dirs`` and busybox, one symlink per applet.
    The caller adds /etc files of its own."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    os.chmod(root, 0o755)
    for rel, mode, uid, gid in dirs:
        (root / rel).mkdir(parents=True, exist_ok=True)
        os.chmod(root / rel, mode)
        _chown_as_root(root / rel, uid, gid)
    shutil.copyfile(busybox, root / "bin" / "busybox")
    os.chmod(root / "bin" / "busybox", 0o755)
    for rel in busybox_applets(busybox):
        link = root / rel
        if not os.path.lexists(link):
            link.parent.mkdir(parents=True, exist_ok=True)
            link.symlink_to("/bin/busybox")
    return root


def clone_tree(src: str | os.PathLike, dst: str | os.PathLike) -> Path:
    """Cheap copy of a rootfs: directories recreated (same mode and owner), regular files
    and symlinks hard-linked (a hard link to a symlink is a symlink of its own name; on
    another filesystem symlinks are recreated and files copied).

    Hard links share the inode with ``src``: the copy may add, remove or replace entries
    freely, but must not write into its files in place.  ``dst`` must not exist.
    """
    src, dst = Path(src), Path(dst)
    os.mkdir(dst)
    same_fs = os.stat(dst).st_dev == os.stat(src).st_dev
    _copy_dir_meta(src, dst)
    for dirpath, dirnames, filenames in os.walk(src):
        rel = os.path.relpath(dirpath, src)
        target_dir = dst if rel == "." else dst / rel
        for name in dirnames + filenames:
            _clone_entry(os.path.join(dirpath, name), target_dir / name, same_fs)
        # os.walk does not descend into symlinked directories: nothing else to do
    return dst


def _clone_entry(s: str, d: Path, same_fs: bool) -> None:
    st = os.lstat(s)
    if stat.S_ISDIR(st.st_mode):
        os.mkdir(d)
        _copy_dir_meta(s, d)
        return
    if same_fs:
        # (creating a symlink costs ~1 ms on some ext4 hosts; a link is ~100x cheaper)
        try:
            os.link(s, d, follow_symlinks=False)
            return
        except OSError as e:
            if e.errno not in (errno.EXDEV, errno.EPERM, errno.EMLINK):
                raise
    if stat.S_ISLNK(st.st_mode):
        os.symlink(os.readlink(s), d)
    elif stat.S_ISREG(st.st_mode):
        shutil.copy2(s, d)
        _chown_as_root(d, st.st_uid, st.st_gid)


def _copy_dir_meta(s: str | os.PathLike, d: str | os.PathLike) -> None:
    st = os.lstat(s)
    os.chmod(d, stat.S_IMODE(st.st_mode))
    _chown_as_root(d, st.st_uid, st.st_gid)


# --------------------------------------------------------------------------- config


def spec_config(
    args: Iterable[str],
    *,
    hostname: str,
    env: Iterable[str],
    masked_paths: Iterable[str] = SPEC_MASKED_PATHS,
) -> dict:
    """A config.json like ``runc spec`` writes, but with a non-terminal process and a
    writable root; each call returns a new, independent dict."""
    return {
        "ociVersion": "1.0.2",
        "process": {
            "terminal": False,
            "user": {"uid": 0, "gid": 0},
            "args": list(args),
            "env": list(env),
            "cwd": "/",
            "capabilities": {k: list(SPEC_CAPS) for k in ("bounding", "effective", "permitted")},
            "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}],
            "noNewPrivileges": True,
        },
        "root": {"path": "rootfs", "readonly": False},
        "hostname": hostname,
        "mounts": [
            {"destination": "/proc", "type": "proc", "source": "proc"},
            {
                "destination": "/dev",
                "type": "tmpfs",
                "source": "tmpfs",
                "options": ["nosuid", "strictatime", "mode=755", "size=65536k"],
            },
            {
                "destination": "/dev/pts",
                "type": "devpts",
                "source": "devpts",
                "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"],
            },
            {
                "destination": "/dev/shm",
                "type": "tmpfs",
                "source": "shm",
                "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"],
            },
            {
                "destination": "/dev/mqueue",
                "type": "mqueue",
                "source": "mqueue",
                "options": ["nosuid", "noexec", "nodev"],
            },
            {
                "destination": "/sys",
                "type": "sysfs",
                "source": "sysfs",
                "options": ["nosuid", "noexec", "nodev", "ro"],
            },
        ],
        "linux": {
            "resources": {"devices": [{"allow": False, "access": "rwm"}]},
            "namespaces": [{"type": t} for t in ("pid", "network", "ipc", "uts", "mount")],
            "maskedPaths": list(masked_paths),
            "readonlyPaths": list(SPEC_READONLY_PATHS),
        },
    }
