"""pause / resume / update / events / ps (runtime/ops/cgroup_cmds.py) on a state store whose
container record points at a fake cgroup tree; `update` flag parsing; Go durations."""

import io
import json
import os
import subprocess
import threading
import time

import pytest

from runtime import state
from runtime.cgroups import ebpf
from runtime.errors import PyruncError, UsageError
from runtime.ops import cgroup_cmds
from runtime.ops.cgroup_cmds import parse_duration, parse_update
from unit.test_cgroups_fake import FakeTree


@pytest.fixture
def proc():
    p = subprocess.Popen(["sleep", "30"])
    yield p
    p.kill()
    p.wait()


def make_container(tmp_path, monkeypatch, pid: int, version: int = 1, cid: str = "c1", created: bool = False):
    tree = FakeTree(tmp_path / "cg", monkeypatch, version=version)
    monkeypatch.setattr(ebpf, "apply", lambda *a, **k: None)
    mgr = tree.manager(f"/pyrunc/{cid}", cid=cid)
    mgr.create({})
    mgr.join(pid)
    store = state.StateStore(str(tmp_path / "run"))
    cdir = store.create(cid)
    if created:
        os.mkfifo(cdir.file(state.EXEC_FIFO))
    # a dead pid gets a start time no process has: the record reads "stopped"
    cdir.write({"id": cid, "pid": pid, "init_start_time": state.process_start_time(pid) or -1,
                "cgroup": mgr.to_record()})
    cdir.close()
    return store, tree, mgr


def stopped_pid() -> int:
    p = subprocess.Popen(["true"])
    p.wait()
    return p.pid


# -- pause / resume ---------------------------------------------------------------------------

@pytest.mark.parametrize("version", [1, 2])
def test_pause_resume(tmp_path, monkeypatch, proc, version):
    store, tree, mgr = make_container(tmp_path, monkeypatch, proc.pid, version)
    cgroup_cmds.pause(store, "c1")
    assert mgr.state() == "paused"
    cdir = store.open("c1")
    assert cgroup_cmds.status_of(cdir, cdir.read()) == "paused"
    cdir.close()
    with pytest.raises(PyruncError, match="^container not running$"):
        cgroup_cmds.pause(store, "c1")
    cgroup_cmds.resume(store, "c1")
    assert mgr.state() == "running"
    with pytest.raises(PyruncError, match="^container not paused$"):
        cgroup_cmds.resume(store, "c1")


def test_pause_a_created_container(tmp_path, monkeypatch, proc):
    store, _, mgr = make_container(tmp_path, monkeypatch, proc.pid, created=True)
    cgroup_cmds.pause(store, "c1")
    assert mgr.state() == "paused"


def test_pause_stopped(tmp_path, monkeypatch):
    store, _, _ = make_container(tmp_path, monkeypatch, stopped_pid())
    with pytest.raises(PyruncError, match="^container not running$"):
        cgroup_cmds.pause(store, "c1")
    with pytest.raises(PyruncError, match="^container not paused$"):
        cgroup_cmds.resume(store, "c1")


def test_unknown_container(tmp_path):
    with pytest.raises(PyruncError, match="container does not exist"):
        cgroup_cmds.pause(state.StateStore(str(tmp_path)), "nope")


def test_record_without_cgroup(tmp_path, proc):
    store = state.StateStore(str(tmp_path))
    cdir = store.create("c1")
    cdir.write({"id": "c1", "pid": proc.pid, "init_start_time": state.process_start_time(proc.pid)})
    cdir.close()
    with pytest.raises(PyruncError, match="its state has no cgroup"):
        cgroup_cmds.pause(store, "c1")


# -- update -----------------------------------------------------------------------------------

def test_update(tmp_path, monkeypatch, proc):
    store, tree, _ = make_container(tmp_path, monkeypatch, proc.pid)
    cgroup_cmds.update(store, "c1", parse_update({"memory": "64m", "pids_limit": 7, "cpu_quota": "20000"}))
    assert tree.read("memory/pyrunc/c1", "memory.limit_in_bytes") == str(64 << 20)
    assert tree.read("pids/pyrunc/c1", "pids.max") == "7"
    assert tree.read("cpu/pyrunc/c1", "cpu.cfs_quota_us") == "20000"


def test_update_stopped(tmp_path, monkeypatch):
    store, _, _ = make_container(tmp_path, monkeypatch, stopped_pid())
    with pytest.raises(PyruncError, match="^container not running$"):
        cgroup_cmds.update(store, "c1", {"pids": {"limit": 1}})


