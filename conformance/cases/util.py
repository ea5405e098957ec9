"""Helpers shared by the cases: reading the checker's findings, common checks."""

from __future__ import annotations

import dataclasses

from ..runner import CaseContext


def check_refused(t: CaseContext, rid: str, edit, what: str, files: dict[str, str] | None = None) -> None:
    """``create`` of the default config adjusted by ``edit(cfg)`` must fail (``what`` says
    what it must refuse) and leave no container behind."""
    cfg = t.config(["/bin/true"])
    edit(cfg)
    bundle = t.bundle(cfg, files)
    cid = t.new_id()
    call = t.create(bundle, cid)
    exists = t.rt("state", cid).ok
    t.check(
        rid,
        not call.ok and not exists,
        f"create refuses {what}",
        f"exit {call.rc}, container exists: {exists}",
    )


@dataclasses.dataclass
class Mount:
    point: str
    fstype: str
    source: str
    tokens: set[str]  # per-mount and superblock options, plus propagation tags
    line: str


def parse_mountinfo(lines: list[str]) -> list[Mount]:
    mounts = []
    for line in lines:
        pre, _, post = line.partition(" - ")
        f = pre.split()
        fstype, source, sopts = (post.split() + ["", "", ""])[:3]
        tokens = set(f[5].split(",")) | set(sopts.split(","))
        for tag in f[6:]:
            tokens.add(tag.split(":")[0])
        mounts.append(Mount(f[4].replace("\\040", " "), fstype, source, tokens, line))
    return mounts


def top_mount(mounts: list[Mount], point: str) -> Mount | None:
    """The mount visible at ``point`` (the last one listed there)."""
    found = [m for m in mounts if m.point == point]
    return found[-1] if found else None


def parse_caps(hexmask: str) -> int:
    return int(hexmask, 16)


CAP_NUMBERS = {
    "CAP_CHOWN": 0,
    "CAP_DAC_OVERRIDE": 1,
    "CAP_DAC_READ_SEARCH": 2,
    "CAP_FOWNER": 3,
    "CAP_FSETID": 4,
    "CAP_KILL": 5,
    "CAP_SETGID": 6,
    "CAP_SETUID": 7,
    "CAP_SETPCAP": 8,
    "CAP_LINUX_IMMUTABLE": 9,
    "CAP_NET_BIND_SERVICE": 10,
    "CAP_NET_BROADCAST": 11,
    "CAP_NET_ADMIN": 12,
    "CAP_NET_RAW": 13,
    "CAP_IPC_LOCK": 14,
    "CAP_IPC_OWNER": 15,
    "CAP_SYS_MODULE": 16,
    "CAP_SYS_RAWIO": 17,
    "CAP_SYS_CHROOT": 18,
    "CAP_SYS_PTRACE": 19,
    "CAP_SYS_PACCT": 20,
    "CAP_SYS_ADMIN": 21,
    "CAP_SYS_BOOT": 22,
    "CAP_SYS_NICE": 23,
    "CAP_SYS_RESOURCE": 24,
    "CAP_SYS_TIME": 25,
    "CAP_SYS_TTY_CONFIG": 26,
    "CAP_MKNOD": 27,
    "CAP_LEASE": 28,
    "CAP_AUDIT_WRITE": 29,
    "CAP_AUDIT_CONTROL": 30,
    "CAP_SETFCAP": 31,
}


def cap_mask(names: list[str]) -> int:
    mask = 0
    for n in names:
        mask |= 1 << CAP_NUMBERS[n]
    return mask
