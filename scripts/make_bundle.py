#!/usr/bin/env python3
"""Build a small OCI bundle whose root filesystem is busybox-static.

    python3 scripts/make_bundle.py DIR [--config] [--hostname NAME] [-- ARGS...]

creates ``DIR/rootfs`` (busybox, one symlink per applet, /etc/passwd, /etc/group,
the usual empty directories) and, with ``--config``, ``DIR/config.json`` holding
:func:`default_config`.

Standard library only.  The test suite imports this module (``tests/conftest.py``
puts ``scripts/`` on ``sys.path``) and reuses :func:`build_rootfs`,
:func:`clone_rootfs`, :func:`default_config` and :func:`deep_merge`.
"""

from __future__ import annotations

import argparse
import copy
import errno
import hashlib
import json
import os
import shutil
import stat
import subprocess
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path

# Bump when the layout built by build_rootfs changes: it is part of the cache key of the
# test suite's shared base rootfs.
ROOTFS_LAYOUT_VERSION = 1

BUSYBOX_CANDIDATES = ("/bin/busybox", "/usr/bin/busybox", "/sbin/busybox")

# (path, mode, uid, gid); created in this order
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

PASSWD = """\
root:x:0:0:root:/root:/bin/sh
test:x:1000:1000:test user:/home/test:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
"""

GROUP = """\
root:x:0:
test:x:1000:
extra:x:2000:test
nogroup:x:65534:
"""

DEFAULT_HOSTNAME = "pyrunc-test"

DEFAULT_ENV = [
    "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    "TERM=xterm",
]

DEFAULT_CAPS = ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"]

MASKED_PATHS = [
    "/proc/acpi",
    "/proc/asound",
    "/proc/kcore",
    "/proc/keys",
    "/proc/latency_stats",
    "/proc/timer_list",
    "/proc/timer_stats",
    "/proc/sched_debug",
    "/proc/scsi",
    "/sys/firmware",
]

READONLY_PATHS = [
    "/proc/bus",
    "/proc/fs",
    "/proc/irq",
    "/proc/sys",
    "/proc/sysrq-trigger",
]


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
        if not rel or "/" not in rel or rel == "bin/busybox":
            continue
        applets.append(rel)
    return applets


