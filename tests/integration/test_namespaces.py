"""Namespaces: new ones per config, joined ones by path, user namespace id mappings."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess

import pytest

from .util import wait_for

NS_FILES = {
    "pid": "pid",
    "network": "net",
    "ipc": "ipc",
    "uts": "uts",
    "mount": "mnt",
    "cgroup": "cgroup",
}


def run_ok(runtime, b, **kw):
    res = runtime.run_container(b, **kw)
    assert res.returncode == 0, res.describe()
    return res


def test_hostname(runtime, bundle):
    b = bundle(["sh", "-c", "hostname; cat /proc/sys/kernel/hostname"], hostname="ctr-name-1")
    host_before = socket.gethostname()
    res = run_ok(runtime, b)
    assert res.stdout.split() == ["ctr-name-1", "ctr-name-1"]
    assert socket.gethostname() == host_before


def test_pid_namespace_process_is_pid_1(runtime, bundle):
    b = bundle(["sh", "-c", "echo $$; ls /proc | grep -c '^[0-9]'"])
    res = run_ok(runtime, b)
    pid, nprocs = res.stdout.split()
    assert pid == "1"
    # only the shell and ls (plus grep) live in the new namespace
    assert int(nprocs) <= 3


def test_without_pid_namespace_sees_host_pids(runtime, bundle):
    b = bundle(["sh", "-c", "echo $$"], edit=lambda c: c["linux"]["namespaces"].remove({"type": "pid"}))
    res = run_ok(runtime, b)
    assert int(res.stdout) > 1


def test_network_namespace_has_only_lo_up(runtime, bundle):
    script = "cat /proc/net/dev; echo ==; ls /sys/class/net; echo ==; cat /sys/class/net/lo/flags"
    b = bundle(["sh", "-c", script])
    res = run_ok(runtime, b)
    dev, listing, flags = res.stdout.split("==\n")
    ifaces = [line.split(":")[0].strip() for line in dev.splitlines() if ":" in line]
    assert ifaces == ["lo"]
    assert listing.split() == ["lo"]
    assert int(flags.strip(), 16) & 0x1, f"lo is not UP (flags {flags.strip()})"


@pytest.mark.parametrize("ns", ["pid", "network", "ipc", "uts", "mount", "cgroup"])
def test_new_namespace_differs_from_host(runtime, bundle, ns):
    def edit(c):
        types = [n["type"] for n in c["linux"]["namespaces"]]
        if ns not in types:
            c["linux"]["namespaces"].append({"type": ns})

    name = NS_FILES[ns]
    b = bundle(["readlink", f"/proc/self/ns/{name}"], edit=edit)
    res = run_ok(runtime, b)
    inside = res.stdout.strip()
    assert inside.startswith(f"{name}:[")
    assert inside != os.readlink(f"/proc/self/ns/{name}")


@pytest.mark.parametrize("ns", ["network", "ipc", "uts"])
def test_namespace_not_configured_is_shared_with_host(runtime, bundle, ns):
    name = NS_FILES[ns]

    def edit(c):
        c["linux"]["namespaces"] = [n for n in c["linux"]["namespaces"] if n["type"] != ns]
        if ns == "uts":
            c.pop("hostname", None)  # a hostname needs a private uts namespace

    b = bundle(["readlink", f"/proc/self/ns/{name}"], edit=edit)
    res = run_ok(runtime, b)
    assert res.stdout.strip() == os.readlink(f"/proc/self/ns/{name}")


@contextlib.contextmanager
def ns_holder(flag: str, name: str):
    """A host process in a fresh namespace (util-linux unshare); yields its pid."""
    mine = os.readlink(f"/proc/self/ns/{name}")
    proc = subprocess.Popen(["unshare", flag, "sleep", "60"], stdin=subprocess.DEVNULL)
    try:
        def ready():
            try:
                return os.readlink(f"/proc/{proc.pid}/ns/{name}") != mine
            except OSError:
                return False

        wait_for(ready, what=f"unshare {flag} to enter its namespace")
        yield proc.pid
    finally:
        proc.kill()
        proc.wait(timeout=10)


@pytest.mark.parametrize("ns,flag", [("network", "--net"), ("ipc", "--ipc"), ("uts", "--uts")])
def test_join_namespace_by_path(runtime, bundle, ns, flag):
    name = NS_FILES[ns]
    with ns_holder(flag, name) as pid:
        path = f"/proc/{pid}/ns/{name}"
        expected = os.readlink(path)

        def edit(c):
            c["linux"]["namespaces"] = [
                {"type": ns, "path": path} if n["type"] == ns else n for n in c["linux"]["namespaces"]
            ]

        b = bundle(["readlink", f"/proc/self/ns/{name}"], edit=edit)
        res = run_ok(runtime, b)
        assert res.stdout.strip() == expected
        assert expected != os.readlink(f"/proc/self/ns/{name}")


def test_joined_uts_namespace_shows_its_hostname(runtime, bundle):
    """Joining a uts namespace: the container sees the holder's hostname change."""
    with ns_holder("--uts", "uts") as pid:
        # set the hostname inside the holder's namespace from the host side
        subprocess.run(["nsenter", "-t", str(pid), "-u", "hostname", "held-uts-name"], check=True,
                       timeout=10)

        def edit(c):
            c["linux"]["namespaces"] = [
                {"type": "uts", "path": f"/proc/{pid}/ns/uts"} if n["type"] == "uts" else n
                for n in c["linux"]["namespaces"]
            ]
            c.pop("hostname", None)

        b = bundle(["hostname"], edit=edit)
        res = run_ok(runtime, b)
        assert res.stdout.strip() == "held-uts-name"


