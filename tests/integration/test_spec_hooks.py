"""runtime-spec config.md "POSIX-platform Hooks" and runtime.md "Lifecycle": the six hook kinds,
when each runs (create / start / delete), in which namespaces, with which args, env and state
on stdin, the ``timeout``, and what a failing hook does to the operation.

Every hook is one shell script that appends a record to a log file on the host (hooks that run
inside the container reach it through a bind mount)."""

from __future__ import annotations

import json
import os
import re
import time
import uuid
from pathlib import Path

import pytest

from .util import wait_for

HOOK_SCRIPT = r"""#!/bin/sh
# hook.sh LABEL LOG [more args...]: append one record about this hook run to LOG
label=$1
log=$2
state=$(cat | tr '\n' ' ')
pid=$(echo "$state" | sed -n 's/.*"pid" *: *\([0-9][0-9]*\).*/\1/p')
cmdline=
[ -n "$pid" ] && cmdline=$(tr '\0' ' ' < /proc/$pid/cmdline 2>/dev/null)
{
  echo "BEGIN $label"
  echo "args=$*"
  echo "mnt=$(readlink /proc/self/ns/mnt)"
  echo "uts=$(readlink /proc/self/ns/uts)"
  echo "env=$(env | sort | tr '\n' ' ')"
  echo "cmdline=$cmdline"
  echo "state=$state"
  echo "END $label"
} >> "$log"
exit ${HOOK_EXIT:-0}
"""

HOOK_PATH_ENV = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
LEAK = "PYRUNC_TEST_LEAK"


def parse_log(path: Path) -> list[dict]:
    """Records of the hook log, in order: {label, args, mnt, uts, env, cmdline, state}."""
    if not path.exists():
        return []
    records, cur = [], None
    for line in path.read_text().splitlines():
        if line.startswith("BEGIN "):
            cur = {"label": line[6:]}
        elif line.startswith("END "):
            assert cur is not None and cur["label"] == line[4:], path.read_text()
            raw = cur.get("state", "").strip()
            try:
                cur["state_json"] = json.loads(raw) if raw else None
            except ValueError:
                cur["state_json"] = None
            records.append(cur)
            cur = None
        elif cur is not None:
            key, _, value = line.partition("=")
            cur[key] = value
    return records


def labels(records) -> list[str]:
    return [r["label"] for r in records]


class HookSetup:
    """A bundle's hook script (in the bundle dir and in the rootfs) and the shared log."""

    def __init__(self, workdir: Path):
        self.logdir = workdir / "hooklog"
        self.logdir.mkdir()
        os.chmod(self.logdir, 0o777)
        self.log = self.logdir / "log"
        self.host_script: Path | None = None

    def install(self, b) -> None:
        for path in (b.path / "hook.sh", b.rootfs / "hook.sh"):
            path.write_text(HOOK_SCRIPT)
            os.chmod(path, 0o755)
        self.host_script = b.path / "hook.sh"

    def hook(self, b, label: str, *, inside: bool = False, exit_code: int = 0, timeout: int | None = None,
             extra_args=("x y", "--flag")) -> dict:
        path = "/hook.sh" if inside else str(b.path / "hook.sh")
        log = "/hooklog/log" if inside else str(self.log)
        env = [HOOK_PATH_ENV, f"HOOKENV={label} value"]
        if exit_code:
            env.append(f"HOOK_EXIT={exit_code}")
        h = {"path": path, "args": ["hook.sh", label, log, *extra_args], "env": env}
        if timeout is not None:
            h["timeout"] = timeout
        return h

    def records(self) -> list[dict]:
        return parse_log(self.log)


def make_hooked_bundle(bundle, setup: HookSetup, args, hooks_fn):
    """``hooks_fn(b) -> hooks dict`` (called once the bundle, hence its path, exists)."""
    b = bundle(args)
    setup.install(b)
    b.config["hooks"] = hooks_fn(b)
    b.config["mounts"].append({"destination": "/hooklog", "type": "bind", "source": str(setup.logdir),
                               "options": ["rbind", "rw"]})
    b.write_config()
    return b


def host_ns(kind: str) -> str:
    return os.readlink(f"/proc/self/ns/{kind}")


def runtime_env() -> dict:
    return dict(os.environ, **{LEAK: "leaked-from-runtime-env"})


# --------------------------------------------------------------------------- the full lifecycle

