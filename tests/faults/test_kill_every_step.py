"""SIGKILL of pyrunc at every step of create, start, exec and delete, then `delete --force`.

`PYRUNC_TEST_FAULT_AT=N` makes pyrunc kill itself at its Nth step (runtime/faults.py). Each
test raises N from 1 until the command runs to its end, and after every kill checks that
`state` and `list` still answer without a traceback and that `delete --force` leaves no
process, mount, cgroup, state directory or fifo behind.
"""

from __future__ import annotations

import json
import os

import pytest
from integration.test_cgroup_containers import predicted_dirs
from integration.util import parse_mountinfo, pid_alive, wait_for

pytestmark = pytest.mark.pyrunc_only("PYRUNC_TEST_FAULT_AT is pyrunc's test hook")

MAX_STEPS = 40  # more steps than any command has; reaching it means the hook is not honoured
SIGKILLED = -9


def faulted(runtime, n: int, *args, **kw):
    env = dict(os.environ, PYRUNC_TEST_FAULT_AT=str(n))
    return runtime.run(*args, env=env, **kw)


def processes_naming(cid: str) -> list[str]:
    """Live processes whose command line holds the id: pyrunc's forks keep its argv."""
    found = []
    me = os.getpid()
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit() or int(entry.name) == me:
            continue
        try:
            with open(f"/proc/{entry.name}/cmdline", "rb") as f:
                cmdline = f.read()
        except OSError:
            continue
        if cid.encode() in cmdline and pid_alive(int(entry.name)):
            shown = cmdline.replace(b"\0", b" ").decode(errors="replace")
            found.append(f"{entry.name}: {shown}")
    return found


def assert_answers(runtime, cid: str) -> None:
    """A half-made container: `state` and `list` answer, never with a traceback."""
    res = runtime.run("state", cid)
    assert "Traceback" not in res.stderr, res.describe()
    if res.returncode == 0:
        assert json.loads(res.stdout)["status"] in ("creating", "created", "running", "stopped")
    else:
        assert res.returncode == 1, res.describe()
    for args in (("list",), ("list", "--format", "json")):
        res = runtime.run(*args)
        assert res.returncode == 0 and "Traceback" not in res.stderr, res.describe()


def assert_nothing_left(runtime, cid: str, b, cgroups_path: str, step: str) -> None:
    assert not (runtime.root / cid).exists(), f"{step}: the state directory is left"
    wait_for(lambda: not processes_naming(cid), timeout=5,
             what=f"{step}: pyrunc's processes for {cid} to be gone ({processes_naming(cid)})")
    left = [d for d in predicted_dirs(cgroups_path).values() if os.path.exists(d)]
    assert not left, f"{step}: cgroup directories left: {left}"
    with open("/proc/self/mountinfo") as f:
        mounts = [m["mount_point"] for m in parse_mountinfo(f.read())
                  if m["mount_point"].startswith(str(b.path) + "/")]
    assert not mounts, f"{step}: mounts left under the bundle: {mounts}"


def recover(runtime, cid: str, b, cgroups_path: str, step: str) -> None:
    assert_answers(runtime, cid)
    res = runtime.delete(cid, "--force", check=False)
    assert res.returncode == 0, f"{step}: delete --force failed\n{res.describe()}"
    assert_nothing_left(runtime, cid, b, cgroups_path, step)


def kill_at_each_step(runtime, command, cid: str, b, cgroups_path: str, prepare=None) -> int:
    """Run ``command(n)`` for n = 1, 2, ... until it completes; recover after each kill.
    Returns how many steps were killed."""
    for n in range(1, MAX_STEPS):
        if prepare is not None:
            prepare()
        res = command(n)
        if res.returncode != SIGKILLED:
            assert res.returncode == 0, f"fault {n}: the command failed\n{res.describe()}"
            assert "test fault" not in res.stderr
            runtime.delete(cid, "--force")
            assert_nothing_left(runtime, cid, b, cgroups_path, "after the undisturbed run")
            return n - 1
        step = next((line for line in res.stderr.splitlines() if "test fault" in line), "")
        assert step, f"fault {n}: killed, but not by the test hook\n{res.describe()}"
        assert "Traceback" not in res.stderr, res.describe()
        recover(runtime, cid, b, cgroups_path, step)
    pytest.fail(f"the command was killed at all {MAX_STEPS} steps")


