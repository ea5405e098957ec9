"""linux.resources values: typed reads that name the JSON pointer, v1 -> v2 conversions, and
the device rules (with the defaults every container gets, as runc gives them)."""

from runtime.errors import PyruncError

BASE = "/linux/resources"


# -- typed reads ------------------------------------------------------------------------------

def _bad(ptr: str, what: str, value) -> PyruncError:
    return PyruncError(f"{ptr}: must be {what}, got {value!r}")


def get_obj(obj: dict, key: str, ptr: str) -> dict | None:
    value = obj.get(key)
    if value is None:
        return None
    if not isinstance(value, dict):
        raise _bad(f"{ptr}/{key}", "an object", value)
    return value


def get_list(obj: dict, key: str, ptr: str) -> list:
    value = obj.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise _bad(f"{ptr}/{key}", "an array", value)
    return value


def get_int(obj: dict, key: str, ptr: str, minimum: int | None = None) -> int | None:
    value = obj.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise _bad(f"{ptr}/{key}", "an integer", value)
    if minimum is not None and value < minimum:
        raise _bad(f"{ptr}/{key}", f"an integer >= {minimum}", value)
    return value


def get_str(obj: dict, key: str, ptr: str) -> str | None:
    value = obj.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise _bad(f"{ptr}/{key}", "a string", value)
    return value


def get_bool(obj: dict, key: str, ptr: str) -> bool | None:
    value = obj.get(key)
    if value is None:
        return None
    if not isinstance(value, bool):
        raise _bad(f"{ptr}/{key}", "a boolean", value)
    return value


def limit_text(value: int, unlimited: str = "max") -> str:
    """-1 (or any negative) is "no limit"."""
    return unlimited if value < 0 else str(value)


# -- conversions ------------------------------------------------------------------------------

def cpu_shares_to_weight(shares: int) -> int:
    """cpu.shares [2, 262144] (default 1024) -> cpu.weight [1, 10000] (default 100).

    The mapping runc >= 1.3.2 and crun >= 1.23 use: a quadratic in log2(shares) through
    (2, 1), (1024, 100) and (262144, 10000), so the v1 default maps to the v2 default."""
    if shares <= 0:
        return 0
    if shares <= 2:
        return 1
    if shares >= 262144:
        return 10000
    import math

    x = math.log2(shares)
    return min(10000, math.ceil(10 ** ((x * x + 125 * x) / 612.0 - 7.0 / 34.0)))


def blkio_weight_to_io_weight(weight: int) -> int:
    """blkio.weight [10, 1000] -> io.weight [1, 10000], linearly."""
    if weight <= 0:
        return 0
    return 1 + (weight - 10) * 9999 // 990


def swap_v2(limit: int | None, swap: int, ptr: str) -> str:
    """OCI `swap` is memory+swap; memory.swap.max is swap alone."""
    if swap < 0:
        return "max"
    if limit is None or limit < 0:
        raise PyruncError(f"{ptr}/swap: a swap limit ({swap}) needs a memory limit on cgroup v2 "
                          "(memory.swap.max is the swap beyond memory.max)")
    if swap < limit:
        raise PyruncError(f"{ptr}/swap: memory+swap limit {swap} is below the memory limit {limit}")
    return str(swap - limit)


_UNITS = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40, "P": 1 << 50}


def check_page_size(size, ptr: str) -> str:
    """`<size><unit-prefix>B` (64KB, 2MB, 1GB): the name the kernel's hugetlb files use."""
    if not isinstance(size, str) or len(size) < 3 or not size.endswith("B") or size[-2] not in "KMGTP" \
            or not size[:-2].isdigit():
        raise PyruncError(f"{ptr}/pageSize: {size!r} is not a page size like 64KB, 2MB or 1GB")
    return size


def parse_ram(text: str) -> int:
    """A memory size as runc's update flags take it (docker's RAMInBytes): 1024, 512k, 64m,
    1.5g, 2GiB, 100 MB. Units are binary."""
    s = text.strip()
    i = 0
    while i < len(s) and (s[i].isdigit() or s[i] == "."):
        i += 1
    number, unit = s[:i], s[i:].strip().upper()
    if unit.endswith("B"):
        unit = unit[:-1]
    if unit.endswith("I"):
        unit = unit[:-1]
    if not number or number.count(".") > 1 or unit not in _UNITS:
        raise ValueError(f"invalid size: {text!r}")
    return int(float(number) * _UNITS[unit])