ALL_KINDS = ["prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"]
# runc 1.1.5 runs the poststart hooks at the end of *create* (status "created", before the user
# program), not during start: fixed in runc 1.2.  The checks of poststart's timing are apart.
RUNC_POSTSTART_AT_CREATE = "runc 1.1.5 runs poststart hooks during create, before the user program"


def lifecycle_with_all_hooks(runtime, bundle, workdir, cid):
    """create / start / kill / delete a container with every hook kind (two createRuntime
    hooks); returns (bundle, setup, records after create, after start, after delete, info)."""
    setup = HookSetup(workdir)

    def hooks(b):
        return {
            "prestart": [setup.hook(b, "prestart")],
            "createRuntime": [setup.hook(b, "createRuntime-1"), setup.hook(b, "createRuntime-2")],
            "createContainer": [setup.hook(b, "createContainer")],
            "startContainer": [setup.hook(b, "startContainer", inside=True)],
            "poststart": [setup.hook(b, "poststart")],
            "poststop": [setup.hook(b, "poststop")],
        }

    b = make_hooked_bundle(bundle, setup, ["sleep", "31"], hooks)
    env = runtime_env()

    runtime.create(cid, b, env=env)
    after_create = setup.records()
    pid = runtime.state(cid)["pid"]
    info = {"pid": pid, "mnt": os.readlink(f"/proc/{pid}/ns/mnt"), "uts": os.readlink(f"/proc/{pid}/ns/uts")}
    assert (info["mnt"], info["uts"]) != (host_ns("mnt"), host_ns("uts"))

    runtime.start(cid, env=env)
    after_start = setup.records()
    assert runtime.state(cid)["status"] == "running"

    runtime.kill(cid)
    runtime.wait_status(cid, "stopped")
    assert labels(setup.records()) == labels(after_start), "a hook ran at kill/exit"
    runtime.delete(cid, env=env)
    return b, setup, after_create, after_start, setup.records(), info


def without(names, *drop):
    return [n for n in names if n not in drop]


def test_all_hooks_order_namespaces_args_env_and_state(runtime, bundle, workdir, cid):
    b, setup, after_create, after_start, records, info = lifecycle_with_all_hooks(
        runtime, bundle, workdir, cid)
    pid = info["pid"]

    # when: create -> prestart, createRuntime (in the listed order), createContainer;
    # start -> startContainer; delete -> poststop   (poststart: see the next test)
    assert without(labels(after_create), "poststart") == [
        "prestart", "createRuntime-1", "createRuntime-2", "createContainer"]
    assert without(labels(after_start), "poststart") == without(labels(after_create), "poststart") + [
        "startContainer"]
    assert labels(records) == labels(after_start) + ["poststop"]
    assert labels(records).count("poststart") == 1

    by = {r["label"]: r for r in records}
    runtime_side = ["prestart", "createRuntime-1", "createRuntime-2", "poststart", "poststop"]
    container_side = ["createContainer", "startContainer"]
    # where
    for label in runtime_side:
        assert (by[label]["mnt"], by[label]["uts"]) == (host_ns("mnt"), host_ns("uts")), label
    for label in container_side:
        assert (by[label]["mnt"], by[label]["uts"]) == (info["mnt"], info["uts"]), label
    # args (after argv[0]) and the configured env, nothing of the runtime's
    for label, r in by.items():
        log = "/hooklog/log" if label == "startContainer" else str(setup.log)
        assert r["args"] == f"{label} {log} x y --flag", (label, r["args"])
        assert f"HOOKENV={label} value" in r["env"], (label, r["env"])
        assert LEAK not in r["env"], (label, r["env"])
    # state on stdin
    for label, r in by.items():
        s = r["state_json"]
        assert isinstance(s, dict), (label, r["state"])
        assert s["id"] == cid, label
        assert s["bundle"] == str(b.path), label
        assert s.get("ociVersion"), label
    expected_status = {"prestart": "creating", "createRuntime-1": "creating", "createRuntime-2": "creating",
                       "createContainer": "creating", "startContainer": "created", "poststop": "stopped"}
    got_status = {label: by[label]["state_json"]["status"] for label in expected_status}
    assert got_status == expected_status
    # pid: as seen by the runtime for runtime-namespace hooks, by the container otherwise
    for label in ["prestart", "createRuntime-1", "createRuntime-2", "poststart"]:
        assert by[label]["state_json"]["pid"] == pid, label
    for label in container_side:
        assert by[label]["state_json"]["pid"] == 1, label
    # startContainer runs before the user program is executed
    assert by["startContainer"]["cmdline"].split() != ["sleep", "31"]