USERNS_MAP = [{"containerID": 0, "hostID": 100000, "size": 65536}]


def userns_edit(c):
    c["linux"]["namespaces"].append({"type": "user"})
    c["linux"]["uidMappings"] = list(USERNS_MAP)
    c["linux"]["gidMappings"] = list(USERNS_MAP)


def test_user_namespace_mappings(runtime, bundle, workdir):
    shared = workdir / "shared"
    shared.mkdir()
    os.chmod(shared, 0o777)
    script = ("cat /proc/self/uid_map; echo ==; cat /proc/self/gid_map; echo ==; id -u; id -g; "
              "echo ==; touch /shared/made-inside")

    def edit(c):
        userns_edit(c)
        c["mounts"].append({"destination": "/shared", "type": "bind", "source": str(shared),
                            "options": ["rbind", "rw"]})

    b = bundle(["sh", "-c", script], edit=edit)
    # the rootfs belongs to host root, unmapped in the container: provide the mount point
    (b.rootfs / "shared").mkdir()
    res = run_ok(runtime, b)
    uid_map, gid_map, ids, _ = res.stdout.split("==\n")
    assert uid_map.split() == ["0", "100000", "65536"]
    assert gid_map.split() == ["0", "100000", "65536"]
    assert ids.split() == ["0", "0"]
    st = os.stat(shared / "made-inside")
    assert (st.st_uid, st.st_gid) == (100000, 100000)
    assert os.readlink("/proc/self/ns/user") != ""


def test_user_namespace_differs_from_host(runtime, bundle):
    b = bundle(["readlink", "/proc/self/ns/user"], edit=userns_edit)
    res = run_ok(runtime, b)
    assert res.stdout.strip().startswith("user:[")
    assert res.stdout.strip() != os.readlink("/proc/self/ns/user")


def test_user_namespace_host_root_is_unmapped(runtime, bundle):
    # files of host uid 0 (the rootfs) are not mapped: they show as the overflow uid
    b = bundle(["stat", "-c", "%u %g", "/bin/busybox"], edit=userns_edit)
    res = run_ok(runtime, b)
    overflow_uid = open("/proc/sys/kernel/overflowuid").read().strip()
    overflow_gid = open("/proc/sys/kernel/overflowgid").read().strip()
    assert res.stdout.split() == [overflow_uid, overflow_gid]
