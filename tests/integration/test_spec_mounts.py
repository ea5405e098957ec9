"""runtime-spec config.md "Mounts" and config-linux.md mount-related fields, seen from inside.

Mount options of every class the spec lists (mount(8) flags, atime, sync, nosymfollow,
propagation and their recursive ``r*`` forms, ``tmpcopyup``, ``idmap``), bind mounts of files
and directories, stacked mounts, ``rootfsPropagation``, ``root.readonly``, the standard
filesystems (cgroup, mqueue, devpts, /dev/shm), ``maskedPaths``/``readonlyPaths``, mount
destinations through symlinks (they must stay inside the rootfs) and a refused /proc.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest

from .util import HostMounts, mount_at, parse_mountinfo, propagation_tags, run_ok

MOUNTINFO = "/proc/self/mountinfo"


# --------------------------------------------------------------------------- helpers


def add_mounts(*entries):
    def edit(c):
        c["mounts"].extend(entries)

    return edit


def tmpfs(dest, *options):
    return {"destination": dest, "type": "tmpfs", "source": "tmpfs", "options": list(options)}


def bind(src, dest, *options):
    return {"destination": dest, "type": "bind", "source": str(src), "options": list(options)}


def split_sections(text: str, n: int) -> list[str]:
    parts = text.split("==\n")
    assert len(parts) == n, f"expected {n} sections:\n{text}"
    return parts


def mounted(text: str, point: str) -> dict:
    m = mount_at(parse_mountinfo(text), point)
    assert m is not None, f"{point} is not a mount point:\n{text}"
    return m


def host_mountinfo() -> list[dict]:
    return parse_mountinfo(Path("/proc/self/mountinfo").read_text())


def host_is_mount_point(path) -> bool:
    return any(m["mount_point"] == str(path) for m in host_mountinfo())


def add_caps(*names):
    def edit(c):
        for kind in ("bounding", "effective", "permitted"):
            c["process"]["capabilities"][kind] = sorted(set(c["process"]["capabilities"][kind]) | set(names))

    return edit


def chain(*edits):
    def edit(c):
        for e in edits:
            e(c)

    return edit


# --------------------------------------------------------------------------- mount(8) flags

# options, per-mount flags that must be shown, flags that must not, superblock flags shown
FLAG_CASES = [
    (["ro"], {"ro"}, {"rw"}, set()),
    (["rw"], {"rw"}, {"ro"}, set()),
    (["ro", "rw"], {"rw"}, {"ro"}, set()),
    (["rw", "ro"], {"ro"}, {"rw"}, set()),
    (["nosuid"], {"nosuid"}, set(), set()),
    (["nosuid", "suid"], set(), {"nosuid"}, set()),
    (["nodev"], {"nodev"}, set(), set()),
    (["nodev", "dev"], set(), {"nodev"}, set()),
    (["noexec"], {"noexec"}, set(), set()),
    (["noexec", "exec"], set(), {"noexec"}, set()),
    (["relatime"], {"relatime"}, {"noatime"}, set()),
    (["noatime"], {"noatime"}, {"relatime"}, set()),
    (["strictatime"], set(), {"noatime", "relatime"}, set()),
    (["nodiratime"], {"nodiratime"}, set(), set()),
    (["nosymfollow"], {"nosymfollow"}, set(), set()),
    (["sync"], set(), set(), {"sync"}),
    (["dirsync"], set(), set(), {"dirsync"}),
    (["lazytime"], set(), set(), {"lazytime"}),
    # runc 1.1.5 does not know "defaults" (a MUST option): it passes it to tmpfs as data
    pytest.param(["defaults"], {"rw"}, {"ro", "nosuid", "nodev", "noexec"}, set(),
                 marks=pytest.mark.pyrunc_only(reason="runc 1.1.5 passes 'defaults' as fs data")),
    (["nosuid", "nodev", "noexec", "ro", "noatime"], {"nosuid", "nodev", "noexec", "ro", "noatime"},
     set(), set()),
]


def _case_id(case) -> str:
    values = case.values if hasattr(case, "values") else case
    return "-".join(values[0])


@pytest.mark.parametrize("options,present,absent,super_present", FLAG_CASES,
                         ids=[_case_id(c) for c in FLAG_CASES])
def test_tmpfs_mount_flags_in_mountinfo(runtime, bundle, options, present, absent, super_present):
    b = bundle(["cat", MOUNTINFO], edit=add_mounts(tmpfs("/mnt/t", *options)))
    res = run_ok(runtime, b)
    m = mounted(res.stdout, "/mnt/t")
    assert m["fstype"] == "tmpfs"
    assert present <= set(m["options"]), m
    assert not absent & set(m["options"]), m
    assert super_present <= set(m["super_options"]), m


BIND_FLAG_CASES = [
    (["ro"], {"ro"}, {"rw"}),
    (["nosuid"], {"nosuid"}, set()),
    (["nodev"], {"nodev"}, set()),
    (["noexec"], {"noexec"}, set()),
    (["noatime"], {"noatime"}, {"relatime"}),
    (["strictatime"], set(), {"noatime", "relatime"}),
    (["nosymfollow"], {"nosymfollow"}, set()),
    (["ro", "nosuid", "nodev", "noexec"], {"ro", "nosuid", "nodev", "noexec"}, {"rw"}),
]


@pytest.mark.parametrize("kind", ["bind", "rbind"])
@pytest.mark.parametrize("options,present,absent", BIND_FLAG_CASES,
                         ids=["-".join(c[0]) for c in BIND_FLAG_CASES])
def test_bind_mount_flags_in_mountinfo(runtime, bundle, workdir, kind, options, present, absent):
    """Flags on a bind mount need a remount: they must be applied all the same."""
    src = workdir / "src"
    src.mkdir()
    b = bundle(["cat", MOUNTINFO], edit=add_mounts(bind(src, "/mnt/b", kind, *options)))
    res = run_ok(runtime, b)
    m = mounted(res.stdout, "/mnt/b")
    assert present <= set(m["options"]), m
    assert not absent & set(m["options"]), m
    # the host's own mount is unchanged
    assert not host_is_mount_point(src)


@pytest.mark.parametrize("where", ["tmpfs", "bind"])
@pytest.mark.parametrize("flag", [None, "ro"])
def test_ro_flag_refuses_writes(runtime, bundle, workdir, where, flag):
    src = workdir / "src"
    src.mkdir()
    os.chmod(src, 0o777)
    opts = [flag] if flag else []
    entry = tmpfs("/mnt/x", *opts) if where == "tmpfs" else bind(src, "/mnt/x", "rbind", *opts)
    b = bundle(["sh", "-c", "touch /mnt/x/f 2>&1; echo rc=$?"], edit=add_mounts(entry))
    res = run_ok(runtime, b)
    if flag == "ro":
        assert "Read-only file system" in res.stdout, res.stdout
        assert res.stdout.strip().endswith("rc=1")
        assert not (src / "f").exists()
    else:
        assert res.stdout.strip() == "rc=0"
        assert (src / "f").exists() == (where == "bind")


@pytest.mark.parametrize("noexec", [False, True])
def test_noexec_refuses_execution(runtime, bundle, noexec):
    script = "cp /bin/busybox /mnt/x/true && /mnt/x/true; echo rc=$?"
    b = bundle(["sh", "-c", script],
               edit=add_mounts(tmpfs("/mnt/x", *(["noexec"] if noexec else ["exec"]))))
    res = run_ok(runtime, b)
    assert res.stdout.strip() == ("rc=126" if noexec else "rc=0"), res.describe()


@pytest.mark.parametrize("nodev", [False, True])
def test_nodev_refuses_device_access(runtime, bundle, nodev):
    # a null device node made on the mount; the devices cgroup allows 1:3
    script = "mknod /mnt/x/null c 1 3 && echo data > /mnt/x/null; echo rc=$?"
    b = bundle(["sh", "-c", script],
               edit=chain(add_mounts(tmpfs("/mnt/x", *(["nodev"] if nodev else ["dev"]))),
                          add_caps("CAP_MKNOD")))
    res = run_ok(runtime, b)
    assert res.stdout.strip() == ("rc=1" if nodev else "rc=0"), res.describe()
    if nodev:
        assert "Permission denied" in res.stderr


@pytest.mark.parametrize("nosymfollow", [False, True])
def test_nosymfollow_refuses_following_symlinks(runtime, bundle, nosymfollow):
    script = ("echo content > /mnt/x/target; ln -s /mnt/x/target /mnt/x/link; readlink /mnt/x/link; "
              "cat /mnt/x/link; echo rc=$?")
    b = bundle(["sh", "-c", script],
               edit=add_mounts(tmpfs("/mnt/x", *(["nosymfollow"] if nosymfollow else ["symfollow"]))))
    res = run_ok(runtime, b)
    lines = res.stdout.splitlines()
    assert lines[0] == "/mnt/x/target"  # readlink still works
    if nosymfollow:
        assert lines[1:] == ["rc=1"], res.describe()
    else:
        assert lines[1:] == ["content", "rc=0"], res.describe()


# atime behaviour: (atime older than mtime and ctime, atime newer than mtime and ctime but
# less than a day old) -> updated by a read?
ATIME_CASES = {
    "strictatime": (True, True),
    "relatime": (True, False),
    "noatime": (False, False),
}


@pytest.mark.parametrize("option", sorted(ATIME_CASES))
def test_atime_options_behave(runtime, bundle, option):
    script = r"""
