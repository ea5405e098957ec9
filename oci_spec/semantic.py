"""Checks of config.json that JSON Schema cannot express.

They come from MUST statements of runtime-spec 1.3.0 (config.md,
config-linux.md) and from what Linux itself refuses (a mapping of size 0,
offsets for a time namespace that already exists).  Each check yields
``FieldError``s with the pointer of the value to fix.

The functions run on documents that may also have schema errors (so that a
user sees every problem in one pass), hence the defensive accessors: a value
of the wrong type is skipped here because the schema stage reports it.

``config_checks`` returns (errors, warnings): warnings are things the spec
allows but asks runtimes to log (unknown capabilities, deprecated relative
mount destinations, spec versions other than the one implemented).
"""

from __future__ import annotations

import os

from .errors import FieldError, escape_token

# Capability names in the kernel's numbering (linux/capability.h): the index
# is the capability number.
KNOWN_CAPABILITIES = (
    "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID",
    "CAP_KILL", "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW",
    "CAP_IPC_LOCK", "CAP_IPC_OWNER", "CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT",
    "CAP_SYS_PTRACE", "CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE", "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE",
    "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL", "CAP_SETFCAP", "CAP_MAC_OVERRIDE",
    "CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ",
    "CAP_PERFMON", "CAP_BPF", "CAP_CHECKPOINT_RESTORE",
)

# The runtime-spec version this package implements.
SPEC_VERSION = (1, 3, 0)

# Seccomp actions that take an errno (config-linux.md, errnoRet).
_ERRNO_ACTIONS = frozenset({"SCMP_ACT_ERRNO", "SCMP_ACT_TRACE"})

# set_mempolicy(2): these modes take no nodes, these need at least one.
_MPOL_NO_NODES = frozenset({"MPOL_DEFAULT", "MPOL_LOCAL"})
_MPOL_NEED_NODES = frozenset({"MPOL_BIND", "MPOL_INTERLEAVE", "MPOL_WEIGHTED_INTERLEAVE",
                              "MPOL_PREFERRED_MANY"})

def _dict(v) -> dict:
    return v if isinstance(v, dict) else {}


def _list(v) -> list:
    return v if isinstance(v, list) else []


def _str(v):
    return v if isinstance(v, str) else None


def config_checks(config, bundle_dir: str | None = None) -> tuple[list[FieldError], list[FieldError]]:
    """Semantic errors and warnings of a config dict.  With ``bundle_dir``,
    also checks that ``root.path`` names a directory (relative to the
    bundle)."""
    errors: list[FieldError] = []
    warnings: list[FieldError] = []
    if not isinstance(config, dict):
        return errors, warnings
    _check_version(config.get("ociVersion"), warnings)
    if bundle_dir is not None:
        _check_root(config.get("root"), bundle_dir, errors)
    if "process" in config:
        e, w = process_checks(config["process"], "/process")
        errors += e
        warnings += w
    linux = _dict(config.get("linux"))
    namespaces = _namespace_table(linux, errors)
    _check_mounts(config.get("mounts"), namespaces, errors, warnings)
    _check_id_mappings(linux, namespaces, errors)
    _check_time_offsets(linux, namespaces, errors)
    if linux.get("netDevices") and "network" not in namespaces:
        errors.append(FieldError("/linux/netDevices",
                                 "network devices can only be moved into a network namespace,"
                                 " but /linux/namespaces has none"))
    _check_devices(linux.get("devices"), warnings)
    _check_cpu(_dict(_dict(linux.get("resources")).get("cpu")), errors)
    _check_seccomp(_dict(linux.get("seccomp")), errors)
    _check_memory_policy(_dict(linux.get("memoryPolicy")), errors)
    return errors, warnings


def process_checks(process, prefix: str = "") -> tuple[list[FieldError], list[FieldError]]:
    """Checks of a process object (``config.process`` or the JSON given to
    ``exec --process``); ``prefix`` is its pointer."""
    errors: list[FieldError] = []
    warnings: list[FieldError] = []
    process = _dict(process)
    seen: dict[str, int] = {}
    for i, rlimit in enumerate(_list(process.get("rlimits"))):
        kind = _str(_dict(rlimit).get("type"))
        if kind is None:
            continue
        if kind in seen:
            errors.append(FieldError(f"{prefix}/rlimits/{i}/type",
                                     f'"{kind}" is already set by {prefix}/rlimits/{seen[kind]}'))
        else:
            seen[kind] = i
    known = frozenset(KNOWN_CAPABILITIES)
    for set_name, names in _dict(process.get("capabilities")).items():
        for i, name in enumerate(_list(names)):
            if isinstance(name, str) and name not in known:
                warnings.append(FieldError(
                    f"{prefix}/capabilities/{escape_token(set_name)}/{i}",
                    f'"{name}" is not a capability known to pyrunc; it is ignored'))
    return errors, warnings


