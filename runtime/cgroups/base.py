"""What the v1 and v2 managers have in common: resource dispatch, ordered writes, destroy."""

import _signal as signal
import errno
import os
import time

from runtime.cgroups import fs
from runtime.cgroups.values import BASE, get_obj
from runtime.errors import PyruncError


class Manager:
    """One container's cgroup, in one or more hierarchies.

    `created` lists the directories this manager made (parents first); only those are removed.
    A directory that existed already (a shared pod cgroup, a path given twice) is joined."""

    version = 0

    HUGETLB_LIMIT = ""  # the file suffix: v1 hugetlb.<size>.limit_in_bytes, v2 hugetlb.<size>.max

    def _hugetlb(self, pages: list, ptr: str) -> None:
        from runtime.cgroups.values import check_page_size, get_int

        d = self.need("hugetlb", ptr)
        for i, entry in enumerate(pages):
            p = f"{ptr}/{i}"
            if not isinstance(entry, dict):
                raise PyruncError(f"{p}: must be an object")
            size = check_page_size(entry.get("pageSize"), p)
            limit = get_int(entry, "limit", p, 0)
            if limit is None:
                raise PyruncError(f"{p}/limit: is required")
            name = f"hugetlb.{size}.{self.HUGETLB_LIMIT}"
            if not fs.exists(d, name):
                raise PyruncError(f"{p}/pageSize: huge page size {size} is not supported here (no {name})")
            fs.write(d, name, str(limit), f"{p}/limit")
            reserved = f"hugetlb.{size}.rsvd.{self.HUGETLB_LIMIT}"
            if fs.exists(d, reserved):
                fs.write(d, reserved, str(limit), f"{p}/limit")

    # Files that are the same on v1 and v2.
    def _cpuset(self, cpus, mems, ptr: str) -> None:
        if cpus or mems:
            d = self.need("cpuset", ptr)
            if cpus:
                fs.write(d, "cpuset.cpus", cpus, f"{ptr}/cpus")
            if mems:
                fs.write(d, "cpuset.mems", mems, f"{ptr}/mems")

    def _pids(self, p: dict, ptr: str, updating: bool) -> None:
        from runtime.cgroups.values import get_int, limit_text

        limit = get_int(p, "limit", ptr)
        if limit is not None:
            fs.write(self.need("pids", ptr), "pids.max", limit_text(limit), f"{ptr}/limit")
    def __init__(self, cid: str, root: str, created: list[str] | None = None):
        self.id = cid
        self.root = root
        self.created: list[str] = list(created or [])
        self._oom_fds: list[int] = []

    # -- placing the init -----------------------------------------------------------------------
    # Moving another process (a pid written to cgroup.procs) takes the kernel's global
    # cgroup_threadgroup_rwsem; the first such write after a quiet spell waits for an RCU grace
    # period (10-16 ms on the development machine) and stalls every fork on the host meanwhile.
    # The init can instead move itself where the kernel skips that lock (v1: "0" written to a
    # hierarchy's `tasks` file by the moving thread) and be born in its cgroup2 directory
    # (clone3 CLONE_INTO_CGROUP); the runtime joins it to whatever is left.

    def self_join_files(self) -> list[tuple[str, str]]:
        """(hierarchy, file) pairs into which the init writes "0" to move itself."""
        return []

    def birth_dir(self) -> str | None:
        """A cgroup2 directory the init may be cloned into (CLONE_INTO_CGROUP), or None."""
        return None

    def rest_to_join(self, born: bool) -> bool:
        """Whether the runtime must still `join_rest` the init (born: it was cloned into
        `birth_dir`)."""
        return not born

    def join_rest(self, pid: int, born: bool) -> None:
        """Put the init where it did not put itself (see self_join_files, birth_dir)."""
        if self.rest_to_join(born):
            self.join(pid)

    # -- to be provided by the drivers ----------------------------------------------------------
    def paths(self) -> dict[str, str]:
        raise NotImplementedError

    def v1_dirs(self) -> list[tuple[str, str]]:
        return []

    def v2_dir(self) -> str | None:
        return None

    def to_record(self) -> dict:
        raise NotImplementedError

    # -- resources ------------------------------------------------------------------------------
    def create(self, resources: dict | None = None) -> None:
        """Make (or join) the cgroup and apply every resource; on failure nothing it made stays."""
        self._make()
        try:
            self._check_new()
            self._apply(resources or {}, updating=False)
        except BaseException:
            self._remove_created()
            raise

    def update(self, resources: dict) -> None:
        """Apply the fields present in `resources` (devices are left as they are, like runc)."""
        if not isinstance(resources, dict):
            raise PyruncError(f"{BASE}: must be an object")
        self._apply(resources, updating=True)

    def _apply(self, r: dict, updating: bool) -> None:
        sections = (
            ("memory", self._memory), ("cpu", self._cpu), ("pids", self._pids),
            ("blockIO", self._blkio), ("network", self._network),
        )
        for key, setter in sections:
            obj = get_obj(r, key, BASE)
            if obj:
                setter(obj, f"{BASE}/{key}", updating)
        pages = r.get("hugepageLimits")
        if pages:
            if not isinstance(pages, list):
                raise PyruncError(f"{BASE}/hugepageLimits: must be an array")
            self._hugetlb(pages, f"{BASE}/hugepageLimits")
        rdma = get_obj(r, "rdma", BASE)
        if rdma:
            self._rdma(rdma, f"{BASE}/rdma")
        unified = get_obj(r, "unified", BASE)
        if unified:
            self._unified(unified, f"{BASE}/unified")
        if not updating:
            from runtime.cgroups.values import DEFAULT_ALLOWED, device_rules

            devices = r.get("devices") or []
            if not isinstance(devices, list):
                raise PyruncError(f"{BASE}/devices: must be an array")
            self._devices(device_rules(devices) + list(DEFAULT_ALLOWED), bool(devices))

    # -- helpers for the drivers ----------------------------------------------------------------
    @staticmethod
    def write_ordered(directory: str, writes: list[tuple[str, str, str]]) -> None:
        """Write (file, value, field) triples; one refused with EINVAL/EBUSY because of another
        one's current value is retried after the others (quota vs period, memory vs swap)."""
        pending = writes
        while pending:
            failed = []
            for name, value, field in pending:
                try:
                    fs.write(directory, name, value, field)
                except PyruncError as e:
                    failed.append((name, value, field, e))
            if not failed:
                return
            if len(failed) == len(pending):
                raise failed[0][3]
            pending = [(n, v, f) for n, v, f, _ in failed]

    # -- processes ------------------------------------------------------------------------------
    def pids(self) -> list[int]:
        raise NotImplementedError

    def signal_all(self, sig: int) -> None:
        """`kill --all`: signal every process, frozen meanwhile so none forks past the list."""
        froze = False
        if self.can_freeze() and self.state() != "paused":
            try:
                self.freeze()
                froze = True
            except PyruncError:
                froze = False
        try:
            for pid in self.pids():
                try:
                    os.kill(pid, sig)
                except ProcessLookupError:
                    pass
        finally:
            if froze or (sig == signal.SIGKILL and self.can_freeze() and self.state() == "paused"):
                # frozen processes die only once thawed
                self.thaw()

    def can_freeze(self) -> bool:
        return True

    def _kill_all(self, timeout: float = 5.0) -> None:
        deadline = time.monotonic() + timeout
        while True:
            pids = self.pids()
            if not pids:
                return
            self.signal_all(signal.SIGKILL)
            if time.monotonic() >= deadline:
                raise PyruncError(f"container {self.id}: processes {pids[:8]} survived SIGKILL")
            fs.wait_for(lambda: not self.pids(), 0.2)

    def destroy(self, kill: bool = True) -> None:
        """SIGKILL what is left (only where this manager made the cgroup: a joined one may hold
        other containers' processes), then remove the directories it made, children first."""
        self.close()
        if kill and self._owns_leaf():
            self._kill_all()
        errors = self._remove_created()
        if errors:
            raise PyruncError(f"container {self.id}: cannot remove cgroup {errors[0][0]}: "
                              f"{fs.errno_text(errors[0][1])}")

    def _owns_leaf(self) -> bool:
        return any(d in self.created for _, d in self._leaves())

    def _leaves(self) -> list[tuple[str, str]]:
        raise NotImplementedError

    def _remove_created(self) -> list[tuple[str, OSError]]:
        errors: list[tuple[str, OSError]] = []
        created = set(self.created)
        # The container's own sub-cgroups go with its cgroup.
        for _, leaf in self._leaves():
            if leaf in created:
                for d in reversed(fs.subtree_dirs(leaf)[1:]):
                    try:
                        fs.rmdir_cgroup(d)
                    except OSError as e:
                        errors.append((d, e))
        leaves = {leaf for _, leaf in self._leaves()}
        for d in reversed(self.created):
            if d not in leaves and len(fs.subtree_dirs(d)) > 1:
                continue  # a parent made for us that another cgroup now lives in: it stays
            try:
                fs.rmdir_cgroup(d)
            except OSError as e:
                if e.errno in (errno.ENOTEMPTY, errno.EBUSY) and d not in leaves:
                    continue
                errors.append((d, e))
        self.created = [d for d in self.created if os.path.isdir(d)]
        return errors

    # -- OOM ------------------------------------------------------------------------------------
    def oom_count(self) -> int:
        raise NotImplementedError

    def wait_event(self, timeout: float) -> None:
        """Block until an OOM may have happened, or for `timeout` seconds."""
        time.sleep(timeout)

    def oom_events(self, poll: float = 1.0):
        """Yield the OOM-kill count once per new OOM kill, forever (the caller stops)."""
        seen = self.oom_count()
        while True:
            self.wait_event(poll)
            count = self.oom_count()
            yield from range(seen + 1, count + 1)
            seen = max(seen, count)

    def close(self) -> None:
        for fd in self._oom_fds:
            try:
                os.close(fd)
            except OSError:
                pass
        self._oom_fds = []


def poll_fd(fd: int, events: int, timeout: float) -> bool:
    import select

    poller = select.poll()
    poller.register(fd, events)
    return bool(poller.poll(max(0, int(timeout * 1000))))

