"""Facts about the host's cgroup mounts (read-only; the cgroup drivers come with issue 4)."""

import os

CGROUP2_SUPER_MAGIC = 0x63677270


def _mountinfo() -> list[list[str]]:
    with open("/proc/self/mountinfo") as f:
        return [line.split() for line in f]


def is_unified(root: str = "/sys/fs/cgroup") -> bool:
    """True where `root` itself is a cgroup2 mount (a pure v2 host)."""
    for fields in _mountinfo():
        sep = fields.index("-")
        if fields[4] == root:
            return fields[sep + 1] == "cgroup2"
    return False


def v1_mounts() -> dict[str, str]:
    """Mounted v1 hierarchies: the name under /sys/fs/cgroup -> its mount point."""
    found = {}
    for fields in _mountinfo():
        sep = fields.index("-")
        if fields[sep + 1] == "cgroup" and fields[4].startswith("/sys/fs/cgroup/"):
            found[os.path.basename(fields[4])] = fields[4]
    return found


def own_v1_dirs() -> list[tuple[str, str]]:
    """(hierarchy name, host directory of this process's cgroup in it) for each v1 mount."""
    mine = {}
    with open("/proc/self/cgroup") as f:
        for line in f:
            _, controllers, path = line.rstrip("\n").split(":", 2)
            for c in controllers.split(","):
                mine[c] = path
    result = []
    for name, mountpoint in sorted(v1_mounts().items()):
        path = next((mine[c] for c in name.split(",") if c in mine), None) or mine.get(f"name={name}")
        if path is None:
            continue
        result.append((name, mountpoint + path.rstrip("/")))
    return result
