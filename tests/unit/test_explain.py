"""`pyrunc explain`: the plan of create, made by the setup code on the recording kernel."""

import json
import os

import pytest

from runtime.errors import PyruncError, UsageError
from runtime.ops.explain import explain, plan
from runtime.ops.spec_cmd import default_config


def make_bundle(tmp_path, edit=None):
    config = default_config()
    config["process"]["terminal"] = False
    if edit:
        edit(config)
    (tmp_path / "rootfs").mkdir()
    (tmp_path / "config.json").write_text(json.dumps(config))
    return str(tmp_path)


def tree(top):
    return sorted(os.path.join(d, n) for d, dirs, files in os.walk(top) for n in dirs + files)


def host_snapshot(top):
    """The bundle's files and the mounts under it. (Only those: tests on the other xdist
    worker mount and fill the seccomp cache at the same time.)"""
    with open("/proc/self/mountinfo") as f:
        mounts = [line for line in f if str(top) in line]
    return tree(top), mounts


def index_of(steps, start, proc, name, field=None, pred=lambda s: True):
    for i in range(start, len(steps)):
        s = steps[i]
        if s.proc == proc and s.name == name and (field is None or s.field == field) and pred(s):
            return i
    pytest.fail(f"no {proc}: {name} <- {field} after step {start}: {steps[start:]}")


def test_default_plan_order_and_fields(tmp_path):
    steps, rootfs = plan(make_bundle(tmp_path))
    assert rootfs == os.path.realpath(tmp_path / "rootfs")
    i = index_of(steps, 0, "stage-1", "unshare", "/linux/namespaces", lambda s: "CLONE_NEWPID" in s.args[0])
    proc = ("proc", f"{rootfs}/proc", "proc")
    i = index_of(steps, i, "init", "mount", "/mounts/0", lambda s: s.args[:3] == proc)
    # the hostname is set while the host's root is still reachable, then pivot_root
    i = index_of(steps, i, "init", "sethostname", "/hostname", lambda s: s.args == ("pyrunc",))
    i = index_of(steps, i, "init", "pivot_root", "/root/path")
    i = index_of(steps, i, "init", "capset", "/process/capabilities")
    last = steps[-1]
    assert (last.proc, last.name, last.field) == ("init", "execve", "/process/args")
    assert last.args[1] == ["sh"]
    # the runtime's part of the handshake is in the plan, where it happens
    notes = [s for s in steps if s.proc == "runtime" and s.name == "note"]
    assert any(s.field == "/linux/cgroupsPath" and s.args[0].startswith("host: cgroup v") for s in notes)
    assert any(s.args[0].startswith("host: time namespaces") for s in notes)
    # the cgroup entry as this host allows it (see runtime.cgroups.base.Manager): the init
    # writes "0" into each v1 hierarchy's tasks file after its setup, is cloned into a
    # hybrid host's cgroup2 directory, and the runtime moves it into whatever is left
    from runtime.cgroups import manager_for

    cgroup = manager_for(None, "<id>")
    cgroup_steps = [(s.proc, s.name, s.args) for s in steps if s.field == "/linux/cgroupsPath"]
    for _, path in cgroup.self_join_files():
        assert ("stage-1", "open", (path,)) in cgroup_steps
        assert ("init", "write", (path, "0")) in cgroup_steps
    if cgroup.birth_dir():
        assert ("stage-1", "clone3", ("CLONE_INTO_CGROUP", cgroup.birth_dir())) in cgroup_steps
    moved = any("moves the init into its cgroup" in s.args[0] for s in notes)
    assert moved == cgroup.rest_to_join(born=bool(cgroup.birth_dir()))
    if cgroup.version == 1:
        assert not moved  # v1 and hybrid: the runtime moves nothing


def test_user_namespace_maps_written_by_the_runtime(tmp_path):
    def edit(c):
        c["linux"]["namespaces"].append({"type": "user"})
        c["linux"]["uidMappings"] = [{"containerID": 0, "hostID": 100000, "size": 65536}]
        c["linux"]["gidMappings"] = [{"containerID": 0, "hostID": 100000, "size": 65536}]
    steps, _ = plan(make_bundle(tmp_path, edit))
    first = index_of(steps, 0, "stage-1", "unshare", pred=lambda s: s.args == ("CLONE_NEWUSER",))
    maps = index_of(steps, first, "runtime", "write", "/linux/uidMappings")
    assert steps[maps].args == ("/proc/<stage-1 pid>/uid_map", "0 100000 65536\n")
    index_of(steps, maps, "stage-1", "unshare", pred=lambda s: "CLONE_NEWPID" in s.args[0])


def test_text_and_json_formats(tmp_path):
    b = make_bundle(tmp_path)
    text = explain(b, "text")
    assert "init    mount('proc', '<rootfs>/proc', 'proc', '0', None)   <- /mounts/0" in text
    assert text.splitlines()[-1].startswith("init    execve(")
    rows = json.loads(explain(b, "json"))
    assert all(set(r) == {"proc", "step", "args", "field"} for r in rows)
    proc = next(r for r in rows if r["field"] == "/mounts/0" and r["step"] == "mount")
    assert proc["proc"] == "init" and proc["args"][1] == "<rootfs>/proc"
    assert rows[-1]["step"] == "execve" and rows[-1]["field"] == "/process/args"
    with pytest.raises(UsageError):
        explain(b, "yaml")


def test_nothing_changes_on_the_host(tmp_path):
    def edit(c):
        c["linux"]["seccomp"] = {"defaultAction": "SCMP_ACT_ALLOW",
                                 "syscalls": [{"names": ["keyctl"], "action": "SCMP_ACT_ERRNO"}]}
        c["mounts"].append({"destination": "/data", "type": "bind", "source": "data", "options": ["rbind"]})
    b = make_bundle(tmp_path, edit)
    (tmp_path / "data").mkdir()
    before = host_snapshot(tmp_path)
    steps, _ = plan(b)
    assert host_snapshot(tmp_path) == before
    assert not any("<id>" in d for d in os.listdir("/sys/fs/cgroup"))
    assert [s.field for s in steps if s.name == "seccomp"] == ["/linux/seccomp"]
    binds = [s for s in steps if s.name == "mount" and s.field == "/mounts/7"]
    assert binds and binds[0].args[0] == str(tmp_path / "data")


def test_invalid_bundle_is_refused(tmp_path):
    b = make_bundle(tmp_path, lambda c: c["linux"]["namespaces"].append({"type": "pidd"}))
    with pytest.raises(PyruncError, match="/linux/namespaces/"):
        explain(b, "text")
