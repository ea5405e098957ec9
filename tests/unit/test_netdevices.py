"""runtime.netdevices without a container: network namespaces made by the test.

The test thread itself enters a fresh network namespace (unshare(CLONE_NEWNET) acts on the
calling thread only) and plays the runtime's; a `unshare -n sleep` process holds the one
playing the container's. Both die with the test, and every device made here with them.
"""

from __future__ import annotations

import errno
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

import cext
from oci_spec.model import NetDevice
from runtime import netdevices
from runtime.errors import PyruncError, SetupError

REPO = Path(__file__).resolve().parents[2]
needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="needs root (network namespaces)")


# --------------------------------------------------------------------------- helpers


def _ns_id(path: str) -> str:
    return os.readlink(path)


@pytest.fixture
def home():
    """An IPRoute of this thread's throwaway network namespace (the 'runtime's')."""
    pytest.importorskip("pyroute2")
    saved = os.open("/proc/thread-self/ns/net", os.O_RDONLY | os.O_CLOEXEC)
    try:
        cext.unshare(cext.CLONE_NEWNET)
    except OSError as e:
        os.close(saved)
        pytest.skip(f"cannot make a network namespace: {e}")
    try:
        with netdevices.iproute_in() as ipr:
            yield ipr
    finally:
        cext.setns(saved, cext.CLONE_NEWNET)
        os.close(saved)


class Holder:
    """A process alone in a new network namespace (the 'container's init')."""

    def __init__(self):
        self.proc = subprocess.Popen(["unshare", "--net", "sleep", "120"])
        self.pid = self.proc.pid
        self.path = f"/proc/{self.pid}/ns/net"
        deadline = time.monotonic() + 10
        while _ns_id(self.path) == _ns_id("/proc/thread-self/ns/net"):
            assert time.monotonic() < deadline, "unshare --net did not take"
            time.sleep(0.005)

    def iproute(self):
        fd = os.open(self.path, os.O_RDONLY | os.O_CLOEXEC)
        try:
            return netdevices.iproute_in(fd)
        finally:
            os.close(fd)

    def links(self) -> dict[str, object]:
        with self.iproute() as ipr:
            return {m.get_attr("IFLA_IFNAME"): m for m in ipr.get_links()}

    def addresses(self, name: str) -> set[tuple[str, int]]:
        return _addresses_of(self.iproute(), name)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()


@pytest.fixture
def ctr(home):
    if shutil.which("unshare") is None:
        pytest.skip("no unshare(1)")
    h = Holder()
    try:
        yield h
    finally:
        h.stop()


def make_link(ipr, name: str, peer: str | None = None) -> int:
    """A virtual device `name` (dummy where the module exists, else one end of a veth pair)."""
    from pyroute2.netlink.exceptions import NetlinkError

    try:
        ipr.link("add", ifname=name, kind="dummy")
    except NetlinkError as e:
        if e.code not in (errno.EOPNOTSUPP, errno.ENOENT):
            raise
        ipr.link("add", ifname=name, kind="veth", peer=peer or name + "p")
    return ipr.link_lookup(ifname=name)[0]


def _addresses_of(ipr, name: str) -> set[tuple[str, int]]:
    with ipr:
        idx = ipr.link_lookup(ifname=name)
        if not idx:
            return set()
        return {(m.get_attr("IFA_ADDRESS"), m["prefixlen"]) for m in ipr.get_addr(index=idx[0])
                if m["scope"] == 0}


def names(ipr) -> set[str]:
    return {m.get_attr("IFLA_IFNAME") for m in ipr.get_links()}


def is_up(msg) -> bool:
    return bool(msg["flags"] & 1)


# --------------------------------------------------------------------------- checks before netlink


def test_empty_and_move_out_never_import_pyroute2():
    code = ("import sys; from runtime import netdevices as n; assert n.move_in({}, 1) == [];"
            " n.move_out([('a', 'b')], '/proc/1/ns/net'); n.move_out([], None);"
            " assert n.move_back([], '/nonexistent') == [];"
            " assert 'pyroute2' not in sys.modules, 'pyroute2 imported'")
    res = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True)
    assert res.returncode == 0, res.stderr


