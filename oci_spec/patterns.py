"""The `pattern`s of our schemas as plain Python checks, so that validating a config on the
hot `create` path does not import `re` (~5-10 ms with the enum and functools it pulls in).

Each entry is keyed by the exact pattern text of oci_spec/schema/*.json and must accept the
same strings as `re.search(pattern, s)`; tests/unit/test_patterns.py checks each one against
`re` on many generated strings, and that every pattern of the schemas is here. A pattern
missing from the table still works (validate_fast falls back to `re`), only slower.
"""

_DIGITS = frozenset("0123456789")
_IDENT = frozenset("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz-")


def _numeric(s: str) -> bool:
    """0|[1-9][0-9]*"""
    return bool(s) and _DIGITS.issuperset(s) and (s == "0" or s[0] != "0")


def _identifiers(s: str) -> bool:
    """[0-9A-Za-z-]+(\\.[0-9A-Za-z-]+)*"""
    return all(part and _IDENT.issuperset(part) for part in s.split("."))


def semver(s: str) -> bool:
    main, plus, build = s.partition("+")
    if plus and not _identifiers(build):
        return False
    core, dash, pre = main.partition("-")
    if dash and not _identifiers(pre):
        return False
    parts = core.split(".")
    return len(parts) == 3 and all(_numeric(p) for p in parts)


def cpu_list(s: str) -> bool:
    """Comma-separated numbers and ranges, spaces around commas and at the ends."""
    body = s.strip(" ")
    if not body:
        return True
    for item in body.split(","):
        item = item.strip(" ")
        first, dash, last = item.partition("-")
        if not (first and _DIGITS.issuperset(first)):
            return False
        if dash and not (last and _DIGITS.issuperset(last)):
            return False
    return True


def hugepage_size(s: str) -> bool:
    """[1-9][0-9]*[KMG]B"""
    return (len(s) >= 3 and s[-1] == "B" and s[-2] in "KMG" and s[0] in "123456789"
            and _DIGITS.issuperset(s[:-2]))


def capability_name(s: str) -> bool:
    """CAP_[A-Z0-9_]+"""
    return len(s) > 4 and s.startswith("CAP_") and _CAP_CHARS.issuperset(s[4:])


_CAP_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_")

CHECKS = {
    "^(0|[1-9][0-9]*)\\.(0|[1-9][0-9]*)\\.(0|[1-9][0-9]*)(-[0-9A-Za-z-]+(\\.[0-9A-Za-z-]+)*)?"
    "(\\+[0-9A-Za-z-]+(\\.[0-9A-Za-z-]+)*)?$(?!\\n)": semver,
    "^/": lambda s: s.startswith("/"),
    "^ *([0-9]+(-[0-9]+)?( *, *[0-9]+(-[0-9]+)?)*)? *$(?!\\n)": cpu_list,
    "^MB:[^\\n]*$(?!\\n)": lambda s: s.startswith("MB:") and "\n" not in s,
    "^[^\\n]*$(?!\\n)": lambda s: "\n" not in s,
    "^[1-9][0-9]*[KMG]B$(?!\\n)": hugepage_size,
    "^[rwm]*$(?!\\n)": lambda s: set(s) <= {"r", "w", "m"},
    "^CAP_[A-Z0-9_]+$(?!\\n)": capability_name,
}
