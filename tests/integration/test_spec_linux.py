"""runtime-spec config-linux.md fields not covered elsewhere, seen from inside the container:
sysctl, timeOffsets (time namespace), cgroup namespace, hostname/domainname, uid/gid mappings
with several ranges, memoryPolicy, netDevices, and SELinux/AppArmor fields on a host that
has neither."""

from __future__ import annotations

import contextlib
import os
import subprocess
import uuid
from pathlib import Path

import pytest

from .util import assert_create_fails, parse_mountinfo, run_ok, with_ns, without_ns


def proc_sys(name: str) -> Path:
    return Path("/proc/sys") / name.replace(".", "/")


# --------------------------------------------------------------------------- sysctl


def sysctl_values(names) -> dict[str, str]:
    return {n: proc_sys(n).read_text().strip() for n in names}


@pytest.mark.parametrize("sysctl", [
    {"net.ipv4.ip_forward": "1", "net.core.somaxconn": "321"},
    {"kernel.shmmax": "123456789", "kernel.msgmax": "4321", "fs.mqueue.queues_max": "77"},
], ids=["net", "ipc"])
def test_namespaced_sysctls_are_applied(runtime, bundle, sysctl):
    before = sysctl_values(sysctl)
    script = "; ".join(f"cat /proc/sys/{n.replace('.', '/')}" for n in sysctl)
    b = bundle(["sh", "-c", script], linux={"sysctl": sysctl})
    res = run_ok(runtime, b)
    assert res.stdout.split() == list(sysctl.values())
    # the host's values did not change
    assert sysctl_values(sysctl) == before
    assert any(before[n] != v for n, v in sysctl.items()), "pick values that differ from the host's"


@pytest.mark.parametrize("name,value,ns", [
    ("net.ipv4.ip_forward", "1", "network"),
    ("kernel.shmmax", "123456789", "ipc"),
])
def test_sysctl_without_its_namespace_fails(runtime, bundle, cid, name, value, ns):
    before = proc_sys(name).read_text()
    b = bundle(["true"], linux={"sysctl": {name: value}}, edit=without_ns(ns))
    assert_create_fails(runtime, b, cid, name)
    assert proc_sys(name).read_text() == before


def test_sysctl_not_namespaced_fails(runtime, bundle, cid):
    before = proc_sys("vm.swappiness").read_text()
    value = "17" if before.strip() != "17" else "18"
    b = bundle(["true"], linux={"sysctl": {"vm.swappiness": value}})
    assert_create_fails(runtime, b, cid, "vm.swappiness")
    assert proc_sys("vm.swappiness").read_text() == before


def test_sysctl_unknown_fails(runtime, bundle, cid):
    b = bundle(["true"], linux={"sysctl": {"net.ipv4.no_such_knob": "1"}})
    assert_create_fails(runtime, b, cid, "no_such_knob")


# --------------------------------------------------------------------------- time namespace


@pytest.mark.pyrunc_only(reason="runc 1.1.5 does not know the time namespace (runc >= 1.2)")
def test_time_namespace_offsets(runtime, bundle):
    if not os.path.exists("/proc/self/ns/time"):
        pytest.skip("no time namespaces on this kernel")
    offsets = {"boottime": {"secs": 10 * 86400}, "monotonic": {"secs": 3600, "nanosecs": 500}}
    script = "cat /proc/self/timens_offsets; echo ==; cat /proc/uptime; readlink /proc/self/ns/time"
    b = bundle(["sh", "-c", script],
               edit=with_ns("time"), linux={"timeOffsets": offsets})
    host_up = float(Path("/proc/uptime").read_text().split()[0])
    res = run_ok(runtime, b)
    offs, rest = res.stdout.split("==\n")
    seen = {line.split()[0]: line.split()[1:] for line in offs.splitlines()}
    assert seen["boottime"] == [str(10 * 86400), "0"]
    assert seen["monotonic"] == ["3600", "500"]
    uptime, ns = rest.split()[0], rest.split()[-1]
    assert 10 * 86400 <= float(uptime) - host_up < 10 * 86400 + 30
    assert ns != os.readlink("/proc/self/ns/time")