def test_parse_update_flags():
    r = parse_update({"memory": "1g", "memory_swap": "-1", "memory_reservation": "512M", "cpu_share": "512",
                      "cpu_quota": "-1", "cpu_period": "100000", "cpu_burst": "10", "cpu_rt_period": "5",
                      "cpu_rt_runtime": "4", "cpuset_cpus": "0-1", "cpuset_mems": "0", "cpu_idle": "1",
                      "pids_limit": 20, "blkio_weight": 300})
    assert r == {"memory": {"limit": 1 << 30, "swap": -1, "reservation": 512 << 20},
                 "cpu": {"shares": 512, "quota": -1, "period": 100000, "burst": 10, "realtimePeriod": 5,
                         "realtimeRuntime": 4, "cpus": "0-1", "mems": "0", "idle": 1},
                 "pids": {"limit": 20}, "blockIO": {"weight": 300}}
    assert parse_update({}) == {}
    assert parse_update({"pids_limit": 0, "blkio_weight": 0}) == {}  # runc: 0 is "not given"


@pytest.mark.parametrize("values,msg", [
    ({"memory": "lots"}, "invalid value for memory"),
    ({"cpu_share": "-5"}, "invalid value for cpu-share"),
    ({"cpu_quota": "x"}, "invalid value for cpu-quota"),
])
def test_parse_update_bad_values(values, msg):
    with pytest.raises(UsageError, match=msg):
        parse_update(values)


def test_parse_update_rdt_refused():
    with pytest.raises(PyruncError, match="Intel RDT"):
        parse_update({"l3_cache_schema": "L3:0=f"})


def test_parse_update_resources_file_wins(tmp_path):
    f = tmp_path / "r.json"
    f.write_text('{"memory": {"limit": 100, "checkBeforeUpdate": true}, "unified": {"pids.max": "3"}}')
    assert parse_update({"resources": str(f), "memory": "1g"}) == {
        "memory": {"limit": 100, "checkBeforeUpdate": True}, "unified": {"pids.max": "3"}}
    stdin = io.StringIO('{"pids": {"limit": 2}}')
    assert parse_update({"resources": "-"}, stdin=stdin) == {"pids": {"limit": 2}}
    with pytest.raises(PyruncError, match="not valid JSON"):
        parse_update({"resources": "-"}, stdin=io.StringIO("{"))
    with pytest.raises(PyruncError, match="must be a JSON object"):
        parse_update({"resources": "-"}, stdin=io.StringIO("[]"))
    with pytest.raises(PyruncError, match="read /nonexistent"):
        parse_update({"resources": "/nonexistent"})


def test_update_flag_table_matches_runc():
    for name in ("resources", "r", "blkio-weight", "cpu-period", "cpu-quota", "cpu-burst", "cpu-share",
                 "cpu-rt-period", "cpu-rt-runtime", "cpuset-cpus", "cpuset-mems", "cpu-idle", "memory",
                 "memory-reservation", "memory-swap", "pids-limit", "kernel-memory", "kernel-memory-tcp",
                 "l3-cache-schema", "mem-bw-schema"):
        assert name in cgroup_cmds.UPDATE_FLAGS


# -- events -----------------------------------------------------------------------------------

@pytest.mark.parametrize("text,secs", [("5s", 5), ("100ms", 0.1), ("1m30s", 90), ("1.5h", 5400), ("0", 0),
                                       ("250us", 0.00025), ("-2s", -2)])
def test_parse_duration(text, secs):
    assert parse_duration(text) == pytest.approx(secs)


@pytest.mark.parametrize("text", ["", "5", "s", "5x", "1..2s"])
def test_parse_duration_rejects(text):
    with pytest.raises(UsageError):
        parse_duration(text)


@pytest.mark.parametrize("version", [1, 2])
def test_events_stats(tmp_path, monkeypatch, proc, version):
    store, _, _ = make_container(tmp_path, monkeypatch, proc.pid, version)
    out = io.StringIO()
    cgroup_cmds.events(store, "c1", stats=True, out=out)
    event = json.loads(out.getvalue())
    assert event["type"] == "stats" and event["id"] == "c1"
    keys = {"cpu", "memory", "pids", "blkio", "hugetlb", "intel_rdt", "network_interfaces"}
    assert keys <= set(event["data"])


