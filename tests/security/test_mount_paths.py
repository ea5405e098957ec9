"""CVE-2021-30465 and friends: mount destinations and device paths are resolved inside the
rootfs, whatever symlinks the image (or a container sharing a volume) puts on the way.

runtime.paths.Root resolves every destination with openat2(RESOLVE_IN_ROOT) and hands out an
O_PATH fd; the mount goes to /proc/self/fd/N of that fd, so a symlink swapped in afterwards
cannot redirect it. Containers without a mount namespace of their own mount in the host's,
where a mount that escaped the rootfs would show in the host's mountinfo: the tests use them
to see where each mount landed.
"""

from __future__ import annotations

import os
import stat
import time
from pathlib import Path

import pytest
from integration.util import parse_mountinfo, wait_for

from security.util import with_attacker

NO_MOUNT_NS = [{"type": "pid"}, {"type": "ipc"}, {"type": "uts"}, {"type": "network"}]
MARK_INODES = 4242  # nr_inodes of the tmpfs the tests mount: how they find it in mountinfo


def host_mounts() -> list[dict]:
    return parse_mountinfo(Path("/proc/self/mountinfo").read_text())


def marked_mount_points() -> list[str]:
    return [m["mount_point"] for m in host_mounts() if f"nr_inodes={MARK_INODES}" in m["super_options"]]


def marked_tmpfs(destination: str) -> dict:
    return {"destination": destination, "type": "tmpfs", "source": "tmpfs",
            "options": [f"nr_inodes={MARK_INODES}", "size=1m"]}


def host_ns_bundle(bundle, mounts: list[dict], **kw):
    """A container in the host's mount namespace: only its own mounts, no /dev or /sys."""
    return bundle(["true"], mounts=[{"destination": "/proc", "type": "proc", "source": "proc"}, *mounts],
                  linux={"namespaces": NO_MOUNT_NS, "maskedPaths": [], "readonlyPaths": []}, **kw)


def escape_links(rootfs: Path, host_dir: Path) -> dict[str, str]:
    """Symlinks of the image aimed at a host directory: absolute, `..` chain, relative."""
    up = "../" * 12
    links = {"abs": str(host_dir), "dotdot": up + str(host_dir).lstrip("/"),
             "rel": "sub/" + up + str(host_dir).lstrip("/")}
    (rootfs / "sub").mkdir()
    for name, target in links.items():
        os.symlink(target, rootfs / name)
    return links


@pytest.mark.pyrunc_only
def test_cve_2021_30465_symlinked_mount_destinations_land_inside_the_rootfs(runtime, bundle, cid, workdir):
    """CVE-2021-30465: tmpfs and bind destinations through absolute, relative and `..`-chain
    symlinks of the image, and through a symlink inside an earlier bind mount, land in the
    rootfs, never on the host directory they name."""
    host_dir = workdir / "host-target"
    host_dir.mkdir()
    volume = workdir / "volume"
    volume.mkdir()
    os.symlink("../" * 12 + str(host_dir).lstrip("/"), volume / "escape")
    mounts = [marked_tmpfs("/abs/t1"), marked_tmpfs("/dotdot/t2"), marked_tmpfs("/rel/t3"),
              {"destination": "/vol", "type": "bind", "source": str(volume), "options": ["rbind"]},
              marked_tmpfs("/vol/escape/t4"),
              {"destination": "/abs/t5", "type": "bind", "source": str(volume), "options": ["rbind"]}]
    b = host_ns_bundle(bundle, mounts)
    escape_links(b.rootfs, host_dir)
    runtime.create(cid, b)
    rootfs = os.path.realpath(b.rootfs)
    inside = rootfs + str(host_dir)
    marked = marked_mount_points()
    for name in ("t1", "t2", "t3", "t4"):
        assert f"{inside}/{name}" in marked, (name, marked)
    assert not [p for p in marked if not p.startswith(rootfs + "/")], marked
    assert not any(m["mount_point"].startswith(str(host_dir)) for m in host_mounts())
    assert os.listdir(host_dir) == []
    assert f"{inside}/t5" in [m["mount_point"] for m in host_mounts()]


