"""A fake /sys/fs/cgroup for the cgroup driver tests, and the tests of layout detection and
placement.

`FakeTree` lays out a tmp dir like a v1 (or hybrid) or v2 cgroup root, with the interface files
as plain files. It replaces fs.mkdir_cgroup (the kernel fills a new cgroup with its files) and
fs.write (records every write in order, and emulates the few kernel behaviours the drivers
depend on: the memory vs memory+swap invariant, cgroup.subtree_control, cgroup.freeze).
Other test modules import it: `from unit.test_cgroups_fake import FakeTree`.
"""

import errno
import os

import pytest

from runtime.cgroups import fs, manager_for
from runtime.errors import PyruncError

MAX = "9223372036854771712"

V1_FILES = {
    "cpu": {"cpu.shares": "1024", "cpu.cfs_period_us": "100000", "cpu.cfs_quota_us": "-1",
            "cpu.cfs_burst_us": "0", "cpu.rt_period_us": "1000000", "cpu.rt_runtime_us": "0", "cpu.idle": "0",
            "cpu.stat": "nr_periods 3\nnr_throttled 1\nthrottled_time 500\n"},
    "cpuacct": {"cpuacct.usage": "1000", "cpuacct.usage_percpu": "600 400 \n",
                "cpuacct.usage_percpu_sys": "100 50\n", "cpuacct.usage_percpu_user": "500 350\n",
                "cpuacct.stat": "user 5\nsystem 2\n"},
    "cpuset": {"cpuset.cpus": "", "cpuset.mems": "", "cpuset.effective_cpus": "",
               "cpuset.effective_mems": ""},
    "memory": {"memory.limit_in_bytes": MAX, "memory.memsw.limit_in_bytes": MAX,
               "memory.soft_limit_in_bytes": MAX, "memory.kmem.limit_in_bytes": MAX,
               "memory.kmem.tcp.limit_in_bytes": MAX, "memory.swappiness": "60",
               "memory.oom_control": "oom_kill_disable 0\nunder_oom 0\noom_kill 0\n",
               "memory.use_hierarchy": "1", "memory.usage_in_bytes": "4096",
               "memory.max_usage_in_bytes": "8192", "memory.failcnt": "0",
               "memory.memsw.usage_in_bytes": "4096", "memory.memsw.max_usage_in_bytes": "8192",
               "memory.memsw.failcnt": "0", "memory.kmem.usage_in_bytes": "0",
               "memory.stat": "cache 100\nrss 200\ntotal_cache 100\ntotal_rss 200\n",
               "cgroup.event_control": ""},
    "devices": {"devices.allow": "", "devices.deny": "", "devices.list": "a *:* rwm\n"},
    "freezer": {"freezer.state": "THAWED"},
    "blkio": {"blkio.weight": "500", "blkio.leaf_weight": "500", "blkio.weight_device": "",
              "blkio.leaf_weight_device": "", "blkio.throttle.read_bps_device": "",
              "blkio.throttle.write_bps_device": "", "blkio.throttle.read_iops_device": "",
              "blkio.throttle.write_iops_device": "",
              "blkio.throttle.io_service_bytes_recursive": "8:0 Read 100\n8:0 Write 50\nTotal 150\n",
              "blkio.throttle.io_serviced_recursive": "8:0 Read 3\n8:0 Write 2\nTotal 5\n"},
    "pids": {"pids.max": "max", "pids.current": "0"},
    "systemd": {},
    "hugetlb": {"hugetlb.2MB.limit_in_bytes": MAX, "hugetlb.2MB.rsvd.limit_in_bytes": MAX,
                "hugetlb.2MB.usage_in_bytes": "0", "hugetlb.2MB.max_usage_in_bytes": "0",
                "hugetlb.2MB.failcnt": "0", "hugetlb.1GB.limit_in_bytes": MAX},
    "net_cls": {"net_cls.classid": "0"},
    "net_prio": {"net_prio.ifpriomap": ""},
    "rdma": {"rdma.max": ""},
}
V1_ROOT_VALUES = {"cpuset": {"cpuset.cpus": "0-1", "cpuset.mems": "0", "cpuset.effective_cpus": "0-1",
                             "cpuset.effective_mems": "0"}}
HOST_V1 = ("blkio", "cpu", "cpuacct", "cpuset", "devices", "freezer", "memory", "pids", "systemd")

