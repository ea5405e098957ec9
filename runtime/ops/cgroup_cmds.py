"""`pause`, `resume`, `update`, `events` and `ps`: the commands that work on a container's
cgroup, through the manager saved in its record (record["cgroup"] = Manager.to_record())."""

import os
import sys
import time

from runtime import fastjson, log, state
from runtime.errors import NotRunning, PyruncError, UsageError

# runc's `update` flags, in runtime.cli.parse_flags' table format (plus `cpu-shares`, an alias
# of runc's `cpu-share`).
UPDATE_FLAGS = {
    "resources": ("resources", "str"), "r": ("resources", "str"),
    "blkio-weight": ("blkio_weight", "int"),
    "cpu-period": ("cpu_period", "str"), "cpu-quota": ("cpu_quota", "str"),
    "cpu-burst": ("cpu_burst", "str"), "cpu-share": ("cpu_share", "str"), "cpu-shares": ("cpu_share", "str"),
    "cpu-rt-period": ("cpu_rt_period", "str"), "cpu-rt-runtime": ("cpu_rt_runtime", "str"),
    "cpuset-cpus": ("cpuset_cpus", "str"), "cpuset-mems": ("cpuset_mems", "str"),
    "cpu-idle": ("cpu_idle", "str"),
    "kernel-memory": ("kernel_memory", "str"), "kernel-memory-tcp": ("kernel_memory_tcp", "str"),
    "memory": ("memory", "str"), "memory-reservation": ("memory_reservation", "str"),
    "memory-swap": ("memory_swap", "str"),
    "pids-limit": ("pids_limit", "int"),
    "l3-cache-schema": ("l3_cache_schema", "str"), "mem-bw-schema": ("mem_bw_schema", "str"),
}
EVENTS_FLAGS = {"interval": ("interval", "str"), "stats": ("stats", "bool")}
PS_FLAGS = {"format": ("format", "str"), "f": ("format", "str")}


# -- loading ----------------------------------------------------------------------------------

def status_of(cdir: state.ContainerDir, record: dict) -> str:
    """created, running, paused or stopped (`state` and `list` can use this for "paused")."""
    return cdir.status(record)  # the state store knows "paused" itself


def manager_of(record: dict):
    from runtime.cgroups import manager_from_record

    if not record.get("cgroup"):
        raise PyruncError(f"container {record.get('id', '')}: its state has no cgroup (created by a pyrunc "
                          "without cgroup support?)")
    return manager_from_record(record["cgroup"])


class _Locked:
    """The container's directory, locked, with its record and cgroup manager."""

    def __init__(self, store: state.StateStore, cid: str):
        self.cdir = store.open(cid)
        try:
            self.cdir.lock()
            self.record = self.cdir.read()
            self.status = status_of(self.cdir, self.record)
        except BaseException:
            self.cdir.close()
            raise

    def manager(self):
        return manager_of(self.record)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.cdir.close()


# -- pause / resume ---------------------------------------------------------------------------

def pause(store: state.StateStore, cid: str) -> None:
    with _Locked(store, cid) as c:
        if c.status not in ("running", "created"):
            raise NotRunning()
        c.manager().freeze()


def resume(store: state.StateStore, cid: str) -> None:
    with _Locked(store, cid) as c:
        if c.status != "paused":
            raise PyruncError("container not paused")
        c.manager().thaw()


# -- update -----------------------------------------------------------------------------------

def _uint(flag: str, text: str) -> int:
    if not text.isdigit():
        raise UsageError(f"invalid value for {flag}: {text!r} is not an unsigned integer")
    return int(text)