f=/mnt/x/f; echo data > $f; now=$(date +%s)
check() {
  a0=$(stat -c %X $f); cat $f >/dev/null; a1=$(stat -c %X $f)
  [ "$a1" != "$a0" ] && echo updated || echo kept
}
touch -m -d @$((now - 7200)) $f; touch -a -d @$((now - 10800)) $f; check
touch -m -d @$((now - 10800)) $f; touch -a -d @$((now + 3600)) $f; check
"""
    b = bundle(["sh", "-c", script], edit=add_mounts(tmpfs("/mnt/x", option)))
    res = run_ok(runtime, b)
    expected = ["updated" if u else "kept" for u in ATIME_CASES[option]]
    assert res.stdout.split() == expected, res.describe()


# --------------------------------------------------------------------------- propagation


def make_shared_src(hm: HostMounts, workdir: Path, with_sub: bool = True) -> Path:
    """A host directory that is a shared mount (own peer group), with a shared submount."""
    src = workdir / "src"
    (src / "sub").mkdir(parents=True)
    (src / "top-marker").write_text("top\n")
    hm.mount("--bind", src, src)
    hm.propagation("--make-shared", src)
    if with_sub:
        hm.mount("-t", "tmpfs", "-o", "size=1m", "tmpfs", src / "sub")
        (src / "sub" / "sub-marker").write_text("sub\n")
    return src


def make_src_with_submount(hm: HostMounts, workdir: Path) -> Path:
    """A plain (private) host directory with a tmpfs submount ``sub``."""
    src = workdir / "src"
    (src / "sub").mkdir(parents=True)
    os.chmod(src, 0o777)
    (src / "top-marker").write_text("top\n")
    hm.mount("-t", "tmpfs", "-o", "size=1m,mode=0777", "tmpfs", src / "sub")
    (src / "sub" / "sub-marker").write_text("sub\n")
    return src


@pytest.mark.parametrize("option,top_shared,sub_shared", [
    ("shared", True, False),
    ("rshared", True, True),
])
def test_bind_propagation_shared(runtime, bundle, workdir, option, top_shared, sub_shared):
    with HostMounts() as hm:
        src = make_src_with_submount(hm, workdir)
        b = bundle(["cat", MOUNTINFO], edit=add_mounts(bind(src, "/mnt/p", "rbind", option)))
        res = run_ok(runtime, b)
    top, sub = mounted(res.stdout, "/mnt/p"), mounted(res.stdout, "/mnt/p/sub")
    assert ("shared" in propagation_tags(top)) == top_shared, top
    assert ("shared" in propagation_tags(sub)) == sub_shared, sub


@pytest.mark.parametrize("option,top_unbindable,sub_unbindable", [
    ("unbindable", True, False),
    ("runbindable", True, True),
])
def test_bind_propagation_unbindable(runtime, bundle, workdir, option, top_unbindable, sub_unbindable):
    with HostMounts() as hm:
        src = make_src_with_submount(hm, workdir)
        b = bundle(["cat", MOUNTINFO], edit=add_mounts(bind(src, "/mnt/p", "rbind", option)))
        res = run_ok(runtime, b)
    top, sub = mounted(res.stdout, "/mnt/p"), mounted(res.stdout, "/mnt/p/sub")
    assert ("unbindable" in propagation_tags(top)) == top_unbindable, top
    assert ("unbindable" in propagation_tags(sub)) == sub_unbindable, sub


@pytest.mark.parametrize("option,sub_private", [("private", False), ("rprivate", True)])
def test_bind_propagation_private(runtime, bundle, workdir, option, sub_private):
    """The source is shared on the host: ``private`` cuts the container's copy off it."""
    with HostMounts() as hm:
        src = make_shared_src(hm, workdir)
        b = bundle(["cat", MOUNTINFO], edit=add_mounts(bind(src, "/mnt/p", "rbind", option)))
        res = run_ok(runtime, b)
    top, sub = mounted(res.stdout, "/mnt/p"), mounted(res.stdout, "/mnt/p/sub")
    assert propagation_tags(top) == {}, top
    if sub_private:
        assert propagation_tags(sub) == {}, sub