def _check_version(version, warnings) -> None:
    # Only warnings: the spec promises compatibility within a major version
    # but does not ask runtimes to refuse other versions, and runc does not.
    parsed = parse_semver(version)
    if parsed is None:
        return  # the schema reports it
    implemented = ".".join(map(str, SPEC_VERSION))
    if parsed[0] != SPEC_VERSION[0]:
        warnings.append(FieldError("/ociVersion",
                                   f'"{version}" is not a {SPEC_VERSION[0]}.x version; pyrunc'
                                   f" implements runtime-spec {implemented}"))
    elif parsed[:2] > SPEC_VERSION[:2]:
        warnings.append(FieldError("/ociVersion",
                                   f'"{version}" is newer than the runtime-spec {implemented}'
                                   " that pyrunc implements; unknown properties are ignored"))


def _check_root(root, bundle_dir: str, errors) -> None:
    path = _str(_dict(root).get("path"))
    if not path:
        return  # missing or empty: the schema reports it
    full = os.path.join(bundle_dir, path)  # an absolute path replaces bundle_dir
    if not os.path.exists(full):
        errors.append(FieldError("/root/path", f'directory "{full}" does not exist'))
    elif not os.path.isdir(full):
        errors.append(FieldError("/root/path", f'"{full}" is not a directory'))


def _namespace_table(linux: dict, errors) -> dict[str, dict]:
    """Namespace entries by type; reports types given more than once."""
    table: dict[str, dict] = {}
    first: dict[str, int] = {}
    for i, ns in enumerate(_list(linux.get("namespaces"))):
        kind = _str(_dict(ns).get("type"))
        if kind is None:
            continue
        if kind in table:
            errors.append(FieldError(f"/linux/namespaces/{i}/type",
                                     f'namespace "{kind}" is already given by'
                                     f" /linux/namespaces/{first[kind]}"))
        else:
            table[kind] = ns
            first[kind] = i
    return table


def _check_id_mappings(linux: dict, namespaces: dict, errors) -> None:
    user = namespaces.get("user")
    for key in ("uidMappings", "gidMappings"):
        mappings = _list(linux.get(key))
        if user is None:
            if mappings:
                errors.append(FieldError(f"/linux/{key}",
                                         "ID mappings are given but /linux/namespaces has no"
                                         " user namespace"))
        elif "path" not in user and not mappings:
            # A new user namespace starts with no mapping at all: every ID
            # would be the overflow ID and the container could not set up.
            errors.append(FieldError("/linux",
                                     f'"{key}" is required when a new user namespace is created'))
        for i, m in enumerate(mappings):
            if type(_dict(m).get("size")) is int and m["size"] == 0:
                errors.append(FieldError(f"/linux/{key}/{i}/size",
                                         "0 is not a mapping size: at least one ID must be mapped"))


def _check_time_offsets(linux: dict, namespaces: dict, errors) -> None:
    if not linux.get("timeOffsets"):
        return
    time_ns = namespaces.get("time")
    if time_ns is None:
        errors.append(FieldError("/linux/timeOffsets",
                                 "time offsets need a time namespace, but /linux/namespaces has none"))
    elif "path" in time_ns:
        errors.append(FieldError("/linux/timeOffsets",
                                 "time offsets can only be set for a new time namespace,"
                                 " not for one joined by path"))