def _int(flag: str, text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise UsageError(f"invalid value for {flag}: {text!r} is not an integer") from None


def _bytes(flag: str, text: str) -> int:
    if text == "-1":
        return -1
    from runtime.cgroups.values import parse_ram

    try:
        return parse_ram(text)
    except ValueError:
        raise UsageError(f"invalid value for {flag}: {text!r} is not a size "
                         "(like 1024, 512k, 64m, 2g)") from None


def parse_update(values: dict, stdin=None) -> dict:
    """linux.resources from `update`'s parsed flags (UPDATE_FLAGS). With -r/--resources (a file
    or `-` for stdin), the JSON is the whole update and the other flags are ignored, as in runc."""
    if values.get("l3_cache_schema") or values.get("mem_bw_schema"):
        raise PyruncError("update: Intel RDT (--l3-cache-schema, --mem-bw-schema) is not supported")
    src = values.get("resources")
    if src:
        where = src if src != "-" else "stdin"
        try:
            if src == "-":
                text = (stdin or sys.stdin).read()
            else:
                with open(src) as f:
                    text = f.read()
        except OSError as e:
            raise PyruncError(f"update: read {src}: {e.strerror}") from None
        try:
            resources = fastjson.loads(text)
        except ValueError as e:
            raise PyruncError(f"update: {where}: not valid JSON ({e})") from None
        if not isinstance(resources, dict):
            raise PyruncError(f"update: {where}: must be a JSON object (linux.resources)")
        return resources
    r: dict = {}
    cpu: dict = {}
    mem: dict = {}
    if values.get("blkio_weight"):
        r["blockIO"] = {"weight": values["blkio_weight"]}
    if values.get("cpuset_cpus"):
        cpu["cpus"] = values["cpuset_cpus"]
    if values.get("cpuset_mems"):
        cpu["mems"] = values["cpuset_mems"]
    if values.get("cpu_idle"):
        cpu["idle"] = _int("cpu-idle", values["cpu_idle"])
    for dest, key, flag in (("cpu_burst", "burst", "cpu-burst"), ("cpu_period", "period", "cpu-period"),
                            ("cpu_rt_period", "realtimePeriod", "cpu-rt-period"),
                            ("cpu_share", "shares", "cpu-share")):
        if values.get(dest):
            cpu[key] = _uint(flag, values[dest])
    for dest, key, flag in (("cpu_quota", "quota", "cpu-quota"),
                            ("cpu_rt_runtime", "realtimeRuntime", "cpu-rt-runtime")):
        if values.get(dest):
            cpu[key] = _int(flag, values[dest])
    for dest, key, flag in (("memory", "limit", "memory"), ("memory_swap", "swap", "memory-swap"),
                            ("memory_reservation", "reservation", "memory-reservation")):
        if values.get(dest):
            mem[key] = _bytes(flag, values[dest])
    for dest, flag in (("kernel_memory", "kernel-memory"), ("kernel_memory_tcp", "kernel-memory-tcp")):
        if values.get(dest):
            log.current.warning(f"Setting --{flag} is ignored and will be removed")
    if values.get("pids_limit"):
        r["pids"] = {"limit": values["pids_limit"]}
    if cpu:
        r["cpu"] = cpu
    if mem:
        r["memory"] = mem
    return r


def update(store: state.StateStore, cid: str, resources: dict) -> None:
    with _Locked(store, cid) as c:
        if c.status == "stopped":
            raise NotRunning()
        c.manager().update(resources)


# -- events -----------------------------------------------------------------------------------

_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


def parse_duration(text: str) -> float:
    """A Go duration ("5s", "100ms", "1m30s", "1.5h"); seconds."""
    s = text.strip()
    if s in ("0", "+0", "-0"):
        return 0.0
    total, i, sign = 0.0, 0, 1.0
    if s[:1] in "+-" and s:
        sign = -1.0 if s[0] == "-" else 1.0
        i = 1
    if i >= len(s):
        raise UsageError(f"invalid duration {text!r}")
    while i < len(s):
        j = i
        while j < len(s) and (s[j].isdigit() or s[j] == "."):
            j += 1
        k = j
        while k < len(s) and not (s[k].isdigit() or s[k] == "."):
            k += 1
        number, unit = s[i:j], s[j:k]
        if not number or number.count(".") > 1 or unit not in _UNITS:
            raise UsageError(f"invalid duration {text!r}")
        total += float(number) * _UNITS[unit]
        i = k
    return sign * total


def stats_event(cid: str, data: dict) -> dict:
    data = dict(data)
    data.setdefault("intel_rdt", {})
    data.setdefault("network_interfaces", None)
    return {"type": "stats", "id": cid, "data": data}


def _emit(out, event: dict) -> None:
    out.write(fastjson.dumps(event) + "\n")
    out.flush()


def events(store: state.StateStore, cid: str, stats: bool = False, interval: float = 5.0, out=None) -> None:
    """runc's `events`: with --stats one stats event; else a stats event every `interval` and an
    "oom" event per OOM kill, one JSON object a line, until the container stops."""
    out = out or sys.stdout
    if interval <= 0:
        raise PyruncError("duration interval must be greater than 0")
    with _Locked(store, cid) as c:
        if c.status == "stopped":
            raise PyruncError(f"container with id {cid} is not running")
        record = c.record
        mgr = c.manager()
    if stats:
        _emit(out, stats_event(cid, mgr.stats()))
        return
    try:
        seen = mgr.oom_count()
        due = time.monotonic() + interval
        while True:
            left = due - time.monotonic()
            if left > 0:
                mgr.wait_event(min(left, 1.0))
            count = mgr.oom_count()
            for _ in range(max(0, count - seen)):
                _emit(out, {"type": "oom", "id": cid})
            seen = max(seen, count)
            if state.process_start_time(record["pid"]) != record.get("init_start_time"):
                return
            if time.monotonic() >= due:
                try:
                    _emit(out, stats_event(cid, mgr.stats()))
                except OSError as e:
                    log.current.error(f"events: stats of {cid}: {e}")
                due += interval
    finally:
        mgr.close()


# -- ps ---------------------------------------------------------------------------------------

def ps(store: state.StateStore, cid: str, fmt: str = "table", ps_args: list[str] | None = None,
       out=None) -> None:
    """runc's `ps`: json is the list of host pids; table runs `ps` (default `-ef`) and keeps the
    container's lines, or, without a `ps` binary, prints a table from /proc."""
    out = out or sys.stdout
    if fmt not in ("table", "json"):
        raise PyruncError("invalid format option")
    with _Locked(store, cid) as c:
        pids = c.manager().pids()
    if fmt == "json":
        # Go encodes runc's empty (nil) list as null
        out.write((fastjson.dumps(pids) if pids else "null") + "\n")
        return
    binary = _which("ps")
    if binary is None:
        if ps_args:
            raise PyruncError("ps: no ps binary on PATH: ps options cannot be used")
        out.write(proc_table(pids))
        return
    import subprocess

    proc = subprocess.run([binary, *(ps_args or ["-ef"])], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True, errors="replace")
    if proc.returncode != 0:
        raise PyruncError(f"exit status {proc.returncode}: {proc.stdout.strip()}")
    lines = proc.stdout.split("\n")
    titles = lines[0].split()
    if "PID" not in titles:
        raise PyruncError("couldn't find PID field in ps output")
    index = titles.index("PID")
    wanted = set(pids)
    kept = [lines[0]]
    for line in lines[1:]:
        fields = line.split()
        if not fields:
            continue
        try:
            pid = int(fields[index])
        except (ValueError, IndexError):
            raise PyruncError(f"unable to parse pid: {line!r}") from None
        if pid in wanted:
            kept.append(line)
    out.write("\n".join(kept) + "\n")


def _which(name: str) -> str | None:
    for d in os.environ.get("PATH", "/usr/bin:/bin").split(":"):
        path = os.path.join(d or ".", name)
        if os.path.isfile(path) and os.access(path, os.X_OK):
            return path
    return None


def proc_table(pids: list[int]) -> str:
    """UID PID PPID STAT TIME CMD of each pid, from /proc."""
    hz = os.sysconf("SC_CLK_TCK") or 100
    rows = [("UID", "PID", "PPID", "STAT", "TIME", "CMD")]
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat", "rb") as f:
                stat = f.read()
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmdline = f.read()
            uid = os.stat(f"/proc/{pid}").st_uid
        except OSError:
            continue
        comm = stat[stat.index(b"(") + 1:stat.rindex(b")")].decode(errors="replace")
        fields = stat[stat.rindex(b")") + 2:].split()
        secs = (int(fields[11]) + int(fields[12])) // hz
        cmd = cmdline.replace(b"\0", b" ").decode(errors="replace").strip() or f"[{comm}]"
        rows.append((str(uid), str(pid), fields[1].decode(), fields[0].decode(),
                     f"{secs // 3600:02d}:{secs // 60 % 60:02d}:{secs % 60:02d}", cmd))
    widths = [max(len(r[i]) for r in rows) for i in range(5)]
    return "".join("  ".join(v.rjust(w) if i in (1, 2) else v.ljust(w) for i, (v, w) in
                             enumerate(zip(r[:5], widths, strict=True))) + "  " + r[5] + "\n" for r in rows)
