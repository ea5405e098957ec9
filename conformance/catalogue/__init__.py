"""The requirement catalogue, one module per spec file."""

from __future__ import annotations

from ..model import CASES, Requirement
from . import config, config_linux, features, runtime

REQUIREMENTS: list[Requirement] = [
    *runtime.REQUIREMENTS,
    *config.REQUIREMENTS,
    *config_linux.REQUIREMENTS,
    *features.REQUIREMENTS,
]
BY_ID = {r.id: r for r in REQUIREMENTS}


def automated_ids() -> set[str]:
    """Ids decided by some case (importing the cases registers them)."""
    from .. import cases  # noqa: F401

    ids = {rid for c in CASES for rid in c.reqs}
    unknown = ids - BY_ID.keys()
    if unknown:
        raise RuntimeError(f"cases name requirements missing from the catalogue: {sorted(unknown)}")
    return ids
