"""Cgroup cases (config-linux.md): paths, resources and the device allow-list, read on the
host from the cgroup v1 hierarchies while the container is created."""

from __future__ import annotations

import json
import os
from pathlib import Path

from ..model import case
from ..runner import CaseContext

CG = Path("/sys/fs/cgroup")


def cgroup_of_pid(pid: int, controller: str) -> str | None:
    try:
        text = Path(f"/proc/{pid}/cgroup").read_text()
    except OSError:
        return None
    for line in text.splitlines():
        _, ctrls, path = line.split(":", 2)
        if controller in ctrls.split(","):
            return path
    return None


def _read(controller: str, rel: str, name: str) -> str | None:
    try:
        return (CG / controller / rel.lstrip("/") / name).read_text().strip()
    except OSError:
        return None


def _block_device() -> str | None:
    for dev in sorted(Path("/sys/block").glob("*/dev")):
        if not dev.parent.name.startswith(("loop", "ram")):
            return dev.read_text().strip()
    return None


@case(
    "linux.cgroups.memory-limit",
    "linux.cgroups.memory-reservation",
    "linux.cgroups.memory-swap",
    "linux.cgroups.cpu-shares",
    "linux.cgroups.cpu-quota-period",
    "linux.cgroups.cpuset",
    "linux.cgroups.pids-limit",
    "linux.cgroups.blkio-throttle",
)
def resources(t: CaseContext) -> None:
    cfg = t.config(["/bin/true"])
    blk = _block_device()
    res = cfg["linux"]["resources"]
    res.update(
        memory={"limit": 64 << 20, "reservation": 32 << 20, "swap": 128 << 20},
        cpu={"shares": 512, "quota": 20000, "period": 100000, "cpus": "0", "mems": "0"},
        pids={"limit": 42},
    )
    if blk:
        major, minor = map(int, blk.split(":"))
        res["blockIO"] = {"throttleReadBpsDevice": [{"major": major, "minor": minor, "rate": 1048576}]}
    bundle = t.bundle(cfg)
    cid = t.new_id()
    t.must(t.create(bundle, cid), "create")
    rel = cfg["linux"]["cgroupsPath"]
    t.eq("linux.cgroups.memory-limit", _read("memory", rel, "memory.limit_in_bytes"), str(64 << 20))
    t.eq(
        "linux.cgroups.memory-reservation", _read("memory", rel, "memory.soft_limit_in_bytes"), str(32 << 20)
    )
    if (CG / "memory" / "memory.memsw.limit_in_bytes").exists():
        t.eq("linux.cgroups.memory-swap", _read("memory", rel, "memory.memsw.limit_in_bytes"), str(128 << 20))
    else:
        t.skip("linux.cgroups.memory-swap", "no swap accounting on this host")
    t.eq("linux.cgroups.cpu-shares", _read("cpu", rel, "cpu.shares"), "512")
    t.eq(
        "linux.cgroups.cpu-quota-period",
        (_read("cpu", rel, "cpu.cfs_quota_us"), _read("cpu", rel, "cpu.cfs_period_us")),
        ("20000", "100000"),
    )
    t.eq(
        "linux.cgroups.cpuset",
        (_read("cpuset", rel, "cpuset.cpus"), _read("cpuset", rel, "cpuset.mems")),
        ("0", "0"),
    )
    t.eq("linux.cgroups.pids-limit", _read("pids", rel, "pids.max"), "42")
    if blk:
        t.eq(
            "linux.cgroups.blkio-throttle",
            _read("blkio", rel, "blkio.throttle.read_bps_device"),
            f"{blk} 1048576",
        )
    else:
        t.skip("linux.cgroups.blkio-throttle", "no block device on this host")


@case("linux.cgroups.hugepages")
def hugepages(t: CaseContext) -> None:
    if not (CG / "hugetlb").exists():
        t.skip("linux.cgroups.hugepages", "no hugetlb controller on this host")
        return
    cfg = t.config(["/bin/true"])
    cfg["linux"]["resources"]["hugepageLimits"] = [{"pageSize": "2MB", "limit": 4 << 21}]
    bundle = t.bundle(cfg)
    t.must(t.create(bundle, t.new_id()), "create")
    t.eq(
        "linux.cgroups.hugepages",
        _read("hugetlb", cfg["linux"]["cgroupsPath"], "hugetlb.2MB.limit_in_bytes"),
        str(4 << 21),
    )


