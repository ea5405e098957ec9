"""The cgroup v1 driver against a fake v1 (hybrid) tree: every resource field lands in the right
file with the right value, placement, create/destroy bookkeeping, freezing, stats."""

import errno
import os

import pytest

from runtime.cgroups import is_paused, manager_from_record
from runtime.cgroups.values import DEFAULT_ALLOWED
from runtime.errors import PyruncError
from unit.test_cgroups_fake import HOST_V1, MAX, FakeTree

ALL = HOST_V1 + ("hugetlb", "net_cls", "net_prio", "rdma")


@pytest.fixture
def tree(tmp_path, monkeypatch):
    return FakeTree(tmp_path, monkeypatch, hierarchies=ALL)


def created(tree, resources=None, path="/test/c1"):
    m = tree.manager(path)
    m.create(resources)
    return m


def test_create_makes_every_hierarchy_and_remembers(tree):
    m = created(tree)
    for h in ALL + ("unified",):
        assert os.path.isdir(tree.path(h, "test/c1")), h
    assert tree.path("memory/test") in m.created and tree.path("memory/test/c1") in m.created
    assert m.created.index(tree.path("memory/test")) < m.created.index(tree.path("memory/test/c1"))
    assert m.v1_dirs()[-1] == ("unified", tree.path("unified/test/c1"))
    assert dict(m.v1_dirs())["systemd"] == tree.path("systemd/test/c1")
    assert m.paths()["cpu"] == tree.path("cpu/test/c1")


def test_new_cpuset_gets_parent_cpus_and_mems(tree):
    created(tree)
    assert tree.read("cpuset/test", "cpuset.cpus") == "0-1"
    assert tree.read("cpuset/test/c1", "cpuset.cpus") == "0-1"
    assert tree.read("cpuset/test/c1", "cpuset.mems") == "0"


def test_memory_fields(tree):
    created(tree, {"memory": {"limit": 1 << 30, "swap": 2 << 30, "reservation": 1 << 29, "kernel": 1 << 28,
                              "kernelTCP": 1 << 27, "swappiness": 10, "disableOOMKiller": True,
                              "useHierarchy": True}})
    d = "memory/test/c1"
    assert tree.read(d, "memory.limit_in_bytes") == str(1 << 30)
    assert tree.read(d, "memory.memsw.limit_in_bytes") == str(2 << 30)
    assert tree.read(d, "memory.soft_limit_in_bytes") == str(1 << 29)
    assert tree.read(d, "memory.kmem.limit_in_bytes") == str(1 << 28)
    assert tree.read(d, "memory.kmem.tcp.limit_in_bytes") == str(1 << 27)
    assert tree.read(d, "memory.swappiness") == "10"
    assert tree.read(d, "memory.oom_control") == "1"
    assert tree.read(d, "memory.use_hierarchy") == "1"


def test_memory_and_swap_are_written_in_the_order_the_kernel_accepts(tree):
    m = created(tree, {"memory": {"limit": 100 << 20, "swap": 200 << 20}})
    d = "memory/test/c1"
    # lowering both: the limit must go first (memsw may never be below it)
    m.update({"memory": {"limit": 10 << 20, "swap": 20 << 20}})
    assert tree.read(d, "memory.limit_in_bytes") == str(10 << 20)
    assert tree.read(d, "memory.memsw.limit_in_bytes") == str(20 << 20)
    # raising both beyond the current memsw: memsw must go first
    m.update({"memory": {"limit": 500 << 20, "swap": 600 << 20}})
    assert tree.read(d, "memory.limit_in_bytes") == str(500 << 20)
    assert tree.read(d, "memory.memsw.limit_in_bytes") == str(600 << 20)


def test_unlimited_memory_lifts_swap_too(tree):
    m = created(tree, {"memory": {"limit": 100 << 20, "swap": 200 << 20}})
    m.update({"memory": {"limit": -1}})
    assert tree.read("memory/test/c1", "memory.limit_in_bytes") == MAX
    assert tree.writes_to("memory.memsw.limit_in_bytes")[-1] == "-1"