def rootfs_cache_key(busybox: str | None = None) -> str:
    """Short hash naming a base rootfs: busybox binary + this module's layout."""
    busybox = busybox or find_busybox()
    h = hashlib.sha256()
    h.update(f"layout={ROOTFS_LAYOUT_VERSION}\n".encode())
    h.update(PASSWD.encode() + GROUP.encode() + DEFAULT_HOSTNAME.encode())
    h.update(repr(ROOTFS_DIRS).encode())
    with open(busybox, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()[:16]


# --------------------------------------------------------------------------- rootfs


def _write(path: Path, text: str, mode: int = 0o644) -> None:
    path.write_text(text)
    os.chmod(path, mode)


def _mkdir(path: Path, mode: int, uid: int, gid: int) -> None:
    path.mkdir(parents=True, exist_ok=True)
    os.chmod(path, mode)
    if os.geteuid() == 0:
        os.chown(path, uid, gid)


def build_rootfs(rootfs: str | os.PathLike, busybox: str | None = None,
                 hostname: str = DEFAULT_HOSTNAME) -> Path:
    """Create a busybox root filesystem in ``rootfs`` (created if missing)."""
    busybox = busybox or find_busybox()
    root = Path(rootfs)
    root.mkdir(parents=True, exist_ok=True)
    os.chmod(root, 0o755)
    for rel, mode, uid, gid in ROOTFS_DIRS:
        _mkdir(root / rel, mode, uid, gid)

    shutil.copyfile(busybox, root / "bin" / "busybox")
    os.chmod(root / "bin" / "busybox", 0o755)
    for rel in busybox_applets(busybox):
        link = root / rel
        link.parent.mkdir(parents=True, exist_ok=True)
        if link.is_symlink() or link.exists():
            continue
        link.symlink_to("/bin/busybox")

    _write(root / "etc" / "passwd", PASSWD)
    _write(root / "etc" / "group", GROUP)
    _write(root / "etc" / "hostname", hostname + "\n")
    _write(root / "etc" / "hosts", f"127.0.0.1\tlocalhost\n127.0.1.1\t{hostname}\n")
    return root


def clone_rootfs(src: str | os.PathLike, dst: str | os.PathLike) -> Path:
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
            s = os.path.join(dirpath, name)
            d = target_dir / name
            st = os.lstat(s)
            if stat.S_ISDIR(st.st_mode):
                os.mkdir(d)
                _copy_dir_meta(s, d)
                continue
            if same_fs:
                # (creating a symlink costs ~1 ms on some ext4 hosts; a link is ~100x cheaper)
                try:
                    os.link(s, d, follow_symlinks=False)
                    continue
                except OSError as e:
                    if e.errno not in (errno.EXDEV, errno.EPERM, errno.EMLINK):
                        raise
            if stat.S_ISLNK(st.st_mode):
                os.symlink(os.readlink(s), d)
            elif stat.S_ISREG(st.st_mode):
                shutil.copy2(s, d)
                if os.geteuid() == 0:
                    os.chown(d, st.st_uid, st.st_gid)
        # os.walk does not descend into symlinked directories: nothing else to do
    return dst


def _copy_dir_meta(s: str | os.PathLike, d: str | os.PathLike) -> None:
    st = os.lstat(s)
    os.chmod(d, stat.S_IMODE(st.st_mode))
    if os.geteuid() == 0:
        os.chown(d, st.st_uid, st.st_gid)


# --------------------------------------------------------------------------- config


def default_config(args: Iterable[str] | None = None, *, terminal: bool = False,
                   hostname: str = DEFAULT_HOSTNAME, rootfs: str = "rootfs",
                   readonly: bool = False) -> dict:
    """A config.json for a busybox bundle, shaped like the one ``runc spec`` writes.

    Differences from ``runc spec``: ``terminal`` is False and ``root.readonly`` is False
    by default (tests write into the rootfs), and ``args`` defaults to ``["sh"]``.
    Each call returns a new, independent dict.
    """
    caps = list(DEFAULT_CAPS)
    return {
        "ociVersion": "1.0.2",
        "process": {
            "terminal": terminal,
            "user": {"uid": 0, "gid": 0},
            "args": list(args) if args is not None else ["sh"],
            "env": list(DEFAULT_ENV),
            "cwd": "/",
            "capabilities": {
                "bounding": list(caps),
                "effective": list(caps),
                "permitted": list(caps),
                "ambient": list(caps),
            },
            "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}],
            "noNewPrivileges": True,
        },
        "root": {"path": rootfs, "readonly": readonly},
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
                "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"],
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
            {
                "destination": "/sys/fs/cgroup",
                "type": "cgroup",
                "source": "cgroup",
                "options": ["nosuid", "noexec", "nodev", "relatime", "ro"],
            },
        ],
        "linux": {
            "resources": {"devices": [{"allow": False, "access": "rwm"}]},
            "namespaces": [
                {"type": "pid"},
                {"type": "network"},
                {"type": "ipc"},
                {"type": "uts"},
                {"type": "mount"},
            ],
            "maskedPaths": list(MASKED_PATHS),
            "readonlyPaths": list(READONLY_PATHS),
        },
    }


def deep_merge(base: Mapping, overrides: Mapping) -> dict:
    """Return a copy of ``base`` with ``overrides`` merged in.

    Mappings merge recursively; any other value (lists included) replaces the old one;
    a value of ``None`` removes the key.
    """
    out = copy.deepcopy(dict(base))
    for key, value in overrides.items():
        if value is None:
            out.pop(key, None)
        elif isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def write_config(bundle: str | os.PathLike, config: Mapping) -> Path:
    path = Path(bundle) / "config.json"
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(config, indent=2) + "\n")
    os.replace(tmp, path)
    return path


# --------------------------------------------------------------------------- CLI


def make_bundle(bundle: str | os.PathLike, *, config: bool = False, args: list[str] | None = None,
                hostname: str = DEFAULT_HOSTNAME) -> Path:
    bundle = Path(bundle)
    bundle.mkdir(parents=True, exist_ok=True)
    build_rootfs(bundle / "rootfs", hostname=hostname)
    if config:
        write_config(bundle, default_config(args or None, hostname=hostname))
    return bundle


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="Build a busybox OCI bundle (DIR/rootfs [+ DIR/config.json]).")
    p.add_argument("dir", help="bundle directory (created if missing)")
    p.add_argument("--config", action="store_true", help="also write DIR/config.json")
    p.add_argument("--hostname", default=DEFAULT_HOSTNAME, help="hostname in config and /etc/hostname")
    p.epilog = "Arguments after -- become process.args of config.json (default: sh)."
    argv = list(sys.argv[1:] if argv is None else argv)
    proc_args: list[str] = []
    if "--" in argv:
        i = argv.index("--")
        argv, proc_args = argv[:i], argv[i + 1:]
    ns = p.parse_args(argv)
    try:
        make_bundle(ns.dir, config=ns.config, args=proc_args, hostname=ns.hostname)
    except (OSError, subprocess.SubprocessError) as e:
        print(f"make_bundle: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
