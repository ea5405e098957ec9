"""The smallest memory limit at which `run /bin/true` still succeeds, by bisection."""

from __future__ import annotations

import sys

from .. import cgroups
from ..bench import Bench, Result
from ..runtimes import Runtime

NAME = "memory-floor"
TITLE = "smallest memory limit for run /bin/true"
DESCRIPTION = ("bisection of linux.resources.memory.limit (with memory.swap set to the same "
               "value, so swap cannot hide the need) between --floor-low and --floor-high KiB: "
               "a probe succeeds when `run /bin/true` exits 0 within --floor-timeout seconds "
               "(a hang counts as a failure); each probe uses a fresh cgroup; the floor is the "
               "smallest limit that succeeded, to within 64 KiB or 1/16")
METRICS = {"floor": {"unit": "KiB", "better": "lower", "aggregate": "single"}}
PAGE_KIB = 4


def probe(bench: Bench, rt: Runtime, limit_kib: int, log: list) -> bool:
    cid = bench.new_id("floor", rt)
    path = f"{cgroups.parent_path()}/{cid}"
    bundle = bench.bundle(f"floor-{rt.name}", ["/bin/true"])
    config = bench.config_copy(f"floor-{rt.name}")
    limit = limit_kib * 1024
    config["linux"]["cgroupsPath"] = path
    config["linux"]["resources"]["memory"] = {"limit": limit, "swap": limit}
    bench.write_config(bundle, config)
    bench.track(rt, cid)
    try:
        res = bench.command(rt, "run", "--bundle", str(bundle), cid, timeout=bench.settings.floor_timeout)
    finally:
        bench.force_delete(rt, cid)
        cgroups.remove(path)
    why = "ok" if res.ok else ("timeout" if res.timed_out else f"exit {res.status}")
    log.append({"limit_kib": limit_kib, "ok": res.ok, "result": why,
                "seconds": round(res.seconds, 3),
                "output": "" if res.ok else res.output[-300:]})
    return res.ok


def find_floor(bench: Bench, rt: Runtime, log: list) -> int | None:
    """Smallest limit (KiB) that succeeded, None if even the high end failed."""
    low, high = bench.settings.floor_low_kib, bench.settings.floor_high_kib
    if not probe(bench, rt, high, log):
        return None
    if probe(bench, rt, low, log):
        return low
    while high - low > max(64, low // 16):  # low fails, high succeeds
        mid = (low + high) // 2 // PAGE_KIB * PAGE_KIB
        if probe(bench, rt, mid, log):
            high = mid
        else:
            low = mid
    return high


def measure(bench: Bench) -> Result:
    result = Result(TITLE, METRICS)
    if not cgroups.MEMORY.is_dir():
        result.notes.append("not measured: no cgroup v1 memory hierarchy")
        return result
    probes: dict[str, list] = {}
    for rt in bench.runtimes:
        log = probes.setdefault(rt.name, [])
        floor = find_floor(bench, rt, log)
        if floor is None:
            result.fail(rt.name, f"`run /bin/true` failed even with {bench.settings.floor_high_kib} KiB: "
                        f"{log[-1]['output']}")
        result.add(rt.name, {"floor": floor} if floor is not None else None)
        print(f"  memory-floor: {rt.name}: {floor} KiB after {len(log)} probes", flush=True,
              file=sys.stderr)
    at_low = [name for name, log in probes.items()
              if any(p["ok"] and p["limit_kib"] == bench.settings.floor_low_kib for p in log)]
    if at_low:
        result.notes.append(f"{', '.join(at_low)}: succeeded at the low end of the search "
                            f"({bench.settings.floor_low_kib} KiB): the floor is at or below it")
    result.extra = {"probes": probes, "low_kib": bench.settings.floor_low_kib,
                    "high_kib": bench.settings.floor_high_kib, "timeout_s": bench.settings.floor_timeout}
    return result
