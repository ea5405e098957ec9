"""Lifecycle, state and operation cases (runtime.md), seen from outside the container."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from ..model import case
from ..runner import CaseContext
from . import schema
from .cgroups import cgroup_of_pid
from .util import check_refused


@case(
    "runtime.scope.same-container",
    "runtime.ops.supported",
    "runtime.state.id",
    "runtime.state.status",
    "runtime.state.pid",
    "runtime.state.bundle",
    "runtime.state.annotations",
    "runtime.state.schema",
    "runtime.lifecycle.create-env",
    "runtime.lifecycle.no-program-at-create",
    "runtime.lifecycle.config-frozen",
    "runtime.lifecycle.runs-program",
    "runtime.lifecycle.destroy",
    "runtime.state-op.returns-state",
    "runtime.create.new-container",
    "runtime.create.applies-config",
    "runtime.create.process-deferred",
    "runtime.start.runs-process",
    "runtime.kill.sends-signal",
    "runtime.delete.removes-resources",
    "runtime.delete.not-stopped",
    "runtime.start.not-created",
    "runtime.kill.not-running",
)
def full_lifecycle(t: CaseContext) -> None:
    script = "echo ran > /ran; trap 'echo term > /got-term; exit 3' TERM; while :; do sleep 0.1; done"
    cfg = t.config(["/bin/sh", "-c", script])
    cfg["annotations"] = {"org.example.conformance": "yes"}
    cfg["mounts"].append({"destination": "/mnt", "type": "tmpfs", "source": "tmpfs"})
    bundle = t.bundle(cfg)
    rootfs = bundle / "rootfs"
    cid = t.new_id()
    t.must(t.create(bundle, cid), "create")
    time.sleep(0.3)
    st = t.state(cid)
    t.eq("runtime.state-op.returns-state", {"id", "status", "pid", "bundle"} <= st.keys(), True)
    t.eq("runtime.state.id", st.get("id"), cid)
    t.eq("runtime.create.new-container", st.get("status"), "created")
    t.eq("runtime.state.bundle", st.get("bundle"), str(bundle))
    t.eq("runtime.state.annotations", (st.get("annotations") or {}).get("org.example.conformance"), "yes")
    problems = schema.validate("state", st)
    t.check("runtime.state.schema", not problems, "a valid state document", problems)
    pid = st.get("pid")
    alive = isinstance(pid, int) and pid > 0 and os.path.exists(f"/proc/{pid}")
    t.check("runtime.state.pid", alive, "the pid of a live process", pid)
    t.check(
        "runtime.lifecycle.no-program-at-create",
        not (rootfs / "ran").exists(),
        "no /ran before start",
        "/ran exists",
    )
    t.check(
        "runtime.create.process-deferred",
        not (rootfs / "ran").exists(),
        "no /ran before start",
        "/ran exists",
    )
    if alive:
        host_uts, cont_uts = os.readlink("/proc/self/ns/uts"), os.readlink(f"/proc/{pid}/ns/uts")
        t.check(
            "runtime.lifecycle.create-env", host_uts != cont_uts, "a new uts namespace at create", cont_uts
        )
        mnt = Path(f"/proc/{pid}/mountinfo").read_text()
        cg = cgroup_of_pid(pid, "memory")
        want_cg = cfg["linux"]["cgroupsPath"]
        t.check(
            "runtime.create.applies-config",
            " /mnt " in mnt and cg == want_cg,
            f"/mnt mounted and memory cgroup {want_cg}",
            f"cgroup {cg}",
        )
    # editing config.json after create must not matter
    cfg2 = json.loads((bundle / "config.json").read_text())
    cfg2["process"]["args"] = ["/bin/sh", "-c", "echo edited > /edited"]
    t.write_config(bundle, cfg2)
    started = t.rt("start", cid)
    t.must(started, "start")
    deadline = time.monotonic() + 5
    while not (rootfs / "ran").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    ran = (rootfs / "ran").exists()
    t.check("runtime.lifecycle.runs-program", ran, "/ran written by the program", "no /ran")
    t.check("runtime.start.runs-process", ran, "/ran written by the program", "no /ran")
    t.check(
        "runtime.lifecycle.config-frozen",
        ran and not (rootfs / "edited").exists(),
        "the original args run",
        "the edited args ran" if (rootfs / "edited").exists() else "",
    )
    running = t.status(cid)
    t.eq("runtime.state.status", running, "running")
    _refused_while_running(t, cid, "start", "runtime.start.not-created")
    _refused_while_running(t, cid, "delete", "runtime.delete.not-stopped")
    t.must(t.rt("kill", cid, "TERM"), "kill TERM")
    stopped = t.wait_status(cid, "stopped")
    t.check("runtime.kill.sends-signal", (rootfs / "got-term").exists(), "the TERM trap ran", "no /got-term")
    t.check("runtime.state.status", stopped == "stopped", "stopped after the process exited", stopped)
    late = t.rt("kill", cid, "KILL")
    t.check("runtime.kill.not-running", not late.ok, "kill of a stopped container fails", f"exit {late.rc}")
    t.must(t.rt("delete", cid), "delete")
    gone = not t.rt("state", cid).ok
    from ..cleanup import cgroup_dirs

    cgs = cgroup_dirs(cfg["linux"]["cgroupsPath"])
    t.check(
        "runtime.delete.removes-resources",
        gone and not cgs,
        "no state and no cgroup after delete",
        f"state exists: {not gone}, cgroups {cgs}",
    )
    t.check(
        "runtime.lifecycle.destroy",
        gone and not cgs and not (alive and _live(pid)),
        "no state, cgroup or process after delete",
        f"cgroups {cgs}",
    )
    t.check("runtime.scope.same-container", True, "", "state/start/kill/delete all worked")
    t.check("runtime.ops.supported", True, "", "state/create/start/kill/delete all worked")


def _live(pid: int) -> bool:
    """A process exists and is not a zombie (pid 1 of some hosts does not reap)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