@pytest.mark.parametrize("devices, pointer, words", [
    ({"a" * 16: {}}, "/linux/netDevices/" + "a" * 16, "invalid host interface name"),
    ({"eth0": {"name": "x" * 16}}, "/linux/netDevices/eth0", "invalid container interface name"),
    ({"eth0": {"name": "a b"}}, "/linux/netDevices/eth0", "invalid container interface name"),
    ({"eth0": {"name": "a/b"}}, "/linux/netDevices/eth0", "invalid container interface name"),
])
def test_bad_names_are_refused_before_anything(devices, pointer, words):
    with pytest.raises(SetupError) as ei:
        netdevices.move_in(devices, 1)
    msg = str(ei.value)
    assert msg.startswith(pointer + ": ") and words in msg and "(EINVAL)" in msg


def test_two_devices_asking_for_one_name():
    with pytest.raises(SetupError) as ei:
        netdevices.move_in({"eth1": {"name": "net0"}, "net0": {}}, 1)
    msg = str(ei.value)
    assert msg.startswith("/linux/netDevices/net0: ") and "eth1" in msg and "(EEXIST)" in msg
    # a %d template may repeat: the kernel numbers them
    netdevices._check_names([("a", "n%d"), ("b", "n%d")])


def test_pointer_escapes():
    assert netdevices.pointer("a~b") == "/linux/netDevices/a~0b"


def test_inside_name_of_models_and_dicts():
    assert netdevices.inside_name("eth0", NetDevice(name="c0")) == "c0"
    assert netdevices.inside_name("eth0", NetDevice()) == "eth0"
    assert netdevices.inside_name("eth0", {"name": "c0"}) == "c0"
    assert netdevices.inside_name("eth0", {}) == "eth0"
    assert netdevices.inside_name("eth0", None) == "eth0"


# --------------------------------------------------------------------------- moving


@needs_root
def test_move_in_renames_and_sets_up(home, ctr):
    make_link(home, "nd0")
    assert not is_up(home.get_links(ifname="nd0")[0])
    moved = netdevices.move_in({"nd0": NetDevice(name="eth7")}, ctr.pid)
    assert moved == [("nd0", "eth7")]
    assert "nd0" not in names(home)
    inside = ctr.links()
    assert "eth7" in inside and "nd0" not in inside
    assert is_up(inside["eth7"]), "the spec wants the device up inside"


@needs_root
def test_move_in_keeps_the_host_name_without_name(home, ctr):
    make_link(home, "nd0")
    make_link(home, "nd1")
    moved = netdevices.move_in({"nd0": {}, "nd1": NetDevice()}, ctr.pid)
    assert moved == [("nd0", "nd0"), ("nd1", "nd1")]
    assert {"nd0", "nd1"} <= set(ctr.links())
    assert not {"nd0", "nd1"} & names(home)