@case("linux.cgroups.pids-zero")
def pids_zero(t: CaseContext) -> None:
    cfg = t.config(["/bin/true"])
    cfg["linux"]["resources"]["pids"] = {"limit": 0}
    bundle = t.bundle(cfg)
    cid = t.new_id()
    t.must(t.create(bundle, cid), "create")
    t.eq("linux.cgroups.pids-zero", _read("pids", cfg["linux"]["cgroupsPath"], "pids.max"), "0")


@case("linux.cgroups.path-absolute", "linux.cgroups.path-consistent")
def cgroups_path(t: CaseContext) -> None:
    seen = []
    for _ in range(2):
        cfg = t.config(["/bin/sleep", "10"])
        cfg["linux"]["cgroupsPath"] = f"/pyrunc-conformance/path-{t.tag}"
        bundle = t.bundle(cfg)
        cid = t.new_id()
        t.must(t.create(bundle, cid), "create")
        pid = t.state(cid)["pid"]
        seen.append((cgroup_of_pid(pid, "memory"), _read("memory", cfg["linux"]["cgroupsPath"], "tasks")))
        t.rt("kill", cid, "KILL")
        t.wait_status(cid, "stopped")
        t.must(t.rt("delete", cid), "delete")
    want = f"/pyrunc-conformance/path-{t.tag}"
    t.check(
        "linux.cgroups.path-absolute",
        seen[0][0] == want and seen[0][1],
        f"memory cgroup {want} under the mount point",
        seen[0],
    )
    t.eq("linux.cgroups.path-consistent", seen[1][0], seen[0][0])


def _devices_probe(t: CaseContext, rules: list[dict]) -> dict:
    cfg = t.config(["/checker", "write:/kmsg-node"])
    cfg["linux"]["resources"]["devices"] = rules
    bundle = t.bundle(cfg)
    os.mknod(bundle / "rootfs" / "kmsg-node", 0o600 | 0o020000, os.makedev(1, 11))
    call = t.run(bundle, t.new_id())
    t.must(call, "run")
    found = json.loads(call.out)
    return found["write:/kmsg-node"]


@case("linux.cgroups.devices-order", "linux.cgroups.devices-deny")
def device_rules(t: CaseContext) -> None:
    deny_all = {"allow": False, "access": "rwm"}
    kmsg = {"type": "c", "major": 1, "minor": 11, "access": "rw"}
    allowed = _devices_probe(t, [deny_all, {**kmsg, "allow": True}])
    denied_last = _devices_probe(t, [deny_all, {**kmsg, "allow": True}, {**kmsg, "allow": False}])
    t.check(
        "linux.cgroups.devices-order",
        allowed.get("ok") and denied_last.get("errno") == "EPERM",
        "c 1:11 opens after deny-all + allow, and not when a deny follows",
        f"{allowed} / {denied_last}",
    )
    denied = _devices_probe(t, [deny_all])
    t.eq("linux.cgroups.devices-deny", denied.get("errno"), "EPERM")


@case("linux.cgroups.unified-missing-controller")
def unified_missing(t: CaseContext) -> None:
    if (CG / "cgroup.controllers").exists():
        t.skip("linux.cgroups.unified-missing-controller", "pure cgroup v2 host")
        return
    cfg = t.config(["/bin/true"])
    cfg["linux"]["resources"]["unified"] = {"memory.max": "100000000"}
    bundle = t.bundle(cfg)
    cid = t.new_id()
    call = t.create(bundle, cid)
    t.check(
        "linux.cgroups.unified-missing-controller",
        not call.ok,
        "create fails (no cgroup2 memory controller)",
        f"exit {call.rc}",
    )


@case("linux.intelrdt.no-resctrl")
def intelrdt(t: CaseContext) -> None:
    if " resctrl " in Path("/proc/self/mountinfo").read_text():
        t.skip("linux.intelrdt.no-resctrl", "resctrl is mounted on this host")
        return
    cfg = t.config(["/bin/true"])
    cfg["linux"]["intelRdt"] = {"closID": f"conf-{t.tag}"}
    bundle = t.bundle(cfg)
    cid = t.new_id()
    call = t.create(bundle, cid)
    t.check("linux.intelrdt.no-resctrl", not call.ok, "create fails without resctrl", f"exit {call.rc}")