@pytest.mark.pyrunc_only(reason=RUNC_POSTSTART_AT_CREATE)
def test_poststart_runs_during_start_after_the_user_program(runtime, bundle, workdir, cid):
    _, _, after_create, after_start, records, _ = lifecycle_with_all_hooks(runtime, bundle, workdir, cid)
    assert "poststart" not in labels(after_create)
    assert labels(after_start)[-2:] == ["startContainer", "poststart"]
    post = next(r for r in records if r["label"] == "poststart")
    assert post["state_json"]["status"] == "running"
    # the container process had already executed the user program
    assert post["cmdline"].split() == ["sleep", "31"]


def run_with_every_hook(runtime, bundle, workdir, cid) -> list[str]:
    setup = HookSetup(workdir)

    def hooks(b):
        return {k: [setup.hook(b, k, inside=(k == "startContainer"))] for k in ALL_KINDS}

    b = make_hooked_bundle(bundle, setup, ["true"], hooks)
    res = runtime.run_container(b, cid=cid)
    assert res.returncode == 0, res.describe()
    assert runtime.status(cid) is None
    return labels(setup.records())


def test_hooks_of_run(runtime, bundle, workdir, cid):
    """``run`` = create + start (+ delete on exit): every hook kind runs once."""
    seen = run_with_every_hook(runtime, bundle, workdir, cid)
    assert sorted(seen) == sorted(ALL_KINDS)
    assert without(seen, "poststart") == without(ALL_KINDS, "poststart")


@pytest.mark.pyrunc_only(reason=RUNC_POSTSTART_AT_CREATE)
def test_hooks_of_run_in_lifecycle_order(runtime, bundle, workdir, cid):
    assert run_with_every_hook(runtime, bundle, workdir, cid) == ALL_KINDS


# --------------------------------------------------------------------------- timeout


def hook_processes(token: str) -> list[int]:
    found = []
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                cmd = Path(f"/proc/{entry.name}/cmdline").read_bytes()
            except OSError:
                continue
            if token.encode() in cmd:
                found.append(int(entry.name))
    return found


@pytest.mark.parametrize("kind", ["createRuntime", "prestart"])
def test_hook_timeout_kills_it_and_fails_create(runtime, bundle, workdir, cid, kind):
    setup = HookSetup(workdir)
    token = f"3{uuid.uuid4().int % 1000:03d}.{uuid.uuid4().int % 1000000}"
    hang = workdir / "hang.sh"
    hang.write_text(f"#!/bin/sh\nexec sleep {token}\n")
    os.chmod(hang, 0o755)

    def hooks(b):
        return {kind: [{"path": str(hang), "args": ["hang.sh"], "timeout": 1}],
                "poststop": [setup.hook(b, "poststop")]}

    b = make_hooked_bundle(bundle, setup, ["true"], hooks)
    t0 = time.monotonic()
    res = runtime.create(cid, b, check=False, timeout=30)
    elapsed = time.monotonic() - t0
    assert res.returncode == 1, res.describe()
    assert elapsed < 10, f"create took {elapsed:.1f}s with a 1s hook timeout"
    assert runtime.status(cid) is None
    assert not (runtime.root / cid).exists()
    wait_for(lambda: not hook_processes(token), timeout=3, what="the timed-out hook to be gone")
    # a failed hook: the lifecycle continues at destroy, then the poststop hooks
    assert labels(setup.records()) == ["poststop"]


# --------------------------------------------------------------------------- failures

# "exit status 3", "exited with code 3", "exit code: 3", ...
EXIT_3 = re.compile(r"(exit|status|code)[^0-9\n]{0,20}\b3\b", re.I)


@pytest.mark.parametrize("kind", ["prestart", "createRuntime", "createContainer"])
def test_failing_create_time_hook_fails_create(runtime, bundle, workdir, cid, kind):
    """runtime.md lifecycle: a failing create-time hook: generate an error, stop the container
    and continue at step 12 (destroy), then 13 (the poststop hooks)."""
    setup = HookSetup(workdir)

    def hooks(b):
        return {kind: [setup.hook(b, kind, exit_code=3)], "poststop": [setup.hook(b, "poststop")]}

    b = make_hooked_bundle(bundle, setup, ["true"], hooks)
    res = runtime.create(cid, b, check=False)
    assert res.returncode == 1, res.describe()
    assert EXIT_3.search(res.stderr), res.describe()
    assert runtime.status(cid) is None
    assert not (runtime.root / cid).exists()
    assert runtime.list_ids() == []
    assert labels(setup.records()) == [kind, "poststop"]


