"""Root filesystem and mounts: pivot into the bundle's rootfs, standard mounts, readonly root,
bind mounts, symlinks in the image, default devices, --no-pivot."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest

from .util import DEFAULT_DEVICES, parse_mountinfo


def run_ok(runtime, b, *flags):
    res = runtime.run_container(b, *flags)
    assert res.returncode == 0, res.describe()
    return res


def host_mount_of(path: Path) -> dict:
    """The host mount holding ``path`` (longest mount-point prefix)."""
    path_s = os.path.realpath(path)
    best = None
    for m in parse_mountinfo(Path("/proc/self/mountinfo").read_text()):
        mp = m["mount_point"]
        if path_s == mp or path_s.startswith(mp.rstrip("/") + "/"):
            if best is None or len(mp) >= len(best["mount_point"]):
                best = m
    assert best is not None
    return best


def test_root_is_the_bundle_rootfs(runtime, bundle):
    b = bundle(["cat", "/proc/self/mountinfo"])
    res = run_ok(runtime, b)
    mounts = parse_mountinfo(res.stdout)
    roots = [m for m in mounts if m["mount_point"] == "/"]
    assert len(roots) == 1, f"'/' mounted {len(roots)} times:\n{res.stdout}"
    root = roots[0]

    host = host_mount_of(b.rootfs)
    rel = os.path.relpath(os.path.realpath(b.rootfs), host["mount_point"])
    expected_root = os.path.normpath(os.path.join(host["root"], rel))
    assert root["root"] == expected_root
    st = os.stat(b.rootfs)
    assert root["dev"] == f"{os.major(st.st_dev)}:{os.minor(st.st_dev)}"
    # nothing of the host's mount table is visible below the container's root
    assert not any(m["mount_point"].startswith(str(b.path)) for m in mounts)


def test_root_contents_are_the_image(runtime, bundle):
    token = uuid.uuid4().hex
    b = bundle(["sh", "-c", "cat /marker; test -e /var/tmp/pyrunc-test && echo HOST-VISIBLE; ls /"])
    (b.rootfs / "marker").write_text(token + "\n")
    res = run_ok(runtime, b)
    lines = res.stdout.split()
    assert lines[0] == token
    assert "HOST-VISIBLE" not in lines
    assert set(lines[1:]) >= {"bin", "etc", "proc", "sys", "dev", "tmp", "marker"}


def test_standard_mounts_have_their_fstype(runtime, bundle):
    b = bundle(["cat", "/proc/self/mountinfo"])
    res = run_ok(runtime, b)
    mounts = parse_mountinfo(res.stdout)
    by_point: dict[str, dict] = {}
    for m in mounts:
        by_point[m["mount_point"]] = m  # the last (topmost) mount wins
    expected = {
        "/proc": "proc",
        "/sys": "sysfs",
        "/dev": "tmpfs",
        "/dev/pts": "devpts",
        "/dev/shm": "tmpfs",
        "/dev/mqueue": "mqueue",
    }
    for point, fstype in expected.items():
        assert point in by_point, f"{point} not mounted:\n{res.stdout}"
        assert by_point[point]["fstype"] == fstype, by_point[point]
    assert "ro" in by_point["/sys"]["options"]
    for opt in ("nosuid", "noexec", "nodev"):
        assert opt in by_point["/dev/shm"]["options"]
    cgroup = [m for m in mounts if m["mount_point"] == "/sys/fs/cgroup"
              or m["mount_point"].startswith("/sys/fs/cgroup/")]
    assert any(m["fstype"] in ("cgroup", "cgroup2") for m in cgroup), res.stdout


def test_readonly_root(runtime, bundle):
    script = ("touch /x 2>&1; echo rc=$?; mkdir /newdir 2>/dev/null; echo rc=$?; "
              "touch /dev/shm/y && echo shm-ok; awk '$5 == \"/\"' /proc/self/mountinfo")
    b = bundle(["sh", "-c", script], root={"readonly": True})
    res = run_ok(runtime, b)
    lines = res.stdout.splitlines()
    assert "Read-only file system" in lines[0]
    assert lines[1] == "rc=1"
    assert lines[2] == "rc=1"
    assert lines[3] == "shm-ok"
    assert len(lines) == 5, res.stdout
    assert "ro" in parse_mountinfo(lines[4])[0]["options"]
    assert not (b.rootfs / "x").exists()
    assert not (b.rootfs / "newdir").exists()


def test_writable_root_by_default(runtime, bundle):
    b = bundle(["touch", "/written"])
    run_ok(runtime, b)
    assert (b.rootfs / "written").is_file()


def test_bind_mounts_rw_and_ro(runtime, bundle, workdir):
    rw, ro = workdir / "rw", workdir / "ro"
    rw.mkdir()
    ro.mkdir()
    (rw / "hello").write_text("hello-rw\n")
    (ro / "hello").write_text("hello-ro\n")
    script = ("cat /mnt/rw/hello /mnt/ro/hello; echo inside > /mnt/rw/new; echo rc=$?; "
              "echo inside > /mnt/ro/new; echo rc=$?")
    b = bundle(["sh", "-c", script], edit=lambda c: c["mounts"].extend([
        {"destination": "/mnt/rw", "type": "bind", "source": str(rw), "options": ["rbind", "rw"]},
        {"destination": "/mnt/ro", "type": "bind", "source": str(ro), "options": ["rbind", "ro"]},
    ]))
    res = run_ok(runtime, b)
    lines = res.stdout.splitlines()
    assert lines[:3] == ["hello-rw", "hello-ro", "rc=0"]
    assert lines[3] != "rc=0"
    assert (rw / "new").read_text() == "inside\n"
    assert not (ro / "new").exists()
    assert "Read-only file system" in res.stderr


def test_bind_mount_of_a_file(runtime, bundle, workdir):
    src = workdir / "file.txt"
    src.write_text("file-content\n")
    b = bundle(["cat", "/etc/injected"], edit=lambda c: c["mounts"].append(
        {"destination": "/etc/injected", "type": "bind", "source": str(src), "options": ["bind", "ro"]}))
    res = run_ok(runtime, b)
    assert res.stdout == "file-content\n"


def test_tmpfs_mount_with_options(runtime, bundle):
    b = bundle(["sh", "-c", "grep ' /scratch ' /proc/self/mountinfo; stat -c %a /scratch"],
               edit=lambda c: c["mounts"].append(
                   {"destination": "/scratch", "type": "tmpfs", "source": "tmpfs",
                    "options": ["nosuid", "nodev", "mode=0710", "size=1m"]}))
    res = run_ok(runtime, b)
    line, mode = res.stdout.splitlines()
    m = parse_mountinfo(line)[0]
    assert m["fstype"] == "tmpfs"
    assert {"nosuid", "nodev"} <= set(m["options"])
    assert mode == "710"


@pytest.mark.parametrize("style", ["absolute", "dotdot"])
def test_mount_destination_through_symlink_stays_in_rootfs(runtime, bundle, workdir, style):
    # a directory on the host the image's symlink points to (absolute host path)
    target = workdir / "host-target"
    target.mkdir()
    (target / "host-marker").write_text("host\n")
    source = workdir / "source"
    source.mkdir()
    (source / "src-marker").write_text("src\n")

    t = str(target)
    script = f"ls /evil; echo ==; ls {t}; echo ==; grep -c ' {t} ' /proc/self/mountinfo"
    b = bundle(["sh", "-c", script], edit=lambda c: c["mounts"].append(
        {"destination": "/evil", "type": "bind", "source": str(source), "options": ["rbind", "rw"]}))
    if style == "absolute":
        (b.rootfs / "evil").symlink_to(t)
    else:
        (b.rootfs / "evil").symlink_to("../" * 12 + t.lstrip("/"))

    res = run_ok(runtime, b)
    evil, via_path, count = res.stdout.split("==\n")
    assert evil.split() == ["src-marker"]
    # the mount is at <rootfs>/<target path>, seen inside under the target path
    assert via_path.split() == ["src-marker"]
    assert count.strip() == "1"
    # the host directory was not touched and nothing is mounted on it
    assert sorted(os.listdir(target)) == ["host-marker"]
    assert (b.rootfs / t.lstrip("/")).is_dir()
    assert os.path.islink(b.rootfs / "evil")
    assert not any(m["mount_point"] == t for m in parse_mountinfo(Path("/proc/self/mountinfo").read_text()))


def test_relative_bind_source_resolves_against_bundle(runtime, bundle):
    """A relative bind-mount source is relative to the bundle directory."""
    b = bundle(["cat", "/mnt/data/x"])
    (b.path / "data").mkdir()
    (b.path / "data" / "x").write_text("from-bundle\n")
    b.config["mounts"].append({"destination": "/mnt/data", "type": "bind", "source": "data",
                               "options": ["rbind"]})
    b.write_config()
    res = run_ok(runtime, b)
    assert res.stdout == "from-bundle\n"


def test_default_devices(runtime, bundle):
    b = bundle(["stat", "-c", "%n %F %t %T %a", *DEFAULT_DEVICES])
    res = run_ok(runtime, b)
    seen = {}
    for line in res.stdout.splitlines():
        name, rest = line.split(" ", 1)
        kind, major, minor, mode = rest.rsplit(" ", 3)
        seen[name] = (kind, int(major, 16), int(minor, 16), mode)
    for dev, (major, minor) in DEFAULT_DEVICES.items():
        assert dev in seen, res.stdout
        kind, ma, mi, mode = seen[dev]
        assert kind == "character special file", (dev, kind)
        assert (ma, mi) == (major, minor), dev
        assert mode == "666", (dev, mode)


def test_default_devices_work(runtime, bundle):
    script = ("echo discard > /dev/null && echo null-ok; head -c 4 /dev/zero | od -An -tx1; "
              "head -c 16 /dev/urandom | wc -c; echo x > /dev/full; echo full-rc=$?")
    b = bundle(["sh", "-c", script])
    res = run_ok(runtime, b)
    lines = [line.strip() for line in res.stdout.splitlines()]
    assert lines == ["null-ok", "00 00 00 00", "16", "full-rc=1"]


def test_dev_symlinks(runtime, bundle):
    links = ["/dev/ptmx", "/dev/fd", "/dev/stdin", "/dev/stdout", "/dev/stderr"]
    b = bundle(["sh", "-c", "for l in " + " ".join(links) + "; do echo $l $(readlink $l); done"])
    res = run_ok(runtime, b)
    got = dict(line.split() for line in res.stdout.splitlines())
    assert got == {
        "/dev/ptmx": "pts/ptmx",
        "/dev/fd": "/proc/self/fd",
        "/dev/stdin": "/proc/self/fd/0",
        "/dev/stdout": "/proc/self/fd/1",
        "/dev/stderr": "/proc/self/fd/2",
    }


def test_no_other_host_devices(runtime, bundle):
    b = bundle(["ls", "/dev"])
    res = run_ok(runtime, b)
    names = set(res.stdout.split())
    assert not names & {"sda", "vda", "mem", "kmsg", "loop0", "kvm"}, names


def test_no_pivot(runtime, bundle):
    token = uuid.uuid4().hex
    b = bundle(["sh", "-c", "cat /marker; test -e /var/tmp/pyrunc-test && echo HOST-VISIBLE; "
                "grep -c . /proc/self/mountinfo >/dev/null && echo mountinfo-ok; echo $$"])
    (b.rootfs / "marker").write_text(token + "\n")
    res = run_ok(runtime, b, "--no-pivot")
    assert res.stdout.split() == [token, "mountinfo-ok", "1"]


def test_masked_and_readonly_paths(runtime, bundle):
    script = ("cat /proc/kcore 2>/dev/null | wc -c; echo 1 > /proc/sysrq-trigger 2>/dev/null; echo rc=$?; "
              "ls /sys/firmware | wc -l")
    b = bundle(["sh", "-c", script])
    res = run_ok(runtime, b)
    assert [line.strip() for line in res.stdout.splitlines()] == ["0", "rc=1", "0"]
