"""Build what the cases need, once per machine: a busybox-static root filesystem with the
compiled in-container checker at ``/checker``.

Artifacts live in a cache directory (default ``/var/tmp/pyrunc-conformance``), keyed by a
hash of busybox and of ``checker/checker.c``; a build goes to a temporary directory renamed
into place, so concurrent harness runs never see a half-built rootfs.
"""

from __future__ import annotations

import errno
import hashlib
import os
import shutil
import stat
import subprocess
import tempfile
from pathlib import Path

CHECKER_SOURCE = Path(__file__).resolve().parent / "checker" / "checker.c"
BUSYBOX_CANDIDATES = ("/bin/busybox", "/usr/bin/busybox", "/sbin/busybox")
DEFAULT_CACHE = Path(os.environ.get("PYRUNC_CONFORMANCE_CACHE", "/var/tmp/pyrunc-conformance"))
LAYOUT_VERSION = 1

# (path, mode, uid, gid), created in this order
DIRS = (
    ("bin", 0o755, 0, 0),
    ("sbin", 0o755, 0, 0),
    ("usr/bin", 0o755, 0, 0),
    ("usr/sbin", 0o755, 0, 0),
    ("proc", 0o555, 0, 0),
    ("sys", 0o555, 0, 0),
    ("dev", 0o755, 0, 0),
    ("tmp", 0o1777, 0, 0),
    ("etc", 0o755, 0, 0),
    ("root", 0o700, 0, 0),
    ("home/test", 0o755, 1000, 1000),
    ("run", 0o755, 0, 0),
    ("mnt", 0o755, 0, 0),
)
PASSWD = "root:x:0:0:root:/root:/bin/sh\ntest:x:1000:1000::/home/test:/bin/sh\n"
GROUP = "root:x:0:\ntest:x:1000:\nextra:x:2000:test\n"


class BuildError(RuntimeError):
    pass


def find_busybox() -> str:
    for cand in BUSYBOX_CANDIDATES:
        if os.access(cand, os.X_OK):
            return os.path.realpath(cand)
    found = shutil.which("busybox")
    if not found:
        raise BuildError("no busybox found (install busybox-static)")
    return os.path.realpath(found)


def _digest(*paths: str | Path) -> str:
    h = hashlib.sha256(f"layout={LAYOUT_VERSION}".encode())
    for p in paths:
        h.update(Path(p).read_bytes())
    return h.hexdigest()[:16]


def compile_checker(out: Path) -> None:
    cmd = ["gcc", "-static", "-O2", "-Wall", "-o", str(out), str(CHECKER_SOURCE)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    if proc.returncode != 0:
        raise BuildError(f"compiling the checker failed: {proc.stderr.strip()}")


def _populate(root: Path, busybox: str) -> None:
    os.chmod(root, 0o755)
    for rel, mode, uid, gid in DIRS:
        (root / rel).mkdir(parents=True, exist_ok=True)
        os.chmod(root / rel, mode)
        os.chown(root / rel, uid, gid)
    shutil.copyfile(busybox, root / "bin/busybox")
    os.chmod(root / "bin/busybox", 0o755)
    listing = subprocess.run(
        [busybox, "--list-full"], capture_output=True, text=True, check=True, timeout=30
    ).stdout
    for rel in (line.strip().strip("/") for line in listing.splitlines()):
        if "/" in rel and rel != "bin/busybox" and not os.path.lexists(root / rel):
            (root / rel).parent.mkdir(parents=True, exist_ok=True)
            (root / rel).symlink_to("/bin/busybox")
    (root / "etc/passwd").write_text(PASSWD)
    (root / "etc/group").write_text(GROUP)
    compile_checker(root / "checker")


def base_rootfs(cache: Path = DEFAULT_CACHE) -> Path:
    """Path of the shared, read-only-by-convention base rootfs (built if missing)."""
    busybox = find_busybox()
    target = cache / f"rootfs-{_digest(busybox, CHECKER_SOURCE)}"
    if (target / "checker").exists():
        return target
    cache.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".build-", dir=cache))
    try:
        _populate(tmp, busybox)
        try:
            os.rename(tmp, target)
        except OSError as e:
            if e.errno not in (errno.ENOTEMPTY, errno.EEXIST):
                raise
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return target


def clone_tree(src: Path, dst: Path) -> None:
    """Copy a rootfs cheaply: directories recreated, files and symlinks hard-linked.
    Cases may add or replace entries of the copy but never write into its files."""
    os.mkdir(dst)
    for dirpath, dirnames, filenames in os.walk(src):
        rel = os.path.relpath(dirpath, src)
        tdir = dst if rel == "." else dst / rel
        st = os.lstat(dirpath)
        os.chmod(tdir, stat.S_IMODE(st.st_mode))
        os.chown(tdir, st.st_uid, st.st_gid)
        for name in dirnames:
            os.mkdir(tdir / name)
        for name in filenames:
            os.link(os.path.join(dirpath, name), tdir / name, follow_symlinks=False)