def test_swap_below_limit_fails_with_the_kernel_error(tree):
    with pytest.raises(PyruncError) as e:
        created(tree, {"memory": {"limit": 200 << 20, "swap": 100 << 20}})
    assert "(EINVAL)" in str(e.value) and "/linux/resources/memory/" in str(e.value)


def test_check_before_update(tree):
    m = created(tree)
    with pytest.raises(PyruncError, match="below the current usage 4096"):
        m.update({"memory": {"limit": 1024, "checkBeforeUpdate": True}})
    m.update({"memory": {"limit": 8192, "checkBeforeUpdate": True}})


def test_write_error_names_field_file_and_errno(tree):
    tree.fail["memory.limit_in_bytes"] = OSError(errno.EBUSY, os.strerror(errno.EBUSY))
    with pytest.raises(PyruncError) as e:
        created(tree, {"memory": {"limit": 4096}})
    assert str(e.value) == ("/linux/resources/memory/limit: write memory.limit_in_bytes=4096: "
                            "Device or resource busy (EBUSY)")


def test_failed_create_removes_what_it_made(tree):
    os.makedirs(tree.path("pids/test"))  # existed before: stays
    tree.fail["pids.max"] = OSError(errno.EINVAL, os.strerror(errno.EINVAL))
    with pytest.raises(PyruncError, match="pids.max"):
        created(tree, {"pids": {"limit": 5}})
    for h in ALL + ("unified",):
        assert not os.path.exists(tree.path(h, "test/c1")), h
    assert os.path.isdir(tree.path("pids/test"))
    assert not os.path.exists(tree.path("memory/test"))


def test_kernel_memory_refusal_is_a_warning(tree):
    tree.fail["memory.kmem.limit_in_bytes"] = OSError(errno.EOPNOTSUPP, os.strerror(errno.EOPNOTSUPP))
    created(tree, {"memory": {"kernel": 1 << 20}})


def test_cpu_fields(tree):
    created(tree, {"cpu": {"shares": 512, "quota": 50000, "period": 200000, "burst": 1000,
                           "realtimeRuntime": 9000, "realtimePeriod": 10000, "idle": 1, "cpus": "1",
                           "mems": "0"}})
    d = "cpu/test/c1"
    assert tree.read(d, "cpu.shares") == "512"
    assert tree.read(d, "cpu.cfs_quota_us") == "50000"
    assert tree.read(d, "cpu.cfs_period_us") == "200000"
    assert tree.read(d, "cpu.cfs_burst_us") == "1000"
    assert tree.read(d, "cpu.rt_runtime_us") == "9000"
    assert tree.read(d, "cpu.rt_period_us") == "10000"
    assert tree.read(d, "cpu.idle") == "1"
    assert tree.read("cpuset/test/c1", "cpuset.cpus") == "1"
    assert tree.read("cpuset/test/c1", "cpuset.mems") == "0"


def test_cpu_unset_values_are_not_written(tree):
    created(tree, {"cpu": {"shares": 0, "quota": 0, "period": 0, "cpus": "", "mems": ""}})
    assert not tree.writes_to("cpu.shares") and not tree.writes_to("cpu.cfs_quota_us")
    assert set(tree.writes_to("cpuset.cpus")) == {"0-1"}  # only the copies from the parent


def test_cpu_negative_quota_is_unlimited(tree):
    created(tree, {"cpu": {"quota": -1}})
    assert tree.read("cpu/test/c1", "cpu.cfs_quota_us") == "-1"


def test_cpu_shares_clamped_by_kernel_is_an_error(tree, monkeypatch):
    real = tree.write

    def clamp(directory, name, value, field=None):
        real(directory, name, "262144" if name == "cpu.shares" else value, field)
    monkeypatch.setattr("runtime.cgroups.fs.write", clamp)
    with pytest.raises(PyruncError, match="instead of 999999"):
        created(tree, {"cpu": {"shares": 999999}})


