"""Build what the cases need, once per machine: a busybox-static root filesystem with the
compiled in-container checker at ``/checker``.

Artifacts live in a cache directory (default ``/var/tmp/pyrunc-conformance``), keyed by a
hash of busybox and of ``checker/checker.c``; a build goes to a temporary directory renamed
into place, so concurrent harness runs never see a half-built rootfs. A new build removes the
builds of other versions not touched for an hour (``STALE_AFTER``).
"""

from __future__ import annotations

import errno
import hashlib
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from . import busybox

CHECKER_SOURCE = Path(__file__).resolve().parent / "checker" / "checker.c"
DEFAULT_CACHE = Path(os.environ.get("PYRUNC_CONFORMANCE_CACHE", "/var/tmp/pyrunc-conformance"))
LAYOUT_VERSION = 2
STALE_AFTER = 3600.0  # seconds: an older build of another version is no harness run's any more

DIRS = (*busybox.ROOTFS_DIRS, ("mnt", 0o755, 0, 0))
PASSWD = "root:x:0:0:root:/root:/bin/sh\ntest:x:1000:1000::/home/test:/bin/sh\n"
GROUP = "root:x:0:\ntest:x:1000:\nextra:x:2000:test\n"


class BuildError(RuntimeError):
    pass


def _digest(*paths: str | Path) -> str:
    h = hashlib.sha256(f"layout={LAYOUT_VERSION} {DIRS!r} {PASSWD} {GROUP}".encode())
    for p in paths:
        h.update(Path(p).read_bytes())
    return h.hexdigest()[:16]


def compile_checker(out: Path) -> None:
    cmd = ["gcc", "-static", "-O2", "-Wall", "-o", str(out), str(CHECKER_SOURCE)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    if proc.returncode != 0:
        raise BuildError(f"compiling the checker failed: {proc.stderr.strip()}")


def _populate(root: Path, busybox_path: str) -> None:
    busybox.build_busybox_tree(root, busybox_path, DIRS)
    (root / "etc/passwd").write_text(PASSWD)
    (root / "etc/group").write_text(GROUP)
    compile_checker(root / "checker")


def base_rootfs(cache: Path = DEFAULT_CACHE) -> Path:
    """Path of the shared, read-only-by-convention base rootfs (built if missing)."""
    busybox_path = busybox.find_busybox()
    target = cache / f"rootfs-{_digest(busybox_path, CHECKER_SOURCE)}"
    if (target / "checker").exists():
        return target
    cache.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".build-", dir=cache))
    try:
        _populate(tmp, busybox_path)
        try:
            os.rename(tmp, target)
        except OSError as e:
            if e.errno not in (errno.ENOTEMPTY, errno.EEXIST):
                raise
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    prune_stale(cache, keep=target)
    return target


def prune_stale(cache: Path, keep: Path, now: float | None = None) -> list[Path]:
    """Remove the rootfs builds of other versions (another busybox or checker) untouched for
    STALE_AFTER seconds; returns what was removed."""
    now = time.time() if now is None else now
    removed = []
    for entry in cache.glob("rootfs-*"):
        try:
            stale = entry != keep and now - entry.stat().st_mtime > STALE_AFTER
        except OSError:
            continue
        if stale:
            shutil.rmtree(entry, ignore_errors=True)
            removed.append(entry)
    return removed
