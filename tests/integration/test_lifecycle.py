"""Container lifecycle through the CLI: create, start, state, kill, delete, run, list."""

from __future__ import annotations

import datetime
import json
import os
import re
import time

import pytest

from .util import pid_alive, wait_for

SLEEP = ["sleep", "30"]


def _rootfs_ident(bundle) -> tuple[int, int]:
    st = os.stat(bundle.rootfs)
    return st.st_dev, st.st_ino


def _proc_root_ident(pid: int) -> tuple[int, int]:
    st = os.stat(f"/proc/{pid}/root")
    return st.st_dev, st.st_ino


def test_create_state_created_with_pidfile(runtime, bundle, cid, workdir):
    b = bundle(["sh", "-c", "touch /tmp/started; exec sleep 30"])
    pidfile = workdir / "container.pid"
    # a relative --bundle: the state must still report it absolute
    res = runtime.run("create", "--bundle", b.path.name, "--pid-file", pidfile, cid,
                      cwd=b.path.parent, check=True)
    assert res.returncode == 0

    text = pidfile.read_text()
    assert re.fullmatch(r"[1-9][0-9]*\n?", text), f"pid file content {text!r}"
    pid = int(text)

    st = runtime.state(cid)
    assert st["status"] == "created"
    assert st["id"] == cid
    assert st["pid"] == pid
    assert st["bundle"] == str(b.path)
    assert os.path.isabs(st["bundle"])

    # the container's process exists, is already inside its rootfs, but the user
    # program has not run yet
    assert pid_alive(pid)
    assert _proc_root_ident(pid) == _rootfs_ident(b)
    time.sleep(0.2)
    assert not (b.rootfs / "tmp" / "started").exists(), "user process ran before start"


def test_start_runs_process_then_kill_and_delete(runtime, bundle, cid):
    b = bundle(["sh", "-c", "touch /tmp/started; exec sleep 30"])
    runtime.create(cid, b)
    pid = runtime.state(cid)["pid"]

    runtime.start(cid)
    wait_for(lambda: (b.rootfs / "tmp" / "started").exists(), what="the process to run")
    st = runtime.state(cid)
    assert st["status"] == "running"
    assert st["pid"] == pid
    wait_for(lambda: open(f"/proc/{pid}/cmdline", "rb").read() == b"sleep\x0030\x00",
             what="the container's pid to exec sleep 30")

    runtime.kill(cid, "KILL")
    runtime.wait_status(cid, "stopped")
    wait_for(lambda: not pid_alive(pid), what="the container process to die")

    assert (runtime.root / cid).exists()
    runtime.delete(cid)
    assert not (runtime.root / cid).exists()
    res = runtime.run("state", cid)
    assert res.returncode != 0


def test_start_twice_fails(runtime, bundle, cid):
    b = bundle(SLEEP)
    runtime.create(cid, b)
    runtime.start(cid)
    res = runtime.start(cid, check=False)
    assert res.returncode != 0, res.describe()
    assert runtime.status(cid) == "running"


def test_start_of_stopped_container_fails(runtime, bundle, cid):
    b = bundle(["true"])
    runtime.create(cid, b)
    runtime.start(cid)
    runtime.wait_status(cid, "stopped")
    res = runtime.start(cid, check=False)
    assert res.returncode != 0, res.describe()


def test_delete_running_needs_force(runtime, bundle, cid):
    b = bundle(SLEEP)
    runtime.create(cid, b)
    runtime.start(cid)
    pid = runtime.state(cid)["pid"]

    res = runtime.delete(cid, check=False)
    assert res.returncode != 0, res.describe()
    assert runtime.status(cid) == "running"
    assert pid_alive(pid)

    runtime.delete(cid, "--force")
    assert not (runtime.root / cid).exists()
    wait_for(lambda: not pid_alive(pid), what="the force-deleted container's process to die")


def test_delete_force_of_created_container(runtime, bundle, cid):
    b = bundle(SLEEP)
    runtime.create(cid, b)
    pid = runtime.state(cid)["pid"]
    runtime.delete(cid, "--force")
    assert not (runtime.root / cid).exists()
    wait_for(lambda: not pid_alive(pid), what="the created container's process to die")