def ctr_mountinfo(pid: int) -> str:
    """The container's mount table, read from the host (no ``exec`` needed)."""
    return Path(f"/proc/{pid}/mountinfo").read_text()


def mount_in_container(pid: int, *args: str) -> None:
    """mount(8) run from the host inside the container's mount namespace (and root)."""
    import subprocess

    res = subprocess.run(["nsenter", "-t", str(pid), "-m", "mount", *args], capture_output=True,
                         text=True, timeout=10)
    assert res.returncode == 0, res.stderr


def stop_and_delete(runtime, cid):
    runtime.kill(cid)
    runtime.wait_status(cid, "stopped")
    runtime.delete(cid)


@pytest.mark.parametrize("option", ["slave", "rslave"])
def test_bind_propagation_slave_receives_host_mounts_only(runtime, bundle, workdir, cid, option):
    """A ``slave`` bind of a shared host directory gets the host's new mounts; the container's
    mounts there do not reach the host.  (rootfsPropagation shared: without the option the
    bind would stay a peer of the host's mount.)"""
    with HostMounts() as hm:
        src = make_shared_src(hm, workdir, with_sub=(option == "rslave"))
        (src / "later").mkdir()
        (src / "from-ctr").mkdir()

        def edit(c):
            c["linux"]["rootfsPropagation"] = "shared"
            c["mounts"].append(bind(src, "/mnt/p", "rbind", option))

        b = bundle(["sleep", "30"], edit=edit)
        runtime.create(cid, b)
        runtime.start(cid)
        pid = runtime.state(cid)["pid"]
        hm.mount("-t", "tmpfs", "-o", "size=1m", "tmpfs", src / "later")
        (src / "later" / "late-marker").write_text("late\n")
        mount_in_container(pid, "-t", "tmpfs", "ctrtmp", "/mnt/p/from-ctr")
        info = ctr_mountinfo(pid)
        listing = os.listdir(f"/proc/{pid}/root/mnt/p/later")
        host_sees_ctr_mount = host_is_mount_point(src / "from-ctr")
        stop_and_delete(runtime, cid)
    assert listing == ["late-marker"]
    assert not host_sees_ctr_mount, "a mount made in the container propagated to the host"
    top = mounted(info, "/mnt/p")
    tags = propagation_tags(top)
    assert "master" in tags and "shared" not in tags, top
    if option == "rslave":
        sub = mounted(info, "/mnt/p/sub")
        assert "master" in propagation_tags(sub) and "shared" not in propagation_tags(sub), sub


# --------------------------------------------------------------------------- recursive flags


@pytest.mark.parametrize("option,flag", [
    ("rro", "ro"),
    ("rnosuid", "nosuid"),
    ("rnodev", "nodev"),
    ("rnoexec", "noexec"),
    ("rnoatime", "noatime"),
    ("rnosymfollow", "nosymfollow"),
])
def test_recursive_flag_reaches_submounts(runtime, bundle, workdir, option, flag):
    with HostMounts() as hm:
        src = make_src_with_submount(hm, workdir)
        b = bundle(["cat", MOUNTINFO], edit=add_mounts(bind(src, "/mnt/r", "rbind", option)))
        res = run_ok(runtime, b)
        sub_host = mount_at(host_mountinfo(), str(src / "sub"))
    top, sub = mounted(res.stdout, "/mnt/r"), mounted(res.stdout, "/mnt/r/sub")
    assert flag in top["options"], top
    assert flag in sub["options"], sub
    # the host's submount is not changed
    assert flag not in sub_host["options"], sub_host