# --------------------------------------------------------------------------- cgroup namespace


def test_cgroup_namespace_shows_root_paths(runtime, bundle):
    b = bundle(["sh", "-c", "cat /proc/self/cgroup; echo ==; cat /proc/self/mountinfo"],
               edit=with_ns("cgroup"))
    res = run_ok(runtime, b)
    cg, info = res.stdout.split("==\n")
    paths = [line.split(":", 2)[2] for line in cg.splitlines()]
    assert paths and all(p == "/" for p in paths), cg
    cgmounts = [m for m in parse_mountinfo(info) if m["fstype"] in ("cgroup", "cgroup2")]
    assert cgmounts and all(m["root"] == "/" for m in cgmounts), cgmounts


def test_without_cgroup_namespace_paths_are_the_containers(runtime, bundle, cid):
    path = f"/pyrunc-spec-{cid}"
    b = bundle(["cat", "/proc/self/cgroup"], linux={"cgroupsPath": path}, edit=without_ns("cgroup"))
    res = run_ok(runtime, b, cid=cid)
    lines = [line.split(":", 2) for line in res.stdout.splitlines()]
    v1 = [(ctl, p) for _, ctl, p in lines if ctl and not ctl.startswith("name=")]
    assert v1, res.stdout
    assert all(p.endswith(path) for _, p in v1), res.stdout
    # (deleted with the container)
    assert not any(os.path.exists(f"/sys/fs/cgroup/{ctl}{path}") for ctl, _ in v1)


# --------------------------------------------------------------------------- uts


def test_hostname_in_own_uts_namespace(runtime, bundle):
    host = Path("/proc/sys/kernel/hostname").read_text()
    b = bundle(["sh", "-c", "hostname; uname -n"], hostname="spec-host-1")
    res = run_ok(runtime, b)
    assert res.stdout.split() == ["spec-host-1", "spec-host-1"]
    assert Path("/proc/sys/kernel/hostname").read_text() == host


@pytest.mark.pyrunc_only(reason="runc 1.1.5 ignores 'domainname' (the container sees '(none)')")
def test_domainname(runtime, bundle):
    host = Path("/proc/sys/kernel/domainname").read_text()
    b = bundle(["sh", "-c", "cat /proc/sys/kernel/domainname; hostname"], hostname="h1",
               domainname="spec.example")
    res = run_ok(runtime, b)
    assert res.stdout.split() == ["spec.example", "h1"]
    assert Path("/proc/sys/kernel/domainname").read_text() == host


# --------------------------------------------------------------------------- id mappings

UID_MAPS = [
    {"containerID": 0, "hostID": 100000, "size": 1000},
    {"containerID": 1000, "hostID": 200000, "size": 1000},
    {"containerID": 5000, "hostID": 300000, "size": 10},
]
GID_MAPS = [
    {"containerID": 0, "hostID": 100000, "size": 1000},
    {"containerID": 1000, "hostID": 210000, "size": 10},
    {"containerID": 5000, "hostID": 310000, "size": 10},
]


def parse_idmap(text: str) -> list[tuple[int, int, int]]:
    return [tuple(int(x) for x in line.split()) for line in text.splitlines() if line.strip()]