@pytest.mark.pyrunc_only(reason="runc 1.1.5's hook error does not name the hook's path")
def test_failing_hook_error_names_path_and_status(runtime, bundle, workdir, cid):
    setup = HookSetup(workdir)

    def hooks(b):
        return {"createRuntime": [setup.hook(b, "createRuntime", exit_code=3)]}

    b = make_hooked_bundle(bundle, setup, ["true"], hooks)
    res = runtime.create(cid, b, check=False)
    assert res.returncode == 1, res.describe()
    assert str(setup.host_script) in res.stderr, res.describe()
    assert EXIT_3.search(res.stderr), res.describe()


def delete_with_failing_poststop(runtime, bundle, workdir, cid) -> tuple:
    setup = HookSetup(workdir)

    def hooks(b):
        return {"poststop": [setup.hook(b, "poststop-1", exit_code=4), setup.hook(b, "poststop-2")]}

    b = make_hooked_bundle(bundle, setup, ["true"], hooks)
    runtime.create(cid, b)
    runtime.start(cid)
    runtime.wait_status(cid, "stopped")
    res = runtime.delete(cid, check=False)
    return res, labels(setup.records())


def test_failing_poststop_hook_is_only_a_warning(runtime, bundle, workdir, cid):
    res, seen = delete_with_failing_poststop(runtime, bundle, workdir, cid)
    assert res.returncode == 0, res.describe()
    assert runtime.status(cid) is None
    assert not (runtime.root / cid).exists()
    assert seen[0] == "poststop-1"


@pytest.mark.pyrunc_only(reason="runc 1.1.5 skips the poststop hooks after a failing one")
def test_failing_poststop_hook_does_not_stop_the_others(runtime, bundle, workdir, cid):
    """runtime.md step 13: the remaining hooks and lifecycle continue as if the hook had
    succeeded."""
    res, seen = delete_with_failing_poststop(runtime, bundle, workdir, cid)
    assert res.returncode == 0, res.describe()
    assert seen == ["poststop-1", "poststop-2"]


@pytest.mark.pyrunc_only(reason="runc 1.1.5 predates runtime-spec 1.3's poststart failure semantics")
def test_failing_poststart_hook_fails_start_and_destroys(runtime, bundle, workdir, cid):
    """runtime.md lifecycle step 9: a failing poststart hook: generate an error, stop the
    container and continue at step 12 (destroy), then 13 (poststop hooks)."""
    setup = HookSetup(workdir)

    def hooks(b):
        return {"poststart": [setup.hook(b, "poststart", exit_code=5)],
                "poststop": [setup.hook(b, "poststop")]}

    b = make_hooked_bundle(bundle, setup, ["sleep", "31"], hooks)
    runtime.create(cid, b)
    pid = runtime.state(cid)["pid"]
    res = runtime.start(cid, check=False)
    assert res.returncode != 0, res.describe()
    wait_for(lambda: not os.path.exists(f"/proc/{pid}") or
             Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] in ("Z", "X"),
             timeout=5, what="the container process to be stopped")
    assert labels(setup.records()) == ["poststart", "poststop"]
    assert runtime.status(cid) is None


@pytest.mark.pyrunc_only(reason="runc 1.1.5 does not destroy the container when a startContainer hook fails")
def test_failing_start_container_hook_fails_start(runtime, bundle, workdir, cid):
    """A failing startContainer hook: start fails, the user program never runs, the container
    is destroyed and the poststop hooks run."""
    setup = HookSetup(workdir)

    def hooks(b):
        return {"startContainer": [setup.hook(b, "startContainer", inside=True, exit_code=6)],
                "poststop": [setup.hook(b, "poststop")]}

    b = make_hooked_bundle(bundle, setup, ["sh", "-c", "touch /hooklog/user-program-ran"], hooks)
    runtime.create(cid, b)
    res = runtime.start(cid, check=False)
    assert res.returncode != 0, res.describe()
    time.sleep(0.2)
    assert not (setup.logdir / "user-program-ran").exists()
    assert labels(setup.records()) == ["startContainer", "poststop"]
    assert runtime.status(cid) is None
