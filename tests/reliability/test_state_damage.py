"""A damaged state directory: every command says what is wrong, `list` goes on, and
`delete --force` still removes the container (its processes and cgroups too)."""

from __future__ import annotations

import json
import os
import shutil

import pytest
from integration.util import pid_alive, wait_for

from .helpers import assert_clean_failure, assert_no_traceback, container_cgroups

SLEEP = ["sleep", "60"]


def _truncate(path: str) -> None:
    with open(path, "rb") as f:
        data = f.read()
    with open(path, "wb") as f:
        f.write(data[: len(data) // 2])


def _garbage(path: str) -> None:
    with open(path, "wb") as f:
        f.write(b"\x00\xff\xfe garbage {[\x80")


def _empty(path: str) -> None:
    open(path, "wb").close()


def _directory(path: str) -> None:
    os.unlink(path)
    os.mkdir(path)
    with open(os.path.join(path, "inside"), "w") as f:
        f.write("x")


def _missing(path: str) -> None:
    os.unlink(path)


def _wrong_types(path: str) -> None:
    with open(path) as f:
        record = json.load(f)
    record["pid"] = str(record["pid"])
    with open(path, "w") as f:
        json.dump(record, f)


def _not_an_object(path: str) -> None:
    with open(path, "w") as f:
        f.write("[1, 2, 3]")


DAMAGE = {
    "truncated": (_truncate, "damaged"),
    "garbage": (_garbage, "damaged"),
    "empty": (_empty, "empty"),
    "directory": (_directory, "Is a directory"),
    "missing": (_missing, "missing"),
    "wrong-types": (_wrong_types, "not a process id"),
    "not-an-object": (_not_an_object, "not a JSON object"),
}


@pytest.fixture
def damaged(request, runtime, bundle, make_id):
    """(healthy id, damaged id, init pid of the damaged one, its cgroup dirs, what the error says).

    The record is put back at the end, so that only the test of `delete --force` depends on
    that command coping with the damage."""
    damage, what = DAMAGE[request.param]
    healthy, broken = make_id("healthy"), make_id("broken")
    runtime.create(healthy, bundle(SLEEP))
    runtime.create(broken, bundle(SLEEP))
    pid = runtime.state(broken)["pid"]
    cgroups = container_cgroups(pid)
    path = runtime.root / broken / "state.json"
    saved = path.read_bytes()
    damage(str(path))
    yield healthy, broken, pid, cgroups, what
    if (runtime.root / broken).is_dir():
        if path.is_dir():
            shutil.rmtree(path)
        path.write_bytes(saved)


@pytest.mark.pyrunc_only
@pytest.mark.parametrize("damaged", sorted(DAMAGE), indirect=True)
def test_commands_name_the_damaged_file(runtime, damaged):
    _, broken, pid, _, what = damaged
    for args in (["state", broken], ["start", broken], ["kill", broken, "KILL"],
                 ["exec", broken, "true"], ["delete", broken]):
        res = runtime.run(*args)
        assert_clean_failure(res, "state.json", what)
        assert len(res.stderr.strip().splitlines()) == 1, res.describe()
    assert pid_alive(pid), "a command on a damaged state must not touch the container"


@pytest.mark.pyrunc_only
@pytest.mark.parametrize("damaged", sorted(DAMAGE), indirect=True)
def test_list_goes_on_and_warns(runtime, damaged):
    healthy, broken, _, _, _ = damaged
    res = runtime.run("list", "-q")
    assert res.returncode == 0, res.describe()
    assert_no_traceback(res)
    assert res.stdout.split() == [healthy], res.describe()
    assert broken in res.stderr, "the skipped container deserves a warning:\n" + res.describe()
    res = runtime.run("list", "--format", "json")
    assert res.returncode == 0, res.describe()
    assert [c["id"] for c in json.loads(res.stdout)] == [healthy]
    res = runtime.run("list")
    assert res.returncode == 0 and healthy in res.stdout and broken not in res.stdout, res.describe()


@pytest.mark.parametrize("damaged", sorted(DAMAGE), indirect=True)
def test_delete_force_removes_everything(runtime, damaged):
    healthy, broken, pid, cgroups, _ = damaged
    assert cgroups, "the container should have cgroups of its own"
    res = runtime.run("delete", "--force", broken)
    assert res.returncode == 0, res.describe()
    assert_no_traceback(res)
    assert not (runtime.root / broken).exists()
    wait_for(lambda: not pid_alive(pid), timeout=5, what=f"the init {pid} of {broken} to die")
    left = [d for d in cgroups if os.path.isdir(d)]
    assert not left, f"cgroups left: {left}"
    assert runtime.list_ids() == [healthy]
    assert runtime.status(healthy) == "created"


def test_unknown_id_and_stray_entries_in_root(runtime, bundle, cid):
    """A file (not a directory) in --root is not a container; `delete --force` of an unknown
    id succeeds."""
    stray = runtime.root / "stray-file"
    stray.write_text("not a container")
    runtime.create(cid, bundle(SLEEP))
    assert runtime.list_ids() == [cid]
    res = runtime.run("delete", "--force", "no-such-container")
    assert res.returncode == 0, res.describe()
    stray.unlink()


@pytest.mark.pyrunc_only
def test_unreadable_root_is_an_error(runtime, workdir):
    """--root that is a file: every command fails with a message, no traceback."""
    not_a_dir = workdir / "root-file"
    not_a_dir.write_text("x")
    for args in (["list"], ["state", "x"], ["delete", "--force", "x"], ["kill", "x"]):
        res = _run_with_root(runtime, not_a_dir, *args)
        assert_no_traceback(res)
        assert res.returncode in (0, 1), res.describe()


def _run_with_root(runtime, root, *args):
    saved = runtime.root
    runtime.root = root
    try:
        return runtime.run(*args)
    finally:
        runtime.root = saved