def test_rro_makes_submount_read_only(runtime, bundle, workdir):
    script = ("cat /mnt/r/top-marker /mnt/r/sub/sub-marker; touch /mnt/r/new 2>/dev/null; echo rc=$?; "
              "touch /mnt/r/sub/new 2>/dev/null; echo rc=$?")
    with HostMounts() as hm:
        src = make_src_with_submount(hm, workdir)
        b = bundle(["sh", "-c", script], edit=add_mounts(bind(src, "/mnt/r", "rbind", "rro")))
        res = run_ok(runtime, b)
        created = (src / "new").exists(), (src / "sub" / "new").exists()
    assert res.stdout.split() == ["top", "sub", "rc=1", "rc=1"], res.describe()
    assert created == (False, False)


def test_rrw_clears_read_only_of_submounts(runtime, bundle, workdir):
    """Host: the directory and its submount are read-only bind mounts; ``rrw`` makes the
    container's copies writable."""
    script = "touch /mnt/r/new-top; echo rc=$?; touch /mnt/r/sub/new-sub; echo rc=$?"
    with HostMounts() as hm:
        src = make_src_with_submount(hm, workdir)
        hm.mount("--bind", src, src)
        hm.propagation("--make-private", src)
        hm.mount("-t", "tmpfs", "-o", "size=1m,mode=0777", "tmpfs", src / "sub")
        hm._mount("-o", "remount,bind,ro", str(src))
        hm._mount("-o", "remount,bind,ro", str(src / "sub"))
        b = bundle(["sh", "-c", script], edit=add_mounts(bind(src, "/mnt/r", "rbind", "rrw")))
        res = run_ok(runtime, b)
        host_opts = mount_at(host_mountinfo(), str(src / "sub"))["options"]
    assert res.stdout.split() == ["rc=0", "rc=0"], res.describe()
    assert "ro" in host_opts


# --------------------------------------------------------------------------- bind mounts


def test_bind_is_not_recursive_rbind_is(runtime, bundle, workdir):
    script = "ls /mnt/plain/sub; echo ==; ls /mnt/rec/sub"
    with HostMounts() as hm:
        src = make_src_with_submount(hm, workdir)
        b = bundle(["sh", "-c", script], edit=add_mounts(bind(src, "/mnt/plain", "bind"),
                                                         bind(src, "/mnt/rec", "rbind")))
        res = run_ok(runtime, b)
    plain, rec = split_sections(res.stdout, 2)
    assert plain.split() == []
    assert rec.split() == ["sub-marker"]


def test_bind_file_to_missing_destination_creates_a_file(runtime, bundle, workdir):
    src = workdir / "data.txt"
    src.write_text("file-data\n")
    script = "cat /new/dir/data.txt; test -f /new/dir/data.txt && echo is-file; stat -c %F /new/dir"
    b = bundle(["sh", "-c", script], edit=add_mounts(bind(src, "/new/dir/data.txt", "bind")))
    res = run_ok(runtime, b)
    assert res.stdout.splitlines() == ["file-data", "is-file", "directory"]
    # the mount point the runtime made in the rootfs is an (empty) regular file
    made = b.rootfs / "new" / "dir" / "data.txt"
    assert made.is_file() and not made.is_symlink()
    assert made.stat().st_size == 0


def test_bind_dir_to_missing_destination_creates_a_dir(runtime, bundle, workdir):
    src = workdir / "dir"
    src.mkdir()
    (src / "inside").write_text("x\n")
    b = bundle(["ls", "/a/b/c"], edit=add_mounts(bind(src, "/a/b/c", "rbind")))
    res = run_ok(runtime, b)
    assert res.stdout.split() == ["inside"]
    assert (b.rootfs / "a" / "b" / "c").is_dir()
    assert not (b.rootfs / "a" / "b" / "c" / "inside").exists()


def test_read_only_bind_of_a_file(runtime, bundle, workdir):
    src = workdir / "conf"
    src.write_text("original\n")
    script = "echo changed > /etc/conf; echo rc=$?; cat /etc/conf; awk '$5 == \"/etc/conf\"' " + MOUNTINFO
    b = bundle(["sh", "-c", script], edit=add_mounts(bind(src, "/etc/conf", "bind", "ro")))
    res = run_ok(runtime, b)
    lines = res.stdout.splitlines()
    assert "Read-only file system" in res.stderr
    assert lines[:2] == ["rc=1", "original"]
    assert "ro" in parse_mountinfo(lines[-1])[0]["options"]
    assert src.read_text() == "original\n"


def test_stacked_mounts_in_order(runtime, bundle, workdir):
    inner, cover = workdir / "inner", workdir / "cover"
    inner.mkdir()
    cover.mkdir()
    (inner / "inner-marker").write_text("i\n")
    (cover / "cover-marker").write_text("c\n")
    script = ("ls /mnt/stack; echo ==; ls /mnt/stack/inner; echo ==; ls /mnt/twice; echo ==; "
              "cat " + MOUNTINFO)
    b = bundle(["sh", "-c", script], edit=add_mounts(
        tmpfs("/mnt/stack", "mode=0755"),
        bind(inner, "/mnt/stack/inner", "rbind"),          # destination made inside the tmpfs
        tmpfs("/mnt/stack/inner/deeper", "size=1m"),        # ... inside the bind mount
        bind(inner, "/mnt/twice", "rbind"),
        bind(cover, "/mnt/twice", "rbind"),                 # later entry covers the earlier
    ))
    res = run_ok(runtime, b)
    stack, inner_ls, twice, info = split_sections(res.stdout, 4)
    assert stack.split() == ["inner"]
    assert sorted(inner_ls.split()) == ["deeper", "inner-marker"]
    assert twice.split() == ["cover-marker"]
    mounts = parse_mountinfo(info)
    st, inn, deep = (mounted(info, p) for p in ("/mnt/stack", "/mnt/stack/inner", "/mnt/stack/inner/deeper"))
    assert inn["parent"] == st["id"] and deep["parent"] == inn["id"]
    assert st["fstype"] == "tmpfs" and deep["fstype"] == "tmpfs"
    assert [m["mount_point"] for m in mounts].count("/mnt/twice") == 2
    # the image only got the first-level mount points
    assert (b.rootfs / "mnt" / "stack").is_dir()
    assert not (b.rootfs / "mnt" / "stack" / "inner").exists()


