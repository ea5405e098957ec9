"""Helpers of the security regression tests (no fixtures)."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path


def with_attacker(config: dict, attacker: Path) -> dict:
    config["mounts"].append({"destination": "/attacker", "type": "bind", "source": str(attacker),
                             "options": ["bind", "ro"]})
    return config


def probe_results(line: str) -> dict[str, str]:
    """'pid=7 exe-link=EACCES mem=ok' -> {'pid': '7', 'exe-link': 'EACCES', 'mem': 'ok'}"""
    return dict(field.split("=", 1) for field in line.split() if "=" in field)


def file_digest(path: str | os.PathLike) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()
