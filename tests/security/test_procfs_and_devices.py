"""procfs and /dev: what the runtime mounts over, mounts from and writes to is what it claims.

CVE-2019-16884 / CVE-2019-19921 (a volume or symlink over /proc hides the masked paths),
CVE-2025-31133 (a /dev/null that is not the null device turns masking into a bind of anything),
CVE-2025-52565 (/dev/console as a symlink), CVE-2025-52881 (a procfs write redirected by a bind
mount). Defences: runtime.rootfs (refuse_symlink, guard_procfs, lookup_protected,
open_null_device), runtime.console, runtime.procfs.
"""

from __future__ import annotations

import os
import shlex
import stat
import subprocess
from pathlib import Path

import pytest
from integration.test_console import console_socket
from integration.util import assert_create_fails, run_ok

CORE_PATTERN = Path("/proc/sys/kernel/core_pattern")
PROC_ONLY = [{"destination": "/proc", "type": "proc", "source": "proc"}]


def bind(source, destination: str) -> dict:
    return {"destination": destination, "type": "bind", "source": str(source), "options": ["rbind"]}


def test_cve_2019_16884_volume_over_proc_is_refused(runtime, bundle, cid, workdir):
    """CVE-2019-16884: a bind mount (volume) at /proc would hide procfs and its masked paths."""
    b = bundle(["true"], edit=lambda c: c["mounts"].append(bind(workdir, "/proc")))
    assert_create_fails(runtime, b, cid, "/proc")


@pytest.mark.pyrunc_only
def test_cve_2019_16884_volume_through_a_symlink_over_proc_is_refused(runtime, bundle, cid, workdir):
    """The same volume at /myproc, a symlink of the image to /proc: it would cover procfs."""
    b = bundle(["true"], edit=lambda c: c["mounts"].append(bind(workdir, "/myproc")))
    os.symlink("/proc", b.rootfs / "myproc")
    assert_create_fails(runtime, b, cid, "procfs")


@pytest.mark.pyrunc_only
def test_cve_2019_19921_proc_destination_that_is_a_symlink_is_refused(runtime, bundle, cid):
    """CVE-2019-19921: the image's /proc is a symlink, so procfs would land elsewhere and the
    masked paths would be applied to the image's files instead."""
    b = bundle(["true"])
    os.rmdir(b.rootfs / "proc")
    (b.rootfs / "fakeproc").mkdir()
    os.symlink("/fakeproc", b.rootfs / "proc")
    assert_create_fails(runtime, b, cid, "symlink")


@pytest.mark.pyrunc_only
def test_cve_2019_16884_volume_over_a_readonly_proc_path_is_refused(runtime, bundle, cid, workdir):
    """A volume over /proc/sys (a read-only path) would make it read-only instead of procfs's."""
    b = bundle(["true"], edit=lambda c: c["mounts"].append(bind(workdir, "/proc/sys")))
    assert_create_fails(runtime, b, cid, "/proc/sys", "procfs")


def test_cve_2019_16884_masked_and_readonly_paths_are_applied_on_procfs(runtime, bundle):
    """Masked files are the null device, masked directories empty, read-only paths refuse
    writes: seen from inside the container, on its procfs."""
    script = ("stat -c '%t:%T' /proc/keys /proc/timer_list; ls -A /proc/acpi | wc -l; "
              "echo 1 > /proc/sys/vm/overcommit_memory && echo WROTE; "
              "grep -E ' /proc/(keys|sys|acpi) ' /proc/self/mountinfo | cut -d' ' -f5,9")
    res = run_ok(runtime, bundle(["sh", "-c", script]))
    lines = res.stdout.splitlines()
    assert lines[:3] == ["1:3", "1:3", "0"], res.describe()
    assert "WROTE" not in res.stdout and "Read-only" in res.stderr, res.describe()
    # /proc/keys: a bind of the container's /dev/null (on its /dev tmpfs); /proc/sys: procfs
    # itself, bound read-only; /proc/acpi: an empty tmpfs
    assert {"/proc/keys tmpfs", "/proc/sys proc", "/proc/acpi tmpfs"} <= set(lines[3:]), res.describe()


def dev_dir(workdir: Path, **entries) -> Path:
    """A host directory to bind at /dev; entries: name -> ('link', target) or ('file', '')."""
    d = workdir / "dev"
    d.mkdir()
    for name, (kind, value) in entries.items():
        if kind == "link":
            os.symlink(value, d / name)
        elif kind == "null":
            os.mknod(d / name, 0o666 | stat.S_IFCHR, os.makedev(1, 3))
        else:
            (d / name).write_text(value)
    return d


@pytest.mark.parametrize("kind", ["link", "file"])
def test_cve_2025_31133_dev_null_that_is_not_the_null_device_is_never_bound(runtime, bundle, cid, workdir,
                                                                            kind):
    """CVE-2025-31133: /dev/null (from a bound /dev) is a symlink to core_pattern, or a plain
    file: masking /proc/keys must fail, not bind core_pattern (writable) over it."""
    before = CORE_PATTERN.read_text()
    d = dev_dir(workdir, null=(kind, str(CORE_PATTERN) if kind == "link" else ""))
    b = bundle(["true"], mounts=[*PROC_ONLY, bind(d, "/dev")],
               linux={"maskedPaths": ["/proc/keys"], "readonlyPaths": []})
    res = assert_create_fails(runtime, b, cid)
    assert "1:3" in res.stderr, res.describe()
    assert CORE_PATTERN.read_text() == before


