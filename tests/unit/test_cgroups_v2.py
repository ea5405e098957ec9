"""The cgroup v2 driver against a fake unified tree: controller delegation, every resource field
with its v2 conversion, devices through the eBPF hook, freezing, destroy, stats."""

import os

import pytest

from runtime.cgroups import ebpf, is_paused, manager_from_record
from runtime.cgroups.values import DEFAULT_ALLOWED, allowed
from runtime.errors import PyruncError
from unit.test_cgroups_fake import FakeTree


@pytest.fixture
def tree(tmp_path, monkeypatch):
    t = FakeTree(tmp_path, monkeypatch, version=2)
    t.programs = []
    monkeypatch.setattr(ebpf, "apply",
                        lambda d, default, exc, field=None: t.programs.append((d, default, exc)))
    return t


def created(tree, resources=None, path="/test/c1"):
    m = tree.manager(path)
    m.create(resources)
    return m


def test_create_delegates_controllers_down_the_path(tree):
    m = created(tree)
    assert m.created == [tree.path("test"), tree.path("test/c1")]
    assert tree.read("cgroup.subtree_control").split() == "cpuset cpu io memory hugetlb pids rdma".split()
    assert tree.read("test", "cgroup.subtree_control").split() == tree.read("cgroup.subtree_control").split()
    assert tree.read("test/c1", "cgroup.controllers").split() == tree.read("cgroup.controllers").split()
    assert m.paths() == {"": tree.path("test/c1")} and m.v2_dir() == tree.path("test/c1")
    assert m.v1_dirs() == []


def test_memory(tree):
    created(tree, {"memory": {"limit": 100 << 20, "swap": 300 << 20, "reservation": 50 << 20}})
    assert tree.read("test/c1", "memory.max") == str(100 << 20)
    assert tree.read("test/c1", "memory.swap.max") == str(200 << 20)
    assert tree.read("test/c1", "memory.low") == str(50 << 20)


def test_memory_unlimited(tree):
    created(tree, {"memory": {"limit": -1}})
    assert tree.read("test/c1", "memory.max") == "max"
    assert tree.read("test/c1", "memory.swap.max") == "max"


def test_swap_needs_a_limit(tree):
    with pytest.raises(PyruncError, match="swap: a swap limit .* needs a memory limit"):
        created(tree, {"memory": {"swap": 1 << 20}})
    with pytest.raises(PyruncError, match="below the memory limit"):
        created(tree, {"memory": {"limit": 2 << 20, "swap": 1 << 20}})


def test_swap_update_uses_the_current_limit(tree):
    m = created(tree, {"memory": {"limit": 100 << 20}})
    m.update({"memory": {"swap": 150 << 20}})
    assert tree.read("test/c1", "memory.swap.max") == str(50 << 20)


def test_memory_v1_only_fields(tree):
    with pytest.raises(PyruncError, match="swappiness: not supported on cgroup v2"):
        created(tree, {"memory": {"swappiness": 10}})
    with pytest.raises(PyruncError, match="disableOOMKiller: not supported on cgroup v2"):
        created(tree, {"memory": {"disableOOMKiller": True}})
    created(tree, {"memory": {"disableOOMKiller": False, "kernel": 1, "kernelTCP": 1, "useHierarchy": False}})


def test_check_before_update(tree):
    m = created(tree)
    with pytest.raises(PyruncError, match="below the current usage 4096"):
        m.update({"memory": {"limit": 100, "checkBeforeUpdate": True}})


@pytest.mark.parametrize("shares,weight", [(2, 1), (1024, 100), (262144, 10000), (512, 59), (4096, 303)])
def test_cpu_shares_to_weight(tree, shares, weight):
    created(tree, {"cpu": {"shares": shares}})
    assert tree.read("test/c1", "cpu.weight") == str(weight)


def test_cpu_max_burst_idle_cpuset(tree):
    m = created(tree, {"cpu": {"quota": 50000, "period": 200000, "burst": 1000, "idle": 1, "cpus": "0",
                               "mems": "0"}})
    d = "test/c1"
    assert tree.read(d, "cpu.max") == "50000 200000"
    assert tree.read(d, "cpu.max.burst") == "1000"
    assert tree.read(d, "cpu.idle") == "1"
    assert tree.read(d, "cpuset.cpus") == "0" and tree.read(d, "cpuset.mems") == "0"
    m.update({"cpu": {"period": 100000}})  # keeps the quota
    assert tree.read(d, "cpu.max") == "50000 100000"
    m.update({"cpu": {"quota": -1}})
    assert tree.read(d, "cpu.max") == "max 100000"
    m.update({"cpu": {"quota": 20000}})
    assert tree.read(d, "cpu.max") == "20000 100000"


def test_cpu_realtime_is_refused(tree):
    with pytest.raises(PyruncError, match="realtimeRuntime: realtime scheduling limits are not supported"):
        created(tree, {"cpu": {"realtimeRuntime": 1000}})
    created(tree, {"cpu": {"realtimeRuntime": 0, "realtimePeriod": 0}})