@pytest.mark.pyrunc_only
def test_cve_2021_30465_symlinked_device_paths_land_inside_the_rootfs(runtime, bundle, cid, workdir):
    """Device nodes of linux.devices whose path goes through the image's symlinks are made
    in the rootfs; nothing appears in the host directory the links name."""
    host_dir = workdir / "host-target"
    host_dir.mkdir()
    devices = [{"path": f"/{name}/null-{name}", "type": "c", "major": 1, "minor": 3}
               for name in ("abs", "dotdot", "rel")]
    b = host_ns_bundle(bundle, [])
    b.config["linux"]["devices"] = devices
    b.write_config()
    escape_links(b.rootfs, host_dir)
    runtime.create(cid, b)
    inside = Path(os.path.realpath(b.rootfs) + str(host_dir))
    for name in ("abs", "dotdot", "rel"):
        st = os.lstat(inside / f"null-{name}")
        assert stat.S_ISCHR(st.st_mode) and st.st_rdev == os.makedev(1, 3)
    assert os.listdir(host_dir) == []


@pytest.mark.pyrunc_only
def test_cve_2021_30465_racing_symlink_swap_never_mounts_a_host_path(runtime, bundle, make_id, workdir,
                                                                    attacker):
    """CVE-2021-30465: a container swaps a directory and a symlink to a host path (renameat2
    RENAME_EXCHANGE, in a loop) in a volume it shares with containers being created, which
    mount a tmpfs at a destination through that name. Each mount lands in the victim's rootfs
    (in the volume, or where the link leads inside the rootfs): never on the host path."""
    host_dir = workdir / "host-target"
    host_dir.mkdir()
    volume = workdir / "volume"
    volume.mkdir()
    (volume / "d").mkdir()
    os.symlink("../" * 12 + str(host_dir).lstrip("/"), volume / "lnk")
    attacker_id = make_id("racer")
    racer = bundle(["/attacker", "swap", "/vol/d", "/vol/lnk", "/vol/stop"],
                   edit=lambda c: with_attacker(c, attacker))
    racer.config["mounts"].append({"destination": "/vol", "type": "bind", "source": str(volume),
                                   "options": ["rbind"]})
    racer.write_config()
    run = runtime.run_container(racer, "-d", cid=attacker_id)
    assert run.returncode == 0, run.describe()
    wait_for(lambda: os.path.islink(volume / "d"), what="the racer to swap")

    victim = host_ns_bundle(bundle, [
        {"destination": "/vol", "type": "bind", "source": str(volume), "options": ["rbind"]},
        marked_tmpfs("/vol/d/x")])
    rootfs = os.path.realpath(victim.rootfs)
    in_volume, redirected, creations = 0, 0, 0
    deadline = time.monotonic() + 45
    try:
        while creations < 300 and time.monotonic() < deadline:
            cid = make_id("victim")
            res = runtime.create(cid, victim, check=False)
            creations += 1
            marked = marked_mount_points()
            outside = [p for p in marked if not p.startswith(rootfs + "/")]
            assert not outside, f"creation {creations} mounted a host path: {outside}"
            if res.returncode == 0:
                in_volume += f"{rootfs}/vol/d/x" in marked
                redirected += f"{rootfs}{host_dir}/x" in marked
            runtime.delete(cid, "--force", check=False)
            assert os.listdir(host_dir) == [], f"creation {creations} wrote into the host path"
    finally:
        (volume / "stop").write_text("")
    print(f"racing creations: {creations}, in the volume: {in_volume}, redirected: {redirected}")
    runtime.wait_status(attacker_id, "stopped")
    assert creations >= 40, f"only {creations} creations within the time budget"
    # Both outcomes of the race were seen: the test raced for real.
    assert in_volume and redirected, (in_volume, redirected, creations)