def test_burst_larger_than_quota(tree):
    with pytest.raises(PyruncError, match="burst: 5000 is larger than the quota 1000"):
        created(tree, {"cpu": {"quota": 1000, "burst": 5000}})


def test_pids(tree):
    m = created(tree, {"pids": {"limit": 0}})
    assert tree.read("pids/test/c1", "pids.max") == "0"
    m.update({"pids": {"limit": -1}})
    assert tree.read("pids/test/c1", "pids.max") == "max"


def test_block_io(tree):
    created(tree, {"blockIO": {
        "weight": 300, "leafWeight": 200,
        "weightDevice": [{"major": 8, "minor": 0, "weight": 500, "leafWeight": 300}],
        "throttleReadBpsDevice": [{"major": 8, "minor": 0, "rate": 600}],
        "throttleWriteBpsDevice": [{"major": 8, "minor": 16, "rate": 700}],
        "throttleReadIOPSDevice": [{"major": 8, "minor": 0, "rate": 80}],
        "throttleWriteIOPSDevice": [{"major": 8, "minor": 16, "rate": 90}],
    }})
    d = "blkio/test/c1"
    assert tree.read(d, "blkio.weight") == "300"
    assert tree.read(d, "blkio.leaf_weight") == "200"
    assert tree.read(d, "blkio.weight_device") == "8:0 500"
    assert tree.read(d, "blkio.leaf_weight_device") == "8:0 300"
    assert tree.read(d, "blkio.throttle.read_bps_device") == "8:0 600"
    assert tree.read(d, "blkio.throttle.write_bps_device") == "8:16 700"
    assert tree.read(d, "blkio.throttle.read_iops_device") == "8:0 80"
    assert tree.read(d, "blkio.throttle.write_iops_device") == "8:16 90"


def test_block_io_weight_without_scheduler_support(tmp_path, monkeypatch):
    t = FakeTree(tmp_path, monkeypatch)
    for f in ("blkio.weight", "blkio.leaf_weight"):
        os.unlink(t.path("blkio", f))
    with pytest.raises(PyruncError, match="no blkio.weight or blkio.bfq.weight"):
        t.manager().create({"blockIO": {"weight": 300}})


def test_hugepages(tree):
    created(tree, {"hugepageLimits": [{"pageSize": "2MB", "limit": 4 << 21},
                                      {"pageSize": "1GB", "limit": 0}]})
    assert tree.read("hugetlb/test/c1", "hugetlb.2MB.limit_in_bytes") == str(4 << 21)
    assert tree.read("hugetlb/test/c1", "hugetlb.2MB.rsvd.limit_in_bytes") == str(4 << 21)
    assert tree.read("hugetlb/test/c1", "hugetlb.1GB.limit_in_bytes") == "0"


def test_hugepage_size_unknown(tree):
    with pytest.raises(PyruncError, match=r"hugepageLimits/0/pageSize: huge page size 64KB is not supported"):
        created(tree, {"hugepageLimits": [{"pageSize": "64KB", "limit": 1}]})
    with pytest.raises(PyruncError, match="is not a page size"):
        created(tree, {"hugepageLimits": [{"pageSize": "2M", "limit": 1}]})


def test_network_and_rdma(tree):
    created(tree, {"network": {"classID": 1048577, "priorities": [{"name": "eth0", "priority": 500},
                                                                  {"name": "lo", "priority": 1}]},
                   "rdma": {"mlx5_1": {"hcaHandles": 3, "hcaObjects": 10000}, "rxe3": {"hcaObjects": 7}}})
    assert tree.read("net_cls/test/c1", "net_cls.classid") == "1048577"
    assert tree.writes_to("net_prio.ifpriomap") == ["eth0 500", "lo 1"]
    assert tree.writes_to("rdma.max") == ["mlx5_1 hca_handle=3 hca_object=10000", "rxe3 hca_object=7"]


