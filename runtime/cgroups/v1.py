"""The cgroup v1 driver: one directory per mounted hierarchy (and, on a hybrid host, one in the
cgroup2 mount at <root>/unified, for placement and freezing only)."""

import errno
import os

from runtime import log
from runtime.cgroups import fs
from runtime.cgroups.base import Manager, poll_fd
from runtime.cgroups.values import (
    get_bool,
    get_int,
    get_list,
    get_str,
    limit_text,
)
from runtime.errors import PyruncError

UNIFIED = "unified"


class V1Manager(Manager):
    HUGETLB_LIMIT = "limit_in_bytes"
    version = 1

    def __init__(self, cid: str, root: str, dirs: dict[str, str], controllers: dict[str, list[str]],
                 mountpoints: dict[str, str] | None = None, created: list[str] | None = None,
                 unified: str | None = None, unified_mountpoint: str | None = None):
        super().__init__(cid, root, created)
        self.dirs = dict(dirs)                  # hierarchy name -> the container's directory
        self.controllers = {k: list(v) for k, v in controllers.items()}
        self.mountpoints = dict(mountpoints or {})
        self.unified = unified                  # hybrid host: the container's cgroup2 directory
        self.unified_mountpoint = unified_mountpoint
        self._joined: dict[int, set[str]] = {}  # pid -> hierarchies it was put in

    @classmethod
    def plan(cls, layout: fs.Layout, cid: str, inner: str, own: dict[str, str]) -> "V1Manager":
        dirs, controllers, mountpoints = {}, {}, {}
        for h in layout.v1:
            dirs[h.name] = fs.host_dir(h, inner, own)
            controllers[h.name] = sorted(h.controllers)
            mountpoints[h.name] = h.mountpoint
        unified = unified_mp = None
        if layout.unified is not None:
            unified = fs.host_dir(layout.unified, inner, own)
            unified_mp = layout.unified.mountpoint
        return cls(cid, layout.root, dirs, controllers, mountpoints, None, unified, unified_mp)

    # -- records and paths ----------------------------------------------------------------------
    def to_record(self) -> dict:
        return {"version": 1, "id": self.id, "root": self.root, "dirs": self.dirs,
                "controllers": self.controllers, "created": self.created, "unified": self.unified}

    @classmethod
    def from_record(cls, d: dict) -> "V1Manager":
        return cls(d.get("id", ""), d.get("root", "/sys/fs/cgroup"), d.get("dirs") or {},
                   d.get("controllers") or {}, None, d.get("created") or [], d.get("unified"))

    def paths(self) -> dict[str, str]:
        out = dict(self.dirs)
        if self.unified:
            out[UNIFIED] = self.unified
        return out

    def v1_dirs(self) -> list[tuple[str, str]]:
        """(hierarchy name, host directory) per mounted hierarchy, for the `cgroup` mount."""
        out = sorted(self.dirs.items())
        if self.unified:
            out.append((UNIFIED, self.unified))
        return out

    def _leaves(self) -> list[tuple[str, str]]:
        return list(self.paths().items())

    def dir_of(self, controller: str) -> str | None:
        for name, ctrls in self.controllers.items():
            if controller in ctrls:
                return self.dirs[name]
        return None

    def need(self, controller: str, field: str) -> str:
        d = self.dir_of(controller)
        if d is None:
            raise PyruncError(f"{field}: the {controller} controller is not mounted on this host "
                              f"(no cgroup v1 hierarchy under {self.root} has it)")
        return d

    # -- create and join ------------------------------------------------------------------------
    def _make(self) -> None:
        try:
            for name in sorted(self.dirs):
                top = self.mountpoints.get(name) or os.path.dirname(self.dirs[name])
                self.created += fs.make_dirs(top, self.dirs[name])
        except OSError as e:
            self._remove_created()
            raise fs.fail("/linux/cgroupsPath", f"mkdir {e.filename or self.dirs[name]}", e) from None
        if self.unified:
            try:
                self.created += fs.make_dirs(self.unified_mountpoint or os.path.dirname(self.unified),
                                             self.unified)
            except OSError as e:
                # The hybrid cgroup2 tree only places the processes; without it we do fine.
                log.current.debug(f"cgroup: not using {self.unified}: {fs.errno_text(e)}")
                self.unified = None
        cpuset = self.dir_of("cpuset")
        if cpuset:
            self._fill_cpuset(cpuset)

    def _fill_cpuset(self, leaf: str) -> None:
        """A new v1 cpuset has no cpus and mems: copy its parent's, top-down."""
        chain = [d for d in self.created if leaf == d or leaf.startswith(d + "/")]
        for d in chain:
            parent = os.path.dirname(d)
            for name in ("cpuset.cpus", "cpuset.mems"):
                if fs.exists(d, name) and not fs.read_or(d, name).strip():
                    fs.write(d, name, fs.read_or(parent, name).strip() or "\n", "/linux/resources/cpu")

    def _check_new(self) -> None:
        freezer = self.dir_of("freezer")
        if freezer and freezer not in self.created \
                and fs.read_or(freezer, "freezer.state").strip() == "FROZEN":
            raise PyruncError(f"/linux/cgroupsPath: the container's cgroup {freezer} is frozen")

    def self_join_files(self) -> list[tuple[str, str]]:
        """Every v1 hierarchy: a thread writing "0" to `tasks` moves itself without the
        kernel's threadgroup lock (the init is single-threaded: that is the whole process)."""
        # freezer last: in a frozen cgroup (exec --ignore-paused) the mover stops right there
        order = sorted(self.dirs.items(), key=lambda item: (item[0] == "freezer", item[0]))
        return [(name, os.path.join(d, "tasks")) for name, d in order]

    def birth_dir(self) -> str | None:
        return self.unified  # a hybrid host's cgroup2 directory: it only places the processes

    def rest_to_join(self, born: bool) -> bool:
        return bool(self.unified) and not born

    def join_rest(self, pid: int, born: bool) -> None:
        if self.rest_to_join(born):
            self.join(pid, names=[UNIFIED])

    def join(self, pid: int, sub: list[str] | None = None, names: list[str] | None = None) -> None:
        """Put `pid` in the container's cgroup of every hierarchy (or of `names`); `sub`
        (exec --cgroup: "PATH" or "CTRL[,CTRL]:PATH") picks existing sub-cgroups instead."""
        subs = fs.parse_sub_cgroups(sub)
        joined = self._joined.setdefault(pid, set())
        for name, d in self.v1_dirs():
            if name in joined or (names is not None and name not in names):
                continue
            joined.add(name)
            ctrls = self.controllers.get(name) or ([""] if name == UNIFIED else [])
            path = next((subs[c] for c in ctrls if c in subs), None)
            if path is None and name == "systemd":
                path = subs.get("systemd")
            if path is None:
                path = subs.get("")
            if path:
                try:
                    d = fs.sub_dir(d, path)
                except PyruncError:
                    if name != UNIFIED:  # the hybrid tree only places: its leaf will do
                        raise
            try:
                fs.write(d, "cgroup.procs", str(pid))
            except PyruncError as e:
                if name == UNIFIED:
                    log.current.debug(f"cgroup: {e}")
                    continue
                raise PyruncError(f"/linux/cgroupsPath: join {d}: {str(e).split(': ', 1)[1]}") from None

    # -- resources ------------------------------------------------------------------------------
    def _memory(self, m: dict, ptr: str, updating: bool) -> None:
        limit = get_int(m, "limit", ptr)
        swap = get_int(m, "swap", ptr)
        reservation = get_int(m, "reservation", ptr)
        kernel = get_int(m, "kernel", ptr)
        kernel_tcp = get_int(m, "kernelTCP", ptr)
        swappiness = get_int(m, "swappiness", ptr)
        no_oom_kill = get_bool(m, "disableOOMKiller", ptr)
        hierarchy = get_bool(m, "useHierarchy", ptr)
        check = get_bool(m, "checkBeforeUpdate", ptr)
        if all(v is None for v in (limit, swap, reservation, kernel, kernel_tcp, swappiness, no_oom_kill,
                                   hierarchy)):
            return
        d = self.need("memory", ptr)
        has_memsw = fs.exists(d, "memory.memsw.limit_in_bytes")
        if limit is not None and limit < 0 and swap is None and has_memsw:
            swap = -1  # "no memory limit" also lifts memory+swap
        if check and limit is not None and limit >= 0:
            usage = fs.read_int(d, "memory.usage_in_bytes")
            if limit < usage:
                raise PyruncError(f"{ptr}/limit: the new limit {limit} is below the current usage {usage}")
        writes = []
        if limit is not None:
            writes.append(("memory.limit_in_bytes", limit_text(limit, "-1"), f"{ptr}/limit"))
        if swap is not None:
            if has_memsw:
                writes.append(("memory.memsw.limit_in_bytes", limit_text(swap, "-1"), f"{ptr}/swap"))
            elif swap >= 0:
                raise PyruncError(f"{ptr}/swap: this kernel has no swap accounting "
                                  "(memory.memsw.limit_in_bytes is missing)")
        self.write_ordered(d, writes)
        if reservation is not None:
            fs.write(d, "memory.soft_limit_in_bytes", limit_text(reservation, "-1"), f"{ptr}/reservation")
        for value, name, key in ((kernel, "memory.kmem.limit_in_bytes", "kernel"),
                                 (kernel_tcp, "memory.kmem.tcp.limit_in_bytes", "kernelTCP")):
            if value is None:
                continue
            try:
                fs.write(d, name, limit_text(value, "-1"), f"{ptr}/{key}")
            except PyruncError as e:
                log.current.warning(f"{e} (ignored: kernel memory limits are deprecated)")
        if swappiness is not None:
            if not 0 <= swappiness <= 100:
                raise PyruncError(f"{ptr}/swappiness: {swappiness} is not in 0..100")
            fs.write(d, "memory.swappiness", str(swappiness), f"{ptr}/swappiness")
        if no_oom_kill is not None:
            fs.write(d, "memory.oom_control", "1" if no_oom_kill else "0", f"{ptr}/disableOOMKiller")
        if hierarchy is not None:
            try:
                fs.write(d, "memory.use_hierarchy", "1" if hierarchy else "0", f"{ptr}/useHierarchy")
            except PyruncError as e:
                if hierarchy:
                    raise
                log.current.warning(f"{e} (ignored: this kernel's memory cgroups are always hierarchical)")

    def _cpu(self, c: dict, ptr: str, updating: bool) -> None:
        shares = get_int(c, "shares", ptr, 0)
        quota = get_int(c, "quota", ptr)
        period = get_int(c, "period", ptr, 0)
        burst = get_int(c, "burst", ptr, 0)
        rt_runtime = get_int(c, "realtimeRuntime", ptr)
        rt_period = get_int(c, "realtimePeriod", ptr, 0)
        idle = get_int(c, "idle", ptr)
        cpus = get_str(c, "cpus", ptr)
        mems = get_str(c, "mems", ptr)
        if (shares or quota or period or burst is not None or rt_runtime or rt_period
                or idle is not None):
            d = self.need("cpu", ptr)
            if shares:
                fs.write(d, "cpu.shares", str(shares), f"{ptr}/shares")
                got = fs.read_int(d, "cpu.shares")
                if got != shares:
                    raise PyruncError(f"{ptr}/shares: the kernel set cpu.shares to {got} instead of "
                                      f"{shares} (the range is 2..262144)")
            writes = []
            if period:
                writes.append(("cpu.cfs_period_us", str(period), f"{ptr}/period"))
            if quota:
                writes.append(("cpu.cfs_quota_us", str(quota) if quota > 0 else "-1", f"{ptr}/quota"))
            if burst is not None:
                if quota and quota > 0 and burst > quota:
                    raise PyruncError(f"{ptr}/burst: {burst} is larger than the quota {quota}")
                writes.append(("cpu.cfs_burst_us", str(burst), f"{ptr}/burst"))
            self.write_ordered(d, writes)
            writes = []
            if rt_period:
                writes.append(("cpu.rt_period_us", str(rt_period), f"{ptr}/realtimePeriod"))
            if rt_runtime:
                writes.append(("cpu.rt_runtime_us", str(rt_runtime), f"{ptr}/realtimeRuntime"))
            self.write_ordered(d, writes)
            if idle is not None:
                fs.write(d, "cpu.idle", str(idle), f"{ptr}/idle")
        self._cpuset(cpus, mems, ptr)

    def _blkio(self, b: dict, ptr: str, updating: bool) -> None:
        weight = get_int(b, "weight", ptr, 0)
        leaf = get_int(b, "leafWeight", ptr, 0)
        devices = get_list(b, "weightDevice", ptr)
        throttles = [(key, get_list(b, key, ptr)) for key in
                     ("throttleReadBpsDevice", "throttleWriteBpsDevice",
                      "throttleReadIOPSDevice", "throttleWriteIOPSDevice")]
        if not (weight or leaf or devices or any(t for _, t in throttles)):
            return
        d = self.need("blkio", ptr)
        weight_file = next((n for n in ("blkio.weight", "blkio.bfq.weight") if fs.exists(d, n)), None)
        if weight:
            if weight_file is None:
                raise PyruncError(f"{ptr}/weight: the kernel's IO scheduler has no weights "
                                  "(no blkio.weight or blkio.bfq.weight)")
            fs.write(d, weight_file, str(weight), f"{ptr}/weight")
        if leaf:
            fs.write(d, "blkio.leaf_weight", str(leaf), f"{ptr}/leafWeight")
        for i, entry in enumerate(devices):
            p = f"{ptr}/weightDevice/{i}"
            dev = _major_minor(entry, p)
            w = get_int(entry, "weight", p, 0)
            lw = get_int(entry, "leafWeight", p, 0)
            if w is None and lw is None:
                raise PyruncError(f"{p}: needs weight or leafWeight")
            if w is not None:
                if weight_file is None:
                    raise PyruncError(f"{p}/weight: the kernel's IO scheduler has no per-device weights")
                fs.write(d, weight_file + "_device", f"{dev} {w}", f"{p}/weight")
            if lw is not None:
                fs.write(d, "blkio.leaf_weight_device", f"{dev} {lw}", f"{p}/leafWeight")
        files = {"throttleReadBpsDevice": "blkio.throttle.read_bps_device",
                 "throttleWriteBpsDevice": "blkio.throttle.write_bps_device",
                 "throttleReadIOPSDevice": "blkio.throttle.read_iops_device",
                 "throttleWriteIOPSDevice": "blkio.throttle.write_iops_device"}
        for key, entries in throttles:
            for i, entry in enumerate(entries):
                p = f"{ptr}/{key}/{i}"
                rate = get_int(entry, "rate", p, 0)
                if rate is None:
                    raise PyruncError(f"{p}/rate: is required")
                fs.write(d, files[key], f"{_major_minor(entry, p)} {rate}", p)

    def _network(self, n: dict, ptr: str, updating: bool) -> None:
        class_id = get_int(n, "classID", ptr, 0)
        priorities = get_list(n, "priorities", ptr)
        if class_id is not None:
            d = self.need("net_cls", f"{ptr}/classID")
            fs.write(d, "net_cls.classid", str(class_id), f"{ptr}/classID")
        if priorities:
            d = self.need("net_prio", f"{ptr}/priorities")
            for i, entry in enumerate(priorities):
                p = f"{ptr}/priorities/{i}"
                name = get_str(entry, "name", p) if isinstance(entry, dict) else None
                prio = get_int(entry, "priority", p, 0) if isinstance(entry, dict) else None
                if not name or prio is None:
                    raise PyruncError(f"{p}: needs name and priority")
                fs.write(d, "net_prio.ifpriomap", f"{name} {prio}", p)

    def _rdma(self, rdma: dict, ptr: str) -> None:
        d = self.need("rdma", ptr)
        for dev, limits in sorted(rdma.items()):
            fs.write(d, "rdma.max", rdma_line(dev, limits, f"{ptr}/{dev}"), f"{ptr}/{dev}")

    def _unified(self, unified: dict, ptr: str) -> None:
        raise PyruncError(f"{ptr}: cgroup v2 settings cannot be applied: this host's controllers are on "
                          f"cgroup v1 ({self.root})")

    def _devices(self, rules, explicit: bool) -> None:
        d = self.dir_of("devices")
        if d is None:
            if explicit:
                self.need("devices", "/linux/resources/devices")
            return
        fs.write(d, "devices.deny", "a", "/linux/resources/devices")
        for i, rule in enumerate(rules):
            fs.write(d, "devices.allow" if rule.allow else "devices.deny", rule.v1_text(),
                     f"/linux/resources/devices/{i}")

    # -- processes and freezing -----------------------------------------------------------------
    def pids(self) -> list[int]:
        for name in ("pids", "freezer", "memory", "cpu", "devices"):
            d = self.dir_of(name)
            if d and os.path.isdir(d):
                return fs.procs(d)
        for _, d in self.v1_dirs():
            if os.path.isdir(d):
                return fs.procs(d)
        return []

    def can_freeze(self) -> bool:
        if self.dir_of("freezer") is not None:
            return True
        return bool(self.unified and fs.exists(self.unified, "cgroup.freeze"))

    def freeze(self) -> None:
        d = self.dir_of("freezer")
        if d is None:
            return self._unified_freeze(True)
        fs.write(d, "freezer.state", "FROZEN", "pause")
        for _ in range(40):
            if fs.wait_for(lambda: fs.read_or(d, "freezer.state").strip() == "FROZEN", 0.05):
                return
            fs.write(d, "freezer.state", "FROZEN", "pause")
        fs.write(d, "freezer.state", "THAWED", "pause")
        raise PyruncError(f"pause: {d} stayed FREEZING (a process in uninterruptible sleep?)")

    def thaw(self) -> None:
        d = self.dir_of("freezer")
        if d is None:
            return self._unified_freeze(False)
        fs.write(d, "freezer.state", "THAWED", "resume")
        fs.wait_for(lambda: fs.read_or(d, "freezer.state").strip() == "THAWED", 1.0)

    def _unified_freeze(self, frozen: bool) -> None:
        if not (self.unified and fs.exists(self.unified, "cgroup.freeze")):
            raise PyruncError(f"{'pause' if frozen else 'resume'}: the freezer controller is not mounted "
                              f"on this host (no cgroup v1 hierarchy under {self.root} has it)")
        from runtime.cgroups.v2 import freeze_dir

        freeze_dir(self.unified, frozen)

    def state(self) -> str:
        d = self.dir_of("freezer")
        if d is not None:
            return "paused" if fs.read_or(d, "freezer.state").strip() in ("FROZEN", "FREEZING") else "running"
        if self.unified and fs.read_or(self.unified, "cgroup.freeze").strip() == "1":
            return "paused"
        return "running"

    def _kill_all(self, timeout: float = 5.0) -> None:
        if self.unified and self.unified in self.created and fs.exists(self.unified, "cgroup.kill"):
            try:
                fs.write(self.unified, "cgroup.kill", "1")
            except PyruncError:
                pass
        super()._kill_all(timeout)

    # -- stats ----------------------------------------------------------------------------------
    def stats(self) -> dict:
        from runtime.cgroups.stats import v1_stats

        return v1_stats(self)

    def oom_count(self) -> int:
        d = self.dir_of("memory")
        return fs.read_keyed(d, "memory.oom_control").get("oom_kill", 0) if d else 0

    def wait_event(self, timeout: float) -> None:
        d = self.dir_of("memory")
        if d is None:
            return super().wait_event(timeout)
        if not self._oom_fds:
            try:
                efd = os.eventfd(0, os.EFD_CLOEXEC)
                self._oom_fds.append(efd)
                ofd = os.open(os.path.join(d, "memory.oom_control"), os.O_RDONLY | os.O_CLOEXEC)
                self._oom_fds.append(ofd)
                fs.write(d, "cgroup.event_control", f"{efd} {ofd}")
            except (OSError, PyruncError):
                self.close()
                return super().wait_event(timeout)
        if poll_fd(self._oom_fds[0], 1, timeout):  # POLLIN
            try:
                os.eventfd_read(self._oom_fds[0])
            except OSError as e:
                if e.errno != errno.EAGAIN:
                    raise


def _major_minor(entry, ptr: str) -> str:
    if not isinstance(entry, dict):
        raise PyruncError(f"{ptr}: must be an object")
    major = get_int(entry, "major", ptr, 0)
    minor = get_int(entry, "minor", ptr, 0)
    if major is None or minor is None:
        raise PyruncError(f"{ptr}: major and minor are required")
    return f"{major}:{minor}"


def rdma_line(dev: str, limits, ptr: str) -> str:
    if not isinstance(limits, dict):
        raise PyruncError(f"{ptr}: must be an object")
    handles = get_int(limits, "hcaHandles", ptr, 0)
    objects = get_int(limits, "hcaObjects", ptr, 0)
    if handles is None and objects is None:
        raise PyruncError(f"{ptr}: needs hcaHandles or hcaObjects")
    parts = [dev]
    if handles is not None:
        parts.append(f"hca_handle={handles}")
    if objects is not None:
        parts.append(f"hca_object={objects}")
    return " ".join(parts)