def test_tmpcopyup_keeps_image_files(runtime, bundle):
    script = ("cat /data/a /data/d/b; readlink /data/link; stat -c '%a %u %g' /data/d /data/a; "
              "echo new > /data/new; echo ==; awk '$5 == \"/data\"' " + MOUNTINFO)
    b = bundle(["sh", "-c", script], edit=add_mounts(tmpfs("/data", "tmpcopyup", "size=1m")))
    data = b.rootfs / "data"
    (data / "d").mkdir(parents=True)
    (data / "a").write_text("file-a\n")
    (data / "d" / "b").write_text("file-b\n")
    (data / "link").symlink_to("d/b")
    os.chmod(data / "d", 0o750)
    os.chown(data / "a", 1000, 1000)
    res = run_ok(runtime, b)
    out, info = split_sections(res.stdout, 2)
    assert out.splitlines() == ["file-a", "file-b", "d/b", "750 0 0", "644 1000 1000"]
    assert mounted(info, "/data")["fstype"] == "tmpfs"
    # the copy is a tmpfs: the image is untouched
    assert not (data / "new").exists()
    assert sorted(os.listdir(data)) == ["a", "d", "link"]


# --------------------------------------------------------------------------- root


# runc 1.1.5 never applies rootfsPropagation to the container's "/": it makes the rootfs's
# parent mount private before pivot_root and leaves the new root private afterwards.
RUNC_ROOT_PRIVATE = "runc 1.1.5 leaves / private whatever rootfsPropagation says"


@pytest.mark.pyrunc_only(reason=RUNC_ROOT_PRIVATE)
@pytest.mark.parametrize("prop,tag", [("shared", "shared"), ("unbindable", "unbindable")])
def test_rootfs_propagation_tag(runtime, bundle, prop, tag):
    b = bundle(["cat", MOUNTINFO], edit=lambda c: c["linux"].update(rootfsPropagation=prop))
    res = run_ok(runtime, b)
    root = mounted(res.stdout, "/")
    assert tag in propagation_tags(root), root


def _propagation_from_shared_host_rootfs(runtime, bundle, cid, prop):
    b = bundle(["sleep", "30"], edit=lambda c: c["linux"].update(rootfsPropagation=prop))
    (b.rootfs / "mnt" / "late").mkdir(parents=True)
    with HostMounts() as hm:
        hm.mount("--bind", b.rootfs, b.rootfs)
        hm.propagation("--make-shared", b.rootfs)
        runtime.create(cid, b)
        runtime.start(cid)
        pid = runtime.state(cid)["pid"]
        hm.mount("-t", "tmpfs", "-o", "size=1m", "late-tmpfs", b.rootfs / "mnt" / "late")
        info = ctr_mountinfo(pid)
        stop_and_delete(runtime, cid)
    tags = propagation_tags(mounted(info, "/"))
    late = mount_at(parse_mountinfo(info), "/mnt/late")
    return info, tags, late


@pytest.mark.pyrunc_only(reason=RUNC_ROOT_PRIVATE)
def test_rootfs_propagation_slave_receives_host_mounts(runtime, bundle, cid):
    """The host's rootfs is a shared mount: the container's / is its slave and sees a mount
    made later on the host under the rootfs."""
    info, tags, late = _propagation_from_shared_host_rootfs(runtime, bundle, cid, "slave")
    assert "master" in tags and "shared" not in tags, tags
    assert late is not None and late["source"] == "late-tmpfs", info


def test_rootfs_propagation_private_cuts_host_mounts(runtime, bundle, cid):
    """The host's rootfs is a shared mount: a private / does not see later host mounts."""
    info, tags, late = _propagation_from_shared_host_rootfs(runtime, bundle, cid, "private")
    assert tags == {}, tags
    assert late is None, info


def test_readonly_root_keeps_other_mounts_writable(runtime, bundle, workdir):
    rw = workdir / "rw"
    rw.mkdir()
    script = ("touch /rootfile 2>/dev/null; echo root=$?; touch /tmp/t; echo tmp=$?; touch /mnt/rw/f; "
              "echo bind=$?; echo x > /dev/null; echo null=$?; touch /dev/shm/s; echo shm=$?")
    b = bundle(["sh", "-c", script], root={"readonly": True},
               edit=add_mounts(tmpfs("/tmp", "mode=1777"), bind(rw, "/mnt/rw", "rbind", "rw")))
    (b.rootfs / "mnt" / "rw").mkdir(parents=True)
    res = run_ok(runtime, b)
    assert res.stdout.split() == ["root=1", "tmp=0", "bind=0", "null=0", "shm=0"], res.describe()
    assert (rw / "f").exists()
    assert not (b.rootfs / "rootfile").exists()


# --------------------------------------------------------------------------- idmap


IDMAP_1000 = [{"containerID": 0, "hostID": 1000, "size": 1}]


def idmapped(src, dest, option="idmap", uid_map=None, gid_map=None, *extra):
    entry = bind(src, dest, "rbind", option, *extra)
    if uid_map is not None:
        entry["uidMappings"] = uid_map
    if gid_map is not None:
        entry["gidMappings"] = gid_map
    return entry


