"""`events --stats` data, in the shape runc prints (its types/events.go Stats):
{"cpu": {"usage": {...}, "throttling": {...}}, "memory": {...}, "pids": {...}, "blkio": {...},
 "hugetlb": {"2MB": {...}}, ...}. Fields runc omits when empty are left out here too."""

import os

from runtime.cgroups import fs

_MAX = 0xFFFFFFFFFFFFFFFF


def _omit_empty(d: dict, keep: tuple = ()) -> dict:
    return {k: v for k, v in d.items() if k in keep or v not in (0, None, [], {}, "")}


def _entry(limit: int, usage: int, max_usage: int, failcnt: int) -> dict:
    # memoryEntry: limit and failcnt are always there, usage and max only when set
    return _omit_empty({"limit": limit, "usage": usage, "max": max_usage, "failcnt": failcnt},
                       keep=("limit", "failcnt"))


def _v1_limit(d: str, name: str) -> int:
    value = fs.read_int(d, name, _MAX)
    return value if value >= 0 else _MAX


# -- v1 ---------------------------------------------------------------------------------------

def v1_stats(m) -> dict:
    out: dict = {"cpu": {}, "memory": {}, "pids": {}, "blkio": {}, "hugetlb": {}}
    d = m.dir_of("cpuacct")
    usage: dict = {}
    if d:
        usage["total"] = fs.read_int(d, "cpuacct.usage")
        usage["percpu"] = [int(x) for x in fs.read_or(d, "cpuacct.usage_percpu").split()]
        usage["percpu_kernel"] = [int(x) for x in fs.read_or(d, "cpuacct.usage_percpu_sys").split()]
        usage["percpu_user"] = [int(x) for x in fs.read_or(d, "cpuacct.usage_percpu_user").split()]
        ticks = fs.read_keyed(d, "cpuacct.stat")
        hz = os.sysconf("SC_CLK_TCK") or 100
        usage["kernel"] = ticks.get("system", 0) * 1_000_000_000 // hz
        usage["user"] = ticks.get("user", 0) * 1_000_000_000 // hz
        usage = _omit_empty(usage, keep=("kernel", "user"))
    cpu: dict = {"usage": usage}
    d = m.dir_of("cpu")
    if d:
        st = fs.read_keyed(d, "cpu.stat")
        cpu["throttling"] = _omit_empty({"periods": st.get("nr_periods", 0),
                                         "throttledPeriods": st.get("nr_throttled", 0),
                                         "throttledTime": st.get("throttled_time", 0)})
    out["cpu"] = cpu
    d = m.dir_of("cpuset")
    if d:
        out["cpuset"] = _omit_empty({"cpus": _list(fs.read_or(d, "cpuset.effective_cpus")
                                                   or fs.read_or(d, "cpuset.cpus")),
                                     "mems": _list(fs.read_or(d, "cpuset.effective_mems")
                                                   or fs.read_or(d, "cpuset.mems"))})
    d = m.dir_of("memory")
    if d:
        raw = fs.read_keyed(d, "memory.stat")
        mem = {"cache": raw.get("total_cache", raw.get("cache", 0))}

        def entry(prefix: str) -> dict:
            return _entry(_v1_limit(d, f"{prefix}.limit_in_bytes"),
                          fs.read_int(d, f"{prefix}.usage_in_bytes"),
                          fs.read_int(d, f"{prefix}.max_usage_in_bytes"),
                          fs.read_int(d, f"{prefix}.failcnt"))

        mem["usage"] = entry("memory")
        if fs.exists(d, "memory.memsw.usage_in_bytes"):
            mem["swap"] = entry("memory.memsw")
        if fs.exists(d, "memory.kmem.usage_in_bytes"):
            mem["kernel"] = entry("memory.kmem")
        if fs.exists(d, "memory.kmem.tcp.usage_in_bytes"):
            mem["kernelTCP"] = entry("memory.kmem.tcp")
        mem["raw"] = raw
        out["memory"] = _omit_empty(mem)
    d = m.dir_of("pids")
    if d:
        out["pids"] = _pids(d)
    d = m.dir_of("blkio")
    if d:
        blkio = {}
        for key, names in (
            ("ioServiceBytesRecursive", ("blkio.io_service_bytes_recursive",
                                         "blkio.bfq.io_service_bytes_recursive",
                                         "blkio.throttle.io_service_bytes_recursive")),
            ("ioServicedRecursive", ("blkio.io_serviced_recursive", "blkio.bfq.io_serviced_recursive",
                                     "blkio.throttle.io_serviced_recursive")),
            ("ioQueueRecursive", ("blkio.io_queued_recursive",)),
            ("ioServiceTimeRecursive", ("blkio.io_service_time_recursive",)),
            ("ioWaitTimeRecursive", ("blkio.io_wait_time_recursive",)),
            ("ioMergedRecursive", ("blkio.io_merged_recursive",)),
            ("ioTimeRecursive", ("blkio.time_recursive",)),
            ("sectorsRecursive", ("blkio.sectors_recursive",)),
        ):
            for name in names:
                if fs.exists(d, name):
                    blkio[key] = _blkio_v1(fs.read_or(d, name))
                    break
        out["blkio"] = _omit_empty(blkio)
    d = m.dir_of("hugetlb")
    if d:
        for size in _page_sizes(d, ".limit_in_bytes"):
            out["hugetlb"][size] = _omit_empty({
                "usage": fs.read_int(d, f"hugetlb.{size}.usage_in_bytes"),
                "max": fs.read_int(d, f"hugetlb.{size}.max_usage_in_bytes"),
                "failcnt": fs.read_int(d, f"hugetlb.{size}.failcnt")}, keep=("failcnt",))
    return out


