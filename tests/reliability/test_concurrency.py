"""Many runtime commands at once: one id created by many, many containers churning while
`list` runs in a loop. Real processes, 2 cores: the pools stay small."""

from __future__ import annotations

import json
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from integration.util import pid_alive

from .helpers import Cli, assert_no_traceback, container_cgroups

RACERS = 100
CONTAINERS = 100
POOL = 16


def test_same_id_created_by_many_at_once(runtime, bundle, cid, workdir):
    cli = Cli(runtime, workdir)
    b = bundle(["sleep", "60"])
    barrier = threading.Barrier(POOL)

    def create(i: int):
        if i < POOL:
            barrier.wait(timeout=30)  # the first wave starts together
        return cli("create", "--bundle", b, cid)

    with ThreadPoolExecutor(POOL) as pool:
        results = list(pool.map(create, range(RACERS)))
    winners = [r for r in results if r.returncode == 0]
    losers = [r for r in results if r.returncode != 0]
    assert len(winners) == 1, "\n".join(r.describe() for r in winners[:3])
    for r in losers:
        assert r.returncode == 1, r.describe()
        assert_no_traceback(r)
        assert "already exists" in r.stderr, r.describe()
    assert runtime.list_ids() == [cid]
    pid = runtime.state(cid)["pid"]
    cgroups = container_cgroups(pid)
    assert pid_alive(pid) and runtime.status(cid) == "created"
    runtime.delete(cid, "--force")
    assert not pid_alive(pid)
    assert not [d for d in cgroups if os.path.isdir(d)]
    assert not any(runtime.root.iterdir())


def test_many_containers_churn_while_list_loops(runtime, bundle, make_id, workdir):
    cli = Cli(runtime, workdir)
    b = bundle(["sh", "-c", "echo hello"])
    stop = threading.Event()
    list_runs: list[int] = []
    list_failures: list[str] = []

    def list_loop():
        formats = [("list",), ("list", "--format", "json"), ("list", "-q")]
        n = 0
        while not stop.is_set():
            args = formats[n % len(formats)]
            n += 1
            res = cli(*args, timeout=20)
            problem = None
            if res.returncode != 0 or "Traceback" in res.stderr:
                problem = "failed"
            elif "json" in args:
                try:
                    docs = json.loads(res.stdout)
                    assert isinstance(docs, list) and all(isinstance(d["id"], str) for d in docs)
                except (ValueError, AssertionError, KeyError, TypeError):
                    problem = "not a JSON list of containers"
            if problem:
                list_failures.append(f"{problem}:\n{res.describe()}")
            list_runs.append(1)

    def lifecycle(i: int) -> str | None:
        cid = make_id(f"churn{i}")
        for args in (("create", "--bundle", b, cid), ("start", cid)):
            res = cli(*args)
            if res.returncode != 0:
                cli("delete", "--force", cid)
                return res.describe()
        deadline = time.monotonic() + 20
        while True:
            res = cli("state", cid)
            if res.returncode != 0:
                return res.describe()
            if json.loads(res.stdout)["status"] == "stopped":
                break
            if time.monotonic() > deadline:
                cli("delete", "--force", cid)
                return f"{cid} never stopped"
            time.sleep(0.05)
        res = cli("delete", cid)
        return None if res.returncode == 0 else res.describe()

    listers = [threading.Thread(target=list_loop) for _ in range(2)]
    for t in listers:
        t.start()
    try:
        with ThreadPoolExecutor(POOL) as pool:
            problems = [p for p in pool.map(lifecycle, range(CONTAINERS)) if p]
    finally:
        stop.set()
        for t in listers:
            t.join(timeout=30)
    assert not problems, f"{len(problems)} lifecycles failed; first:\n{problems[0]}"
    assert not list_failures, (f"{len(list_failures)} of {len(list_runs)} lists failed; first:\n"
                               f"{list_failures[0]}")
    assert len(list_runs) >= 10
    assert runtime.list_ids() == []
