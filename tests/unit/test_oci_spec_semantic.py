"""oci_spec semantic checks: the MUSTs of the spec a schema cannot express."""

from __future__ import annotations

import pytest

from oci_spec import config_warnings, validate_config, validate_features
from oci_spec.semantic import KNOWN_CAPABILITIES, parse_semver, semver_key

from .test_oci_spec_data import default_config, features_doc, maximal_config
from .test_oci_spec_schema import DELETE, mutate


def errors_of(doc, bundle_dir=None) -> list[tuple[str, str]]:
    return [(e.pointer, e.message) for e in validate_config(doc, bundle_dir)]


def warnings_of(doc) -> list[tuple[str, str]]:
    return [(e.pointer, e.message) for e in config_warnings(doc)]


def with_namespaces(*entries, config=None) -> dict:
    doc = config or default_config()
    doc["linux"]["namespaces"] = [e if isinstance(e, dict) else {"type": e} for e in entries]
    return doc


def test_reference_configs_have_no_semantic_errors():
    assert errors_of(default_config()) == []
    assert errors_of(maximal_config()) == []
    assert warnings_of(default_config()) == []
    assert warnings_of(maximal_config()) == []


def test_duplicate_namespace_type():
    doc = with_namespaces("pid", "mount", "pid", "uts", "mount")
    assert errors_of(doc) == [
        ("/linux/namespaces/2/type", 'namespace "pid" is already given by /linux/namespaces/0'),
        ("/linux/namespaces/4/type", 'namespace "mount" is already given by /linux/namespaces/1'),
    ]


def test_new_user_namespace_needs_both_mappings():
    doc = with_namespaces("pid", "user")
    assert errors_of(doc) == [
        ("/linux", '"gidMappings" is required when a new user namespace is created'),
        ("/linux", '"uidMappings" is required when a new user namespace is created'),
    ]
    doc["linux"]["uidMappings"] = [{"containerID": 0, "hostID": 1000, "size": 1}]
    assert errors_of(doc) == [
        ("/linux", '"gidMappings" is required when a new user namespace is created'),
    ]


def test_joined_user_namespace_needs_no_mappings():
    doc = with_namespaces("pid", {"type": "user", "path": "/proc/42/ns/user"})
    assert errors_of(doc) == []


def test_mappings_without_user_namespace():
    doc = maximal_config()
    mutate(doc, "/linux/namespaces/5", DELETE)  # the user namespace
    assert errors_of(doc) == [
        ("/linux/gidMappings", "ID mappings are given but /linux/namespaces has no user namespace"),
        ("/linux/uidMappings", "ID mappings are given but /linux/namespaces has no user namespace"),
    ]


def test_mapping_of_size_zero():
    doc = mutate(maximal_config(), "/linux/uidMappings/0/size", 0)
    assert errors_of(doc) == [
        ("/linux/uidMappings/0/size", "0 is not a mapping size: at least one ID must be mapped"),
    ]


def test_duplicate_rlimit_type():
    doc = default_config()
    doc["process"]["rlimits"] += [{"type": "RLIMIT_CORE", "soft": 0, "hard": 0},
                                  {"type": "RLIMIT_NOFILE", "soft": 1, "hard": 1}]
    assert errors_of(doc) == [
        ("/process/rlimits/2/type", '"RLIMIT_NOFILE" is already set by /process/rlimits/0'),
    ]


def test_time_offsets_need_a_new_time_namespace():
    doc = mutate(maximal_config(), "/linux/namespaces/7", DELETE)
    assert errors_of(doc) == [
        ("/linux/timeOffsets", "time offsets need a time namespace, but /linux/namespaces has none"),
    ]
    doc = mutate(maximal_config(), "/linux/namespaces/7/path", "/proc/9/ns/time")
    assert errors_of(doc) == [
        ("/linux/timeOffsets",
         "time offsets can only be set for a new time namespace, not for one joined by path"),
    ]


def test_net_devices_need_a_network_namespace():
    doc = mutate(maximal_config(), "/linux/namespaces/1", DELETE)
    assert errors_of(doc) == [
        ("/linux/netDevices", "network devices can only be moved into a network namespace,"
                              " but /linux/namespaces has none"),
    ]