@pytest.mark.parametrize("resources,controller", [
    ({"network": {"classID": 1}}, "net_cls"),
    ({"network": {"priorities": [{"name": "eth0", "priority": 1}]}}, "net_prio"),
    ({"hugepageLimits": [{"pageSize": "2MB", "limit": 1}]}, "hugetlb"),
    ({"rdma": {"mlx5_1": {"hcaHandles": 1}}}, "rdma"),
])
def test_unmounted_controller_is_a_clear_error(tmp_path, monkeypatch, resources, controller):
    t = FakeTree(tmp_path, monkeypatch)  # this host's hierarchies only
    with pytest.raises(PyruncError, match=f"the {controller} controller is not mounted on this host"):
        t.manager().create(resources)
    assert not os.path.exists(t.path("memory/test"))
    # and no directory for the missing controller appeared at the root
    assert sorted(os.listdir(t.root)) == sorted(HOST_V1 + ("unified",))


def test_unified_is_refused_on_v1(tree):
    with pytest.raises(PyruncError, match=r"/linux/resources/unified: cgroup v2 settings cannot be applied"):
        created(tree, {"unified": {"memory.high": "1000"}})


def test_devices_deny_all_then_rules_in_order_then_defaults(tree):
    created(tree, {"devices": [{"allow": False, "access": "rwm"},
                               {"allow": True, "type": "c", "major": 10, "minor": 229, "access": "rw"},
                               {"allow": False, "type": "b", "major": 8, "access": "r"}]})
    seq = [(n, v) for d, n, v in tree.writes if n in ("devices.allow", "devices.deny")]
    assert seq[:4] == [("devices.deny", "a"), ("devices.deny", "a *:* rwm"),
                       ("devices.allow", "c 10:229 rw"), ("devices.deny", "b 8:* r")]
    assert seq[4:] == [("devices.allow", r.v1_text()) for r in DEFAULT_ALLOWED]
    assert "c 1:3 rwm" in [v for _, v in seq]


def test_devices_without_config_still_confine(tree):
    created(tree)
    seq = [(n, v) for d, n, v in tree.writes if n in ("devices.allow", "devices.deny")]
    assert seq[0] == ("devices.deny", "a") and len(seq) == 1 + len(DEFAULT_ALLOWED)


def test_bad_device_rule(tree):
    with pytest.raises(PyruncError, match=r"devices/0/type: 'x' is not a, b or c"):
        created(tree, {"devices": [{"allow": True, "type": "x"}]})
    with pytest.raises(PyruncError, match=r"devices/0/access"):
        created(tree, {"devices": [{"allow": True, "access": "rwx"}]})


def test_update_leaves_devices_alone(tree):
    m = created(tree)
    before = len(tree.writes)
    m.update({"devices": [{"allow": True, "access": "rwm"}], "pids": {"limit": 3}})
    names = [n for _, n, _ in tree.writes[before:]]
    assert names == ["pids.max"]


def test_type_errors_name_the_field(tree):
    with pytest.raises(PyruncError, match=r"/linux/resources/memory/limit: must be an integer, got '1g'"):
        created(tree, {"memory": {"limit": "1g"}})
    m = created(tree, path="/t2/c")
    with pytest.raises(PyruncError, match=r"/linux/resources/pids/limit: must be an integer, got True"):
        m.update({"pids": {"limit": True}})


def test_join_writes_the_pid_everywhere(tree):
    m = created(tree)
    m.join(4242)
    for h in ALL + ("unified",):
        assert tree.read(h, "test/c1", "cgroup.procs") == "4242"


def test_the_init_moves_itself_into_every_v1_hierarchy_freezer_last(tree):
    m = created(tree)
    files = m.self_join_files()
    assert sorted(name for name, _ in files) == sorted(m.dirs)
    assert files[-1][0] == "freezer"  # a frozen cgroup stops the mover: nothing may come after
    for name, path in files:
        assert path == os.path.join(m.dirs[name], "tasks") and os.path.isfile(path), path


