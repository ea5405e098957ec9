"""runtime.features: the runtime-spec 1.3 Features structure of this build on this host."""

from __future__ import annotations

import json
import os
import sys
import types
from importlib.machinery import ModuleSpec
from pathlib import Path

import pytest

import oci_spec
from runtime import capabilities, features, mountopts
from runtime.namespaces import CLONE_FLAGS

SCHEMA = Path(oci_spec.__file__).parent / "schema" / "features.json"


@pytest.fixture(scope="module")
def doc() -> dict:
    return features.features_document()


def _linux_schema() -> dict:
    return json.loads(SCHEMA.read_text())["$defs"]["Linux"]["properties"]


def test_validates_against_the_spec(doc):
    assert oci_spec.validate_features(doc) == []


def test_versions(doc):
    assert doc["ociVersionMin"] == "1.0.0"
    assert doc["ociVersionMax"] == "1.3.0"


def test_all_six_hooks(doc):
    assert doc["hooks"] == ["prestart", "createRuntime", "createContainer", "startContainer",
                            "poststart", "poststop"]


def test_mount_options_are_exactly_what_parse_understands(doc):
    opts = doc["mountOptions"]
    assert opts == sorted(set(opts))
    for must in ("bind", "rbind", "tmpcopyup", "idmap", "ridmap", "rro", "rrw", "rnosuid",
                 "rnoatime", "rrelatime", "ratime", "nosymfollow", "rnosymfollow", "rprivate",
                 "runbindable", "remount", "defaults", "ro", "rw", "nodev", "strictatime"):
        assert must in opts, must
    for table in (mountopts._FLAGS, mountopts._PROPAGATION, mountopts._RECURSIVE,
                  mountopts._RECURSIVE_ATIME):
        assert set(table) <= set(opts)
    for opt in opts:
        assert mountopts.parse([opt]).data == [], f"{opt} would go to the file system as data"
    # file-system specific options (mount(2)'s data) are not to be listed
    assert not {"mode=755", "size=65536k", "newinstance", "ptmxmode=0666", "gid=5"} & set(opts)


def test_namespaces(doc):
    kinds = doc["linux"]["namespaces"]
    assert set(kinds) <= set(CLONE_FLAGS)
    assert {"cgroup", "ipc", "mount", "network", "pid", "user", "uts"} <= set(kinds)
    assert ("time" in kinds) == os.path.exists("/proc/self/ns/time")


def test_namespaces_without_time(monkeypatch):
    real = os.path.exists
    monkeypatch.setattr(os.path, "exists", lambda p: False if p == "/proc/self/ns/time" else real(p))
    assert "time" not in features.namespaces() and len(features.namespaces()) == 7


def test_capabilities_cut_to_the_kernel(doc, monkeypatch):
    caps = doc["linux"]["capabilities"]
    assert caps == capabilities.NAMES[: capabilities.last_cap() + 1]
    for name in caps:
        capabilities.number(name, "/x")  # recognized
    monkeypatch.setattr(capabilities, "last_cap", lambda: 37)
    assert features.capabilities()[-1] == "CAP_AUDIT_READ" and len(features.capabilities()) == 38


def test_cgroup(doc):
    cg = doc["linux"]["cgroup"]
    assert cg["v1"] is True and cg["v2"] is True
    assert cg["systemd"] is False and cg["systemdUser"] is False
    assert isinstance(cg["rdma"], bool)


@pytest.mark.parametrize("table, controllers, expected", [
    ("#subsys_name\thierarchy\tnum_cgroups\tenabled\nrdma\t9\t1\t1\n", None, True),
    ("#subsys_name\thierarchy\tnum_cgroups\tenabled\nrdma\t9\t1\t0\n", None, False),
    ("#subsys_name\thierarchy\tnum_cgroups\tenabled\ncpu\t1\t4\t1\n", None, False),
    (None, "cpu io memory rdma pids\n", True),
    (None, "cpu io memory pids\n", False),
])
def test_rdma_controller(monkeypatch, table, controllers, expected):
    def fake_read(path):
        if path == "/proc/cgroups":
            return table
        if path.endswith("/cgroup.controllers"):
            return controllers
        return None
    monkeypatch.setattr(features, "_read", fake_read)
    assert features.rdma_controller() is expected