@pytest.mark.parametrize("user,host_owner", [
    ((0, 0), (100000, 100000)),
    ((1000, 5005), (200000, 310005)),
    ((5009, 1009), (300009, 210009)),
])
def test_several_mapping_ranges(runtime, bundle, workdir, user, host_owner):
    shared = workdir / "shared"
    shared.mkdir()
    os.chmod(shared, 0o777)
    (shared / "unmapped").write_text("x\n")
    os.chown(shared / "unmapped", 150000, 150000)
    script = ("cat /proc/self/uid_map; echo ==; cat /proc/self/gid_map; echo ==; id -u; id -g; "
              "stat -c '%u %g' /shared/unmapped; touch /shared/made")

    def edit(c):
        with_ns("user")(c)
        c["linux"]["uidMappings"] = UID_MAPS
        c["linux"]["gidMappings"] = GID_MAPS
        c["mounts"].append({"destination": "/shared", "type": "bind", "source": str(shared),
                            "options": ["rbind"]})

    b = bundle(["sh", "-c", script], edit=edit, process={"user": {"uid": user[0], "gid": user[1]}})
    (b.rootfs / "shared").mkdir()
    res = run_ok(runtime, b)
    uid_map, gid_map, rest = res.stdout.split("==\n")
    as_tuples = [(m["containerID"], m["hostID"], m["size"]) for m in UID_MAPS]
    assert sorted(parse_idmap(uid_map)) == sorted(as_tuples)
    assert sorted(parse_idmap(gid_map)) == sorted(
        (m["containerID"], m["hostID"], m["size"]) for m in GID_MAPS)
    overflow = Path("/proc/sys/kernel/overflowuid").read_text().strip()
    assert rest.split() == [str(user[0]), str(user[1]), overflow, overflow], res.describe()
    st = os.stat(shared / "made")
    assert (st.st_uid, st.st_gid) == host_owner


# --------------------------------------------------------------------------- LSM fields

RUNC_LSM = "runc 1.1.5 fails on this host (no SELinux/AppArmor)"


@pytest.mark.pyrunc_only(reason=RUNC_LSM)
@pytest.mark.parametrize("where,key,value", [
    ("linux", "mountLabel", "system_u:object_r:container_file_t:s0:c1,c2"),
    ("process", "selinuxLabel", "system_u:system_r:container_t:s0:c1,c2"),
    ("process", "apparmorProfile", "pyrunc-test-profile"),
], ids=["mountLabel", "selinuxLabel", "apparmorProfile"])
def test_lsm_fields_without_lsm_on_host(runtime, bundle, where, key, value):
    if os.path.exists("/sys/fs/selinux/enforce") or os.path.exists("/sys/kernel/security/apparmor"):
        pytest.skip("the host has SELinux or AppArmor")

    def edit(c):
        c[where][key] = value
        c["mounts"].append({"destination": "/tmp", "type": "tmpfs", "source": "tmpfs",
                            "options": ["size=1m"]})

    b = bundle(["sh", "-c", "echo ran; grep ' /tmp ' /proc/self/mountinfo"], edit=edit)
    res = run_ok(runtime, b)
    assert res.stdout.splitlines()[0] == "ran"
    assert "context=" not in res.stdout


# --------------------------------------------------------------------------- memoryPolicy

RUNC_NO_MEMPOLICY = "runc 1.1.5 lacks linux.memoryPolicy"


def numa_policy(text: str) -> str:
    return text.splitlines()[0].split()[1]


@pytest.mark.pyrunc_only(reason=RUNC_NO_MEMPOLICY)
@pytest.mark.parametrize("policy,expected", [
    ({"mode": "MPOL_INTERLEAVE", "nodes": "0"}, "interleave:0"),
    ({"mode": "MPOL_BIND", "nodes": "0"}, "bind:0"),
    ({"mode": "MPOL_PREFERRED", "nodes": "0"}, "prefer:0"),
    ({"mode": "MPOL_LOCAL"}, "local"),
    ({"mode": "MPOL_BIND", "nodes": "0", "flags": ["MPOL_F_STATIC_NODES"]}, "bind=static:0"),
], ids=["interleave", "bind", "preferred", "local", "bind-static"])
def test_memory_policy(runtime, bundle, policy, expected):
    if not os.path.exists("/proc/self/numa_maps") or not os.path.isdir("/sys/devices/system/node/node0"):
        pytest.skip("no NUMA support")
    b = bundle(["cat", "/proc/self/numa_maps"], linux={"memoryPolicy": policy})
    res = run_ok(runtime, b)
    assert numa_policy(res.stdout) == expected, res.stdout.splitlines()[0]


