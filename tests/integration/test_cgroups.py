"""The cgroup drivers on this host's real cgroups, without containers: a manager for a test
id, resources applied, child processes joined, frozen and thawed, destroyed.

* v1: the hierarchies mounted under /sys/fs/cgroup (skipped on a pure v2 host).
* v2: the cgroup2 mount at /sys/fs/cgroup/unified of a hybrid host (or /sys/fs/cgroup itself
  on a v2 host): placement, cgroup.freeze, cgroup.kill, the eBPF device program, and the
  controllers it can delegate (on a hybrid host only those no v1 hierarchy holds).

Every cgroup made here is removed, also when a test fails; the v2 root's
cgroup.subtree_control is put back as it was.
"""

import fcntl
import os
import signal
import subprocess
import sys
import time

import pytest

from runtime.cgroups import ebpf, fs, is_paused, manager_for, manager_from_record
from runtime.errors import PyruncError

ROOT = "/sys/fs/cgroup"
pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root")

_counter = [0]


def _test_path() -> tuple[str, str]:
    _counter[0] += 1
    cid = f"cgtest-{os.getpid()}-{_counter[0]}"
    return cid, f"/pyrunc-test-{os.getpid()}/{cid}"


def _force_remove(dirs) -> list[str]:
    """Last resort after a failed destroy: kill what is in, rmdir bottom-up. Returns what stays."""
    left = []
    for top in dirs:
        if not os.path.isdir(top):
            continue
        for d in reversed(fs.subtree_dirs(top)):
            for pid in fs.procs(d, recursive=False):
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            for name in ("freezer.state", "cgroup.freeze"):
                if os.path.exists(os.path.join(d, name)):
                    try:
                        with open(os.path.join(d, name), "w") as f:
                            f.write("THAWED" if name == "freezer.state" else "0")
                    except OSError:
                        pass
            try:
                fs.rmdir_cgroup(d, 3.0)
            except OSError:
                left.append(d)
    return left


class Made:
    """Managers made by a test; all destroyed at the end, then nothing may be left."""

    def __init__(self, root: str):
        self.root = root
        self.managers = []
        self.children: list[subprocess.Popen] = []

    def manager(self, resources=None, path=None, cid=None):
        test_cid, test_path = _test_path()
        m = manager_for({"cgroupsPath": path or test_path}, cid or test_cid, root=self.root)
        self.managers.append(m)
        m.create(resources)
        return m

    def spawn(self, m, argv: list[str], **kw) -> subprocess.Popen:
        """A child that joins `m` before exec (so what it allocates is charged there)."""
        p = subprocess.Popen(argv, preexec_fn=lambda: m.join(os.getpid()), **kw)
        self.children.append(p)
        return p

    def cleanup(self) -> list[str]:
        problems = []
        for m in reversed(self.managers):
            try:
                m.destroy()
            except PyruncError as e:
                problems.append(str(e))
        for p in self.children:
            if p.poll() is None:
                p.kill()
            p.wait()
        dirs = [d for m in self.managers for d in list(m.paths().values()) + m.created]
        parents = {os.path.dirname(d) for d in dirs
                   if os.path.basename(os.path.dirname(d)).startswith("pyrunc-test-")}
        leftovers = [d for d in dirs if os.path.isdir(d)]
        problems += [f"left behind: {d}" for d in leftovers]
        _force_remove(sorted(set(leftovers) | parents, key=len, reverse=True))
        return problems


def _v1_available() -> bool:
    try:
        layout = fs.detect(ROOT)
    except (OSError, PyruncError):
        return False
    return layout.version == 1 and bool(layout.v1)


def _v2_root() -> str | None:
    try:
        layout = fs.detect(ROOT)
    except (OSError, PyruncError):
        return None
    if layout.version == 2:
        return ROOT
    if layout.unified is not None and os.access(layout.unified.mountpoint, os.W_OK):
        return layout.unified.mountpoint
    return None


@pytest.fixture
def v1():
    if not _v1_available():
        pytest.skip("no cgroup v1 hierarchies under /sys/fs/cgroup")
    made = Made(ROOT)
    try:
        yield made
    finally:
        problems = made.cleanup()
    assert not problems, problems