@pytest.mark.pyrunc_only(reason="runc 1.1.5 lacks idmapped mounts (runc >= 1.2)")
def test_idmap_mount_with_own_mappings(runtime, bundle, workdir):
    """On-disk id 0 is shown as 1000 through the mount; 1000 on disk is unmapped; a file made
    through it by uid 1000 is 0 on disk."""
    src = workdir / "idm"
    src.mkdir()
    os.chmod(src, 0o777)
    (src / "by-root").write_text("r\n")
    (src / "by-1000").write_text("u\n")
    os.chown(src / "by-1000", 1000, 1000)
    script = "stat -c '%u %g' /mnt/idm/by-root /mnt/idm/by-1000; touch /mnt/idm/made; echo rc=$?"
    b = bundle(["sh", "-c", script], process={"user": {"uid": 1000, "gid": 1000}},
               edit=add_mounts(idmapped(src, "/mnt/idm", "idmap", IDMAP_1000, IDMAP_1000)))
    res = run_ok(runtime, b)
    overflow = Path("/proc/sys/kernel/overflowuid").read_text().strip()
    assert res.stdout.splitlines() == ["1000 1000", f"{overflow} {overflow}", "rc=0"], res.describe()
    st = os.stat(src / "made")
    assert (st.st_uid, st.st_gid) == (0, 0)
    # the host's view is unchanged
    assert os.stat(src / "by-root").st_uid == 0


USERNS = [{"containerID": 0, "hostID": 100000, "size": 65536}]


def userns_edit(c):
    c["linux"]["namespaces"].append({"type": "user"})
    c["linux"]["uidMappings"] = list(USERNS)
    c["linux"]["gidMappings"] = list(USERNS)


@pytest.mark.pyrunc_only(reason="runc 1.1.5 lacks idmapped mounts (runc >= 1.2)")
@pytest.mark.parametrize("option", ["idmap", "ridmap"])
def test_idmap_mount_in_user_namespace(runtime, bundle, workdir, option):
    """User-namespaced container; the mount maps on-disk 0..65535 to the container's range:
    host-root files show as the container's root, and its root writes on-disk uid 0."""
    script = ("stat -c '%u %g' /mnt/idm/by-root /mnt/idm/sub/in-sub; touch /mnt/idm/made; echo rc=$?; "
              "touch /mnt/idm/sub/made; echo rc=$?")
    with HostMounts() as hm:
        src = make_src_with_submount(hm, workdir)
        (src / "by-root").write_text("r\n")
        (src / "sub" / "in-sub").write_text("s\n")
        os.chmod(src, 0o755)
        os.chmod(src / "sub", 0o755)

        def edit(c):
            userns_edit(c)
            c["mounts"].append(idmapped(src, "/mnt/idm", option, USERNS, USERNS))

        b = bundle(["sh", "-c", script], edit=edit)
        (b.rootfs / "mnt" / "idm").mkdir(parents=True)
        res = run_ok(runtime, b)
        made = os.stat(src / "made")
        sub_made = (src / "sub" / "made").exists()
    lines = res.stdout.splitlines()
    assert lines[0] == "0 0"
    assert lines[2] == "rc=0"
    assert (made.st_uid, made.st_gid) == (0, 0)
    if option == "ridmap":
        assert lines[1] == "0 0" and lines[3] == "rc=0" and sub_made, res.describe()
    else:
        # without recursion the submount is not idmapped: host root is unmapped there
        assert lines[1] != "0 0" and lines[3] != "rc=0" and not sub_made, res.describe()


@pytest.mark.pyrunc_only(reason="runc 1.1.5 lacks idmapped mounts (runc >= 1.2)")
def test_idmap_without_mappings_or_user_namespace_fails(runtime, bundle, workdir, cid):
    src = workdir / "idm"
    src.mkdir()
    b = bundle(["true"], edit=add_mounts(idmapped(src, "/mnt/idm")))
    res = runtime.create(cid, b, check=False)
    assert res.returncode == 1, res.describe()
    assert "idmap" in res.stderr
    assert runtime.status(cid) is None


# --------------------------------------------------------------------------- standard filesystems


def host_v1_hierarchies() -> dict[str, str]:
    """Host cgroup v1 hierarchies mounted under /sys/fs/cgroup: {dir name: controller option}."""
    out = {}
    for m in host_mountinfo():
        if m["fstype"] == "cgroup" and m["mount_point"].startswith("/sys/fs/cgroup/"):
            opts = [o for o in m["super_options"]
                    if (o not in ("rw", "ro") and "=" not in o) or o.startswith("name=")]
            out[os.path.basename(m["mount_point"])] = opts[0] if opts else ""
    return out


def skip_unless_cgroup_v1() -> dict[str, str]:
    hier = host_v1_hierarchies()
    if not hier or any(m["fstype"] == "cgroup2" and m["mount_point"] == "/sys/fs/cgroup"
                       for m in host_mountinfo()):
        pytest.skip("the host has no cgroup v1 hierarchies")
    return {d: opt for d, opt in hier.items() if not opt.startswith("name=")}


def test_cgroup_v1_mount_has_one_read_only_dir_per_hierarchy(runtime, bundle):
    controllers = skip_unless_cgroup_v1()
    script = ("cat " + MOUNTINFO + "; echo ==; ls /sys/fs/cgroup; echo ==; "
              "mkdir /sys/fs/cgroup/pids/sub 2>&1; cat /sys/fs/cgroup/pids/cgroup.procs")
    b = bundle(["sh", "-c", script])
    res = run_ok(runtime, b)
    info, listing, rest = split_sections(res.stdout, 3)
    top = mounted(info, "/sys/fs/cgroup")
    assert top["fstype"] == "tmpfs"
    names = set(listing.split())
    assert set(controllers) <= names, (controllers, names)
    for d, opt in controllers.items():
        m = mounted(info, f"/sys/fs/cgroup/{d}")
        assert m["fstype"] == "cgroup" and opt in m["super_options"], m
        assert "ro" in m["options"], m
    assert "Read-only file system" in rest
    # the pids hierarchy shows the container's own cgroup (its init is pid 1)
    assert "1" in rest.split()


