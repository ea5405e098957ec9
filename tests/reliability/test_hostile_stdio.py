"""Containers that misuse their stdio: close it at once, flood it, exit before `start`
returns. The runtime never hangs (every command has a timeout), never shows a traceback,
and `delete` cleans up."""

from __future__ import annotations

import os
import subprocess
import threading
import time

import pytest
from integration.util import pid_alive, wait_for

from .helpers import assert_no_traceback

FLOOD_MB = 8
FLOOD = ["sh", "-c", f"head -c {FLOOD_MB * 1024 * 1024} /dev/zero | tr '\\0' x; echo done >&2"]
CLOSE_STDIO = ["sh", "-c", "exec >&- 2>&- <&-; sleep 0.2; exit 3"]


def _gone(runtime, cid: str) -> None:
    assert not (runtime.root / cid).exists(), f"state of {cid} left"


def test_run_flooding_stdout_to_a_file(runtime, bundle, cid):
    res = runtime.run_container(bundle(FLOOD), cid=cid, timeout=60)
    assert res.returncode == 0, res.describe()[:2000]
    assert_no_traceback(res)
    assert res.out_path.stat().st_size == FLOOD_MB * 1024 * 1024
    _gone(runtime, cid)


def test_run_flooding_a_pipe_read_slowly(runtime, bundle, cid):
    b = bundle(FLOOD)
    proc = subprocess.Popen(runtime.argv("run", "--bundle", b, cid), stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd="/")
    got = 0
    err = b""
    try:
        while True:
            chunk = proc.stdout.read(256 * 1024)
            if not chunk:
                break
            got += len(chunk)
            time.sleep(0.005)  # a slow reader: the container blocks on a full pipe meanwhile
        err = proc.stderr.read()
        rc = proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert rc == 0, err.decode(errors="replace")
    assert b"Traceback" not in err
    assert got == FLOOD_MB * 1024 * 1024
    _gone(runtime, cid)


def test_run_with_the_pipe_closed_by_the_reader(runtime, bundle, cid):
    """The reader goes away: the container dies of SIGPIPE (or EPIPE), `run` reports its
    status and removes it; it does not hang or crash on its own writes."""
    b = bundle(FLOOD)
    proc = subprocess.Popen(runtime.argv("run", "--bundle", b, cid), stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd="/")
    try:
        proc.stdout.read(64 * 1024)
        proc.stdout.close()
        err = proc.stderr.read()
        rc = proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert b"Traceback" not in err, err.decode(errors="replace")
    assert rc in (0, 1, 128 + 13), err.decode(errors="replace")  # the shell's last command, or SIGPIPE
    wait_for(lambda: not (runtime.root / cid).exists(), timeout=10, what="run to remove the container")


def test_detached_flood_into_dev_null(runtime, bundle, cid):
    b = bundle(FLOOD)
    with open(os.devnull, "wb") as null:
        res = runtime.run("run", "-d", "--bundle", b, cid, fds={1: null.fileno()})
    assert res.returncode == 0, res.describe()
    runtime.wait_status(cid, "stopped", timeout=30)
    runtime.delete(cid)
    _gone(runtime, cid)


def test_create_start_with_a_pipe_nobody_reads_then_closed(runtime, bundle, cid):
    """create + start with stdout a pipe: the container fills it and blocks; the runtime
    commands do not wait for it; after the pipe's reader closes, `delete --force` cleans."""
    b = bundle(FLOOD)
    r, w = os.pipe()
    try:
        res = runtime.run("create", "--bundle", b, cid, fds={1: w}, timeout=20)
        assert res.returncode == 0, res.describe()
        pid = runtime.state(cid)["pid"]
        res = runtime.run("start", cid, fds={1: w}, timeout=20)
        assert res.returncode == 0, res.describe()
        assert_no_traceback(res)
        time.sleep(0.3)
        assert runtime.status(cid) == "running"  # blocked on the full pipe
    finally:
        os.close(w)
        os.close(r)
    res = runtime.run("delete", "--force", cid, timeout=20)
    assert res.returncode == 0, res.describe()
    assert not pid_alive(pid)
    _gone(runtime, cid)


@pytest.mark.parametrize("detach", [False, True], ids=["run", "run-d"])
def test_container_closing_its_stdio_at_once(runtime, bundle, cid, detach):
    b = bundle(CLOSE_STDIO)
    if detach:
        res = runtime.run("run", "-d", "--bundle", b, cid)
        assert res.returncode == 0, res.describe()
        runtime.wait_status(cid, "stopped", timeout=10)
        runtime.delete(cid)
    else:
        res = runtime.run_container(b, cid=cid)
        assert res.returncode == 3, res.describe()
    assert_no_traceback(res)
    _gone(runtime, cid)


def test_container_exiting_before_start_returns(runtime, bundle, cid):
    """`true` exits as soon as it is released; many rounds make the exit land inside `start`."""
    b = bundle(["true"])
    for i in range(10):
        name = f"{cid}-{i}"
        runtime.create(name, b)
        res = runtime.run("start", name)
        assert res.returncode == 0, res.describe()
        assert_no_traceback(res)
        runtime.wait_status(name, "stopped", timeout=10)
        res = runtime.run("delete", name)
        assert res.returncode == 0, res.describe()
        _gone(runtime, name)


def test_commands_racing_an_exiting_container(runtime, bundle, cid):
    """state/kill/list while the container exits: each answers (no traceback), nothing hangs."""
    b = bundle(["sh", "-c", "sleep 0.3"])
    runtime.create(cid, b)
    runtime.start(cid)
    seen = []

    def poke():
        for _ in range(30):
            for args in (("state", cid), ("kill", cid, "0"), ("list", "-q")):
                seen.append(runtime.run(*args, timeout=10))

    t = threading.Thread(target=poke)
    t.start()
    t.join(timeout=60)
    assert not t.is_alive()
    for res in seen:
        assert_no_traceback(res)
        assert res.returncode in (0, 1), res.describe()
    runtime.wait_status(cid, "stopped")
    runtime.delete(cid)