@pytest.fixture
def v2():
    root = _v2_root()
    if root is None:
        pytest.skip("no writable cgroup2 mount")
    # The root's cgroup.subtree_control is shared: the v2 tests of parallel workers take turns,
    # so that one's restore never meets the other's cgroups still using a controller.
    lock = os.open("/tmp/pyrunc-test-cgroup-v2.lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(lock, fcntl.LOCK_EX)
        before = fs.read_or(root, "cgroup.subtree_control").split()
        made = Made(root)
        try:
            yield made
        finally:
            problems = made.cleanup()
            for c in fs.read_or(root, "cgroup.subtree_control").split():
                if c not in before:
                    try:
                        fs.write(root, "cgroup.subtree_control", f"-{c}")
                    except PyruncError as e:
                        problems.append(f"restore {root}/cgroup.subtree_control: {e}")
    finally:
        os.close(lock)
    assert not problems, problems


def _state(pid: int) -> str:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("State:"):
                return line.split()[1]
    return "?"


def _utime(pid: int) -> int:
    with open(f"/proc/{pid}/stat", "rb") as f:
        stat = f.read()
    return int(stat[stat.rindex(b")") + 2:].split()[11])


def _wait(cond, timeout: float = 5.0) -> bool:
    return fs.wait_for(cond, timeout)


def _cgroup_lines(pid: int) -> dict[str, str]:
    out = {}
    with open(f"/proc/{pid}/cgroup") as f:
        for line in f:
            _, ctrls, path = line.rstrip("\n").split(":", 2)
            out[ctrls] = path
    return out


OPEN_DEVICES = (
    "import os\n"
    "for p in ('/dev/null', '/dev/kmsg'):\n"
    "    try:\n"
    "        os.close(os.open(p, os.O_RDONLY))\n"
    "        print(p, 'ok')\n"
    "    except OSError as e:\n"
    "        print(p, e.errno)\n"
)


def _kmsg_openable() -> bool:
    try:
        os.close(os.open("/dev/kmsg", os.O_RDONLY))
        return True
    except OSError:
        return False


# -- v1 ---------------------------------------------------------------------------------------

def test_v1_create_apply_join_freeze_destroy(v1):
    at_root = sorted(os.listdir(ROOT))
    m = v1.manager({"memory": {"limit": 256 << 20, "reservation": 128 << 20, "swappiness": 30},
                    "cpu": {"shares": 512, "quota": 50000, "period": 100000, "cpus": "0", "mems": "0"},
                    "pids": {"limit": 64}})
    mem, cpu, pids = m.dir_of("memory"), m.dir_of("cpu"), m.dir_of("pids")
    assert fs.read(mem, "memory.limit_in_bytes").strip() == str(256 << 20)
    assert fs.read(mem, "memory.soft_limit_in_bytes").strip() == str(128 << 20)
    assert fs.read(mem, "memory.swappiness").strip() == "30"
    assert fs.read(cpu, "cpu.shares").strip() == "512"
    assert fs.read(cpu, "cpu.cfs_quota_us").strip() == "50000"
    assert fs.read(pids, "pids.max").strip() == "64"
    assert fs.read(m.dir_of("cpuset"), "cpuset.cpus").strip() == "0"
    # a created dir for every mounted hierarchy, nothing for the unmounted ones
    for name, d in m.v1_dirs():
        assert os.path.isdir(d), name
    assert sorted(os.listdir(ROOT)) == at_root  # nothing made for an unmounted controller
    p = v1.spawn(m, ["sleep", "60"])
    _wait(lambda: m.pids() == [p.pid])
    assert m.pids() == [p.pid]
    inner = "/" + os.path.relpath(pids, f"{ROOT}/pids")
    assert _cgroup_lines(p.pid)["pids"] == inner
    m.freeze()
    assert m.state() == "paused" and is_paused(m.to_record())
    assert _wait(lambda: _state(p.pid) == "D"), _state(p.pid)
    m.thaw()
    assert m.state() == "running"
    assert _wait(lambda: _state(p.pid) == "S"), _state(p.pid)
    dirs = list(m.paths().values())
    m.destroy()
    assert p.wait(5) == -signal.SIGKILL
    assert not [d for d in dirs if os.path.exists(d)]


def test_v1_record_drives_a_later_command(v1):
    m = v1.manager()
    p = v1.spawn(m, ["sleep", "60"])
    _wait(lambda: m.pids() == [p.pid])
    again = manager_from_record(m.to_record())
    assert again.pids() == [p.pid]
    again.freeze()
    assert m.state() == "paused"
    again.thaw()


def test_v1_update(v1):
    m = v1.manager({"memory": {"limit": 64 << 20}, "cpu": {"quota": 20000}})
    m.update({"memory": {"limit": 128 << 20, "swap": 256 << 20}, "cpu": {"quota": 30000, "period": 50000},
              "pids": {"limit": 9}})
    assert fs.read(m.dir_of("memory"), "memory.limit_in_bytes").strip() == str(128 << 20)
    assert fs.read(m.dir_of("memory"), "memory.memsw.limit_in_bytes").strip() == str(256 << 20)
    assert fs.read(m.dir_of("cpu"), "cpu.cfs_quota_us").strip() == "30000"
    assert fs.read(m.dir_of("cpu"), "cpu.cfs_period_us").strip() == "50000"
    m.update({"memory": {"limit": 32 << 20, "swap": 32 << 20}})
    assert fs.read(m.dir_of("memory"), "memory.memsw.limit_in_bytes").strip() == str(32 << 20)
    m.update({"memory": {"limit": -1}})
    assert int(fs.read(m.dir_of("memory"), "memory.memsw.limit_in_bytes")) > 1 << 60


def test_v1_devices_are_enforced(v1):
    if not _kmsg_openable():
        pytest.skip("/dev/kmsg cannot be opened here even without a device cgroup")
    m = v1.manager()  # no rules: deny all but runc's defaults
    p = v1.spawn(m, [sys.executable, "-c", OPEN_DEVICES], stdout=subprocess.PIPE, text=True)
    out, _ = p.communicate(timeout=30)
    assert out.splitlines() == ["/dev/null ok", "/dev/kmsg 1"]  # EPERM


def test_v1_limit_below_usage_is_refused(v1):
    m = v1.manager({"memory": {"limit": 512 << 20}})
    p = v1.spawn(m, [sys.executable, "-c", "import time; b = b'x' * (48 << 20); print('ok', flush=True); "
                     "time.sleep(60)"], stdout=subprocess.PIPE, text=True)
    assert p.stdout.readline().strip() == "ok"
    usage = fs.read_int(m.dir_of("memory"), "memory.usage_in_bytes")
    assert usage > 40 << 20
    with pytest.raises(PyruncError, match="below the current usage"):
        m.update({"memory": {"limit": 8 << 20, "checkBeforeUpdate": True}})
    swap_total = int(open("/proc/meminfo").read().split("SwapTotal:")[1].split()[0])
    if swap_total == 0:
        with pytest.raises(PyruncError) as e:
            m.update({"memory": {"limit": 8 << 20}})
        assert str(e.value).startswith("/linux/resources/memory/limit: write memory.limit_in_bytes=8388608: ")
        assert str(e.value).endswith("(EBUSY)")


def test_v1_oom_is_counted_and_wakes_the_waiter(v1):
    m = v1.manager({"memory": {"limit": 32 << 20, "swap": 32 << 20}})
    m.wait_event(0.01)  # registers the eventfd
    assert m.oom_count() == 0
    p = v1.spawn(m, [sys.executable, "-c", "b = [b'x' * (1 << 20) for _ in range(200)]"])
    assert p.wait(30) == -signal.SIGKILL
    started = time.monotonic()
    m.wait_event(5.0)
    assert time.monotonic() - started < 5.0 or m.oom_count() >= 1
    assert m.oom_count() >= 1
    m.close()


def test_v1_pids_limit(v1):
    m = v1.manager({"pids": {"limit": 3}})
    script = ("import os, time\nok = 0\nfor _ in range(6):\n    try:\n        pid = os.fork()\n"
              "    except BlockingIOError:\n        continue\n    if pid == 0:\n        time.sleep(30)\n"
              "        os._exit(0)\n    ok += 1\nprint(ok, flush=True)\ntime.sleep(30)\n")
    p = v1.spawn(m, [sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert p.stdout.readline().strip() == "2"
    assert len(m.pids()) == 3


def test_v1_signal_all_reaches_every_process(v1):
    m = v1.manager()
    p = v1.spawn(m, ["sh", "-c", "sleep 60 & sleep 60 & wait"])
    assert _wait(lambda: len(m.pids()) == 3)
    m.signal_all(signal.SIGKILL)
    assert p.wait(5) == -signal.SIGKILL
    assert _wait(lambda: m.pids() == [])
    assert m.state() == "running"


def test_v1_destroy_of_a_paused_container(v1):
    m = v1.manager()
    p = v1.spawn(m, ["sleep", "60"])
    _wait(lambda: m.pids() == [p.pid])
    m.freeze()
    m.destroy()
    assert p.wait(5) == -signal.SIGKILL


def test_v1_stats(v1):
    m = v1.manager({"memory": {"limit": 64 << 20}, "pids": {"limit": 10}})
    p = v1.spawn(m, [sys.executable, "-c", "import time\nt = time.time()\nwhile time.time() - t < 0.3: pass\n"
                     "time.sleep(60)"])
    time.sleep(0.5)
    s = m.stats()
    assert s["cpu"]["usage"]["total"] > 0
    assert s["memory"]["usage"]["limit"] == 64 << 20 and s["memory"]["usage"]["usage"] > 0
    assert s["pids"] == {"current": 1, "limit": 10}
    p.kill()


def test_v1_default_placement_is_below_own_cgroup():
    if not _v1_available():
        pytest.skip("no cgroup v1")
    own = fs.own_cgroups()
    m = manager_for({}, "someid")
    for name, d in m.v1_dirs():
        if name == "unified":
            assert d == f"{ROOT}/unified{own[''].rstrip('/')}/someid"
        else:
            ctrl = next(iter(m.controllers[name]))
            assert d == f"{ROOT}/{name}{own[ctrl].rstrip('/')}/someid"


def test_v1_existing_cgroup_is_joined_and_kept(v1):
    first = v1.manager()
    path = "/" + os.path.relpath(first.dir_of("pids"), f"{ROOT}/pids")
    second = manager_for({"cgroupsPath": path}, "other")
    second.create({"pids": {"limit": 5}})
    assert second.created == []
    second.destroy()
    assert os.path.isdir(first.dir_of("pids"))


# -- v2 ---------------------------------------------------------------------------------------

def test_v2_freeze_thaw_kill(v2):
    m = v2.manager()
    assert m.version == 2
    p = v2.spawn(m, ["sh", "-c", "while :; do :; done"])
    assert _wait(lambda: m.pids() == [p.pid])
    m.freeze()
    assert m.state() == "paused" and is_paused(m.to_record())
    assert "frozen 1" in fs.read(m.dir, "cgroup.events")
    t0 = _utime(p.pid)
    time.sleep(0.3)
    assert _utime(p.pid) == t0
    m.thaw()
    assert m.state() == "running"
    time.sleep(0.3)
    assert _utime(p.pid) > t0
    d = m.dir
    m.destroy()  # through cgroup.kill
    assert p.wait(5) == -signal.SIGKILL
    assert not os.path.exists(d)


def test_v2_devices_program_is_enforced(v2):
    if not _kmsg_openable():
        pytest.skip("/dev/kmsg cannot be opened here even without a device cgroup")
    m = v2.manager({"devices": [{"allow": False, "access": "rwm"}]})
    assert len(ebpf.attached(m.dir)) == 1
    p = v2.spawn(m, [sys.executable, "-c", OPEN_DEVICES], stdout=subprocess.PIPE, text=True)
    out, _ = p.communicate(timeout=30)
    assert out.splitlines() == ["/dev/null ok", "/dev/kmsg 1"]


def test_v2_device_program_is_replaced_not_stacked(v2):
    from runtime.cgroups.values import Rule, effective_rules

    m = v2.manager()
    before = ebpf.attached(m.dir)
    ebpf.apply(m.dir, *effective_rules([Rule(True, "a")]))
    after = ebpf.attached(m.dir)
    assert len(before) == len(after) == 1 and before != after
    if _kmsg_openable():
        p = v2.spawn(m, [sys.executable, "-c", OPEN_DEVICES], stdout=subprocess.PIPE, text=True)
        out, _ = p.communicate(timeout=30)
        assert out.splitlines() == ["/dev/null ok", "/dev/kmsg ok"]


def test_v2_delegated_controller(v2):
    """What the kernel lets this host delegate (hybrid: controllers no v1 hierarchy holds)."""
    root = v2.root
    available = fs.read_or(root, "cgroup.controllers").split()
    if "hugetlb" in available and os.path.exists("/sys/kernel/mm/hugepages/hugepages-2048kB"):
        m = v2.manager({"hugepageLimits": [{"pageSize": "2MB", "limit": 4 << 21}]})
        assert fs.read(m.dir, "hugetlb.2MB.max").strip() == str(4 << 21)
        assert "hugetlb" in fs.read(os.path.dirname(m.dir), "cgroup.subtree_control").split()
    elif "memory" in available:
        m = v2.manager({"memory": {"limit": 64 << 20}})
        assert fs.read(m.dir, "memory.max").strip() == str(64 << 20)
    else:
        pytest.skip(f"no controller to delegate in {root} ({available})")


def test_v2_missing_controller_is_a_clear_error(v2):
    if "pids" in fs.read_or(v2.root, "cgroup.controllers").split():
        pytest.skip("pids is available on this cgroup2 mount")
    with pytest.raises(PyruncError, match=r"/linux/resources/pids: the pids controller is not available"):
        v2.manager({"pids": {"limit": 3}})
    assert not any(os.path.exists(d) for m in v2.managers for d in m.created)