def test_pids(tree):
    m = created(tree, {"pids": {"limit": 10}})
    assert tree.read("test/c1", "pids.max") == "10"
    m.update({"pids": {"limit": -1}})
    assert tree.read("test/c1", "pids.max") == "max"


def test_io_weight_conversion_and_max(tree):
    created(tree, {"blockIO": {
        "weight": 10, "weightDevice": [{"major": 8, "minor": 0, "weight": 1000}],
        "throttleReadBpsDevice": [{"major": 8, "minor": 0, "rate": 600}],
        "throttleWriteBpsDevice": [{"major": 8, "minor": 0, "rate": 0}],
        "throttleReadIOPSDevice": [{"major": 8, "minor": 16, "rate": 80}],
        "throttleWriteIOPSDevice": [{"major": 8, "minor": 16, "rate": 90}],
    }})
    assert tree.writes_to("io.weight") == ["1", "8:0 10000"]
    assert tree.writes_to("io.max") == ["8:0 rbps=600", "8:0 wbps=max", "8:16 riops=80", "8:16 wiops=90"]


def test_io_bfq_weight_takes_v1_values(tree):
    m = tree.manager()
    real_make = m._make

    def make():
        real_make()
        with open(tree.path("test/c1/io.bfq.weight"), "w") as f:
            f.write("default 100")
    m._make = make
    m.create({"blockIO": {"weight": 300, "weightDevice": [{"major": 8, "minor": 0, "weight": 200}]}})
    assert tree.writes_to("io.bfq.weight") == ["300", "8:0 200"]


def test_io_leaf_weight_is_refused(tree):
    with pytest.raises(PyruncError, match="leafWeight: not supported on cgroup v2"):
        created(tree, {"blockIO": {"leafWeight": 10}})


def test_hugetlb(tree):
    created(tree, {"hugepageLimits": [{"pageSize": "2MB", "limit": 1 << 22},
                                      {"pageSize": "1GB", "limit": 0}]})
    assert tree.read("test/c1", "hugetlb.2MB.max") == str(1 << 22)
    assert tree.read("test/c1", "hugetlb.2MB.rsvd.max") == str(1 << 22)
    assert tree.read("test/c1", "hugetlb.1GB.max") == "0"
    with pytest.raises(PyruncError, match="huge page size 64KB is not supported here"):
        created(tree, {"hugepageLimits": [{"pageSize": "64KB", "limit": 1}]}, path="/t2")


def test_network_is_refused(tree):
    with pytest.raises(PyruncError, match="network: not supported on cgroup v2"):
        created(tree, {"network": {"classID": 1}})
    assert not os.path.exists(tree.path("test"))


def test_rdma(tree):
    created(tree, {"rdma": {"mlx4_0": {"hcaObjects": 1000}}})
    assert tree.read("test/c1", "rdma.max") == "mlx4_0 hca_object=1000"


def test_unified_writes_and_checks_controllers(tmp_path, monkeypatch):
    t = FakeTree(tmp_path, monkeypatch, version=2, controllers="cpu memory pids")
    monkeypatch.setattr(ebpf, "apply", lambda *a, **k: None)
    m = t.manager()
    real_make = m._make

    def make():
        real_make()
        for f in ("memory.high", "cgroup.max.depth", "io.latency"):
            with open(t.path("test/c1", f), "w") as fh:
                fh.write("")
    m._make = make
    m.create({"unified": {"memory.high": "1000000", "cgroup.max.depth": "3"}})
    assert t.read("test/c1", "memory.high") == "1000000"
    assert t.read("test/c1", "cgroup.max.depth") == "3"
    with pytest.raises(PyruncError, match=r"unified/io.latency: the io controller is not available"):
        m.update({"unified": {"io.latency": "8:0 target=10"}})
    with pytest.raises(PyruncError, match=r"unified/memory.nope: write memory.nope=1: .*\(ENOENT\)"):
        m.update({"unified": {"memory.nope": "1"}})
    with pytest.raises(PyruncError, match="not a cgroup interface file name"):
        m.update({"unified": {"../memory.max": "1"}})
    with pytest.raises(PyruncError, match="must be a string"):
        m.update({"unified": {"memory.high": 5}})


def test_controller_missing_from_the_tree(tmp_path, monkeypatch):
    t = FakeTree(tmp_path, monkeypatch, version=2, controllers="cpu memory")
    monkeypatch.setattr(ebpf, "apply", lambda *a, **k: None)
    with pytest.raises(PyruncError, match=r"/linux/resources/pids: the pids controller is not available in "):
        t.manager().create({"pids": {"limit": 3}})
    assert not os.path.exists(t.path("test"))