@needs_root
def test_keeps_permanent_global_addresses_only(home, ctr):
    i = make_link(home, "nd0")
    home.addr("add", index=i, address="10.1.2.3", prefixlen=24, broadcast="10.1.2.255",
              rt_priority=77, proto=99)
    home.addr("add", index=i, address="10.1.2.4", prefixlen=24, label="nd0:sec")
    home.addr("add", index=i, address="fd00:1::5", prefixlen=64, flags=0x02 | 0x200)  # nodad noprefixroute
    home.addr("add", index=i, address="10.9.9.9", prefixlen=32, scope=254)  # host scope: not kept
    home.addr("add", index=i, address="fe80::99", prefixlen=64, scope=253)  # link scope: not kept
    home.addr("add", index=i, address="10.7.7.7", prefixlen=24, valid_lft=900, preferred_lft=600)  # dynamic
    home.link("set", index=i, state="up")

    assert netdevices.move_in({"nd0": {"name": "eth7"}}, ctr.pid) == [("nd0", "eth7")]
    with ctr.iproute() as ipr:
        idx = ipr.link_lookup(ifname="eth7")[0]
        got = {m.get_attr("IFA_ADDRESS"): m for m in ipr.get_addr(index=idx)}
    assert set(got) - {a for a in got if a.startswith("fe80:")} == {"10.1.2.3", "10.1.2.4", "fd00:1::5"}
    assert got["10.1.2.3"]["prefixlen"] == 24 and got["10.1.2.3"].get_attr("IFA_BROADCAST") == "10.1.2.255"
    assert got["10.1.2.3"].get_attr("IFA_LABEL") == "eth7"
    assert got["10.1.2.3"].get_attr("IFA_RT_PRIORITY") == 77 and got["10.1.2.3"].get_attr("IFA_PROTO") == 99
    assert got["10.1.2.4"].get_attr("IFA_LABEL") == "eth7:sec", "the alias label follows the new name"
    assert got["10.1.2.4"].get_attr("IFA_FLAGS") & 0x01, "still a secondary address"
    assert got["fd00:1::5"]["prefixlen"] == 64
    assert got["fd00:1::5"].get_attr("IFA_FLAGS") & 0x202 == 0x202, "nodad, noprefixroute kept"
    for a in ("10.1.2.3", "10.1.2.4", "fd00:1::5"):
        assert got[a].get_attr("IFA_FLAGS") & 0x80, f"{a} still permanent"
        assert got[a]["scope"] == 0


@needs_root
def test_name_taken_inside_is_an_error_and_nothing_moves(home, ctr):
    i = make_link(home, "nd0")
    home.addr("add", index=i, address="10.1.2.3", prefixlen=24)
    make_link(home, "nd1")
    netdevices.move_in({"nd1": {"name": "eth7"}}, ctr.pid)
    with pytest.raises(SetupError) as ei:
        netdevices.move_in({"nd0": {"name": "eth7"}}, ctr.pid)
    msg = str(ei.value)
    assert msg.startswith("/linux/netDevices/nd0: ") and "eth7 already exists" in msg and "(EEXIST)" in msg
    assert ei.value.cause.errno == errno.EEXIST
    assert "nd0" in names(home)
    assert _addresses_of(netdevices.iproute_in(), "nd0") == {("10.1.2.3", 24)}


@needs_root
def test_template_name_lets_the_kernel_pick(home, ctr):
    make_link(home, "nd0")
    make_link(home, "nd1")
    netdevices.move_in({"nd0": {"name": "net0"}}, ctr.pid)
    (host, inside), = netdevices.move_in({"nd1": {"name": "net%d"}}, ctr.pid)
    assert host == "nd1" and inside.startswith("net") and inside[3:].isdigit() and inside != "net0"
    links = ctr.links()
    assert {"net0", inside} <= set(links) and is_up(links[inside])


@needs_root
def test_missing_device_is_an_error_before_any_move(home, ctr):
    make_link(home, "nd0")
    with pytest.raises(SetupError) as ei:
        netdevices.move_in({"nd0": {"name": "eth7"}, "nope0": {}}, ctr.pid)
    msg = str(ei.value)
    assert msg.startswith("/linux/netDevices/nope0: ") and "(ENODEV)" in msg
    assert "nd0" in names(home) and "eth7" not in ctr.links()


@needs_root
def test_failed_move_rolls_back_the_ones_moved(home, ctr):
    i = make_link(home, "nd0")
    home.addr("add", index=i, address="10.1.2.3", prefixlen=24)
    home.addr("add", index=i, address="fd00:1::5", prefixlen=64)
    home.link("set", index=i, state="up")
    j = make_link(home, "nd1")  # stays down
    home.addr("add", index=j, address="10.3.3.3", prefixlen=16)
    # the loopback cannot leave its namespace: the kernel refuses the third move
    with pytest.raises(SetupError) as ei:
        netdevices.move_in({"nd0": {"name": "eth7"}, "nd1": {"name": "eth8"}, "lo": {"name": "lo7"}},
                           ctr.pid)
    msg = str(ei.value)
    assert msg.startswith("/linux/netDevices/lo: move lo into") and "(EINVAL)" in msg
    links = {m.get_attr("IFLA_IFNAME"): m for m in home.get_links()}
    assert is_up(links["nd0"]) and not is_up(links["nd1"]), "up/down state restored"
    assert _addresses_of(netdevices.iproute_in(), "nd0") == {("10.1.2.3", 24), ("fd00:1::5", 64)}
    assert _addresses_of(netdevices.iproute_in(), "nd1") == {("10.3.3.3", 16)}
    assert set(ctr.links()) == {"lo"}


