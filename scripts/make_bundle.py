#!/usr/bin/env python3
"""Build a small OCI bundle whose root filesystem is busybox-static.

    python3 scripts/make_bundle.py DIR [--config] [--hostname NAME] [-- ARGS...]

creates ``DIR/rootfs`` (busybox, one symlink per applet, /etc/passwd, /etc/group,
the usual empty directories) and, with ``--config``, ``DIR/config.json`` holding
:func:`default_config`.

Standard library and the ``conformance`` package (the harness, which is installed without
``scripts/``, holds the busybox rootfs and the runc-spec-like config both build on).  The
test suite imports this module (``tests/conftest.py`` puts ``scripts/`` on ``sys.path``)
and reuses :func:`build_rootfs`, :func:`clone_rootfs`, :func:`default_config` and
:func:`deep_merge`.
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import json
import os
import subprocess
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path

try:
    from conformance import busybox as _busybox
except ImportError:  # run as a file outside the venv: the package is in the repository
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from conformance import busybox as _busybox

find_busybox = _busybox.find_busybox
busybox_applets = _busybox.busybox_applets
clone_rootfs = _busybox.clone_tree

# Bump when the layout built by build_rootfs changes: it is part of the cache key of the
# test suite's shared base rootfs.
ROOTFS_LAYOUT_VERSION = 1

ROOTFS_DIRS = _busybox.ROOTFS_DIRS

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

# --------------------------------------------------------------------------- busybox


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


def build_rootfs(rootfs: str | os.PathLike, busybox: str | None = None,
                 hostname: str = DEFAULT_HOSTNAME) -> Path:
    """Create a busybox root filesystem in ``rootfs`` (created if missing)."""
    root = _busybox.build_busybox_tree(rootfs, busybox or find_busybox(), ROOTFS_DIRS)
    _write(root / "etc" / "passwd", PASSWD)
    _write(root / "etc" / "group", GROUP)
    _write(root / "etc" / "hostname", hostname + "\n")
    _write(root / "etc" / "hosts", f"127.0.0.1\tlocalhost\n127.0.1.1\t{hostname}\n")
    return root


# --------------------------------------------------------------------------- config


def default_config(args: Iterable[str] | None = None, *, terminal: bool = False,
                   hostname: str = DEFAULT_HOSTNAME, rootfs: str = "rootfs",
                   readonly: bool = False) -> dict:
    """A config.json for a busybox bundle, shaped like the one ``runc spec`` writes.

    Differences from ``runc spec``: ``terminal`` is False and ``root.readonly`` is False
    by default (tests write into the rootfs), and ``args`` defaults to ``["sh"]``.
    Each call returns a new, independent dict.
    """
    cfg = _busybox.spec_config(
        ["sh"] if args is None else args, hostname=hostname, env=DEFAULT_ENV, masked_paths=MASKED_PATHS
    )
    proc = cfg["process"]
    proc["terminal"] = terminal
    proc["capabilities"]["ambient"] = list(_busybox.SPEC_CAPS)
    cfg["root"] = {"path": rootfs, "readonly": readonly}
    devpts = next(m for m in cfg["mounts"] if m["destination"] == "/dev/pts")
    devpts["options"].append("gid=5")
    cfg["mounts"].append({
        "destination": "/sys/fs/cgroup",
        "type": "cgroup",
        "source": "cgroup",
        "options": ["nosuid", "noexec", "nodev", "relatime", "ro"],
    })
    return cfg


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
