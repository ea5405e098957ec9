"""runtime-spec config-linux.md "Devices" and "Default Devices": nodes listed in
``linux.devices`` (type, major/minor, fileMode, uid, gid; anywhere in the rootfs), devices of a
user-namespaced container, default devices and how the config overrides them."""

from __future__ import annotations

import os

import pytest

from .util import DEFAULT_DEVICES, run_ok

STAT_FMT = "%n|%F|%t|%T|%a|%u|%g"


def parse_stat(text: str) -> dict[str, tuple]:
    """{path: (kind, major, minor, mode, uid, gid)} from ``stat -c STAT_FMT`` lines."""
    out = {}
    for line in text.splitlines():
        if "|" not in line:
            continue
        name, kind, major, minor, mode, uid, gid = line.split("|")
        out[name] = (kind, int(major, 16), int(minor, 16), mode, int(uid), int(gid))
    return out


def dev(path, kind, major=None, minor=None, mode=None, uid=None, gid=None) -> dict:
    d = {"path": path, "type": kind}
    for key, value in (("major", major), ("minor", minor), ("fileMode", mode), ("uid", uid), ("gid", gid)):
        if value is not None:
            d[key] = value
    return d


CHR, BLK, FIFO = "character special file", "block special file", "fifo"

CONFIG_DEVICES = [
    # (entry, expected stat)
    (dev("/dev/mynull", "c", 1, 3, 0o640, 1000, 2000), (CHR, 1, 3, "640", 1000, 2000)),
    (dev("/dev/myzero", "u", 1, 5, 0o600, 0, 0), (CHR, 1, 5, "600", 0, 0)),
    (dev("/dev/myblock", "b", 7, 200, 0o660, 0, 6), (BLK, 7, 200, "660", 0, 6)),
    (dev("/dev/myfifo", "p", mode=0o620, uid=1000, gid=1000), (FIFO, 0, 0, "620", 1000, 1000)),
    (dev("/opt/devs/full", "c", 1, 7, 0o666), (CHR, 1, 7, "666", 0, 0)),
]


def add_devices(*entries):
    """Add the nodes to linux.devices and allow them in the devices cgroup (a listed node is
    not a default device: its access is up to linux.resources.devices)."""

    def edit(c):
        c["linux"].setdefault("devices", []).extend(entries)
        rules = c["linux"].setdefault("resources", {}).setdefault("devices", [])
        for e in entries:
            if e["type"] in ("c", "u", "b"):
                rules.append({"allow": True, "type": "b" if e["type"] == "b" else "c",
                              "major": e["major"], "minor": e["minor"], "access": "rwm"})

    return edit


def test_config_devices_have_type_numbers_mode_and_owner(runtime, bundle):
    paths = [e["path"] for e, _ in CONFIG_DEVICES]
    b = bundle(["stat", "-c", STAT_FMT, *paths], edit=add_devices(*(e for e, _ in CONFIG_DEVICES)))
    res = run_ok(runtime, b)
    seen = parse_stat(res.stdout)
    for entry, expected in CONFIG_DEVICES:
        assert entry["path"] in seen, res.describe()
        assert seen[entry["path"]] == expected, entry
    # /opt/devs was made in the rootfs for the node outside /dev
    assert (b.rootfs / "opt" / "devs").is_dir()


def test_config_devices_work(runtime, bundle):
    script = ("echo discard > /dev/mynull && echo null-ok; head -c 3 /dev/myzero | od -An -tx1; "
              "(echo through-fifo > /dev/myfifo &); cat /dev/myfifo")
    b = bundle(["sh", "-c", script], edit=add_devices(dev("/dev/mynull", "c", 1, 3, 0o666),
                                                      dev("/dev/myzero", "c", 1, 5, 0o666),
                                                      dev("/dev/myfifo", "p", mode=0o666)))
    res = run_ok(runtime, b)
    assert [line.strip() for line in res.stdout.splitlines()] == ["null-ok", "00 00 00", "through-fifo"]


def userns_edit(c):
    c["linux"]["namespaces"].append({"type": "user"})
    c["linux"]["uidMappings"] = [{"containerID": 0, "hostID": 100000, "size": 65536}]
    c["linux"]["gidMappings"] = [{"containerID": 0, "hostID": 100000, "size": 65536}]


def host_node_ident(path: str) -> tuple:
    st = os.stat(path)
    return st.st_mode, st.st_uid, st.st_gid, st.st_rdev