def test_rdma_matches_this_host(doc):
    try:
        lines = Path("/proc/cgroups").read_text().splitlines()
    except OSError:
        pytest.skip("no /proc/cgroups")
    has = any(line.split()[:1] == ["rdma"] and line.split()[-1] == "1" for line in lines)
    assert doc["linux"]["cgroup"]["rdma"] is has


def test_seccomp_off_until_its_module_exists(doc, monkeypatch):
    from importlib.util import find_spec

    if find_spec("runtime.seccomp") is None:
        assert doc["linux"]["seccomp"] == {"enabled": False}
    fake = types.ModuleType("runtime.seccomp")
    fake.__spec__ = ModuleSpec("runtime.seccomp", None)
    monkeypatch.setitem(sys.modules, "runtime.seccomp", fake)
    assert features.seccomp() == {"enabled": True}
    fake.features = lambda: {"enabled": True, "actions": ["SCMP_ACT_ALLOW"]}
    assert features.seccomp()["actions"] == ["SCMP_ACT_ALLOW"]


def test_lsms_follow_the_host(doc, monkeypatch):
    try:
        aa = Path("/sys/module/apparmor/parameters/enabled").read_text().strip() == "Y"
    except OSError:
        aa = False
    assert doc["linux"]["apparmor"] == {"enabled": aa}
    assert doc["linux"]["selinux"] == {"enabled": os.path.exists("/sys/fs/selinux/enforce")}
    monkeypatch.setattr(features, "_read", lambda p: "Y\n" if "apparmor" in p else None)
    assert features.apparmor_enabled() is True
    monkeypatch.setattr(features, "_read", lambda p: "N\n" if "apparmor" in p else None)
    assert features.apparmor_enabled() is False


def test_fixed_linux_parts(doc):
    lx = doc["linux"]
    assert lx["intelRdt"] == {"enabled": False}
    assert lx["netDevices"] == {"enabled": True}
    schema = _linux_schema()["memoryPolicy"]["properties"]
    assert lx["memoryPolicy"]["modes"] == schema["modes"]["items"]["enum"]
    assert set(lx["memoryPolicy"]["flags"]) == set(schema["flags"]["items"]["enum"])


@pytest.mark.parametrize("release, expected", [
    ("6.18.0", (6, 18)), ("5.12.0-1-amd64", (5, 12)), ("5.4.0-150-generic", (5, 4)),
    ("6.1.0-rc7+", (6, 1)), ("4.19", (4, 19)), ("6", (6, 0)),
])
def test_kernel_version(release, expected):
    assert features.kernel_version(release) == expected


def test_idmap_by_kernel_version(doc, monkeypatch):
    assert doc["linux"]["mountExtensions"] == {"idmap": {"enabled": features.kernel_version() >= (5, 12)}}
    monkeypatch.setattr(features, "kernel_version", lambda release=None: (5, 11))
    assert features.idmap_mounts() is False
    monkeypatch.setattr(features, "kernel_version", lambda release=None: (5, 12))
    assert features.idmap_mounts() is True


def test_annotations(doc):
    from runtime.cli import VERSION

    assert doc["annotations"]["io.github.pyrunc.version"] == VERSION
    assert not any(k.startswith("org.opencontainers.") for k in doc["annotations"])
    assert doc["potentiallyUnsafeConfigAnnotations"] == []


def test_json_is_the_document_indented(doc):
    text = features.features_json()
    assert json.loads(text) == doc
    assert text == json.dumps(doc, indent=2)


def test_no_pyroute2_for_features():
    import subprocess

    code = ("import sys; from runtime import features; features.features_json();"
            " assert 'pyroute2' not in sys.modules")
    res = subprocess.run([sys.executable, "-c", code], cwd=Path(__file__).resolve().parents[2],
                         capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