def _check_mounts(mounts, namespaces: dict, errors, warnings) -> None:
    for i, mount in enumerate(_list(mounts)):
        mount = _dict(mount)
        dest = _str(mount.get("destination"))
        if dest and not dest.startswith("/"):
            warnings.append(FieldError(f"/mounts/{i}/destination",
                                       f'"{dest}" is relative, which is deprecated;'
                                       f' it is taken as "/{dest}"'))
        options = [o for o in _list(mount.get("options")) if isinstance(o, str)]
        idmap = [o for o in options if o in ("idmap", "ridmap")]
        has_mappings = "uidMappings" in mount or "gidMappings" in mount
        if idmap and not has_mappings and "user" not in namespaces:
            errors.append(FieldError(f"/mounts/{i}/options",
                                     f'"{idmap[0]}" needs "uidMappings" and "gidMappings" on the'
                                     " mount or a user namespace in /linux/namespaces"))
        if has_mappings and not idmap:
            warnings.append(FieldError(f"/mounts/{i}/options",
                                       'the mount has ID mappings but neither "idmap" nor'
                                       ' "ridmap" among its options'))


def _check_devices(devices, warnings) -> None:
    seen: dict[tuple, int] = {}
    for i, dev in enumerate(_list(devices)):
        dev = _dict(dev)
        key = (_str(dev.get("type")), dev.get("major"), dev.get("minor"))
        if key[0] in (None, "p") or type(key[1]) is not int or type(key[2]) is not int:
            continue
        if key in seen:
            warnings.append(FieldError(f"/linux/devices/{i}",
                                       f"same type, major and minor as /linux/devices/{seen[key]}"))
        else:
            seen[key] = i


def _check_cpu(cpu: dict, errors) -> None:
    quota, burst = cpu.get("quota"), cpu.get("burst")
    if type(quota) is int and type(burst) is int and quota > 0 and burst > quota:
        errors.append(FieldError("/linux/resources/cpu/burst",
                                 f"{burst} is larger than the quota {quota}"))


def _check_seccomp(seccomp: dict, errors) -> None:
    # "When the action doesn't support an errno, the runtime MUST print an
    # error and fail."
    action = _str(seccomp.get("defaultAction"))
    if "defaultErrnoRet" in seccomp and action and action not in _ERRNO_ACTIONS:
        errors.append(FieldError("/linux/seccomp/defaultErrnoRet",
                                 f"the default action {action} takes no errno"
                                 " (only SCMP_ACT_ERRNO and SCMP_ACT_TRACE do)"))
    for i, rule in enumerate(_list(seccomp.get("syscalls"))):
        rule = _dict(rule)
        action = _str(rule.get("action"))
        if "errnoRet" in rule and action and action not in _ERRNO_ACTIONS:
            errors.append(FieldError(f"/linux/seccomp/syscalls/{i}/errnoRet",
                                     f"the action {action} takes no errno"
                                     " (only SCMP_ACT_ERRNO and SCMP_ACT_TRACE do)"))


def _check_memory_policy(policy: dict, errors) -> None:
    mode = _str(policy.get("mode"))
    nodes = _str(policy.get("nodes")) or ""
    if mode in _MPOL_NO_NODES and nodes.strip():
        errors.append(FieldError("/linux/memoryPolicy/nodes",
                                 f"{mode} takes no nodes, but nodes is \"{nodes}\""))
    elif mode in _MPOL_NEED_NODES and not nodes.strip():
        errors.append(FieldError("/linux/memoryPolicy",
                                 f'"nodes" is required (with at least one node) for {mode}'))


def parse_semver(text):
    """(major, minor, patch, prerelease identifiers) or None."""
    if not isinstance(text, str):
        return None
    core = text.split("+", 1)[0]
    core, _, pre = core.partition("-")
    parts = core.split(".")
    if len(parts) != 3 or not all(p.isdigit() and p.isascii() for p in parts):
        return None
    return (int(parts[0]), int(parts[1]), int(parts[2]), pre.split(".") if pre else [])


def semver_key(parsed) -> tuple:
    """Sort key with SemVer 2.0.0 precedence: a pre-release sorts before its
    release; numeric identifiers sort numerically and before others."""
    major, minor, patch, pre = parsed
    pre_key = tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in pre)
    return (major, minor, patch, 0 if pre else 1, pre_key)


def features_checks(features) -> list[FieldError]:
    """The one rule of the features document beyond its schema."""
    features = _dict(features)
    low = parse_semver(features.get("ociVersionMin"))
    high = parse_semver(features.get("ociVersionMax"))
    if low and high and semver_key(high) < semver_key(low):
        return [FieldError("/ociVersionMax",
                           f'"{features["ociVersionMax"]}" is less than ociVersionMin'
                           f' "{features["ociVersionMin"]}"')]
    return []