def test_devices_in_user_namespace_are_usable(runtime, bundle):
    """mknod is not allowed in a user namespace: the nodes must come some other way (e.g. a
    bind mount of the host's node), still work, and the host's nodes must not change."""
    script = ("stat -c '%n|%F|%t|%T|0|0|0' /dev/full /dev/null /dev/zero; "
              "echo x > /dev/null && echo null-ok; echo x > /dev/full; echo full-rc=$?; "
              "head -c 2 /dev/zero | od -An -tx1; readlink /proc/self/ns/user")

    def edit(c):
        userns_edit(c)
        add_devices(dev("/dev/full", "c", 1, 7, 0o666, 0, 0), dev("/dev/null", "c", 1, 3, 0o666, 0, 0))(c)

    before = {p: host_node_ident(p) for p in ("/dev/null", "/dev/full", "/dev/zero")}
    b = bundle(["sh", "-c", script], edit=edit)
    res = run_ok(runtime, b)
    seen = parse_stat(res.stdout)
    assert seen["/dev/full"][:3] == (CHR, 1, 7)
    assert seen["/dev/null"][:3] == (CHR, 1, 3)
    assert seen["/dev/zero"][:3] == (CHR, 1, 5)
    rest = [line.strip() for line in res.stdout.splitlines() if "|" not in line]
    assert rest[:3] == ["null-ok", "full-rc=1", "00 00"], res.describe()
    assert "No space left on device" in res.stderr
    assert rest[3] != os.readlink("/proc/self/ns/user")
    assert {p: host_node_ident(p) for p in before} == before, "the host's device nodes changed"


@pytest.mark.pyrunc_only(reason="runc 1.1.5 bind-mounts the host node of the same path, which "
                         "must exist on the host")
def test_device_in_user_namespace_at_path_unknown_to_host(runtime, bundle):
    script = "stat -c '%n|%F|%t|%T|0|0|0' /dev/mynull; echo x > /dev/mynull && echo mynull-ok"

    def edit(c):
        userns_edit(c)
        add_devices(dev("/dev/mynull", "c", 1, 3, 0o666, 0, 0))(c)

    assert not os.path.exists("/dev/mynull")
    b = bundle(["sh", "-c", script], edit=edit)
    res = run_ok(runtime, b)
    assert parse_stat(res.stdout)["/dev/mynull"][:3] == (CHR, 1, 3)
    assert res.stdout.splitlines()[-1] == "mynull-ok"
    assert not os.path.exists("/dev/mynull")


def test_config_device_replaces_default_with_other_numbers(runtime, bundle):
    """The config lists /dev/full as a null device: that one is supplied, not the default;
    the other defaults are still there."""
    script = f"stat -c '{STAT_FMT}' " + " ".join(DEFAULT_DEVICES) + "; echo x > /dev/full; echo rc=$?"
    b = bundle(["sh", "-c", script], edit=add_devices(dev("/dev/full", "c", 1, 3, 0o666, 0, 0)))
    res = run_ok(runtime, b)
    seen = parse_stat(res.stdout)
    for path, (major, minor) in DEFAULT_DEVICES.items():
        if path == "/dev/full":
            major, minor = 1, 3
        assert seen[path][:3] == (CHR, major, minor), path
    assert res.stdout.splitlines()[-1] == "rc=0"


def test_config_device_attributes_win_over_default(runtime, bundle):
    # (0606: the container's root, not the owner, must still open it)
    b = bundle(["stat", "-c", STAT_FMT, "/dev/null", "/dev/zero"],
               edit=add_devices(dev("/dev/null", "c", 1, 3, 0o606, 1000, 1000)))
    res = run_ok(runtime, b)
    seen = parse_stat(res.stdout)
    assert seen["/dev/null"] == (CHR, 1, 3, "606", 1000, 1000)
    assert seen["/dev/zero"] == (CHR, 1, 5, "666", 0, 0)


def test_existing_matching_node_is_accepted(runtime, bundle):
    """A node already in the image at the device's path, matching it: no error."""
    b = bundle(["stat", "-c", STAT_FMT, "/opt/null"],
               edit=add_devices(dev("/opt/null", "c", 1, 3, 0o666, 0, 0)))
    (b.rootfs / "opt").mkdir()
    os.mknod(b.rootfs / "opt" / "null", 0o666 | 0o020000, os.makedev(1, 3))
    res = run_ok(runtime, b)
    assert parse_stat(res.stdout)["/opt/null"][:3] == (CHR, 1, 3)


@pytest.mark.pyrunc_only(reason="runc 1.1.5 keeps whatever file is there (mknod EEXIST ignored)")
@pytest.mark.parametrize("existing", ["regular-file", "other-device"])
def test_existing_non_matching_file_at_device_path_fails(runtime, bundle, cid, existing):
    """config-linux.md: if a file already exists at ``path`` that does not match the
    requested device, the runtime MUST generate an error."""
    b = bundle(["true"], edit=add_devices(dev("/opt/devnode", "c", 1, 3, 0o666, 0, 0)))
    (b.rootfs / "opt").mkdir()
    node = b.rootfs / "opt" / "devnode"
    if existing == "regular-file":
        node.write_text("not a device\n")
    else:
        os.mknod(node, 0o666 | 0o020000, os.makedev(1, 5))
    res = runtime.create(cid, b, check=False)
    assert res.returncode == 1, res.describe()
    assert "/opt/devnode" in res.stderr
    assert runtime.status(cid) is None
    assert not (runtime.root / cid).exists()