def test_controller_refused_by_a_parent_is_explained(tmp_path, monkeypatch):
    t = FakeTree(tmp_path, monkeypatch, version=2)
    monkeypatch.setattr(ebpf, "apply", lambda *a, **k: None)
    import errno
    t.fail["cgroup.subtree_control"] = OSError(errno.EBUSY, os.strerror(errno.EBUSY))
    with pytest.raises(PyruncError, match=r"memory controller is not available .*enabling it in .*"
                                          r"cgroup.subtree_control: Device or resource busy \(EBUSY\)"):
        t.manager().create({"memory": {"limit": 1 << 20}})


def test_devices_become_one_program(tree):
    created(tree, {"devices": [{"allow": False, "access": "rwm"},
                               {"allow": True, "type": "c", "major": 10, "minor": 229, "access": "rw"}]})
    [(d, default_allow, exceptions)] = tree.programs
    assert d == tree.path("test/c1") and default_allow is False
    assert ("c", 10, 229, "rw") in exceptions and ("c", 1, 3, "rwm") in exceptions
    assert len(exceptions) == 1 + len(DEFAULT_ALLOWED)
    assert allowed(default_allow, exceptions, "c", 1, 3, "rw")
    assert not allowed(default_allow, exceptions, "b", 8, 0, "r")


def test_freeze_thaw(tree):
    m = created(tree)
    m.freeze()
    assert tree.read("test/c1", "cgroup.freeze") == "1" and m.state() == "paused"
    assert is_paused(m.to_record())
    m.thaw()
    assert m.state() == "running" and not is_paused(m.to_record())


def test_freeze_timeout_thaws_again(tree, monkeypatch):
    from runtime.cgroups import v2

    m = created(tree)
    real = tree.write

    def stuck(directory, name, value, field=None):
        real(directory, name, value, field)
        if name == "cgroup.freeze":
            with open(os.path.join(directory, "cgroup.events"), "w") as f:
                f.write("populated 1\nfrozen 0\n")
    monkeypatch.setattr("runtime.cgroups.fs.write", stuck)
    with pytest.raises(PyruncError, match="did not report 'frozen 1'"):
        v2.freeze_dir(m.dir, True, timeout=0.05)
    assert tree.read("test/c1", "cgroup.freeze") == "0"


def test_destroy_kills_through_cgroup_kill_and_removes(tree):
    m = created(tree)
    os.mkdir(tree.path("test/c1/inner"))
    m.destroy()
    assert tree.writes_to("cgroup.kill") == ["1"]
    assert not os.path.exists(tree.path("test"))


def test_destroy_keeps_joined_cgroup(tree):
    os.mkdir(tree.path("shared"))
    tree._fill_v2(tree.path("shared"), "memory")
    m = tree.manager("/shared")
    m.create()
    m.destroy()
    assert tree.writes_to("cgroup.kill") == [] and os.path.isdir(tree.path("shared"))


def test_record_round_trip(tree):
    m = created(tree)
    m2 = manager_from_record(m.to_record())
    assert m2.version == 2 and m2.dir == m.dir and m2.created == m.created


def test_join_and_pids(tree):
    m = created(tree)
    m.join(77)
    assert tree.read("test/c1", "cgroup.procs") == "77"
    assert m.pids() == [77]


def test_stats(tree):
    m = created(tree, {"memory": {"limit": 1 << 20}})
    s = m.stats()
    assert s["cpu"] == {"usage": {"total": 1500000, "kernel": 500000, "user": 1000000},
                        "throttling": {"periods": 4, "throttledPeriods": 2, "throttledTime": 30000}}
    assert s["memory"]["usage"] == {"limit": 1 << 20, "usage": 4096, "max": 8192, "failcnt": 2}
    assert s["memory"]["cache"] == 100
    assert s["pids"] == {"current": 1}
    assert s["blkio"] == {"ioServiceBytesRecursive": [{"major": 8, "op": "Read", "value": 4096},
                                                      {"major": 8, "op": "Write", "value": 8192}],
                          "ioServicedRecursive": [{"major": 8, "op": "Read", "value": 1},
                                                  {"major": 8, "op": "Write", "value": 2}]}
    assert s["hugetlb"] == {"1GB": {"failcnt": 0}, "2MB": {"failcnt": 0}}


def test_oom_count(tree):
    m = created(tree)
    assert m.oom_count() == 1
    m.wait_event(0.01)
    m.close()


def test_delegate(tree, monkeypatch):
    m = created(tree)
    chowned = []
    monkeypatch.setattr(os, "chown", lambda p, u, g: chowned.append(os.path.basename(p)))
    m.delegate(1000, 1000)
    assert chowned[0] == "c1" and "cgroup.procs" in chowned


def test_join_sub_cgroup_for_exec(tree):
    m = created(tree)
    os.mkdir(tree.path("test/c1/sub"))
    tree._fill_v2(tree.path("test/c1/sub"), "")
    m.join(8, ["sub"])
    assert tree.read("test/c1/sub", "cgroup.procs") == "8"
    with pytest.raises(PyruncError, match="without controller names"):
        m.join(8, ["memory:sub"])