def _bundle(bundle, cid: str, args, **extra):
    path = f"/pyrunc-fault-{cid}"
    b = bundle(args, edit=lambda c: c["linux"].__setitem__("cgroupsPath", path), **extra)
    return b, path


USERNS = {
    "linux": {
        "uidMappings": [{"containerID": 0, "hostID": 100000, "size": 65536}],
        "gidMappings": [{"containerID": 0, "hostID": 100000, "size": 65536}],
    },
}
HOOKS = {
    "hooks": {
        "createRuntime": [{"path": "/bin/true"}],
        "startContainer": [{"path": "/bin/true"}],
        "poststart": [{"path": "/bin/true"}],
        "poststop": [{"path": "/bin/true"}],
    },
}


def _with_userns(c: dict) -> None:
    c["linux"]["namespaces"].append({"type": "user"})
    c["linux"]["namespaces"].append({"type": "cgroup"})


@pytest.mark.parametrize("variant", ["plain", "userns-hooks"])
def test_kill_during_create(runtime, bundle, cid, variant):
    extra = {}
    if variant == "userns-hooks":
        extra = dict(USERNS, **HOOKS)
    b, path = _bundle(bundle, cid, ["sleep", "30"], **extra)
    if variant == "userns-hooks":
        _with_userns(b.config)
        os.chmod(b.rootfs, 0o755)
        b.write_config()
    steps = kill_at_each_step(runtime, lambda n: faulted(runtime, n, "create", "--bundle", b.path, cid),
                              cid, b, path)
    assert steps >= 6, f"only {steps} steps were killed"


def test_kill_during_start(runtime, bundle, cid):
    b, path = _bundle(bundle, cid, ["sleep", "30"], **HOOKS)
    steps = kill_at_each_step(runtime, lambda n: faulted(runtime, n, "start", cid), cid, b, path,
                              prepare=lambda: runtime.create(cid, b))
    assert steps >= 3


def test_kill_during_exec(runtime, bundle, cid):
    b, path = _bundle(bundle, cid, ["sleep", "30"])

    def prepare():
        runtime.create(cid, b)
        runtime.start(cid)

    steps = kill_at_each_step(
        runtime, lambda n: faulted(runtime, n, "exec", "-d", cid, "sleep", "31"), cid, b, path,
        prepare=prepare)
    assert steps >= 3


def test_kill_during_delete(runtime, bundle, cid):
    b, path = _bundle(bundle, cid, ["sleep", "30"], **HOOKS)

    def prepare():
        runtime.create(cid, b)
        runtime.start(cid)

    steps = kill_at_each_step(runtime, lambda n: faulted(runtime, n, "delete", "--force", cid),
                              cid, b, path, prepare=prepare)
    assert steps >= 3


def test_kill_during_run_detached(runtime, bundle, cid):
    """`run -d` is create and start in one process: every step of both."""
    b, path = _bundle(bundle, cid, ["sleep", "30"])
    steps = kill_at_each_step(runtime, lambda n: faulted(runtime, n, "run", "-d", "--bundle", b.path, cid),
                              cid, b, path)
    assert steps >= 8


def test_init_of_a_create_killed_before_it_was_ready_exits_by_itself(runtime, bundle, cid):
    """The init enters its cgroup without asking the runtime (runtime.container_init): when
    the runtime dies before the init is ready, the init must not wait on exec.fifo for a
    `start` that cannot come; it sees the runtime gone when it reports ready, and exits."""
    b, path = _bundle(bundle, cid, ["sleep", "30"])
    for n in range(1, MAX_STEPS):
        res = faulted(runtime, n, "create", "--bundle", b.path, cid)
        assert res.returncode == SIGKILLED, f"never killed at stage-1's fork\n{res.describe()}"
        killed_after_fork = "stage-1 forked" in res.stderr
        if killed_after_fork:
            break
        recover(runtime, cid, b, path, f"fault {n}")
    # no delete yet: the container's own processes go away by themselves
    wait_for(lambda: not processes_naming(cid), timeout=10,
             what=f"the orphaned stage-1 and init of {cid} to exit ({processes_naming(cid)})")
    recover(runtime, cid, b, path, "after the init exited")