def test_relative_mount_destination_is_a_warning():
    doc = mutate(default_config(), "/mounts/0/destination", "proc")
    assert errors_of(doc) == []
    assert warnings_of(doc) == [
        ("/mounts/0/destination", '"proc" is relative, which is deprecated; it is taken as "/proc"'),
    ]


def test_idmap_mount_needs_mappings_or_user_namespace():
    doc = maximal_config()
    mutate(doc, "/mounts/1/uidMappings", DELETE)
    mutate(doc, "/mounts/1/gidMappings", DELETE)
    assert errors_of(doc) == []  # the container's user namespace provides the mapping
    mutate(doc, "/linux/namespaces/5", DELETE)
    mutate(doc, "/linux/uidMappings", DELETE)
    mutate(doc, "/linux/gidMappings", DELETE)
    assert errors_of(doc) == [
        ("/mounts/1/options", '"idmap" needs "uidMappings" and "gidMappings" on the mount'
                              " or a user namespace in /linux/namespaces"),
    ]


def test_mount_mappings_without_idmap_option_is_a_warning():
    doc = mutate(maximal_config(), "/mounts/1/options", ["rbind"])
    assert errors_of(doc) == []
    assert warnings_of(doc) == [
        ("/mounts/1/options",
         'the mount has ID mappings but neither "idmap" nor "ridmap" among its options'),
    ]


def test_cpu_burst_above_quota():
    doc = mutate(maximal_config(), "/linux/resources/cpu/burst", 2000000)
    assert errors_of(doc) == [
        ("/linux/resources/cpu/burst", "2000000 is larger than the quota 1000000"),
    ]
    mutate(doc, "/linux/resources/cpu/quota", -1)  # unlimited: any burst is fine
    assert errors_of(doc) == []


def test_errno_only_for_actions_that_take_one():
    doc = maximal_config()
    mutate(doc, "/linux/seccomp/defaultAction", "SCMP_ACT_KILL")
    mutate(doc, "/linux/seccomp/syscalls/1/action", "SCMP_ACT_ALLOW")
    assert errors_of(doc) == [
        ("/linux/seccomp/defaultErrnoRet", "the default action SCMP_ACT_KILL takes no errno"
                                           " (only SCMP_ACT_ERRNO and SCMP_ACT_TRACE do)"),
        ("/linux/seccomp/syscalls/1/errnoRet", "the action SCMP_ACT_ALLOW takes no errno"
                                               " (only SCMP_ACT_ERRNO and SCMP_ACT_TRACE do)"),
    ]
    mutate(doc, "/linux/seccomp/syscalls/1/action", "SCMP_ACT_TRACE")
    assert len(errors_of(doc)) == 1


@pytest.mark.parametrize("mode,nodes,error", [
    ("MPOL_DEFAULT", "0", ("/linux/memoryPolicy/nodes", 'MPOL_DEFAULT takes no nodes, but nodes is "0"')),
    ("MPOL_LOCAL", "", None),
    ("MPOL_DEFAULT", DELETE, None),
    ("MPOL_BIND", DELETE, ("/linux/memoryPolicy",
                           '"nodes" is required (with at least one node) for MPOL_BIND')),
    ("MPOL_PREFERRED_MANY", " ", ("/linux/memoryPolicy",
                                  '"nodes" is required (with at least one node) for MPOL_PREFERRED_MANY')),
    ("MPOL_PREFERRED", "", None),
    ("MPOL_WEIGHTED_INTERLEAVE", "0-1", None),
])
def test_memory_policy_nodes(mode, nodes, error):
    doc = mutate(maximal_config(), "/linux/memoryPolicy/mode", mode)
    mutate(doc, "/linux/memoryPolicy/nodes", nodes)
    assert errors_of(doc) == ([error] if error else [])