# -- devices ----------------------------------------------------------------------------------

class Rule:
    __slots__ = ("allow", "type", "major", "minor", "access")

    def __init__(self, allow: bool, type_: str = "a", major: int | None = None, minor: int | None = None,
                 access: str = "rwm"):
        self.allow = allow
        self.type = type_
        self.major = major
        self.minor = minor
        self.access = access

    def v1_text(self) -> str:
        major = "*" if self.major is None or self.major < 0 else str(self.major)
        minor = "*" if self.minor is None or self.minor < 0 else str(self.minor)
        return f"{self.type} {major}:{minor} {self.access}"

    def __repr__(self) -> str:
        return f"Rule({'allow' if self.allow else 'deny'} {self.v1_text()})"


# What runc allows every container on top of the config's rules (in this order, last).
DEFAULT_ALLOWED = (
    Rule(True, "c", None, None, "m"),   # mknod of any char device
    Rule(True, "b", None, None, "m"),   # mknod of any block device
    Rule(True, "c", 1, 3, "rwm"),       # /dev/null
    Rule(True, "c", 1, 8, "rwm"),       # /dev/random
    Rule(True, "c", 1, 7, "rwm"),       # /dev/full
    Rule(True, "c", 5, 0, "rwm"),       # /dev/tty
    Rule(True, "c", 1, 5, "rwm"),       # /dev/zero
    Rule(True, "c", 1, 9, "rwm"),       # /dev/urandom
    Rule(True, "c", 136, None, "rwm"),  # /dev/pts/*
    Rule(True, "c", 5, 2, "rwm"),       # /dev/ptmx
    Rule(True, "c", 10, 200, "rwm"),    # /dev/net/tun
)


def device_rules(entries: list, ptr: str = f"{BASE}/devices") -> list[Rule]:
    rules = []
    for i, d in enumerate(entries):
        p = f"{ptr}/{i}"
        if not isinstance(d, dict):
            raise _bad(p, "an object", d)
        allow = get_bool(d, "allow", p)
        if allow is None:
            raise PyruncError(f"{p}/allow: is required")
        type_ = get_str(d, "type", p) or "a"
        if type_ not in ("a", "b", "c"):
            raise PyruncError(f"{p}/type: {type_!r} is not a, b or c")
        access = get_str(d, "access", p) or "rwm"
        if not access or any(c not in "rwm" for c in access) or len(set(access)) != len(access):
            raise PyruncError(f"{p}/access: {access!r} is not a combination of r, w and m")
        major = get_int(d, "major", p)
        minor = get_int(d, "minor", p)
        rules.append(Rule(allow, type_, None if major is None or major < 0 else major,
                          None if minor is None or minor < 0 else minor, access))
    return rules


def effective_rules(rules: list[Rule]) -> tuple[bool, list[tuple[str, int | None, int | None, str]]]:
    """What the v1 devices controller makes of `rules` written in order to a cgroup that starts
    denying everything: (default allow?, exceptions as (type, major, minor, access)).

    Kernel semantics: a type-`a` rule resets (default = its allow, no exceptions); a rule of the
    default's kind removes those access bits from an exception of exactly that device; a rule
    of the other kind adds an exception (merging the access of an identical device)."""
    default_allow = False
    exceptions: list[list] = []
    for r in rules:
        if r.type == "a":
            default_allow = r.allow
            exceptions = []
            continue
        key = (r.type, r.major, r.minor)
        same = next((e for e in exceptions if (e[0], e[1], e[2]) == key), None)
        if r.allow != default_allow:
            if same is None:
                exceptions.append([r.type, r.major, r.minor, set(r.access)])
            else:
                same[3] |= set(r.access)
        elif same is not None:
            same[3] -= set(r.access)
            if not same[3]:
                exceptions.remove(same)
    return default_allow, [(t, ma, mi, "".join(c for c in "rwm" if c in acc))
                           for t, ma, mi, acc in exceptions]


def allowed(default_allow: bool, exceptions, dev_type: str, major: int, minor: int, access: str) -> bool:
    """The decision of the v1 controller (and of the eBPF program) for one access."""
    for t, ma, mi, acc in exceptions:
        if t != dev_type or (ma is not None and ma != major) or (mi is not None and mi != minor):
            continue
        if default_allow:
            if set(access) & set(acc):
                return False
        elif set(access) <= set(acc):
            return True
    return default_allow
