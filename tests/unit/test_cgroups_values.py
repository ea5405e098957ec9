"""Conversions, value checks, the v1 device-rule semantics, and the eBPF device program (run
here by a small interpreter of the instructions it uses, against the v1 semantics)."""

import itertools
import struct

import pytest

from runtime.cgroups import ebpf
from runtime.cgroups.values import (
    DEFAULT_ALLOWED,
    Rule,
    allowed,
    blkio_weight_to_io_weight,
    check_page_size,
    cpu_shares_to_weight,
    device_rules,
    effective_rules,
    parse_ram,
    swap_v2,
)
from runtime.errors import PyruncError


@pytest.mark.parametrize("shares,weight", [
    (0, 0), (1, 1), (2, 1), (3, 2), (1024, 100), (512, 59), (100000, 4340), (262144, 10000), (10**7, 10000)])
def test_cpu_shares_to_weight(shares, weight):
    assert cpu_shares_to_weight(shares) == weight


def test_cpu_weight_is_monotonic_and_in_range():
    weights = [cpu_shares_to_weight(s) for s in range(2, 262145, 97)]
    assert weights == sorted(weights) and 1 <= min(weights) and max(weights) <= 10000


@pytest.mark.parametrize("v1,v2", [(0, 0), (10, 1), (1000, 10000), (500, 4950), (100, 910)])
def test_blkio_weight(v1, v2):
    assert blkio_weight_to_io_weight(v1) == v2


def test_swap_v2():
    assert swap_v2(100, 300, "/m") == "200"
    assert swap_v2(100, 100, "/m") == "0"
    assert swap_v2(None, -1, "/m") == "max"
    with pytest.raises(PyruncError, match="/m/swap: a swap limit"):
        swap_v2(-1, 10, "/m")
    with pytest.raises(PyruncError, match="below the memory limit"):
        swap_v2(100, 10, "/m")


@pytest.mark.parametrize("text,value", [
    ("1024", 1024), ("512k", 512 << 10), ("64m", 64 << 20), ("64M", 64 << 20), ("2g", 2 << 30),
    ("2GiB", 2 << 30), ("1.5g", 3 << 29), ("100 MB", 100 << 20), ("1t", 1 << 40), ("7b", 7)])
def test_parse_ram(text, value):
    assert parse_ram(text) == value


@pytest.mark.parametrize("text", ["", "m", "1x", "1.2.3m", "-5", "12 kb extra"])
def test_parse_ram_rejects(text):
    with pytest.raises(ValueError):
        parse_ram(text)


def test_page_size():
    assert check_page_size("2MB", "/p") == "2MB"
    for bad in ("2M", "MB", "2mb", "x2MB", 2):
        with pytest.raises(PyruncError, match="/p/pageSize"):
            check_page_size(bad, "/p")


def test_device_rules_defaults_and_checks():
    [r] = device_rules([{"allow": True}])
    assert (r.type, r.major, r.minor, r.access) == ("a", None, None, "rwm")
    [r] = device_rules([{"allow": False, "type": "c", "major": 1, "minor": -1, "access": "r"}])
    assert r.v1_text() == "c 1:* r" and not r.allow
    with pytest.raises(PyruncError, match="devices/0/allow: is required"):
        device_rules([{"type": "c"}])
    with pytest.raises(PyruncError, match="devices/0/access"):
        device_rules([{"allow": True, "access": "rr"}])
    with pytest.raises(PyruncError, match="devices/0/major: must be an integer"):
        device_rules([{"allow": True, "major": "1"}])


def test_effective_rules_follow_the_v1_kernel():
    r = Rule
    # reset by type a
    assert effective_rules([r(True, "c", 1, 3, "rw"), r(False, "a")]) == (False, [])
    assert effective_rules([r(True, "a")]) == (True, [])
    # allow on deny-all adds; same device merges access
    assert effective_rules([r(True, "c", 1, 3, "r"), r(True, "c", 1, 3, "w")]) == (False, [("c", 1, 3, "rw")])
    # deny on deny-all removes access bits from the identical exception only
    assert effective_rules([r(True, "c", 1, 3, "rwm"), r(False, "c", 1, 3, "w")]) == (
        False, [("c", 1, 3, "rm")])
    assert effective_rules([r(True, "c", 1, None, "rwm"), r(False, "c", 1, 3, "w")]) == (
        False, [("c", 1, None, "rwm")])
    assert effective_rules([r(True, "c", 1, 3, "r"), r(False, "c", 1, 3, "r")]) == (False, [])
    # on allow-all, deny adds an exception and allow removes it
    assert effective_rules([r(True, "a"), r(False, "b", 8, None, "w"),
                            r(True, "b", 8, None, "w")]) == (True, [])
    assert effective_rules([r(True, "a"), r(False, "b", 8, None, "w")]) == (True, [("b", 8, None, "w")])


