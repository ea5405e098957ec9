"""The cgroup drivers (cgroupfs; v1, hybrid and v2).

    from runtime.cgroups import manager_for, manager_from_record
    mgr = manager_for(spec.linux, cid)          # v1 or v2, by what /sys/fs/cgroup is
    mgr.create(spec.linux.resources)            # mkdir + every resource, before the processes
    mgr.join(init_pid)                          # when the init is ready, before `start`
    record["cgroup"] = mgr.to_record()          # later commands: manager_from_record(...)

This module imports only os and the error types: `delete` and `kill --all` load it.
"""

from runtime.errors import PyruncError

DEFAULT_ROOT = "/sys/fs/cgroup"


def manager_for(linux, cid: str, *, root: str = DEFAULT_ROOT, systemd: bool = False,
                own: dict[str, str] | None = None, mountinfo: str = "/proc/self/mountinfo"):
    """The manager of container `cid` whose config's `linux` is `linux` (the model object, a
    dict with JSON keys, or None).

    Placement: an absolute cgroupsPath is below each hierarchy's mount point; a relative one
    (and the default, the container id) is below this process's own cgroup (v2: below its
    parent). `own` replaces /proc/self/cgroup (tests)."""
    from runtime.cgroups import fs

    if isinstance(linux, dict):
        path = linux.get("cgroupsPath")
    else:
        path = getattr(linux, "cgroups_path", None) if linux is not None else None
    if systemd:
        fs.check_systemd_path(path)
    if path is not None and not isinstance(path, str):
        raise PyruncError(f"/linux/cgroupsPath: must be a string, got {path!r}")
    inner = fs.clean_path(path) if path else cid
    if path and inner in ("", "/"):
        raise PyruncError(f"/linux/cgroupsPath: {path!r} names the cgroup root, not a container cgroup")
    layout = fs.detect(root, mountinfo)
    if own is None:
        own = fs.own_cgroups()
    if layout.version == 2:
        from runtime.cgroups.v2 import V2Manager

        return V2Manager.plan(layout, cid, inner, own)
    from runtime.cgroups.v1 import V1Manager

    return V1Manager.plan(layout, cid, inner, own)


def manager_from_record(record: dict):
    """The manager saved by Manager.to_record() (the state file's "cgroup")."""
    if not isinstance(record, dict) or record.get("version") not in (1, 2):
        raise PyruncError("the container's state has no valid cgroup record")
    if record["version"] == 2:
        from runtime.cgroups.v2 import V2Manager

        return V2Manager.from_record(record)
    from runtime.cgroups.v1 import V1Manager

    return V1Manager.from_record(record)


def is_paused(cgroup_record: dict | None) -> bool:
    """Whether the container's cgroup is frozen: one file read, for `state` and `list`."""
    if not isinstance(cgroup_record, dict):
        return False
    if cgroup_record.get("version") == 2:
        return _read(cgroup_record.get("dir"), "cgroup.freeze") == "1"
    dirs = cgroup_record.get("dirs") or {}
    for name, ctrls in (cgroup_record.get("controllers") or {}).items():
        if "freezer" in ctrls and name in dirs:
            return _read(dirs[name], "freezer.state") in ("FROZEN", "FREEZING")
    return _read(cgroup_record.get("unified"), "cgroup.freeze") == "1"


def _read(directory: str | None, name: str) -> str:
    if not directory:
        return ""
    try:
        with open(f"{directory}/{name}") as f:
            return f.read().strip()
    except OSError:
        return ""
