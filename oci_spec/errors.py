"""Error types shared by every validation stage of ``oci_spec``.

A ``FieldError`` names one problem by the JSON pointer of the offending value
(RFC 6901, "" for the document itself) and says in plain words what is wrong.
``ConfigError`` carries all of them so that a user fixes a config in one pass
instead of one error per run.
"""

from __future__ import annotations


class FieldError:
    """One problem: where (a JSON pointer) and what. Immutable and hashable, so that
    duplicates from two validation stages collapse in a set."""

    __slots__ = ("pointer", "message")

    def __init__(self, pointer: str, message: str):
        object.__setattr__(self, "pointer", pointer)
        object.__setattr__(self, "message", message)

    def __setattr__(self, name, value):
        raise AttributeError(f"FieldError is immutable: cannot set {name!r}")

    def __eq__(self, other):
        if type(other) is not FieldError:
            return NotImplemented
        return self.pointer == other.pointer and self.message == other.message

    def __hash__(self) -> int:
        return hash((self.pointer, self.message))

    def __repr__(self) -> str:
        return f"FieldError(pointer={self.pointer!r}, message={self.message!r})"

    def render(self, source: str = "config.json") -> str:
        # The document-level pointer "" is left out: "config.json: : ..." reads
        # like a typo, and "/" would be a different (valid) pointer.
        if self.pointer:
            return f"{source}: {self.pointer}: {self.message}"
        return f"{source}: {self.message}"


def pointer_key(pointer: str) -> tuple:
    """Sort key for JSON pointers: array indexes compare as numbers.

    Plain string order would put ``/mounts/10`` before ``/mounts/2``.
    """
    key = []
    for token in pointer.split("/")[1:]:
        if token.isdigit():
            key.append((0, int(token), ""))
        else:
            key.append((1, 0, token))
    return tuple(key)


def sort_errors(errors) -> list[FieldError]:
    """Sorted by pointer, duplicates dropped (two schema branches can report
    the same problem)."""
    unique = dict.fromkeys(errors)
    return sorted(unique, key=lambda e: (pointer_key(e.pointer), e.message))


def escape_token(token) -> str:
    """One reference token of a JSON pointer (RFC 6901 section 3)."""
    return str(token).replace("~", "~0").replace("/", "~1")


def make_pointer(path) -> str:
    return "".join("/" + escape_token(p) for p in path)


class ConfigError(Exception):
    """A configuration document failed to load or validate.

    ``errors`` holds every problem found; ``str()`` gives one line per error,
    sorted by pointer, each prefixed with ``source`` (the file name the user
    knows, "config.json" by default).
    """

    def __init__(self, errors, source: str = "config.json"):
        self.errors: list[FieldError] = sort_errors(errors)
        self.source = source
        super().__init__(str(self))

    def __str__(self) -> str:
        return "\n".join(e.render(self.source) for e in self.errors)