def test_hybrid_init_is_born_in_unified_and_else_joined_there_by_the_runtime(tree):
    m = created(tree)
    assert m.birth_dir() == tree.path("unified/test/c1")
    assert not m.rest_to_join(born=True)
    m.join_rest(4242, born=True)
    assert all(tree.read(h, "test/c1", "cgroup.procs") == "" for h in ALL + ("unified",))
    assert m.rest_to_join(born=False)
    m.join_rest(4242, born=False)  # only what the init cannot do by itself
    assert tree.read("unified", "test/c1", "cgroup.procs") == "4242"
    assert all(tree.read(h, "test/c1", "cgroup.procs") == "" for h in ALL)


def test_without_unified_the_runtime_has_nothing_left_to_join(tmp_path, monkeypatch):
    t = FakeTree(tmp_path, monkeypatch, hierarchies=("cpu", "memory"), unified=False)
    m = t.manager()
    m.create()
    assert m.birth_dir() is None and not m.rest_to_join(born=False)
    assert [name for name, _ in m.self_join_files()] == sorted(m.dirs)


def test_pids_are_read_recursively(tree):
    m = created(tree)
    with open(tree.path("pids/test/c1/cgroup.procs"), "w") as f:
        f.write("10\n11\n")
    os.mkdir(tree.path("pids/test/c1/sub"))
    with open(tree.path("pids/test/c1/sub/cgroup.procs"), "w") as f:
        f.write("12\n")
    assert m.pids() == [10, 11, 12]


def test_freeze_thaw_state(tree):
    m = created(tree)
    assert m.state() == "running"
    m.freeze()
    assert tree.read("freezer/test/c1", "freezer.state") == "FROZEN"
    assert m.state() == "paused" and is_paused(m.to_record())
    m.thaw()
    assert m.state() == "running" and not is_paused(m.to_record())


def test_freeze_falls_back_to_the_hybrid_unified_dir(tmp_path, monkeypatch):
    t = FakeTree(tmp_path, monkeypatch, hierarchies=("cpu", "memory"))
    m = t.manager()
    m.create()
    m.freeze()
    assert t.read("unified/test/c1", "cgroup.freeze") == "1" and m.state() == "paused"
    assert is_paused(m.to_record())
    m.thaw()
    assert m.state() == "running"


def test_no_freezer_at_all(tmp_path, monkeypatch):
    t = FakeTree(tmp_path, monkeypatch, hierarchies=("cpu",), unified=False)
    m = t.manager()
    m.create()
    with pytest.raises(PyruncError, match="freezer controller is not mounted"):
        m.freeze()


def test_frozen_existing_cgroup_is_refused(tree):
    m = created(tree)
    m.freeze()
    with pytest.raises(PyruncError, match="is frozen"):
        created(tree)


def test_record_round_trip(tree):
    m = created(tree, path="/test/c1")
    m2 = manager_from_record(m.to_record())
    assert m2.paths() == m.paths() and m2.created == m.created and m2.version == 1
    assert m2.dir_of("memory") == tree.path("memory/test/c1")


def test_destroy_removes_only_what_it_made(tree):
    os.makedirs(tree.path("cpu/test"))  # a shared parent made by someone else
    m = created(tree)
    os.mkdir(tree.path("memory/test/c1/nested"))  # the container's own sub-cgroup
    m.destroy()
    for h in ALL + ("unified",):
        assert not os.path.exists(tree.path(h, "test/c1")), h
    assert os.path.isdir(tree.path("cpu/test"))
    assert not os.path.exists(tree.path("memory/test"))


def test_destroy_keeps_a_parent_another_container_lives_in(tree):
    m = created(tree, path="/pod/a")
    created(tree, path="/pod/b")
    m.destroy()
    assert not os.path.exists(tree.path("memory/pod/a"))
    assert os.path.isdir(tree.path("memory/pod/b"))


def test_destroy_of_a_joined_cgroup_keeps_it_and_its_processes(tree, monkeypatch):
    os.makedirs(tree.path("pids/shared"))
    for h in ALL:
        os.makedirs(tree.path(h, "shared"), exist_ok=True)
        tree._fill_v1(tree.path(h, "shared"), h)
    os.makedirs(tree.path("unified/shared"))
    tree._fill_v2(tree.path("unified/shared"), "")
    m = tree.manager("/shared")
    m.create()
    assert m.created == []
    killed = []
    monkeypatch.setattr(os, "kill", lambda pid, sig: killed.append(pid))
    with open(tree.path("pids/shared/cgroup.procs"), "w") as f:
        f.write("99999\n")
    m.destroy()
    assert killed == [] and os.path.isdir(tree.path("pids/shared"))