def test_root_path_in_bundle(tmp_path):
    doc = default_config()
    assert errors_of(doc, str(tmp_path)) == [
        ("/root/path", f'directory "{tmp_path}/rootfs" does not exist'),
    ]
    (tmp_path / "rootfs").write_text("")
    assert errors_of(doc, str(tmp_path)) == [("/root/path", f'"{tmp_path}/rootfs" is not a directory')]
    (tmp_path / "rootfs").unlink()
    (tmp_path / "rootfs").mkdir()
    assert errors_of(doc, str(tmp_path)) == []
    # an absolute path does not depend on the bundle
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    mutate(doc, "/root/path", str(elsewhere))
    assert errors_of(doc, "/nonexistent-bundle") == []
    # without a bundle, the filesystem is not looked at
    assert errors_of(mutate(doc, "/root/path", "no/such/dir")) == []


def test_unknown_capability_is_a_warning():
    doc = default_config()
    doc["process"]["capabilities"]["ambient"] = ["CAP_KILL", "CAP_TELEPORT", "chown"]
    assert errors_of(doc) == []
    assert warnings_of(doc) == [
        ("/process/capabilities/ambient/1", '"CAP_TELEPORT" is not a capability known to pyrunc;'
                                            " it is ignored"),
        ("/process/capabilities/ambient/2", '"chown" is not a capability known to pyrunc; it is ignored'),
    ]
    assert KNOWN_CAPABILITIES[21] == "CAP_SYS_ADMIN" and len(KNOWN_CAPABILITIES) == 41


def test_spec_version_warnings():
    doc = mutate(default_config(), "/ociVersion", "2.0.0")
    assert errors_of(doc) == []
    assert warnings_of(doc) == [
        ("/ociVersion", '"2.0.0" is not a 1.x version; pyrunc implements runtime-spec 1.3.0'),
    ]
    doc = mutate(default_config(), "/ociVersion", "1.4.0-rc.1")
    assert warnings_of(doc) == [
        ("/ociVersion", '"1.4.0-rc.1" is newer than the runtime-spec 1.3.0 that pyrunc implements;'
                        " unknown properties are ignored"),
    ]
    assert warnings_of(mutate(default_config(), "/ociVersion", "1.0.2-dev")) == []


def test_unknown_properties_are_warnings():
    doc = default_config()
    doc["root"]["readOnly"] = True  # a typo of readonly
    doc["linux"]["namespaces"][0]["flags"] = 1
    doc["vendor.example"] = {}
    doc["annotations"] = {"any.key": "is fine"}
    assert errors_of(doc) == []
    assert warnings_of(doc) == [
        ("/linux/namespaces/0/flags", "unknown property, ignored"),
        ("/root/readOnly", "unknown property, ignored"),
        ("/vendor.example", "unknown property, ignored"),
    ]


def test_duplicate_devices_are_a_warning():
    doc = maximal_config()
    doc["linux"]["devices"].append({"path": "/dev/fuse2", "type": "c", "major": 10, "minor": 229})
    assert errors_of(doc) == []
    assert warnings_of(doc) == [("/linux/devices/4", "same type, major and minor as /linux/devices/0")]


def test_features_version_order():
    doc = features_doc()
    doc["ociVersionMin"], doc["ociVersionMax"] = "1.1.0", "1.1.0-rc.2"
    assert [(e.pointer, e.message) for e in validate_features(doc)] == [
        ("/ociVersionMax", '"1.1.0-rc.2" is less than ociVersionMin "1.1.0"'),
    ]


@pytest.mark.parametrize("low,high", [
    ("1.0.0-alpha", "1.0.0-alpha.1"), ("1.0.0-alpha.1", "1.0.0-alpha.beta"),
    ("1.0.0-alpha.beta", "1.0.0-beta"), ("1.0.0-beta", "1.0.0-beta.2"),
    ("1.0.0-beta.2", "1.0.0-beta.11"), ("1.0.0-beta.11", "1.0.0-rc.1"), ("1.0.0-rc.1", "1.0.0"),
    ("1.9.0", "1.10.0"), ("1.0.0+build.9", "1.0.1"),
])
def test_semver_precedence(low, high):
    assert semver_key(parse_semver(low)) < semver_key(parse_semver(high))