V2_CONTROLLERS = "cpuset cpu io memory hugetlb pids rdma"
V2_FILES = {
    "cgroup.procs": "", "cgroup.subtree_control": "", "cgroup.events": "populated 0\nfrozen 0\n",
    "cgroup.freeze": "0", "cgroup.kill": "", "cgroup.type": "domain",
    "memory.max": "max", "memory.swap.max": "max", "memory.low": "0", "memory.current": "4096",
    "memory.peak": "8192", "memory.swap.current": "0", "memory.stat": "anon 200\nfile 100\n",
    "memory.events": "low 0\nhigh 0\nmax 2\noom 1\noom_kill 1\n", "memory.swap.events": "max 0\n",
    "cpu.weight": "100", "cpu.max": "max 100000", "cpu.max.burst": "0", "cpu.idle": "0",
    "cpu.stat": "usage_usec 1500\nuser_usec 1000\nsystem_usec 500\nnr_periods 4\nnr_throttled 2\n"
                "throttled_usec 30\n",
    "cpuset.cpus": "", "cpuset.mems": "", "cpuset.cpus.effective": "0-1", "cpuset.mems.effective": "0",
    "pids.max": "max", "pids.current": "1", "io.weight": "default 100", "io.max": "",
    "io.stat": "8:0 rbytes=4096 wbytes=8192 rios=1 wios=2 dbytes=0 dios=0\n",
    "hugetlb.2MB.max": "max", "hugetlb.2MB.rsvd.max": "max", "hugetlb.2MB.current": "0",
    "hugetlb.2MB.events": "max 0\n", "hugetlb.1GB.max": "max", "rdma.max": "",
}


def _put(path: str, text: str) -> None:
    with open(path, "w") as f:
        f.write(text)


class FakeTree:
    """A cgroup root in a tmp dir. version 1 (with `hierarchies` and optionally a hybrid
    `unified`) or 2. `writes` lists (path relative to root, file, value) in write order."""

    def __init__(self, base, monkeypatch, version: int = 1, hierarchies=HOST_V1, unified: bool = True,
                 controllers: str = V2_CONTROLLERS):
        self.root = os.path.join(str(base), "cgroup")
        os.makedirs(self.root)
        self.version = version
        self.writes: list[tuple[str, str, str]] = []
        self.fail: dict[str, OSError] = {}   # file name -> error to raise on write
        self._real_write = fs.write
        if version == 2:
            self._fill_v2(self.root, controllers)
        else:
            for name in hierarchies:
                top = os.path.join(self.root, name)
                os.mkdir(top)
                self._fill_v1(top, name, root_level=True)
            if unified:
                top = os.path.join(self.root, "unified")
                os.mkdir(top)
                self._fill_v2(top, "")
        monkeypatch.setattr(fs, "mkdir_cgroup", self.mkdir)
        monkeypatch.setattr(fs, "rmdir_cgroup", self.rmdir)
        monkeypatch.setattr(fs, "write", self.write)

    # the "kernel" -------------------------------------------------------------------------------
    def _fill_v1(self, d: str, name: str, root_level: bool = False) -> None:
        _put(os.path.join(d, "cgroup.procs"), "")
        _put(os.path.join(d, "tasks"), "")
        for ctrl in name.split(","):
            for f, v in V1_FILES.get(ctrl, {}).items():
                if root_level:
                    v = V1_ROOT_VALUES.get(ctrl, {}).get(f, v)
                _put(os.path.join(d, f), v)

    def _fill_v2(self, d: str, controllers: str) -> None:
        for f, v in V2_FILES.items():
            _put(os.path.join(d, f), v)
        _put(os.path.join(d, "cgroup.controllers"), controllers)

    def hierarchy_of(self, path: str) -> str:
        rel = os.path.relpath(path, self.root)
        return "" if self.version == 2 else rel.split("/")[0]

    def mkdir(self, path: str) -> None:
        os.mkdir(path, 0o755)
        h = self.hierarchy_of(path)
        if self.version == 2 or h == "unified":
            parent = os.path.dirname(path)
            self._fill_v2(path, fs.read_or(parent, "cgroup.subtree_control").strip())
        else:
            # the files the hierarchy has (its root's), with a new cgroup's values
            defaults = {f: v for c in h.split(",") for f, v in V1_FILES.get(c, {}).items()}
            top = os.path.join(self.root, h)
            for f in os.listdir(top):
                if os.path.isfile(os.path.join(top, f)):
                    _put(os.path.join(path, f), defaults.get(f, ""))

    def rmdir(self, path: str, timeout: float = 0) -> None:
        """cgroupfs rmdir: the interface files go with the directory; child cgroups or
        processes make it EBUSY."""
        if not os.path.isdir(path):
            return
        names = os.listdir(path)
        busy = fs.read_or(path, "cgroup.procs").strip()
        if busy or any(os.path.isdir(os.path.join(path, n)) for n in names):
            raise OSError(errno.EBUSY, os.strerror(errno.EBUSY), path)
        for n in names:
            os.unlink(os.path.join(path, n))
        os.rmdir(path)

    def write(self, directory: str, name: str, value, field=None) -> None:
        text = value if isinstance(value, str) else str(value)
        self.writes.append((os.path.relpath(directory, self.root), name, text))
        if name in self.fail:
            e = self.fail[name]
            raise fs.fail(field, f"write {name}={text}", e)
        path = os.path.join(directory, name)
        if not os.path.exists(path):
            raise fs.fail(field, f"write {name}={text}", OSError(errno.ENOENT, os.strerror(errno.ENOENT)))
        if name in ("memory.limit_in_bytes", "memory.memsw.limit_in_bytes"):
            limit = self._num(directory, "memory.limit_in_bytes")
            memsw = self._num(directory, "memory.memsw.limit_in_bytes")
            new = float("inf") if text == "-1" else int(text)
            if (name == "memory.limit_in_bytes" and new > memsw) or \
                    (name == "memory.memsw.limit_in_bytes" and new < limit):
                raise fs.fail(field, f"write {name}={text}", OSError(errno.EINVAL, os.strerror(errno.EINVAL)))
            _put(path, MAX if text == "-1" else text)
            return
        if name == "cgroup.subtree_control":
            have = fs.read_or(directory, "cgroup.subtree_control").split()
            available = fs.read_or(directory, "cgroup.controllers").split()
            for token in text.split():
                c = token[1:]
                if c not in available:
                    raise fs.fail(field, f"write {name}={text}",
                                  OSError(errno.ENOENT, os.strerror(errno.ENOENT)))
                have = [x for x in have if x != c] + ([c] if token[0] == "+" else [])
            _put(path, " ".join(have))
            for child in os.listdir(directory):  # the kernel shows it in the children at once
                if os.path.isdir(os.path.join(directory, child)):
                    _put(os.path.join(directory, child, "cgroup.controllers"), " ".join(have))
            return
        if name == "cgroup.freeze":
            _put(os.path.join(directory, "cgroup.events"), f"populated 0\nfrozen {text}\n")
        _put(path, text)

    @staticmethod
    def _num(directory: str, name: str) -> float:
        text = fs.read_or(directory, name).strip()
        return float("inf") if text in ("", MAX) else int(text)

    # helpers for the tests --------------------------------------------------------------------
    def path(self, *parts: str) -> str:
        return os.path.join(self.root, *parts)

    def read(self, *parts: str) -> str:
        return fs.read(self.path(*parts[:-1]), parts[-1]).strip()

    def writes_to(self, name: str) -> list[str]:
        return [v for _, n, v in self.writes if n == name]

    def manager(self, path: str | None = "/test/c1", cid: str = "c1", own=None):
        linux = {"cgroupsPath": path} if path is not None else {}
        own = own if own is not None else {"": "/"}
        return manager_for(linux, cid, root=self.root, own=own)