@needs_root
def test_move_back_restores_names_and_addresses(home, ctr):
    i = make_link(home, "nd0")
    home.addr("add", index=i, address="10.1.2.3", prefixlen=24, label="nd0:a")
    moved = netdevices.move_in({"nd0": {"name": "eth7"}}, ctr.pid)
    assert netdevices.move_back(moved, ctr.path) == []
    assert set(ctr.links()) == {"lo"}
    m = home.get_links(ifname="nd0")[0]
    assert is_up(m)
    a, = [a for a in home.get_addr(index=m["index"]) if a["scope"] == 0]
    assert a.get_attr("IFA_ADDRESS") == "10.1.2.3" and a.get_attr("IFA_LABEL") == "nd0:a"


@needs_root
def test_move_back_reports_what_it_cannot_do(home, ctr):
    make_link(home, "nd0")
    moved = netdevices.move_in({"nd0": {"name": "eth7"}}, ctr.pid)
    make_link(home, "nd0", peer="nd0q")  # the host name is taken meanwhile
    failed = netdevices.move_back(moved + [("gone0", "gone0")], ctr.path)
    assert failed == [("nd0", "eth7"), ("gone0", "gone0")]
    assert "eth7" in ctr.links()
    assert netdevices.move_back(moved, "/proc/0/ns/net/nonexistent") == []


@needs_root
def test_move_out_leaves_devices_where_they_are(home, ctr):
    make_link(home, "nd0")
    moved = netdevices.move_in({"nd0": {"name": "eth7"}}, ctr.pid)
    netdevices.move_out(moved, ctr.path)
    assert "eth7" in ctr.links() and "nd0" not in names(home)


@needs_root
def test_virtual_devices_die_with_the_namespace(home, ctr):
    """What the kernel does once the container's namespace is freed (why move_out is empty)."""
    make_link(home, "nd0")
    netdevices.move_in({"nd0": {"name": "eth7"}}, ctr.pid)
    ctr.stop()
    deadline = time.monotonic() + 15
    while {"nd0", "nd0p", "eth7"} & names(home):
        assert time.monotonic() < deadline, f"still here: {names(home)}"
        time.sleep(0.05)


@needs_root
def test_container_sharing_our_namespace_is_refused(home):
    p = subprocess.Popen(["sleep", "60"])  # forked from this thread: in its namespace
    try:
        make_link(home, "nd0")
        with pytest.raises(PyruncError, match=r"^/linux/netDevices/nd0: the container shares"):
            netdevices.move_in({"nd0": {}}, p.pid)
        assert "nd0" in names(home)
    finally:
        p.kill()
        p.wait()


@needs_root
def test_gone_init_is_an_error(home):
    p = subprocess.Popen(["true"])
    p.wait()
    with pytest.raises(SetupError) as ei:
        netdevices.move_in({"nd0": {}}, p.pid)
    prefix = f"/linux/netDevices/nd0: open the container's network namespace /proc/{p.pid}/"
    assert str(ei.value).startswith(prefix)
    assert "(ENOENT)" in str(ei.value)


@needs_root
def test_without_pyroute2_the_error_says_so(monkeypatch):
    if shutil.which("unshare") is None:
        pytest.skip("no unshare(1)")
    h = Holder()
    try:
        monkeypatch.setitem(sys.modules, "pyroute2", None)  # import fails
        with pytest.raises(PyruncError, match=r"^/linux/netDevices/nd0: .* needs the pyroute2 package"):
            netdevices.move_in({"nd0": {}}, h.pid)
    finally:
        h.stop()