@case("runtime.kill.created")
def kill_created(t: CaseContext) -> None:
    bundle = t.bundle(t.config(["/bin/sleep", "30"]))
    cid = t.new_id()
    t.must(t.create(bundle, cid), "create")
    killed = t.rt("kill", cid, "KILL")
    after = t.wait_status(cid, "stopped")
    t.check(
        "runtime.kill.created",
        killed.ok and after == "stopped",
        "kill succeeds and the container stops",
        f"{killed.brief()}; status {after}",
    )


@case(
    "runtime.state-op.no-id",
    "runtime.create.no-args",
    "runtime.start.no-id",
    "runtime.kill.no-id",
    "runtime.delete.no-id",
    "runtime.state-op.missing",
)
def missing_arguments(t: CaseContext) -> None:
    for rid, args in (
        ("runtime.state-op.no-id", ["state"]),
        ("runtime.create.no-args", ["create"]),
        ("runtime.start.no-id", ["start"]),
        ("runtime.kill.no-id", ["kill"]),
        ("runtime.delete.no-id", ["delete"]),
    ):
        call = t.rt(*args)
        t.check(rid, not call.ok, f"'{args[0]}' without an id fails", f"exit {call.rc}")
    call = t.rt("state", f"conf-no-such-{t.tag}")
    t.check("runtime.state-op.missing", not call.ok, "state of an unknown id fails", f"exit {call.rc}")


@case("runtime.state.id-unique", "runtime.create.duplicate-id", "runtime.errors.no-side-effect")
def duplicate_id(t: CaseContext) -> None:
    first = t.bundle(t.config(["/bin/sleep", "30"]))
    cid = t.new_id()
    t.must(t.create(first, cid), "create")
    pid = t.state(cid).get("pid")
    second = t.bundle(t.config(["/bin/true"]))
    dup = t.create(second, cid)
    st = t.state(cid)
    from ..cleanup import cgroup_dirs

    leaked = cgroup_dirs(json.loads((second / "config.json").read_text())["linux"]["cgroupsPath"])
    ok = not dup.ok and st.get("pid") == pid and st.get("bundle") == str(first)
    t.check("runtime.state.id-unique", ok, "second create fails", f"exit {dup.rc}")
    t.check(
        "runtime.create.duplicate-id",
        ok and st.get("status") == "created",
        "create fails, the first container unchanged",
        st,
    )
    t.check(
        "runtime.errors.no-side-effect",
        not dup.ok and not leaked,
        "no cgroup made by the failed create",
        leaked,
    )


@case("runtime.create.invalid-id")
def invalid_id(t: CaseContext) -> None:
    bundle = t.bundle(t.config(["/bin/true"]))
    bad = f"../conf-{t.tag}"
    call = t.create(bundle, bad)
    t.ids.append(bad)
    made = t.rt("state", bad).ok
    t.check(
        "runtime.create.invalid-id",
        not call.ok and not made,
        "create with id '../x' fails",
        f"exit {call.rc}, state exists: {made}",
    )


def _refused_while_running(t: CaseContext, cid: str, op: str, rid: str) -> None:
    """``op`` on the running container ``cid`` must fail and leave it running."""
    call = t.rt(op, cid)
    status = t.status(cid)
    t.check(
        rid,
        not call.ok and status == "running",
        f"{op} of a running container fails and it keeps running",
        f"exit {call.rc}, status {status}",
    )


@case("runtime.create.apply-failure", "runtime.lifecycle.create-error")
def bind_missing_source(t: CaseContext) -> None:
    def edit(cfg):
        cfg["mounts"].append(
            {"destination": "/mnt", "type": "bind", "source": f"/nonexistent-{t.tag}", "options": ["bind"]}
        )

    check_refused(t, "runtime.create.apply-failure", edit, "a bind mount of a missing source")
    t.results["runtime.lifecycle.create-error"] = t.results["runtime.create.apply-failure"]


@case("runtime.start.no-process")
def no_process(t: CaseContext) -> None:
    cfg = t.config()
    del cfg["process"]
    bundle = t.bundle(cfg)
    cid = t.new_id()
    t.create(bundle, cid)
    call = t.rt("start", cid)
    t.check("runtime.start.no-process", not call.ok, "start fails without process", f"exit {call.rc}")


@case("runtime.delete.keeps-foreign")
def delete_keeps_foreign(t: CaseContext) -> None:
    src = t.host_dir("foreign")
    (src / "keep").write_text("keep\n")
    cfg = t.config(["/bin/sh", "-c", "ls /data > /dev/null"])
    cfg["mounts"].append({"destination": "/data", "type": "bind", "source": str(src), "options": ["rbind"]})
    bundle = t.bundle(cfg)
    cid = t.new_id()
    t.must(t.create(bundle, cid), "create")
    t.must(t.rt("start", cid), "start")
    t.wait_status(cid, "stopped")
    t.must(t.rt("delete", cid), "delete")
    t.check(
        "runtime.delete.keeps-foreign",
        (src / "keep").exists() and (bundle / "rootfs").is_dir(),
        "host directory and rootfs intact",
        "removed",
    )