# -- layout detection -------------------------------------------------------------------------

def _mountinfo(tmp_path, lines: list[str]) -> str:
    path = tmp_path / "mountinfo"
    path.write_text("".join(line + "\n" for line in lines))
    return str(path)


HYBRID = [
    "31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755",
    "32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,relatime - cgroup cgroup rw,cpu,cpuacct",
    "35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory",
    "38 31 0:35 / /sys/fs/cgroup/net_cls,net_prio rw - cgroup cgroup rw,net_cls,net_prio",
    "40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,xattr,name=systemd",
    "41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw,nsdelegate",
    "50 23 0:40 / /other/cgroup rw - cgroup cgroup rw,pids",
]


def test_detect_hybrid_from_mountinfo(tmp_path):
    layout = fs.detect("/sys/fs/cgroup", _mountinfo(tmp_path, HYBRID))
    assert layout.version == 1
    assert [(h.name, sorted(h.controllers)) for h in layout.v1] == [
        ("cpu,cpuacct", ["cpu", "cpuacct"]), ("memory", ["memory"]),
        ("net_cls,net_prio", ["net_cls", "net_prio"]), ("systemd", ["name=systemd"])]
    assert layout.unified.mountpoint == "/sys/fs/cgroup/unified"
    assert layout.hierarchy_of("cpuacct").name == "cpu,cpuacct"
    assert layout.hierarchy_of("pids") is None  # mounted elsewhere: not under root


def test_detect_v2_from_mountinfo(tmp_path):
    info = _mountinfo(tmp_path, ["30 23 0:26 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw,nsdelegate"])
    layout = fs.detect("/sys/fs/cgroup", info)
    assert layout.version == 2 and layout.unified.mountpoint == "/sys/fs/cgroup"


