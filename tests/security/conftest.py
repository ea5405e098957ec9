"""Fixtures of the security regression tests (on top of tests/conftest.py).

``attacker``: a static binary built from ``attacker.c`` (a hostile container process: it
probes other processes' /proc entries, or swaps a directory and a symlink in a loop), bound
read-only at ``/attacker`` into containers with ``security.util.with_attacker``.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import subprocess
from pathlib import Path

import pytest

TEST_DIR = Path(os.environ.get("PYRUNC_TEST_DIR", "/var/tmp/pyrunc-test"))
HERE = Path(__file__).resolve().parent
SOURCE = HERE / "attacker.c"


@pytest.fixture(scope="session")
def attacker() -> Path:
    cc = shutil.which("gcc") or shutil.which("cc")
    if cc is None:
        pytest.skip("no C compiler to build the attacker")
    TEST_DIR.mkdir(parents=True, exist_ok=True)
    key = hashlib.sha256(SOURCE.read_bytes()).hexdigest()[:16]
    path = TEST_DIR / f"attacker-{key}"
    with open(TEST_DIR / f"attacker-{key}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not path.exists():
            tmp = path.with_suffix(".tmp")
            res = subprocess.run([cc, "-O2", "-static", "-o", str(tmp), str(SOURCE)],
                                 capture_output=True, text=True, timeout=120)
            if res.returncode != 0:
                pytest.skip(f"cannot build the attacker (static libc missing?): {res.stderr[-500:]}")
            os.chmod(tmp, 0o755)
            os.rename(tmp, path)
    return path