def test_delete_of_created_container_without_force_fails_or_cleans(runtime, bundle, cid):
    """A created container is not stopped: plain delete must not leave a half state.

    (runc refuses; either way the runtime must not report success and keep the process.)"""
    b = bundle(SLEEP)
    runtime.create(cid, b)
    pid = runtime.state(cid)["pid"]
    res = runtime.delete(cid, check=False)
    if res.returncode == 0:
        assert not (runtime.root / cid).exists()
        wait_for(lambda: not pid_alive(pid), what="the deleted container's process to die")
    else:
        assert runtime.status(cid) == "created"
        assert pid_alive(pid)


@pytest.mark.parametrize("sig", ["TERM", "SIGTERM", "15"])
def test_kill_signal_forms(runtime, bundle, cid, sig):
    # pid 1 of a pid namespace only gets signals it handles: trap TERM
    script = "trap 'echo got-TERM; exit 7' TERM; echo ready; sleep 30 & wait"
    b = bundle(["sh", "-c", script])
    created = runtime.create(cid, b)
    runtime.start(cid)
    wait_for(lambda: "ready" in created.read_out(), what="the trap to be installed")
    runtime.kill(cid, sig)
    runtime.wait_status(cid, "stopped")
    assert "got-TERM" in created.read_out()


def test_kill_default_signal_is_term(runtime, bundle, cid):
    script = "trap 'echo got-TERM; exit 7' TERM; echo ready; sleep 30 & wait"
    b = bundle(["sh", "-c", script])
    created = runtime.create(cid, b)
    runtime.start(cid)
    wait_for(lambda: "ready" in created.read_out(), what="the trap to be installed")
    runtime.run("kill", cid, check=True)
    runtime.wait_status(cid, "stopped")
    assert "got-TERM" in created.read_out()


def test_kill_stopped_container_fails(runtime, bundle, cid):
    b = bundle(["true"])
    runtime.create(cid, b)
    runtime.start(cid)
    runtime.wait_status(cid, "stopped")
    res = runtime.kill(cid, "KILL", check=False)
    assert res.returncode != 0, res.describe()
    assert "container not running" in res.stderr


@pytest.mark.parametrize("command", [["state"], ["delete"], ["start"], ["kill"]])
def test_unknown_id_fails(runtime, command):
    res = runtime.run(*command, "no-such-container-" + os.urandom(4).hex())
    assert res.returncode == 1, res.describe()
    assert "container does not exist" in res.stderr
    assert res.stdout == ""


def test_force_delete_of_unknown_id_succeeds(runtime):
    # runc's contract (what cleanup scripts rely on): --force makes delete idempotent
    res = runtime.run("delete", "--force", "no-such-container-" + os.urandom(4).hex())
    assert res.returncode == 0, res.describe()
    assert res.stdout == ""


def test_create_existing_id_fails(runtime, bundle, cid):
    b1 = bundle(SLEEP)
    b2 = bundle(SLEEP)
    runtime.create(cid, b1)
    before = runtime.state(cid)
    res = runtime.create(cid, b2, check=False)
    assert res.returncode != 0, res.describe()
    assert "already exists" in res.stderr
    after = runtime.state(cid)
    assert after["status"] == "created"
    assert after["pid"] == before["pid"]
    assert after["bundle"] == str(b1.path)
    assert pid_alive(before["pid"])


@pytest.mark.parametrize("code", [0, 3, 42])
def test_run_returns_exit_status(runtime, bundle, cid, code):
    b = bundle(["sh", "-c", f"echo out-{code}; exit {code}"])
    res = runtime.run_container(b, cid=cid)
    assert res.returncode == code, res.describe()
    assert res.stdout == f"out-{code}\n"
    # a foreground run deletes the container when it exits
    assert not (runtime.root / cid).exists()


@pytest.mark.parametrize("signo", [9, 15])
def test_run_signal_death_is_128_plus_n(runtime, bundle, cid, signo):
    # without a pid namespace the shell is not a namespace init: it can signal itself
    b = bundle(["sh", "-c", f"kill -{signo} $$; echo survived"],
               edit=lambda c: c["linux"]["namespaces"].remove({"type": "pid"}))
    res = runtime.run_container(b, cid=cid)
    assert res.returncode == 128 + signo, res.describe()
    assert "survived" not in res.stdout