def test_detect_fake_trees(tmp_path, monkeypatch):
    v1 = FakeTree(tmp_path / "a", monkeypatch)
    layout = fs.detect(v1.root, "/dev/null")
    assert layout.version == 1
    assert [h.name for h in layout.v1] == list(HOST_V1)
    assert layout.hierarchy_of("name=systemd").name == "systemd"
    assert layout.unified.name == "unified"
    v2 = FakeTree(tmp_path / "b", monkeypatch, version=2)
    assert fs.detect(v2.root, "/dev/null").version == 2


def test_detect_this_host():
    layout = fs.detect()
    assert layout.version in (1, 2)


def test_own_cgroups(tmp_path):
    p = tmp_path / "cgroup"
    p.write_text("9:name=systemd:/\n4:memory:/a/b\n1:cpu,cpuacct:/c\n0::/u\n")
    assert fs.own_cgroups(str(p)) == {"name=systemd": "/", "memory": "/a/b", "cpu": "/c",
                                      "cpuacct": "/c", "": "/u"}


# -- placement --------------------------------------------------------------------------------

@pytest.mark.parametrize("path,want", [
    ("/a/b", "/a/b"), ("a/b", "a/b"), ("/a//b/", "/a/b"), ("/../../a", "/a"), ("../x", "x"),
    ("a/../../b", "b"), ("/a/./b", "/a/b"),
])
def test_clean_path(path, want):
    assert fs.clean_path(path) == want


def test_absolute_path_is_below_each_mount_point(tmp_path, monkeypatch):
    t = FakeTree(tmp_path, monkeypatch)
    m = t.manager("/pod/c1", own={"memory": "/job/1", "": "/u"})
    assert m.dirs["memory"] == t.path("memory/pod/c1")
    assert m.dirs["systemd"] == t.path("systemd/pod/c1")
    assert m.unified == t.path("unified/pod/c1")


def test_relative_path_is_below_own_cgroup_v1(tmp_path, monkeypatch):
    t = FakeTree(tmp_path, monkeypatch)
    own = {"memory": "/job/1", "cpu": "/", "name=systemd": "/s", "": "/u/v"}
    m = t.manager("pod/c1", own=own)
    assert m.dirs["memory"] == t.path("memory/job/1/pod/c1")
    assert m.dirs["cpu"] == t.path("cpu/pod/c1")
    assert m.dirs["systemd"] == t.path("systemd/s/pod/c1")
    assert m.unified == t.path("unified/u/v/pod/c1")


def test_default_path_is_the_id_relative(tmp_path, monkeypatch):
    t = FakeTree(tmp_path, monkeypatch)
    m = t.manager(None, cid="myid", own={"memory": "/job"})
    assert m.dirs["memory"] == t.path("memory/job/myid")
    assert m.dirs["pids"] == t.path("pids/myid")


def test_relative_path_v2_is_below_parent_of_own_cgroup(tmp_path, monkeypatch):
    t = FakeTree(tmp_path, monkeypatch, version=2)
    assert t.manager("pod/c1", own={"": "/user.slice/session-1.scope"}).dir == t.path("user.slice/pod/c1")
    assert t.manager(None, cid="x", own={"": "/"}).dir == t.path("x")
    assert t.manager("/abs/c", own={"": "/a/b"}).dir == t.path("abs/c")


def test_mount_root_is_stripped_from_own_path(tmp_path):
    h = fs.Hierarchy("memory", "/sys/fs/cgroup/memory", frozenset(["memory"]), mount_root="/ns")
    assert fs.host_dir(h, "c", {"memory": "/ns/sub"}) == "/sys/fs/cgroup/memory/sub/c"
    assert fs.host_dir(h, "/abs", {"memory": "/ns/sub"}) == "/sys/fs/cgroup/memory/abs"


def test_systemd_cgroup_is_refused(tmp_path, monkeypatch):
    t = FakeTree(tmp_path, monkeypatch)
    with pytest.raises(PyruncError, match="systemd cgroup driver is not supported"):
        manager_for({"cgroupsPath": "system.slice:pyrunc:c1"}, "c1", root=t.root, systemd=True, own={})
    with pytest.raises(PyruncError, match='must be "slice:prefix:name"'):
        manager_for({"cgroupsPath": "/a/b"}, "c1", root=t.root, systemd=True, own={})


def test_root_path_is_refused(tmp_path, monkeypatch):
    t = FakeTree(tmp_path, monkeypatch)
    with pytest.raises(PyruncError, match="names the cgroup root"):
        t.manager("/..")


def test_model_object_is_accepted(tmp_path, monkeypatch):
    t = FakeTree(tmp_path, monkeypatch)

    class Linux:
        cgroups_path = "/x"
    m = manager_for(Linux(), "c", root=t.root, own={})
    assert m.dirs["pids"] == t.path("pids/x")
