"""The cgroup v2 driver: one directory in the unified hierarchy mounted at the root."""

import os

from runtime import log
from runtime.cgroups import fs
from runtime.cgroups.base import Manager, poll_fd
from runtime.cgroups.v1 import _major_minor, rdma_line
from runtime.cgroups.values import (
    blkio_weight_to_io_weight,
    cpu_shares_to_weight,
    get_bool,
    get_int,
    get_list,
    get_str,
    limit_text,
    swap_v2,
)
from runtime.errors import PyruncError

POLLPRI = 2


def freeze_dir(d: str, frozen: bool, timeout: float = 2.0) -> None:
    """cgroup.freeze, then wait until cgroup.events reports the state."""
    what = "pause" if frozen else "resume"
    want = "frozen 1" if frozen else "frozen 0"
    fs.write(d, "cgroup.freeze", "1" if frozen else "0", what)
    if fs.wait_for(lambda: want in fs.read_or(d, "cgroup.events").splitlines(), timeout):
        return
    if frozen:
        fs.write(d, "cgroup.freeze", "0", what)
    raise PyruncError(f"{what}: {d} did not report '{want}' in cgroup.events within {timeout:g}s")


class V2Manager(Manager):
    HUGETLB_LIMIT = "max"
    version = 2

    def __init__(self, cid: str, root: str, directory: str, created: list[str] | None = None):
        super().__init__(cid, root, created)
        self.dir = directory
        self._enable_errors: dict[str, str] = {}

    @classmethod
    def plan(cls, layout: fs.Layout, cid: str, inner: str, own: dict[str, str]) -> "V2Manager":
        return cls(cid, layout.root, fs.host_dir(layout.unified, inner, own, v2_parent=True))

    def to_record(self) -> dict:
        return {"version": 2, "id": self.id, "root": self.root, "dir": self.dir, "created": self.created}

    @classmethod
    def from_record(cls, d: dict) -> "V2Manager":
        return cls(d.get("id", ""), d.get("root", "/sys/fs/cgroup"), d["dir"], d.get("created") or [])

    def paths(self) -> dict[str, str]:
        return {"": self.dir}

    def v2_dir(self) -> str:
        return self.dir

    def _leaves(self) -> list[tuple[str, str]]:
        return [("", self.dir)]

    # -- create and join ------------------------------------------------------------------------
    def _make(self) -> None:
        try:
            self.created += fs.make_dirs(self.root, self.dir)
        except OSError as e:
            raise fs.fail("/linux/cgroupsPath", f"mkdir {e.filename or self.dir}", e) from None
        try:
            self._enable_controllers()
        except BaseException:
            self._remove_created()
            raise

    def _enable_controllers(self) -> None:
        """Delegate every available controller down to the container's cgroup (as runc does);
        a refusal is remembered and reported only if a resource needs that controller."""
        chain = []
        d = os.path.dirname(self.dir)
        while len(d) >= len(self.root):
            chain.append(d)
            if d == self.root:
                break
            d = os.path.dirname(d)
        for d in reversed(chain):
            available = fs.read_or(d, "cgroup.controllers").split()
            enabled = set(fs.read_or(d, "cgroup.subtree_control").split())
            for c in available:
                if c in enabled:
                    continue
                try:
                    fs.write(d, "cgroup.subtree_control", f"+{c}")
                except PyruncError as e:
                    self._enable_errors.setdefault(c, f"enabling it in {d}/cgroup.subtree_control: "
                                                      f"{str(e).rsplit(': ', 1)[-1]}")

    def _check_new(self) -> None:
        if self.dir not in self.created and fs.read_or(self.dir, "cgroup.freeze").strip() == "1":
            raise PyruncError(f"/linux/cgroupsPath: the container's cgroup {self.dir} is frozen")

    def join(self, pid: int, sub: list[str] | None = None) -> None:
        """Put `pid` in the container's cgroup; `sub` (exec --cgroup) names a sub-cgroup."""
        d = self.dir
        subs = fs.parse_sub_cgroups(sub)
        if subs:
            if set(subs) != {""}:
                raise PyruncError("--cgroup: cgroup v2 has one hierarchy: give a sub-cgroup path "
                                  "without controller names")
            d = fs.sub_dir(self.dir, subs[""])
        try:
            fs.write(d, "cgroup.procs", str(pid))
        except PyruncError as e:
            raise PyruncError(f"/linux/cgroupsPath: join {d}: {str(e).split(': ', 1)[1]}") from None

    def need(self, controller: str, field: str) -> str:
        if controller not in fs.read_or(self.dir, "cgroup.controllers").split():
            why = self._enable_errors.get(controller)
            raise PyruncError(f"{field}: the {controller} controller is not available in {self.dir}"
                              + (f" ({why})" if why else " (not in its cgroup.controllers)"))
        return self.dir

    def delegate(self, uid: int, gid: int) -> None:
        """Hand the cgroup to the container's user (runtime-spec "Cgroup ownership")."""
        names = fs.read_or("/sys/kernel/cgroup", "delegate").split() or [
            "cgroup.procs", "cgroup.subtree_control", "cgroup.threads"]
        os.chown(self.dir, uid, gid)
        for name in names:
            try:
                os.chown(os.path.join(self.dir, name), uid, gid)
            except FileNotFoundError:
                continue

    # -- resources ------------------------------------------------------------------------------
    def _memory(self, m: dict, ptr: str, updating: bool) -> None:
        limit = get_int(m, "limit", ptr)
        swap = get_int(m, "swap", ptr)
        reservation = get_int(m, "reservation", ptr)
        swappiness = get_int(m, "swappiness", ptr)
        no_oom_kill = get_bool(m, "disableOOMKiller", ptr)
        hierarchy = get_bool(m, "useHierarchy", ptr)
        check = get_bool(m, "checkBeforeUpdate", ptr)
        for key in ("kernel", "kernelTCP"):
            if get_int(m, key, ptr) is not None:
                log.current.warning(f"{ptr}/{key}: ignored: cgroup v2 has no separate kernel memory limit")
        if swappiness is not None:
            raise PyruncError(f"{ptr}/swappiness: not supported on cgroup v2 (there is no memory.swappiness)")
        if no_oom_kill:
            raise PyruncError(f"{ptr}/disableOOMKiller: not supported on cgroup v2 (the OOM killer "
                              "cannot be disabled per cgroup)")
        if hierarchy is False:
            log.current.warning(f"{ptr}/useHierarchy: ignored: cgroup v2 is always hierarchical")
        if limit is None and swap is None and reservation is None:
            return
        d = self.need("memory", ptr)
        has_swap = fs.exists(d, "memory.swap.max")
        if limit is not None and limit < 0 and swap is None and has_swap:
            swap = -1
        if check and limit is not None and limit >= 0:
            usage = fs.read_int(d, "memory.current")
            if limit < usage:
                raise PyruncError(f"{ptr}/limit: the new limit {limit} is below the current usage {usage}")
        if swap is not None:
            effective = limit
            if effective is None and updating:
                current = fs.read_or(d, "memory.max").strip()
                effective = int(current) if current.isdigit() else None
            swap_text = swap_v2(effective, swap, ptr)
            if not has_swap and swap_text != "max":
                raise PyruncError(f"{ptr}/swap: this kernel has no swap accounting "
                                  "(memory.swap.max is missing)")
        if limit is not None:
            fs.write(d, "memory.max", limit_text(limit), f"{ptr}/limit")
        if swap is not None and has_swap:
            fs.write(d, "memory.swap.max", swap_text, f"{ptr}/swap")
        if reservation is not None:
            fs.write(d, "memory.low", limit_text(reservation), f"{ptr}/reservation")

    def _cpu(self, c: dict, ptr: str, updating: bool) -> None:
        shares = get_int(c, "shares", ptr, 0)
        quota = get_int(c, "quota", ptr)
        period = get_int(c, "period", ptr, 0)
        burst = get_int(c, "burst", ptr, 0)
        idle = get_int(c, "idle", ptr)
        cpus = get_str(c, "cpus", ptr)
        mems = get_str(c, "mems", ptr)
        for key in ("realtimeRuntime", "realtimePeriod"):
            if get_int(c, key, ptr):
                raise PyruncError(f"{ptr}/{key}: realtime scheduling limits are not supported on cgroup v2")
        if shares or quota or period or burst is not None or idle is not None:
            d = self.need("cpu", ptr)
            if shares:
                fs.write(d, "cpu.weight", str(cpu_shares_to_weight(shares)), f"{ptr}/shares")
            if quota or period:
                cur_quota, _, cur_period = fs.read_or(d, "cpu.max", "max 100000").strip().partition(" ")
                q = (str(quota) if quota > 0 else "max") if quota else (cur_quota or "max")
                p = str(period) if period else (cur_period or "100000")
                fs.write(d, "cpu.max", f"{q} {p}", f"{ptr}/{'quota' if quota else 'period'}")
            if burst is not None:
                if quota and quota > 0 and burst > quota:
                    raise PyruncError(f"{ptr}/burst: {burst} is larger than the quota {quota}")
                fs.write(d, "cpu.max.burst", str(burst), f"{ptr}/burst")
            if idle is not None:
                fs.write(d, "cpu.idle", str(idle), f"{ptr}/idle")
        self._cpuset(cpus, mems, ptr)

    def _blkio(self, b: dict, ptr: str, updating: bool) -> None:
        weight = get_int(b, "weight", ptr, 0)
        if get_int(b, "leafWeight", ptr, 0):
            raise PyruncError(f"{ptr}/leafWeight: not supported on cgroup v2")
        devices = get_list(b, "weightDevice", ptr)
        throttles = [(key, get_list(b, key, ptr)) for key in
                     ("throttleReadBpsDevice", "throttleWriteBpsDevice",
                      "throttleReadIOPSDevice", "throttleWriteIOPSDevice")]
        if not (weight or devices or any(t for _, t in throttles)):
            return
        d = self.need("io", ptr)
        bfq = fs.exists(d, "io.bfq.weight")
        if weight:
            if bfq:
                fs.write(d, "io.bfq.weight", str(weight), f"{ptr}/weight")
            else:
                fs.write(d, "io.weight", str(blkio_weight_to_io_weight(weight)), f"{ptr}/weight")
        for i, entry in enumerate(devices):
            p = f"{ptr}/weightDevice/{i}"
            dev = _major_minor(entry, p)
            if get_int(entry, "leafWeight", p, 0):
                raise PyruncError(f"{p}/leafWeight: not supported on cgroup v2")
            w = get_int(entry, "weight", p, 0)
            if w is None:
                raise PyruncError(f"{p}/weight: is required on cgroup v2")
            if bfq:
                fs.write(d, "io.bfq.weight", f"{dev} {w}", f"{p}/weight")
            else:
                fs.write(d, "io.weight", f"{dev} {blkio_weight_to_io_weight(w)}", f"{p}/weight")
        keys = {"throttleReadBpsDevice": "rbps", "throttleWriteBpsDevice": "wbps",
                "throttleReadIOPSDevice": "riops", "throttleWriteIOPSDevice": "wiops"}
        for key, entries in throttles:
            for i, entry in enumerate(entries):
                p = f"{ptr}/{key}/{i}"
                rate = get_int(entry, "rate", p, 0)
                if rate is None:
                    raise PyruncError(f"{p}/rate: is required")
                fs.write(d, "io.max", f"{_major_minor(entry, p)} {keys[key]}={rate if rate else 'max'}", p)

    def _network(self, n: dict, ptr: str, updating: bool) -> None:
        if n.get("classID") is not None or n.get("priorities"):
            raise PyruncError(f"{ptr}: not supported on cgroup v2 (net_cls and net_prio exist only in "
                              "cgroup v1)")

    def _rdma(self, rdma: dict, ptr: str) -> None:
        d = self.need("rdma", ptr)
        for dev, limits in sorted(rdma.items()):
            fs.write(d, "rdma.max", rdma_line(dev, limits, f"{ptr}/{dev}"), f"{ptr}/{dev}")

    def _unified(self, unified: dict, ptr: str) -> None:
        for key, value in unified.items():
            p = f"{ptr}/{key}"
            if not key or "/" in key or key.startswith(".") or "." not in key:
                raise PyruncError(f"{p}: not a cgroup interface file name")
            if not isinstance(value, str):
                raise PyruncError(f"{p}: must be a string")
            controller = key.split(".", 1)[0]
            if controller != "cgroup":
                self.need(controller, p)
            fs.write(self.dir, key, value, p)

    def _devices(self, rules, explicit: bool) -> None:
        from runtime.cgroups import ebpf
        from runtime.cgroups.values import effective_rules

        default_allow, exceptions = effective_rules(rules)
        ebpf.apply(self.dir, default_allow, exceptions)

    # -- processes and freezing -----------------------------------------------------------------
    def pids(self) -> list[int]:
        return fs.procs(self.dir) if os.path.isdir(self.dir) else []

    def freeze(self) -> None:
        freeze_dir(self.dir, True)

    def thaw(self) -> None:
        freeze_dir(self.dir, False)

    def state(self) -> str:
        return "paused" if fs.read_or(self.dir, "cgroup.freeze").strip() == "1" else "running"

    def _kill_all(self, timeout: float = 5.0) -> None:
        if fs.exists(self.dir, "cgroup.kill"):
            try:
                fs.write(self.dir, "cgroup.kill", "1")
                fs.wait_for(lambda: not self.pids(), min(timeout, 2.0))
            except PyruncError:
                pass
        super()._kill_all(timeout)

    # -- stats ----------------------------------------------------------------------------------
    def stats(self) -> dict:
        from runtime.cgroups.stats import v2_stats

        return v2_stats(self)

    def oom_count(self) -> int:
        return fs.read_keyed(self.dir, "memory.events").get("oom_kill", 0)

    def wait_event(self, timeout: float) -> None:
        if not self._oom_fds:
            try:
                path = os.path.join(self.dir, "memory.events")
                self._oom_fds.append(os.open(path, os.O_RDONLY | os.O_CLOEXEC))
            except OSError:
                return super().wait_event(timeout)
        fd = self._oom_fds[0]
        os.pread(fd, 4096, 0)  # re-arm: kernfs signals POLLPRI on the next change after a read
        if not poll_fd(fd, POLLPRI, timeout):
            return