def test_events_stopped(tmp_path, monkeypatch):
    store, _, _ = make_container(tmp_path, monkeypatch, stopped_pid())
    with pytest.raises(PyruncError, match="^container with id c1 is not running$"):
        cgroup_cmds.events(store, "c1", stats=True)


def test_events_bad_interval(tmp_path, monkeypatch, proc):
    store, _, _ = make_container(tmp_path, monkeypatch, proc.pid)
    with pytest.raises(PyruncError, match="duration interval must be greater than 0"):
        cgroup_cmds.events(store, "c1", interval=0)


def test_events_stream_until_the_container_stops(tmp_path, monkeypatch):
    p = subprocess.Popen(["sleep", "60"])
    store, tree, _ = make_container(tmp_path, monkeypatch, p.pid)
    oom = tree.path("memory/pyrunc/c1/memory.oom_control")
    out = io.StringIO()

    def lines_of(kind: str) -> int:
        return sum(json.loads(line)["type"] == kind for line in out.getvalue().splitlines())

    def drive():
        # the stream's own pace decides, not the clock: two oom kills once it has printed
        # stats, then the container stops once it has printed stats again
        deadline = time.monotonic() + 20
        while lines_of("stats") < 1 and time.monotonic() < deadline:
            time.sleep(0.02)
        with open(oom, "w") as f:
            f.write("oom_kill_disable 0\nunder_oom 0\noom_kill 2\n")
        while (lines_of("oom") < 2 or lines_of("stats") < 2) and time.monotonic() < deadline:
            time.sleep(0.02)
        p.kill()
        p.wait()
    driver = threading.Thread(target=drive, daemon=True)
    driver.start()
    try:
        cgroup_cmds.events(store, "c1", interval=0.2, out=out)
    finally:
        p.kill()
        driver.join(30)
    events = [json.loads(line) for line in out.getvalue().splitlines()]
    types = [e["type"] for e in events]
    assert types.count("oom") == 2 and types.count("stats") >= 2, types
    assert all(e["id"] == "c1" for e in events)


# -- ps ---------------------------------------------------------------------------------------

def test_ps_json(tmp_path, monkeypatch, proc):
    store, _, _ = make_container(tmp_path, monkeypatch, proc.pid)
    out = io.StringIO()
    cgroup_cmds.ps(store, "c1", "json", out=out)
    assert json.loads(out.getvalue()) == [proc.pid]


def test_ps_json_empty_is_null_like_runc(tmp_path, monkeypatch):
    store, tree, _ = make_container(tmp_path, monkeypatch, stopped_pid())
    for h in os.listdir(tree.root):
        p = tree.path(h, "pyrunc/c1/cgroup.procs")
        if os.path.exists(p):
            open(p, "w").close()
    out = io.StringIO()
    cgroup_cmds.ps(store, "c1", "json", out=out)
    assert out.getvalue() == "null\n"


def test_ps_table_with_ps(tmp_path, monkeypatch, proc):
    if cgroup_cmds._which("ps") is None:
        pytest.skip("no ps binary")
    store, _, _ = make_container(tmp_path, monkeypatch, proc.pid)
    out = io.StringIO()
    cgroup_cmds.ps(store, "c1", out=out)
    lines = out.getvalue().splitlines()
    assert "PID" in lines[0].split() and len(lines) == 2 and "sleep 30" in lines[1]
    out = io.StringIO()
    cgroup_cmds.ps(store, "c1", ps_args=["-o", "pid,comm"], out=out)
    assert out.getvalue().split() == ["PID", "COMMAND", str(proc.pid), "sleep"]


def test_ps_table_from_proc(tmp_path, monkeypatch, proc):
    store, _, _ = make_container(tmp_path, monkeypatch, proc.pid)
    monkeypatch.setattr(cgroup_cmds, "_which", lambda name: None)
    out = io.StringIO()
    cgroup_cmds.ps(store, "c1", out=out)
    header, row = out.getvalue().splitlines()
    assert header.split() == ["UID", "PID", "PPID", "STAT", "TIME", "CMD"]
    assert row.split()[1] == str(proc.pid) and row.endswith("sleep 30")
    with pytest.raises(PyruncError, match="no ps binary"):
        cgroup_cmds.ps(store, "c1", ps_args=["aux"], out=io.StringIO())


def test_ps_bad_format(tmp_path, monkeypatch, proc):
    store, _, _ = make_container(tmp_path, monkeypatch, proc.pid)
    with pytest.raises(PyruncError, match="^invalid format option$"):
        cgroup_cmds.ps(store, "c1", "yaml")
