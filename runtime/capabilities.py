"""Capability names of config.json and their numbers (linux/capability.h)."""

NAMES = [
    "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL",
    "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE",
    "CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK", "CAP_IPC_OWNER",
    "CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE", "CAP_SYS_PACCT",
    "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE", "CAP_SYS_RESOURCE", "CAP_SYS_TIME",
    "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE", "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL",
    "CAP_SETFCAP", "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF", "CAP_CHECKPOINT_RESTORE",
]
NUMBERS = {name: i for i, name in enumerate(NAMES)}


def last_cap() -> int:
    """The highest capability this kernel knows."""
    try:
        with open("/proc/sys/kernel/cap_last_cap") as f:
            return int(f.read())
    except OSError:
        return len(NAMES) - 1


def name(num: int) -> str:
    return NAMES[num] if num < len(NAMES) else f"CAP_{num}"


def number(name: str, field: str) -> int:
    from runtime.errors import PyruncError

    num = NUMBERS.get(name.upper())
    if num is None:
        raise PyruncError(f"{field}: unknown capability {name!r}")
    return num


def mask(names: list[str], field: str, known: int) -> int:
    """The bit mask of a capability list. Names unknown to pyrunc or to this kernel are left
    out: the runtime-spec asks for a warning (given at create, from the config's warnings),
    not a failure."""
    bits = 0
    for name in names:
        num = NUMBERS.get(name.upper())
        if num is not None and num <= known:
            bits |= 1 << num
    return bits
