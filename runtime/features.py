"""`pyrunc features`: the runtime-spec 1.3 Features structure (features.md, features-linux.md).

The lists (hooks, mount options, namespaces, capabilities, memory policies) come from the
tables the runtime itself works with, so they cannot drift from what it accepts. The spec
wants the document fixed at build time, irrespective of the host; pyrunc, being built
nowhere, reports instead what this build can do *on this host* where the two differ: the
time namespace, capabilities beyond the kernel's cap_last_cap, the rdma controller, AppArmor,
SELinux and id-mapped mounts are claimed only where the host has them.
"""

import os

OCI_VERSION_MIN = "1.0.0"
OCI_VERSION_MAX = "1.3.0"

HOOKS = ["prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"]
NAMESPACES = ["cgroup", "ipc", "mount", "network", "pid", "user", "uts", "time"]
MEMORY_POLICY_MODES = ["MPOL_DEFAULT", "MPOL_BIND", "MPOL_INTERLEAVE", "MPOL_WEIGHTED_INTERLEAVE",
                       "MPOL_PREFERRED", "MPOL_PREFERRED_MANY", "MPOL_LOCAL"]
MEMORY_POLICY_FLAGS = ["MPOL_F_NUMA_BALANCING", "MPOL_F_RELATIVE_NODES", "MPOL_F_STATIC_NODES"]
# Config annotations that change what the runtime does. pyrunc reads none yet: add the key
# (or "prefix.") here when one is.
UNSAFE_CONFIG_ANNOTATIONS: list[str] = []
IDMAP_KERNEL = (5, 12)  # mount_setattr(2) with MOUNT_ATTR_IDMAP


def mount_options() -> list[str]:
    """Every `mounts[].options` string the runtime turns into a mount flag or step itself
    (as opposed to handing it to the file system as data), sorted."""
    from runtime import mountopts

    candidates = set(mountopts._FLAGS) | set(mountopts._PROPAGATION) | set(mountopts._RECURSIVE)
    candidates |= set(mountopts._RECURSIVE_ATIME)
    candidates |= {"nosymfollow", "symfollow", "bind", "rbind", "tmpcopyup", "idmap", "ridmap"}
    # Keep only what parse() really takes for its own: no drift from the tables' meaning.
    return sorted(opt for opt in candidates if not mountopts.parse([opt]).data)


def capabilities() -> list[str]:
    from runtime.capabilities import NAMES, last_cap

    return NAMES[: last_cap() + 1]


def namespaces() -> list[str]:
    return [ns for ns in NAMESPACES if ns != "time" or os.path.exists("/proc/self/ns/time")]


def _read(path: str) -> str | None:
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return None


def rdma_controller() -> bool:
    """Whether this kernel has the rdma cgroup controller enabled (v1 or v2)."""
    table = _read("/proc/cgroups")
    if table is not None:
        for line in table.splitlines():
            fields = line.split()
            if fields and fields[0] == "rdma":
                return fields[-1] == "1"
    for root in ("/sys/fs/cgroup", "/sys/fs/cgroup/unified"):
        if "rdma" in (_read(f"{root}/cgroup.controllers") or "").split():
            return True
    return False


def apparmor_enabled() -> bool:
    return (_read("/sys/module/apparmor/parameters/enabled") or "").strip() == "Y"


def selinux_enabled() -> bool:
    return os.path.exists("/sys/fs/selinux/enforce")


def kernel_version(release: str | None = None) -> tuple[int, int]:
    """(major, minor) of a kernel release string such as "6.18.0-rc1" (this kernel's by default)."""
    release = release or os.uname().release
    parts = []
    for piece in release.split(".")[:2]:
        digits = ""
        for ch in piece:
            if not ch.isdigit():
                break
            digits += ch
        parts.append(int(digits or 0))
    while len(parts) < 2:
        parts.append(0)
    return parts[0], parts[1]


def idmap_mounts() -> bool:
    return kernel_version() >= IDMAP_KERNEL


def seccomp() -> dict:
    """linux.seccomp: off until runtime/seccomp.py exists.

    TODO(seccomp issue): runtime/seccomp.py should define `features() -> dict` returning the
    whole object ({"enabled": True, "actions": [...], "operators": [...], "archs": [...],
    "knownFlags": [...], "supportedFlags": [...]}); it is used as soon as the module exists.
    """
    from importlib.util import find_spec

    if find_spec("runtime.seccomp") is None:
        return {"enabled": False}
    from importlib import import_module

    module = import_module("runtime.seccomp")
    describe = getattr(module, "features", None)
    return describe() if describe is not None else {"enabled": True}


def version() -> str:
    from runtime.cli import VERSION

    return VERSION


def features_document() -> dict:
    return {
        "ociVersionMin": OCI_VERSION_MIN,
        "ociVersionMax": OCI_VERSION_MAX,
        "hooks": list(HOOKS),
        "mountOptions": mount_options(),
        "linux": {
            "namespaces": namespaces(),
            "capabilities": capabilities(),
            "cgroup": {"v1": True, "v2": True, "systemd": False, "systemdUser": False,
                       "rdma": rdma_controller()},
            "seccomp": seccomp(),
            "apparmor": {"enabled": apparmor_enabled()},
            "selinux": {"enabled": selinux_enabled()},
            "intelRdt": {"enabled": False},
            "memoryPolicy": {"modes": list(MEMORY_POLICY_MODES), "flags": list(MEMORY_POLICY_FLAGS)},
            "mountExtensions": {"idmap": {"enabled": idmap_mounts()}},
            "netDevices": {"enabled": True},
        },
        "annotations": {"io.github.pyrunc.version": version()},
        "potentiallyUnsafeConfigAnnotations": list(UNSAFE_CONFIG_ANNOTATIONS),
    }


def features_json() -> str:
    """The document as `pyrunc features` prints it (2-space indented JSON, no final newline)."""
    from runtime import fastjson

    return fastjson.dumps(features_document(), indent=2)