def test_cve_2025_31133_image_dev_null_symlink_is_refused(runtime, bundle, cid):
    """The image's own /dev (no tmpfs over it) with /dev/null a symlink to core_pattern: the
    device setup refuses it rather than follow it."""
    b = bundle(["true"], mounts=PROC_ONLY, linux={"maskedPaths": ["/proc/keys"]})
    os.symlink(str(CORE_PATTERN), b.rootfs / "dev" / "null")
    res = assert_create_fails(runtime, b, cid)
    assert "/dev/null" in res.stderr, res.describe()


@pytest.mark.pyrunc_only
def test_cve_2025_52565_dev_console_symlink_is_refused(runtime, bundle, cid, workdir):
    """CVE-2025-52565: /dev/console is a symlink to a procfs file: the pty is not bound through
    it (that would cover core_pattern's place, before the masks, with a writable pty)."""
    d = dev_dir(workdir, null=("null", ""), ptmx=("link", "pts/ptmx"), console=("link", str(CORE_PATTERN)))
    (d / "pts").mkdir()
    devpts = {"destination": "/dev/pts", "type": "devpts", "source": "devpts",
              "options": ["newinstance", "ptmxmode=0666", "mode=0620"]}
    b = bundle(["true"], mounts=[*PROC_ONLY, bind(d, "/dev"), devpts], process={"terminal": True})
    with console_socket() as (path, _listener):
        res = runtime.create(cid, b, "--console-socket", path, check=False)
    assert res.returncode == 1, res.describe()
    assert "/dev/console" in res.stderr and "symlink" in res.stderr, res.describe()
    assert runtime.status(cid) is None


@pytest.mark.pyrunc_only
def test_cve_2025_52881_sysctl_write_redirected_by_a_bind_mount_is_refused(runtime, bundle, cid, workdir):
    """CVE-2025-52881: in the mount namespace the container is made from, a decoy file is
    bound over /proc/sys/kernel/domainname; the sysctl write must fail, not land in the decoy."""
    decoy = workdir / "decoy"
    decoy.write_text("untouched\n")
    b = bundle(["true"], linux={"sysctl": {"kernel.domainname": "redirected"}})
    create = shlex.join(runtime.argv("create", "--bundle", b, cid))
    script = f"mount --bind {shlex.quote(str(decoy))} /proc/sys/kernel/domainname && exec {create}"
    res = subprocess.run(["unshare", "--mount", "--propagation", "private", "sh", "-c", script],
                         capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL)
    assert res.returncode == 1, res.stdout + res.stderr
    assert "procfs" in res.stderr and "domainname" in res.stderr, res.stderr
    assert decoy.read_text() == "untouched\n"
    assert runtime.status(cid) is None


HOST_DEVICES = ("/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom", "/dev/tty")


def device_identity() -> dict[str, tuple]:
    out = {}
    for path in HOST_DEVICES:
        st = os.stat(path)
        # Not st_ctime: other work on this shared host may touch it (a chown to the same
        # owner); what matters is that owner and mode stay.
        out[path] = (st.st_mode, st.st_uid, st.st_gid)
    return out


@pytest.mark.parametrize("userns", [False, True], ids=["no-userns", "userns"])
def test_host_devices_are_never_chowned_or_chmodded(runtime, bundle, cid, userns):
    """The host's /dev nodes keep owner and mode through create/start/exec with
    process.user and devices owned by that user, and `exec --user` (in a user namespace
    the container's nodes are binds of the host's: they must not be chowned)."""
    before = device_identity()
    devices = [{"path": "/dev/null", "type": "c", "major": 1, "minor": 3, "fileMode": 0o600,
                "uid": 1000, "gid": 1000},
               {"path": "/dev/zero", "type": "c", "major": 1, "minor": 5, "uid": 1000, "gid": 1000}]

    def edit(c):
        c["process"]["user"] = {"uid": 1000, "gid": 1000}
        c["linux"]["devices"] = devices
        if userns:
            c["linux"]["namespaces"].append({"type": "user"})
            c["linux"]["uidMappings"] = [{"containerID": 0, "hostID": 100000, "size": 65536}]
            c["linux"]["gidMappings"] = [{"containerID": 0, "hostID": 100000, "size": 65536}]
            c["mounts"] = [m for m in c["mounts"] if m["type"] not in ("sysfs", "cgroup")]

    b = bundle(["sleep", "30"], edit=edit)
    runtime.create(cid, b)
    runtime.start(cid)
    res = runtime.run("exec", "--user", "1000:1000", cid, "sh", "-c",
                      "echo x > /dev/null; head -c 1 /dev/zero | wc -c", check=True)
    assert res.stdout.strip() == "1", res.describe()
    res = runtime.run("exec", "--user", "0:0", cid, "sh", "-c", "chown 0:0 /dev/null; chmod 666 /dev/zero")
    assert device_identity() == before