def test_allowed():
    default, exc = effective_rules([Rule(False, "a"), Rule(True, "c", 1, None, "r"),
                                    Rule(True, "c", 1, 3, "w")])
    assert allowed(default, exc, "c", 1, 5, "r")
    assert not allowed(default, exc, "c", 1, 3, "rw")  # no single exception covers both
    assert allowed(default, exc, "c", 1, 3, "w")
    assert not allowed(default, exc, "b", 1, 3, "r")
    default, exc = effective_rules([Rule(True, "a"), Rule(False, "c", 1, 3, "w")])
    assert not allowed(default, exc, "c", 1, 3, "rw")  # any overlap denies
    assert allowed(default, exc, "c", 1, 3, "r")


# -- the eBPF program -------------------------------------------------------------------------

def run_program(code: bytes, dev_type: int, major: int, minor: int, access: int) -> int:
    """Interpret the subset of eBPF the generator emits."""
    insns = [struct.unpack_from("<BBhi", code, i) for i in range(0, len(code), 8)]
    ctx = struct.pack("<III", (access << 16) | dev_type, major, minor)
    regs = [0] * 11
    pc = 0
    for _ in range(10000):
        op, regs_byte, off, imm = insns[pc]
        dst, src = regs_byte & 0xF, regs_byte >> 4
        pc += 1
        u32 = imm & 0xFFFFFFFF
        if op == 0x61:
            assert src == 1
            regs[dst] = struct.unpack_from("<I", ctx, off)[0]
        elif op == 0xBC:
            regs[dst] = regs[src] & 0xFFFFFFFF
        elif op == 0x54:
            regs[dst] = (regs[dst] & u32) & 0xFFFFFFFF
        elif op == 0x74:
            regs[dst] = (regs[dst] & 0xFFFFFFFF) >> imm
        elif op == 0xB7:
            regs[dst] = imm
        elif op == 0x56:
            if (regs[dst] & 0xFFFFFFFF) != u32:
                pc += off
        elif op == 0x16:
            if (regs[dst] & 0xFFFFFFFF) == u32:
                pc += off
        elif op == 0x95:
            return regs[0]
        else:
            raise AssertionError(f"unexpected opcode {op:#x}")
    raise AssertionError("no exit")


RULE_SETS = [
    [],
    [Rule(False, "a")],
    [Rule(True, "a")],
    [Rule(False, "a"), Rule(True, "c", 1, 3, "rw"), Rule(True, "b", 8, None, "r")],
    [Rule(True, "a"), Rule(False, "c", 1, None, "w"), Rule(False, "b", None, None, "m")],
    [Rule(False, "a"), Rule(True, "c", 1, 3, "rwm"), Rule(False, "c", 1, 3, "w"),
     Rule(True, "c", 5, None, "m")],
    [Rule(True, "c", 4000000000, 7, "r")],
    device_rules([{"allow": False, "access": "rwm"}]) + list(DEFAULT_ALLOWED),
]
ACCESS = {"m": ebpf.ACC_MKNOD, "r": ebpf.ACC_READ, "w": ebpf.ACC_WRITE}


@pytest.mark.parametrize("rules", RULE_SETS, ids=[str(i) for i in range(len(RULE_SETS))])
def test_program_decides_like_the_v1_controller(rules):
    default, exceptions = effective_rules(rules)
    code = ebpf.program(default, exceptions)
    assert len(code) % 8 == 0
    accesses = ["r", "w", "m", "rw", "rwm", "wm"]
    for t, major, minor, acc in itertools.product("bc", (1, 5, 8, 136, 4000000000), (0, 3, 7), accesses):
        want = allowed(default, exceptions, t, major, minor, acc)
        got = run_program(code, ebpf._TYPES[t], major, minor, sum(ACCESS[c] for c in acc))
        assert bool(got) == want, (t, major, minor, acc)