@pytest.mark.pyrunc_only(reason="runc 1.1.5 leaves the cgroup tmpfs rw (only chmod 0555)")
def test_cgroup_v1_tmpfs_is_read_only(runtime, bundle):
    """The cgroup mount asks for ``ro``: the tmpfs holding the hierarchies is read-only,
    even for a root with CAP_DAC_OVERRIDE."""
    skip_unless_cgroup_v1()
    script = "mkdir /sys/fs/cgroup/x 2>&1; echo ==; awk '$5 == \"/sys/fs/cgroup\"' " + MOUNTINFO
    b = bundle(["sh", "-c", script], edit=add_caps("CAP_DAC_OVERRIDE"))
    res = run_ok(runtime, b)
    out, line = split_sections(res.stdout, 2)
    assert "Read-only file system" in out
    assert "ro" in parse_mountinfo(line)[0]["options"]


def test_mqueue_is_the_containers_own(runtime, bundle):
    name = "q-" + uuid.uuid4().hex[:8]
    script = (f"touch /dev/mqueue/{name}; cat /dev/mqueue/{name}; echo ==; "
              "awk '$5 == \"/dev/mqueue\"' " + MOUNTINFO)
    b = bundle(["sh", "-c", script])
    res = run_ok(runtime, b)
    content, line = split_sections(res.stdout, 2)
    assert content.startswith("QSIZE:"), res.describe()
    m = parse_mountinfo(line)[0]
    assert m["fstype"] == "mqueue"
    assert {"nosuid", "nodev", "noexec"} <= set(m["options"])
    # a second container (own ipc namespace) does not see the queue
    b2 = bundle(["ls", "/dev/mqueue"])
    res2 = run_ok(runtime, b2)
    assert name not in res2.stdout.split()


def test_devpts_new_instance(runtime, bundle):
    script = ("ls /dev/pts; echo ==; stat -c '%a %t %T' /dev/pts/ptmx; echo ==; "
              "exec 3<>/dev/ptmx; ls /dev/pts; echo ==; awk '$5 == \"/dev/pts\"' " + MOUNTINFO)
    b = bundle(["sh", "-c", script])
    res = run_ok(runtime, b)
    before, ptmx, after, line = split_sections(res.stdout, 4)
    assert before.split() == ["ptmx"]          # no host pty is visible
    assert ptmx.split() == ["666", "5", "2"]
    assert sorted(after.split()) == ["0", "ptmx"]
    m = parse_mountinfo(line)[0]
    assert m["fstype"] == "devpts"
    assert {"ptmxmode=666", "mode=620", "gid=5"} <= set(m["super_options"]), m
    assert {"nosuid", "noexec"} <= set(m["options"]), m


def test_dev_shm_is_a_private_tmpfs(runtime, bundle):
    name = "shm-" + uuid.uuid4().hex[:8]
    script = (f"stat -c %a /dev/shm; touch /dev/shm/{name}; echo rc=$?; echo ==; "
              "awk '$5 == \"/dev/shm\"' " + MOUNTINFO)
    b = bundle(["sh", "-c", script], process={"user": {"uid": 1000, "gid": 1000}})
    res = run_ok(runtime, b)
    out, line = split_sections(res.stdout, 2)
    assert out.split() == ["1777", "rc=0"]
    m = parse_mountinfo(line)[0]
    assert m["fstype"] == "tmpfs"
    assert "size=65536k" in m["super_options"], m
    assert not os.path.exists(f"/dev/shm/{name}")


# --------------------------------------------------------------------------- masked / readonly paths


def test_masked_paths(runtime, bundle):
    script = ("cat /secret.txt | wc -c; stat -c '%F %t %T' /secret.txt; ls -A /secretdir | wc -l; "
              "touch /secretdir/x 2>/dev/null; echo rc=$?; cat /proc/kcore | wc -c; ls /nothere 2>/dev/null; "
              "echo ==; cat " + MOUNTINFO)
    b = bundle(["sh", "-c", script],
               edit=lambda c: c["linux"].update(maskedPaths=["/secret.txt", "/secretdir", "/nothere",
                                                             "/proc/kcore"]))
    (b.rootfs / "secret.txt").write_text("top secret\n")
    (b.rootfs / "secretdir").mkdir()
    (b.rootfs / "secretdir" / "a").write_text("a\n")
    (b.rootfs / "secretdir" / "b").write_text("b\n")
    res = run_ok(runtime, b)
    out, info = split_sections(res.stdout, 2)
    lines = [line.strip() for line in out.splitlines()]
    assert lines == ["0", "character special file 1 3", "0", "rc=1", "0"], res.describe()
    d = mounted(info, "/secretdir")
    assert d["fstype"] == "tmpfs" and "ro" in d["options"], d
    assert not (b.rootfs / "nothere").exists()
    assert (b.rootfs / "secret.txt").read_text() == "top secret\n"


