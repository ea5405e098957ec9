"""How the container's processes enter its cgroup (runtime.cgroups.base.Manager, placing).

A pid written to cgroup.procs takes the kernel's global threadgroup lock, whose first use after
a quiet spell waits for an RCU grace period and stalls every fork on the host. So the init
writes "0" into each v1 hierarchy's `tasks` file itself (through files stage-1 opened as the
host's root), is cloned into a hybrid host's cgroup2 directory (clone3 CLONE_INTO_CGROUP),
and the runtime moves it only where neither works (in a user namespace: the cgroup2 part).
The trace shows who did what; /proc/<pid>/cgroup shows the result.
"""

import json
import os
import sys
from pathlib import Path

import pytest

from integration.test_cgroup_containers import (
    cg_bundle,
    cgroup_pids,
    finish,
    host_hierarchies,
    launch,
    predicted_dirs,
    require_v1,
    wait_out,
    watched_cgroups,
)
from integration.test_namespaces import userns_edit

pytestmark = pytest.mark.pyrunc_only(reason="the step trace is pyrunc's")

SLEEPER = ["sh", "-c", "echo READY; exec sleep 100"]


@pytest.fixture
def cg(runtime):
    yield from watched_cgroups(runtime)


def traced(workdir) -> tuple[dict, Path]:
    trace = workdir / "trace.jsonl"
    return {"env": dict(os.environ, PYRUNC_TRACE=str(trace))}, trace


def steps_of(trace: Path) -> list[tuple[str, str]]:
    return [(e["proc"], e["step"]) for e in map(json.loads, trace.read_text().splitlines())]


def split_dirs(path: str) -> tuple[dict[str, str], str | None]:
    """({v1 hierarchy: dir}, the cgroup2 dir of a hybrid host or None) for a cgroupsPath."""
    dirs = predicted_dirs(path)
    v2_names = [h["name"] for h in host_hierarchies() if not h["ctrls"]]
    v2 = dirs[v2_names[0]] if v2_names else None
    return {name: d for name, d in dirs.items() if name not in v2_names}, v2


def assert_in_every_cgroup(pid: int, path: str) -> None:
    for name, d in predicted_dirs(path).items():
        assert pid in cgroup_pids(d), f"{name}: {pid} is not in {d}"


def create_traced(runtime, cg, b, cid: str, workdir):
    """`create` with a step trace; the init must be in every cgroup of the bundle's path.
    -> (create Result, watched dirs, init pid, {v1 name: dir}, cgroup2 dir, trace steps)."""
    path = b.config["linux"]["cgroupsPath"]
    kw, trace = traced(workdir)
    res = runtime.create(cid, b, **kw)
    dirs = cg.track(cid)
    init = runtime.state(cid)["pid"]
    assert_in_every_cgroup(init, path)
    v1, v2 = split_dirs(path)
    return res, dirs, init, v1, v2, steps_of(trace)


def test_init_moves_itself_and_is_born_in_the_hybrid_cgroup2_dir(runtime, bundle, cg, cid, workdir):
    require_v1()
    b = cg_bundle(bundle, cg, cid, SLEEPER)
    res, dirs, _, v1, v2, steps = create_traced(runtime, cg, b, cid, workdir)
    for d in v1.values():
        assert ("stage-1", f"open('{d}/tasks')") in steps, d
        assert ("init", f"write('{d}/tasks', '0')") in steps, d
    if v2 is not None:
        assert ("stage-1", f"clone3('CLONE_INTO_CGROUP', '{v2}')") in steps
    # after the setup (its memory stays the runtime's) and before the user's program
    last_mount = max(i for i, (proc, step) in enumerate(steps)
                     if proc == "init" and step.startswith("mount("))
    first_write = min(i for i, (proc, step) in enumerate(steps)
                      if proc == "init" and step.endswith("/tasks', '0')"))
    assert last_mount < first_write
    runtime.start(cid)
    wait_out(res, "READY")
    finish(runtime, cid, dirs)


def test_user_namespace_init_is_placed_in_every_cgroup(runtime, bundle, cg, cid, workdir):
    """In a user namespace the clone into the cgroup2 dir is not allowed (the container's
    credentials): the runtime moves the init there; the v1 files were opened as the host's
    root, so the init's own writes still work. exec's process joins the same cgroups."""
    require_v1()
    b = cg_bundle(bundle, cg, cid, SLEEPER, edit=userns_edit)
    res, dirs, init, v1, _, steps = create_traced(runtime, cg, b, cid, workdir)
    assert not any(step.startswith("clone3(") for _, step in steps)
    assert all(("init", f"write('{d}/tasks', '0')") in steps for d in v1.values())
    runtime.start(cid)
    wait_out(res, "READY")
    out = runtime.run("exec", cid, "cat", "/proc/self/cgroup", check=True)
    assert out.stdout == Path(f"/proc/{init}/cgroup").read_text()
    finish(runtime, cid, dirs)


def test_exec_process_is_in_every_cgroup_of_the_container(runtime, bundle, cg, cid, workdir):
    require_v1()
    b = cg_bundle(bundle, cg, cid, SLEEPER)
    path = b.config["linux"]["cgroupsPath"]
    _, dirs = launch(runtime, cg, b, cid)
    pid_file = workdir / "exec.pid"
    runtime.run("exec", "-d", "--pid-file", str(pid_file), cid, "sleep", "100", check=True)
    assert_in_every_cgroup(int(pid_file.read_text()), path)
    finish(runtime, cid, dirs)


@pytest.mark.parametrize("hook", ["prestart", "createRuntime"])
def test_create_hooks_see_the_init_in_every_cgroup(runtime, bundle, cg, cid, workdir, hook):
    """As with runc, hooks that look the container's cgroups up from the init's pid (GPU and
    network plugins do) find it in them: with create hooks the init joins before they run."""
    require_v1()
    seen = workdir / "cgroup-seen-by-hook"
    script = ("import json, sys; pid = json.load(sys.stdin)['pid']; "
              f"open({str(seen)!r}, 'w').write(open(f'/proc/{{pid}}/cgroup').read())")
    hooks = {hook: [{"path": sys.executable, "args": ["python3", "-c", script]}]}
    b = cg_bundle(bundle, cg, cid, SLEEPER, edit=lambda c: c.__setitem__("hooks", hooks))
    path = b.config["linux"]["cgroupsPath"]
    _, dirs = launch(runtime, cg, b, cid)
    init = runtime.state(cid)["pid"]
    assert seen.read_text() == Path(f"/proc/{init}/cgroup").read_text()
    assert_in_every_cgroup(init, path)
    finish(runtime, cid, dirs)