def test_run_killed_from_outside(runtime, bundle, cid):
    b = bundle(["sh", "-c", "echo ready; exec sleep 30"])
    spawned = runtime.spawn("run", "--bundle", b, cid)
    wait_for(lambda: "ready" in spawned.out_path.read_text() or spawned.proc.poll() is not None,
             what="the container to run")
    assert spawned.proc.poll() is None, "run exited early: " + spawned.err_path.read_text()
    runtime.kill(cid, "KILL")
    res = spawned.wait()
    assert res.returncode == 137, res.describe()


def test_run_detach(runtime, bundle, cid):
    b = bundle(SLEEP)
    t0 = time.monotonic()
    res = runtime.run("run", "-d", "--bundle", b, cid, check=True, timeout=15)
    assert time.monotonic() - t0 < 10, "run -d waited for the container"
    assert res.returncode == 0
    st = runtime.state(cid)
    assert st["status"] == "running"
    assert pid_alive(st["pid"])
    time.sleep(0.2)
    assert runtime.status(cid) == "running"


def test_run_detach_pid_file(runtime, bundle, cid, workdir):
    b = bundle(SLEEP)
    pidfile = workdir / "pid"
    runtime.run("run", "-d", "--pid-file", pidfile, "--bundle", b, cid, check=True)
    assert int(pidfile.read_text()) == runtime.state(cid)["pid"]


def test_list(runtime, bundle, make_id):
    ids = [make_id("list"), make_id("list")]
    created = ids[0]
    running = ids[1]
    b1, b2 = bundle(SLEEP), bundle(SLEEP)
    runtime.create(created, b1)
    runtime.create(running, b2)
    runtime.start(running)

    quiet = runtime.run("list", "-q", check=True).stdout.split()
    assert sorted(quiet) == sorted(ids)

    table = runtime.run("list", check=True).stdout.splitlines()
    assert table[0].split()[:3] == ["ID", "PID", "STATUS"]
    rows = {line.split()[0]: line.split() for line in table[1:] if line.strip()}
    assert set(rows) == set(ids)
    assert rows[created][2] == "created"
    assert rows[running][2] == "running"
    assert rows[created][3] == str(b1.path)

    data = json.loads(runtime.run("list", "-f", "json", check=True).stdout)
    assert isinstance(data, list)
    by_id = {entry["id"]: entry for entry in data}
    assert set(by_id) == set(ids)
    assert by_id[created]["status"] == "created"
    assert by_id[running]["status"] == "running"
    assert by_id[running]["bundle"] == str(b2.path)
    assert by_id[running]["pid"] == runtime.state(running)["pid"]


def test_list_empty_root(runtime):
    res = runtime.run("list", "-q", check=True)
    assert res.stdout.strip() == ""
    data = runtime.run("list", "-f", "json", check=True).stdout.strip()
    assert json.loads(data or "[]") in ([], None)


RFC3339 = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)")


def test_state_json_fields(runtime, bundle, cid):
    b = bundle(SLEEP)
    before = datetime.datetime.now(datetime.UTC)
    runtime.create(cid, b)
    st = runtime.state(cid)
    for key in ("ociVersion", "id", "status", "pid", "bundle"):
        assert key in st, f"state lacks {key}: {st}"
    assert re.fullmatch(r"1\.\d+\.\d+.*", st["ociVersion"])
    assert isinstance(st["pid"], int) and st["pid"] > 0
    assert st["rootfs"] == str(b.rootfs)
    assert RFC3339.fullmatch(st["created"]), st["created"]
    # python < 3.11 cannot parse 'Z' nor 9 fraction digits: normalise
    created = re.sub(r"(\.\d{6})\d+", r"\1", st["created"]).replace("Z", "+00:00")
    when = datetime.datetime.fromisoformat(created)
    assert abs((when - before).total_seconds()) < 60


def test_state_of_stopped_container(runtime, bundle, cid):
    b = bundle(["true"])
    runtime.create(cid, b)
    runtime.start(cid)
    runtime.wait_status(cid, "stopped")
    st = runtime.state(cid)
    assert st["status"] == "stopped"
    assert st["id"] == cid
