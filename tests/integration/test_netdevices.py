"""linux.netDevices: a host interface moved into the container (runtime-spec 1.3).

The host side is made and inspected with iproute2's `ip`; the container's with busybox `ip`.
Devices are virtual (dummy, or one end of a veth pair where this kernel has no dummy driver),
so they die with the container's network namespace: the spec forbids moving them out at
delete, and the kernel destroys virtual devices when their namespace is freed.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import uuid

import pytest

from .util import wait_for

ADDRESS = "192.0.2.77/24"  # TEST-NET-1: routes nowhere, and the device stays down on the host

pytestmark = pytest.mark.skipif(shutil.which("ip") is None, reason="needs iproute2 on the host")


def ip(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(["ip", *args], capture_output=True, text=True, check=check, timeout=20)


def host_links() -> set[str]:
    return {link["ifname"] for link in json.loads(ip("-j", "link", "show").stdout)}


@pytest.fixture
def host_device():
    """(name, peer or None): a fresh virtual device on the host, removed after the test."""
    name = "pn" + uuid.uuid4().hex[:8]
    peer = None
    if ip("link", "add", name, "type", "dummy", check=False).returncode != 0:
        peer = name + "p"
        ip("link", "add", name, "type", "veth", "peer", "name", peer)
    try:
        ip("addr", "add", ADDRESS, "dev", name)
        yield name, peer
    finally:
        for dev in (name, peer):
            if dev and dev in host_links():
                ip("link", "del", dev, check=False)


def _names(ip_o_link: str) -> dict[str, str]:
    """busybox `ip -o link` -> {name: flags}."""
    found = {}
    for line in ip_o_link.splitlines():
        parts = line.split(": ", 2)
        if len(parts) == 3:
            found[parts[1].split("@")[0]] = parts[2].split(">")[0].lstrip("<")
    return found


@pytest.mark.pyrunc_only(reason="needs create/delete wired to runtime.netdevices")
def test_net_device_moves_in_renamed_with_its_address(runtime, bundle, cid, host_device):
    name, peer = host_device
    script = ("ip -o link show > /tmp/links; ip -o addr show > /tmp/addrs; touch /tmp/done;"
              " exec sleep 30")
    b = bundle(["sh", "-c", script], linux={"netDevices": {name: {"name": "eth7"}}})
    runtime.create(cid, b)
    assert name not in host_links(), "the device is still on the host after create"

    runtime.start(cid)
    done = b.rootfs / "tmp" / "done"
    wait_for(done.exists, what="the container to list its links")
    links = _names((b.rootfs / "tmp" / "links").read_text())
    assert set(links) >= {"lo", "eth7"} and name not in links, links
    assert "UP" in links["eth7"].split(","), f"eth7 is not up: {links['eth7']}"
    addrs = (b.rootfs / "tmp" / "addrs").read_text()
    assert any(" eth7 " in f" {line} " and f"inet {ADDRESS} " in line for line in addrs.splitlines()), addrs

    runtime.kill(cid, "KILL")
    runtime.wait_status(cid, "stopped")
    runtime.delete(cid)
    # Not moved back (the spec forbids it); a virtual device is destroyed with the namespace,
    # a veth's host end with it.
    if peer is not None:
        wait_for(lambda: peer not in host_links(), timeout=15, what="the veth pair to be destroyed")
    assert name not in host_links()


@pytest.mark.pyrunc_only(reason="needs create wired to runtime.netdevices")
def test_missing_net_device_fails_create(runtime, bundle, cid, host_device):
    name, _ = host_device
    missing = "pn" + uuid.uuid4().hex[:8]
    b = bundle(["true"], linux={"netDevices": {name: {"name": "eth7"}, missing: {}}})
    res = runtime.create(cid, b, check=False)
    assert res.returncode != 0
    assert f"/linux/netDevices/{missing}" in res.stderr, res.describe()
    assert runtime.status(cid) is None
    # all devices are looked up before any moves: nothing left the host
    assert name in host_links()
    assert ADDRESS in ip("-o", "addr", "show", "dev", name).stdout


@pytest.mark.pyrunc_only(reason="needs create wired to runtime.netdevices")
def test_failed_move_brings_back_the_devices_already_moved(runtime, bundle, cid, host_device):
    name, _ = host_device
    ip("link", "set", name, "up")
    # the loopback cannot change namespace: its move fails after `name` has moved
    b = bundle(["true"], linux={"netDevices": {name: {"name": "eth7"}, "lo": {"name": "lo7"}}})
    res = runtime.create(cid, b, check=False)
    assert res.returncode != 0
    assert "/linux/netDevices/lo" in res.stderr, res.describe()
    assert runtime.status(cid) is None
    link, = json.loads(ip("-j", "link", "show", "dev", name).stdout)
    assert "UP" in link["flags"]
    assert ADDRESS in ip("-o", "addr", "show", "dev", name).stdout