def _pids(d: str) -> dict:
    return _omit_empty({"current": fs.read_int(d, "pids.current"), "limit": fs.read_int(d, "pids.max")})


def _blkio_v1(text: str) -> list[dict]:
    entries = []
    for line in text.splitlines():
        fields = line.split()
        if len(fields) == 3 and ":" in fields[0]:
            major, _, minor = fields[0].partition(":")
            entries.append(_omit_empty({"major": int(major), "minor": int(minor), "op": fields[1],
                                        "value": int(fields[2])}))
        elif len(fields) == 2 and ":" in fields[0]:
            major, _, minor = fields[0].partition(":")
            entries.append(_omit_empty({"major": int(major), "minor": int(minor), "value": int(fields[1])}))
    return entries


def _page_sizes(d: str, suffix: str) -> list[str]:
    sizes = set()
    try:
        names = os.listdir(d)
    except OSError:
        return []
    for name in names:
        if name.startswith("hugetlb.") and name.endswith(suffix) and ".rsvd." not in name:
            sizes.add(name[len("hugetlb."):-len(suffix)])
    return sorted(sizes)


def _list(text: str) -> list[int]:
    out: list[int] = []
    for part in text.strip().split(","):
        if not part:
            continue
        lo, _, hi = part.partition("-")
        out.extend(range(int(lo), int(hi or lo) + 1))
    return out


# -- v2 ---------------------------------------------------------------------------------------

def _v2_limit(d: str, name: str) -> int:
    text = fs.read_or(d, name).strip()
    return int(text) if text.isdigit() else _MAX


def v2_stats(m) -> dict:
    d = m.dir
    out: dict = {"cpu": {}, "memory": {}, "pids": {}, "blkio": {}, "hugetlb": {}}
    st = fs.read_keyed(d, "cpu.stat")
    out["cpu"] = {
        "usage": _omit_empty({"total": st.get("usage_usec", 0) * 1000,
                              "kernel": st.get("system_usec", 0) * 1000,
                              "user": st.get("user_usec", 0) * 1000}, keep=("kernel", "user")),
        "throttling": _omit_empty({"periods": st.get("nr_periods", 0),
                                   "throttledPeriods": st.get("nr_throttled", 0),
                                   "throttledTime": st.get("throttled_usec", 0) * 1000}),
    }
    if fs.exists(d, "cpuset.cpus.effective"):
        out["cpuset"] = _omit_empty({"cpus": _list(fs.read_or(d, "cpuset.cpus.effective")),
                                     "mems": _list(fs.read_or(d, "cpuset.mems.effective"))})
    if fs.exists(d, "memory.current"):
        raw = fs.read_keyed(d, "memory.stat")
        events = fs.read_keyed(d, "memory.events")
        usage = fs.read_int(d, "memory.current")
        limit = _v2_limit(d, "memory.max")
        mem = {"cache": raw.get("file", 0),
               "usage": _entry(limit, usage, fs.read_int(d, "memory.peak"), events.get("max", 0))}
        if fs.exists(d, "memory.swap.current"):
            # runc reports memory+swap here, as on v1
            swap_limit = _v2_limit(d, "memory.swap.max")
            total = swap_limit + limit if _MAX not in (swap_limit, limit) else _MAX
            mem["swap"] = _entry(total, usage + fs.read_int(d, "memory.swap.current"), 0,
                                 fs.read_keyed(d, "memory.swap.events").get("max", 0))
        mem["raw"] = raw
        out["memory"] = _omit_empty(mem)
    if fs.exists(d, "pids.current"):
        out["pids"] = _pids(d)
    if fs.exists(d, "io.stat"):
        served_bytes, served = [], []
        for line in fs.read_or(d, "io.stat").splitlines():
            fields = line.split()
            if not fields or ":" not in fields[0]:
                continue
            major, _, minor = fields[0].partition(":")
            kv = dict(f.split("=", 1) for f in fields[1:] if "=" in f)
            for key, op, target in (("rbytes", "Read", served_bytes), ("wbytes", "Write", served_bytes),
                                    ("rios", "Read", served), ("wios", "Write", served)):
                if key in kv:
                    target.append(_omit_empty({"major": int(major), "minor": int(minor), "op": op,
                                               "value": int(kv[key])}))
        out["blkio"] = _omit_empty({"ioServiceBytesRecursive": served_bytes, "ioServicedRecursive": served})
    for size in _page_sizes(d, ".max"):
        out["hugetlb"][size] = _omit_empty({
            "usage": fs.read_int(d, f"hugetlb.{size}.current"),
            "failcnt": fs.read_keyed(d, f"hugetlb.{size}.events").get("max", 0)}, keep=("failcnt",))
    return out