def test_stats(tree):
    m = created(tree)
    for h in ALL:
        d = tree.path(h, "test/c1")
        for f in os.listdir(tree.path(h)):
            if os.path.isfile(tree.path(h, f)) and f not in ("cgroup.procs", "tasks"):
                with open(tree.path(h, f)) as src, open(os.path.join(d, f), "w") as dst:
                    dst.write(src.read())
    s = m.stats()
    hz = os.sysconf("SC_CLK_TCK")
    assert s["cpu"]["usage"] == {"total": 1000, "percpu": [600, 400], "percpu_kernel": [100, 50],
                                 "percpu_user": [500, 350], "kernel": 2 * 10**9 // hz,
                                 "user": 5 * 10**9 // hz}
    assert s["cpu"]["throttling"] == {"periods": 3, "throttledPeriods": 1, "throttledTime": 500}
    assert s["memory"]["usage"] == {"limit": int(MAX), "usage": 4096, "max": 8192, "failcnt": 0}
    assert s["memory"]["cache"] == 100 and s["memory"]["raw"]["rss"] == 200
    assert "swap" in s["memory"] and "kernel" in s["memory"]
    assert s["pids"] == {}
    assert s["blkio"]["ioServiceBytesRecursive"] == [{"major": 8, "op": "Read", "value": 100},
                                                     {"major": 8, "op": "Write", "value": 50}]
    assert s["hugetlb"] == {"1GB": {"failcnt": 0}, "2MB": {"failcnt": 0}}
    assert s["cpuset"] == {"cpus": [0, 1], "mems": [0]}


def test_oom_count(tree):
    m = created(tree)
    assert m.oom_count() == 0
    with open(tree.path("memory/test/c1/memory.oom_control"), "w") as f:
        f.write("oom_kill_disable 0\nunder_oom 0\noom_kill 3\n")
    assert m.oom_count() == 3
    m.wait_event(0.01)  # a plain file: no eventfd, just the timeout
    m.close()


def test_join_sub_cgroups_for_exec(tree):
    m = created(tree)
    for h in ALL:
        os.mkdir(tree.path(h, "test/c1/sub"))
        tree._fill_v1(tree.path(h, "test/c1/sub"), h)
    os.mkdir(tree.path("memory/test/c1/other"))
    tree._fill_v1(tree.path("memory/test/c1/other"), "memory")
    m.join(5, ["sub", "memory:other"])
    assert tree.read("memory/test/c1/other", "cgroup.procs") == "5"
    assert tree.read("cpu/test/c1/sub", "cgroup.procs") == "5"
    assert tree.read("pids/test/c1/sub", "cgroup.procs") == "5"
    assert tree.read("unified/test/c1", "cgroup.procs") == "5"  # no such sub there: the leaf
    with pytest.raises(PyruncError, match="--cgroup: nope: no such sub-cgroup"):
        m.join(6, ["nope"])
    with pytest.raises(PyruncError, match="empty <controller> prefix"):
        m.join(6, [":x"])
    with pytest.raises(PyruncError, match="controller memory given twice"):
        m.join(6, ["memory:a", "memory,cpu:b"])
    with pytest.raises(PyruncError, match=r"more than one <path>"):
        m.join(6, ["a", "b"])


def test_oom_events_iterator(tree):
    import threading

    m = created(tree)
    path = tree.path("memory/test/c1/memory.oom_control")

    def later():
        import time

        time.sleep(0.1)
        with open(path, "w") as f:
            f.write("oom_kill_disable 0\nunder_oom 0\noom_kill 2\n")
    threading.Thread(target=later, daemon=True).start()
    events = m.oom_events(poll=0.02)
    assert [next(events), next(events)] == [1, 2]
    m.close()