def test_readonly_paths(runtime, bundle):
    script = ("cat /rofile; echo w >> /rofile 2>/dev/null; echo rc=$?; ls /rodir; "
              "touch /rodir/n 2>/dev/null; echo rc=$?; touch /rwdir/n; echo rc=$?; "
              "echo 1 > /proc/sys/kernel/domainname 2>/dev/null; echo rc=$?; echo ==; cat " + MOUNTINFO)
    b = bundle(["sh", "-c", script],
               edit=lambda c: c["linux"].update(readonlyPaths=["/rofile", "/rodir", "/proc/sys", "/nothere"]))
    (b.rootfs / "rofile").write_text("ro-content\n")
    (b.rootfs / "rodir").mkdir()
    (b.rootfs / "rodir" / "in").write_text("\n")
    (b.rootfs / "rwdir").mkdir()
    res = run_ok(runtime, b)
    out, info = split_sections(res.stdout, 2)
    assert out.split() == ["ro-content", "rc=1", "in", "rc=1", "rc=0", "rc=1"], res.describe()
    for p in ("/rofile", "/rodir", "/proc/sys"):
        assert "ro" in mounted(info, p)["options"], p
    assert (b.rootfs / "rofile").read_text() == "ro-content\n"
    assert not (b.rootfs / "nothere").exists()


# --------------------------------------------------------------------------- symlinks in destinations


def host_target(workdir: Path) -> Path:
    t = workdir / "host-target"
    t.mkdir()
    (t / "host-marker").write_text("host\n")
    return t


def assert_host_untouched(t: Path):
    assert sorted(os.listdir(t)) == ["host-marker"]
    assert not host_is_mount_point(t)


@pytest.mark.parametrize("kind", ["bind", "tmpfs"])
def test_destination_through_chain_of_symlinks(runtime, bundle, workdir, kind):
    """/a -> /b (absolute), /b -> ../../<many>/<host target> (relative): the mount lands at
    <rootfs>/<host target>/sub, never on the host's directory."""
    t = host_target(workdir)
    src = workdir / "src"
    src.mkdir()
    (src / "src-marker").write_text("s\n")
    entry = bind(src, "/a/sub", "rbind") if kind == "bind" else tmpfs("/a/sub", "size=1m")
    script = f"ls /a/sub; echo ==; ls {t}; echo ==; awk '$5 == \"{t}/sub\"' {MOUNTINFO}"
    b = bundle(["sh", "-c", script], edit=add_mounts(entry))
    (b.rootfs / "a").symlink_to("/b")
    (b.rootfs / "b").symlink_to("../" * 16 + str(t).lstrip("/"))
    res = run_ok(runtime, b)
    seen, listing, line = split_sections(res.stdout, 3)
    assert seen.split() == (["src-marker"] if kind == "bind" else [])
    assert listing.split() == ["sub"]
    assert parse_mountinfo(line), res.stdout
    assert_host_untouched(t)
    assert (b.rootfs / str(t).lstrip("/") / "sub").is_dir()


def test_destination_symlink_to_host_file(runtime, bundle, workdir):
    hostfile = workdir / "host-file"
    hostfile.write_text("host-file-content\n")
    src = workdir / "src-file"
    src.write_text("src-file-content\n")
    b = bundle(["cat", "/etc/evil"], edit=add_mounts(bind(src, "/etc/evil", "bind")))
    (b.rootfs / "etc" / "evil").symlink_to(str(hostfile))
    res = run_ok(runtime, b)
    assert res.stdout == "src-file-content\n"
    assert hostfile.read_text() == "host-file-content\n"
    assert not host_is_mount_point(hostfile)
    assert (b.rootfs / str(hostfile).lstrip("/")).is_file()


@pytest.mark.parametrize("style", ["absolute", "relative"])
def test_symlink_made_by_an_earlier_mount(runtime, bundle, workdir, style):
    """An earlier mount brings a symlink pointing outside; a later destination through it
    still resolves inside the rootfs."""
    t = host_target(workdir)
    shared = workdir / "shared"
    shared.mkdir()
    target = str(t) if style == "absolute" else "../" * 16 + str(t).lstrip("/")
    (shared / "esc").symlink_to(target)
    src = workdir / "src"
    src.mkdir()
    (src / "src-marker").write_text("s\n")
    script = f"ls /mnt/shared/esc/inner; echo ==; ls {t}"
    b = bundle(["sh", "-c", script], edit=add_mounts(bind(shared, "/mnt/shared", "rbind"),
                                                     bind(src, "/mnt/shared/esc/inner", "rbind")))
    res = run_ok(runtime, b)
    seen, listing = split_sections(res.stdout, 2)
    assert seen.split() == ["src-marker"]
    assert listing.split() == ["inner"]
    assert_host_untouched(t)
    assert os.readlink(shared / "esc") == target
    assert sorted(os.listdir(shared)) == ["esc"]


@pytest.mark.parametrize("entry", [
    {"destination": "/proc", "type": "tmpfs", "source": "tmpfs", "options": []},
    {"destination": "/proc", "type": "bind", "source": "HOSTDIR", "options": ["rbind"]},
    {"destination": "/proc", "type": "sysfs", "source": "sysfs", "options": []},
], ids=["tmpfs", "bind", "sysfs"])
def test_non_procfs_on_proc_is_refused(runtime, bundle, workdir, cid, entry):
    hostdir = workdir / "fake-proc"
    hostdir.mkdir()
    entry = dict(entry, source=str(hostdir) if entry["source"] == "HOSTDIR" else entry["source"])

    def edit(c):
        c["mounts"] = [m for m in c["mounts"] if m["destination"] != "/proc"]
        c["mounts"].insert(0, entry)
        c["linux"]["maskedPaths"] = []
        c["linux"]["readonlyPaths"] = []

    b = bundle(["true"], edit=edit)
    res = runtime.create(cid, b, check=False)
    assert res.returncode == 1, res.describe()
    assert "/proc" in res.stderr
    assert runtime.status(cid) is None
    assert not (runtime.root / cid).exists()
    assert runtime.list_ids() == []
