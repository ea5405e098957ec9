"""The catalogue's data types: requirements, cases, results."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

LEVELS = ("MUST", "SHOULD", "MAY")


@dataclasses.dataclass(frozen=True)
class Requirement:
    id: str
    spec_file: str
    section: str
    level: str
    text: str


@dataclasses.dataclass(frozen=True)
class Result:
    status: str
    detail: str = ""


@dataclasses.dataclass(frozen=True)
class Case:
    """A scenario run against one runtime; it decides the requirements in ``reqs``."""

    name: str
    reqs: tuple[str, ...]
    func: Callable


def spec_section(spec_file: str) -> Callable[..., Requirement]:
    """Shorthand for a catalogue module: ``R = spec_section("config.md")`` then
    ``R(id, section, level, text)``."""

    def make(rid: str, section: str, level: str, text: str) -> Requirement:
        if level not in LEVELS:
            raise ValueError(f"{rid}: bad level {level!r}")
        return Requirement(rid, spec_file, section, level, text)

    return make


CASES: list[Case] = []


def case(*reqs: str) -> Callable[[Callable], Callable]:
    """Register a case function deciding ``reqs``."""

    def register(func: Callable) -> Callable:
        CASES.append(Case(func.__name__, tuple(reqs), func))
        return func

    return register