@pytest.mark.pyrunc_only(reason=RUNC_NO_MEMPOLICY)
@pytest.mark.parametrize("policy", [{"mode": "MPOL_BIND"}, {"mode": "MPOL_NOT_A_MODE", "nodes": "0"}],
                         ids=["bind-without-nodes", "unknown-mode"])
def test_memory_policy_invalid_fails(runtime, bundle, cid, policy):
    b = bundle(["true"], linux={"memoryPolicy": policy})
    assert_create_fails(runtime, b, cid)


# --------------------------------------------------------------------------- netDevices

RUNC_NO_NETDEV = "runc 1.1.5 lacks linux.netDevices"


@contextlib.contextmanager
def host_veth():
    """A veth pair on the host; yields (host end, peer) names; removed at the end."""
    tag = uuid.uuid4().hex[:6]
    a, b = f"pyva{tag}", f"pyvb{tag}"
    res = subprocess.run(["ip", "link", "add", a, "type", "veth", "peer", "name", b],
                         capture_output=True, text=True, timeout=10)
    if res.returncode != 0:
        pytest.skip(f"cannot make a veth pair: {res.stderr.strip()}")
    try:
        yield a, b
    finally:
        subprocess.run(["ip", "link", "del", a], capture_output=True, timeout=10)


def host_has_link(name: str) -> bool:
    return os.path.exists(f"/sys/class/net/{name}")


@pytest.mark.pyrunc_only(reason=RUNC_NO_NETDEV)
def test_net_device_moved_renamed_up_with_address(runtime, bundle):
    with host_veth() as (_, peer):
        subprocess.run(["ip", "addr", "add", "10.213.7.1/24", "dev", peer], check=True, timeout=10)
        script = "ls /sys/class/net; echo ==; cat /sys/class/net/ctr0/flags; ip -o addr show dev ctr0"
        b = bundle(["sh", "-c", script], linux={"netDevices": {peer: {"name": "ctr0"}}})
        res = run_ok(runtime, b)
        listing, rest = res.stdout.split("==\n")
        assert sorted(listing.split()) == ["ctr0", "lo"]
        flags = rest.split()[0]
        assert int(flags, 16) & 0x1, f"ctr0 is not up (flags {flags})"
        assert "inet 10.213.7.1/24" in rest, rest


@pytest.mark.pyrunc_only(reason=RUNC_NO_NETDEV)
def test_net_device_name_template(runtime, bundle):
    """A new name ending in %d is a template: the kernel picks a free name."""
    with host_veth() as (_, peer):
        b = bundle(["ls", "/sys/class/net"], linux={"netDevices": {peer: {"name": "ctr%d"}}})
        res = run_ok(runtime, b)
        assert sorted(res.stdout.split()) == ["ctr0", "lo"]


@pytest.mark.pyrunc_only(reason=RUNC_NO_NETDEV)
def test_net_device_keeps_its_name_when_none_given(runtime, bundle):
    with host_veth() as (_, peer):
        b = bundle(["ls", "/sys/class/net"], linux={"netDevices": {peer: {}}})
        res = run_ok(runtime, b)
        assert sorted(res.stdout.split()) == sorted(["lo", peer])


@pytest.mark.pyrunc_only(reason=RUNC_NO_NETDEV)
def test_net_device_name_clash_fails(runtime, bundle, cid):
    with host_veth() as (_, peer):
        b = bundle(["true"], linux={"netDevices": {peer: {"name": "lo"}}})
        assert_create_fails(runtime, b, cid)
        assert host_has_link(peer), "the device was lost from the host"


@pytest.mark.pyrunc_only(reason=RUNC_NO_NETDEV)
def test_net_device_missing_on_host_fails(runtime, bundle, cid):
    name = "pynone" + uuid.uuid4().hex[:6]
    b = bundle(["true"], linux={"netDevices": {name: {"name": "eth0"}}})
    assert_create_fails(runtime, b, cid, name)
