"""oci_spec.model: attribute names, values and defaults."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from oci_spec import model
from oci_spec.model import (
    IDMapping,
    IOPriority,
    Linux,
    Mount,
    Namespace,
    Process,
    Root,
    Spec,
    User,
)

from .test_oci_spec_data import default_config, maximal_config

REPO = Path(__file__).resolve().parents[2]


def test_maximal_config_model():
    raw = maximal_config()
    spec = Spec.from_dict(raw)
    assert spec.raw is raw
    assert spec.oci_version == "1.3.0"
    assert spec.root == Root(path="rootfs", readonly=False)
    assert spec.hostname == "box" and spec.domainname == "example.test"
    assert spec.annotations == {"com.example.key": "value", "com.example.empty": ""}

    m = spec.mounts[1]
    assert isinstance(m, Mount)
    assert (m.destination, m.type, m.source) == ("/data", "none", "/volumes/data")
    assert m.options == ["rbind", "rw", "idmap"]
    assert m.uid_mappings == [IDMapping(container_id=0, host_id=100000, size=65536)]
    assert m.gid_mappings[0].host_id == 100000

    p = spec.process
    assert p.terminal is True
    assert (p.console_size.height, p.console_size.width) == (25, 80)
    assert p.user == User(uid=1, gid=1, umask=18, additional_gids=[5, 6])
    assert p.cwd == "/root" and p.args == ["sh", "-c", "true"]
    assert p.env == ["PATH=/usr/bin:/bin", "TERM=xterm"]
    assert p.command_line == "sh -c true"
    assert [(r.type, r.soft, r.hard) for r in p.rlimits] == [
        ("RLIMIT_NOFILE", 1024, 4096), ("RLIMIT_CORE", 0, 18446744073709551615)]
    assert p.apparmor_profile == "acme_secure_profile"
    assert p.capabilities.effective == ["CAP_KILL"]
    assert p.capabilities.ambient == ["CAP_NET_BIND_SERVICE"]
    assert p.capabilities.inheritable == []
    assert p.no_new_privileges is True
    assert p.oom_score_adj == -500
    assert p.scheduler.policy == "SCHED_DEADLINE" and p.scheduler.nice == -5
    assert p.scheduler.flags == ["SCHED_FLAG_RESET_ON_FORK", "SCHED_FLAG_RECLAIM"]
    assert (p.scheduler.runtime, p.scheduler.deadline, p.scheduler.period) == (
        10000000, 20000000, 30000000)
    assert p.selinux_label.startswith("system_u:")
    assert p.io_priority == IOPriority(class_="IOPRIO_CLASS_BE", priority=7)
    assert (p.exec_cpu_affinity.initial, p.exec_cpu_affinity.final) == ("7", "0-3,7")

    h = spec.hooks
    assert [x.path for x in h.prestart] == ["/usr/bin/prestart"]
    assert h.create_runtime[0].path == "/usr/bin/create-runtime"
    assert h.create_container[0].args == ["create-container", "x"]
    assert h.start_container[0].timeout is None and h.start_container[0].args == []
    assert h.poststart[0].timeout == 5 and h.poststart[0].env == ["A=1"]
    assert h.poststop[0].path == "/usr/bin/poststop"

    lx = spec.linux
    assert [n.type for n in lx.namespaces] == [
        "pid", "network", "mount", "ipc", "uts", "user", "cgroup", "time"]
    assert lx.namespace("network") == Namespace(type="network", path="/var/run/netns/a")
    assert lx.namespace("pid").path is None
    assert lx.uid_mappings[0].container_id == 0 and lx.gid_mappings[0].size == 65536
    assert lx.time_offsets["boottime"].secs == -3600
    assert lx.time_offsets["boottime"].nanosecs == 999999999
    fuse, sda, fifo, _ = lx.devices
    assert (fuse.type, fuse.path, fuse.major, fuse.minor, fuse.file_mode, fuse.uid, fuse.gid) == (
        "c", "/dev/fuse", 10, 229, 438, 0, 0)
    assert sda.file_mode is None and sda.uid is None
    assert fifo.major is None and fifo.type == "p"
    assert lx.net_devices["eth1"].name == "ctr_eth1" and lx.net_devices["eth2"].name is None
    assert lx.cgroups_path == "/myRuntime/myContainer"
    assert lx.resources is raw["linux"]["resources"]  # stays a plain dict
    assert lx.seccomp["defaultAction"] == "SCMP_ACT_ERRNO"
    assert lx.rootfs_propagation == "slave"
    assert lx.sysctl == {"net.ipv4.ip_forward": "1"}
    assert lx.masked_paths == ["/proc/kcore"] and lx.readonly_paths == ["/proc/sys"]
    assert lx.mount_label.startswith("system_u:object_r")
    assert lx.personality.domain == "LINUX32" and lx.personality.flags == []
    rdt = lx.intel_rdt
    assert (rdt.clos_id, rdt.l3_cache_schema, rdt.mem_bw_schema) == (
        "guaranteed_group", "L3:0=7f0;1=1f", "MB:0=20;1=70")
    assert rdt.schemata == ["L2:0=f;1=f"] and rdt.enable_monitoring is True
    mp = lx.memory_policy
    assert (mp.mode, mp.nodes, mp.flags) == ("MPOL_INTERLEAVE", "2-3", ["MPOL_F_STATIC_NODES"])


def test_defaults_of_a_minimal_config():
    spec = Spec.from_dict({"ociVersion": "1.0.0", "root": {"path": "rootfs"}})
    assert spec.root.readonly is False
    assert spec.mounts == [] and spec.annotations == {}
    assert spec.process is None and spec.hooks is None and spec.linux is None
    assert spec.hostname is None and spec.domainname is None
    assert spec.warnings == []


def test_defaults_of_a_minimal_process():
    p = Process.from_dict({"cwd": "/", "args": ["sh"]})
    assert p.terminal is False and p.console_size is None
    assert p.user == User(uid=0, gid=0, umask=None, additional_gids=[])
    assert p.env == [] and p.rlimits == []
    assert p.capabilities is None and p.scheduler is None and p.io_priority is None
    assert p.no_new_privileges is False
    assert p.oom_score_adj is None  # unset: the runtime must leave it alone
    assert p.apparmor_profile is None and p.selinux_label is None
    assert p.exec_cpu_affinity is None and p.command_line is None
    user = Process.from_dict({"cwd": "/", "args": ["sh"], "user": {"uid": 5, "gid": 6}}).user
    assert user.additional_gids == [] and user.umask is None


def test_defaults_of_linux_and_nested_objects():
    lx = Linux.from_dict({})
    assert lx.namespaces == [] and lx.uid_mappings == [] and lx.gid_mappings == []
    assert lx.devices == [] and lx.masked_paths == [] and lx.readonly_paths == []
    assert lx.time_offsets == {} and lx.net_devices == {} and lx.sysctl == {}
    assert lx.resources is None and lx.seccomp is None
    assert lx.cgroups_path is None and lx.rootfs_propagation is None and lx.mount_label is None
    assert lx.personality is None and lx.intel_rdt is None and lx.memory_policy is None
    assert lx.namespace("pid") is None
    sched = model.Scheduler.from_dict({"policy": "SCHED_OTHER"})
    assert (sched.nice, sched.priority, sched.runtime, sched.deadline, sched.period) == (0,) * 5
    assert sched.flags == []
    assert model.IntelRdt.from_dict({}).enable_monitoring is False
    assert model.IntelRdt.from_dict({}).schemata == []
    assert model.TimeOffset.from_dict({}) == model.TimeOffset(secs=None, nanosecs=None)
    assert model.Mount.from_dict({"destination": "/x"}).options == []
    assert model.Hooks.from_dict({}).poststop == []


def test_runc_default_config_model():
    spec = Spec.from_dict(default_config())
    assert spec.root.readonly is True
    assert spec.process.user.uid == 0 and spec.process.terminal is True
    assert spec.linux.resources == {"devices": [{"allow": False, "access": "rwm"}]}
    assert spec.linux.seccomp is None
    assert spec.mounts[1].options == ["nosuid", "strictatime", "mode=755", "size=65536k"]


ATTRIBUTE_NAMES = {
    IDMapping: {"container_id", "host_id", "size"},
    model.Linux: {"uid_mappings", "gid_mappings", "cgroups_path", "rootfs_propagation",
                  "masked_paths", "readonly_paths", "mount_label", "time_offsets",
                  "net_devices", "intel_rdt", "memory_policy"},
    model.Process: {"no_new_privileges", "console_size", "oom_score_adj", "selinux_label",
                    "apparmor_profile", "io_priority", "exec_cpu_affinity", "command_line"},
    model.User: {"additional_gids"},
    model.Device: {"file_mode"},
    model.IntelRdt: {"clos_id", "l3_cache_schema", "mem_bw_schema", "enable_monitoring"},
    model.Hooks: {"create_runtime", "create_container", "start_container"},
    model.Spec: {"oci_version", "raw"},
}


@pytest.mark.parametrize("cls", list(ATTRIBUTE_NAMES), ids=lambda c: c.__name__)
def test_snake_case_attribute_names(cls):
    names = {f.name for f in model.fields(cls)}
    assert ATTRIBUTE_NAMES[cls] <= names


def test_all_model_classes_have_fields():
    for name in ["Spec", "Root", "Mount", "Process", "User", "ConsoleSize", "Capabilities",
                 "Rlimit", "Hooks", "Hook", "Linux", "Namespace", "IDMapping", "Device",
                 "TimeOffset", "NetDevice", "Scheduler", "IOPriority", "ExecCPUAffinity",
                 "MemoryPolicy", "Personality", "IntelRdt"]:
        cls = getattr(model, name)
        assert model.fields(cls), name
        assert [f.name for f in model.fields(cls)] == list(cls.__annotations__), name


def test_model_is_imported_without_dataclasses():
    """The point of the hand-made model: `create` does not pay for `dataclasses`."""
    code = f"import sys; sys.path.insert(0, {str(REPO)!r}); import oci_spec.model; " \
        "print('dataclasses' in sys.modules)"
    out = subprocess.run([sys.executable, "-I", "-S", "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "False"


def test_dataclass_behaviour():
    r = Root("rootfs")
    assert r == Root(path="rootfs", readonly=False) and r != Root("rootfs", True)
    assert repr(r) == "Root(path='rootfs', readonly=False)"
    assert {f.name: getattr(User(), f.name) for f in model.fields(User)} == {
        "uid": 0, "gid": 0, "umask": None, "additional_gids": []}
    assert User().additional_gids is not User().additional_gids  # fresh default each time
    r.readonly = True  # not frozen
    with pytest.raises(TypeError):
        Root()
    with pytest.raises(TypeError):
        Root("a", path="b")
    with pytest.raises(TypeError):
        Root("a", colour="red")
    with pytest.raises(TypeError):
        hash(r)
    spec = Spec.from_dict(default_config())
    assert "raw=" not in repr(spec)  # the raw document would drown the repr


def test_model_does_not_share_lists_with_the_raw_document():
    raw = default_config()
    spec = Spec.from_dict(raw)
    spec.process.args.append("-x")
    spec.mounts[0].options.append("ro")
    assert raw["process"]["args"] == ["sh"]
    assert "options" not in raw["mounts"][0]
