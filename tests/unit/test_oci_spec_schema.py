"""oci_spec schemas: what they accept and reject, the wording of the errors,
and agreement between the fast verdict and jsonschema."""

from __future__ import annotations

import copy
import json
import os

import jsonschema
import pytest

from oci_spec import ConfigError, validate_config
from oci_spec.render import reference_validator, schema_errors
from oci_spec.semantic import config_checks
from oci_spec.validate_fast import (
    SCHEMA_DIR,
    SUPPORTED_KEYWORDS,
    compile_schema,
    is_valid,
    load_schema,
)

from .test_oci_spec_data import default_config, features_doc, maximal_config, state_doc

DELETE = object()


def mutate(doc, pointer: str, value=DELETE):
    """``doc`` (modified in place) with the value at ``pointer`` replaced,
    added or (``DELETE``) removed."""
    tokens = [t.replace("~1", "/").replace("~0", "~") for t in pointer.split("/")[1:]]
    parent = doc
    for t in tokens[:-1]:
        parent = parent[int(t)] if isinstance(parent, list) else parent[t]
    last = tokens[-1]
    if isinstance(parent, list):
        last = int(last)
        if value is DELETE:
            del parent[last]
        elif last == len(parent):
            parent.append(value)
        else:
            parent[last] = value
    elif value is DELETE:
        del parent[last]
    else:
        parent[last] = value
    return doc


def schema_only(doc) -> list[tuple[str, str]]:
    return [(e.pointer, e.message) for e in schema_errors(doc)]


# ---------------------------------------------------------------- valid documents

VALID_CONFIGS = {
    "runc default": default_config,
    "maximal": maximal_config,
    "minimal": lambda: {"ociVersion": "1.0.0", "root": {"path": "rootfs"}},
    "pre-release and build version": lambda: {"ociVersion": "1.3.0-rc.1+dev.5",
                                              "root": {"path": "/abs/rootfs"}},
    "unknown properties everywhere": lambda: mutate(mutate(mutate(
        default_config(), "/x-vendor", {"anything": [1, None]}),
        "/process/user/username", "root"), "/linux/intelRdt", {"enableCMT": True}),
    "other platforms ignored": lambda: mutate(default_config(), "/windows", {"layerFolders": []}),
    "empty containers": lambda: mutate(mutate(mutate(default_config(), "/mounts", []),
                                              "/annotations", {}), "/hooks", {}),
    "recursive rootfs propagation": lambda: mutate(default_config(), "/linux/rootfsPropagation",
                                                   "rprivate"),
    "uint64 maximum": lambda: mutate(default_config(), "/process/rlimits/0/hard",
                                     18446744073709551615),
    "int64 minimum": lambda: mutate(default_config(), "/linux/resources/memory",
                                    {"limit": -9223372036854775808}),
}


@pytest.mark.parametrize("name", sorted(VALID_CONFIGS))
def test_valid_configs_pass_both_stages(name):
    doc = VALID_CONFIGS[name]()
    assert is_valid(doc)
    assert schema_only(doc) == []
    assert validate_config(doc) == []


def test_valid_state_and_features():
    assert is_valid(state_doc(), "state")
    assert schema_errors(state_doc(), "state") == []
    assert is_valid(features_doc(), "features")
    assert schema_errors(features_doc(), "features") == []


# ---------------------------------------------------------------- invalid documents

BIG = 2 ** 63
# (document factory, pointer to change, new value or DELETE, error pointer, message)
BAD = [
    (default_config, "/linux/namespaces/2/type", "pidd", "/linux/namespaces/2/type",
     '"pidd" is not one of pid, network, mount, ipc, uts, user, cgroup, time'),
    (default_config, "/process/user/uid", "abc", "/process/user/uid", '"abc" is not an integer'),
    (default_config, "/process/user/uid", 1.0, "/process/user/uid", "1.0 is not an integer"),
    (default_config, "/process/user/uid", True, "/process/user/uid", "true is not an integer"),
    (default_config, "/process/user/uid", None, "/process/user/uid", "null is not an integer"),
    (default_config, "/process/user/uid", -1, "/process/user/uid",
     "-1 is not an unsigned 32-bit integer (0 to 4294967295)"),
    (default_config, "/process/user/gid", 2 ** 32, "/process/user/gid",
     "4294967296 is not an unsigned 32-bit integer (0 to 4294967295)"),
    (default_config, "/process/cwd", DELETE, "/process", '"cwd" is required'),
    (default_config, "/process/args", DELETE, "/process", '"args" is required'),
    (default_config, "/process/args", [], "/process/args", "must have at least one entry"),
    (default_config, "/process/cwd", "relative/dir", "/process/cwd",
     '"relative/dir" is not an absolute path'),
    (default_config, "/process/terminal", "yes", "/process/terminal", '"yes" is not a boolean'),
    (default_config, "/process/env/0", 5, "/process/env/0", "5 is not a string"),
    (default_config, "/process/oomScoreAdj", "1", "/process/oomScoreAdj", '"1" is not an integer'),
    (default_config, "/process/rlimits/0/type", "RLIMIT_FOO", "/process/rlimits/0/type",
     '"RLIMIT_FOO" is not one of RLIMIT_AS, RLIMIT_CORE, RLIMIT_CPU, RLIMIT_DATA, RLIMIT_FSIZE, '
     "RLIMIT_LOCKS, RLIMIT_MEMLOCK, RLIMIT_MSGQUEUE, RLIMIT_NICE, RLIMIT_NOFILE, RLIMIT_NPROC, "
     "RLIMIT_RSS, RLIMIT_RTPRIO, RLIMIT_RTTIME, RLIMIT_SIGPENDING, RLIMIT_STACK"),
    (default_config, "/process/rlimits/0/soft", -1, "/process/rlimits/0/soft",
     "-1 is not an unsigned 64-bit integer (0 to 18446744073709551615)"),
    (default_config, "/process/capabilities/bounding", "CAP_KILL", "/process/capabilities/bounding",
     '"CAP_KILL" is not an array'),
    (default_config, "/ociVersion", DELETE, "", '"ociVersion" is required'),
    (default_config, "/ociVersion", "1.0", "/ociVersion",
     '"1.0" is not a SemVer 2.0.0 version such as "1.3.0"'),
    (default_config, "/ociVersion", "v1.0.0", "/ociVersion",
     '"v1.0.0" is not a SemVer 2.0.0 version such as "1.3.0"'),
    (default_config, "/root", DELETE, "", '"root" is required'),
    (default_config, "/root", "rootfs", "/root", '"rootfs" is not an object'),
    (default_config, "/root/path", "", "/root/path", "must not be empty"),
    (default_config, "/root/readonly", "true", "/root/readonly", '"true" is not a boolean'),
    (default_config, "/hostname", 5, "/hostname", "5 is not a string"),
    (default_config, "/mounts/0", "proc", "/mounts/0", '"proc" is not an object'),
    (default_config, "/mounts/0/destination", DELETE, "/mounts/0", '"destination" is required'),
    (default_config, "/mounts/1/options", "nosuid", "/mounts/1/options", '"nosuid" is not an array'),
    (default_config, "/annotations", {"": "x"}, "/annotations", 'key "" must not be empty'),
    (default_config, "/annotations", {"a/b": 1}, "/annotations/a~1b", "1 is not a string"),
    (default_config, "/linux/namespaces/0/path", "proc/1/ns/pid", "/linux/namespaces/0/path",
     '"proc/1/ns/pid" is not an absolute path'),
    (default_config, "/linux/namespaces/0", {"path": "/proc/1/ns/pid"}, "/linux/namespaces/0",
     '"type" is required'),
    (default_config, "/linux/maskedPaths/0", "proc/acpi", "/linux/maskedPaths/0",
     '"proc/acpi" is not an absolute path'),
    (default_config, "/linux/readonlyPaths/0", 1, "/linux/readonlyPaths/0", "1 is not a string"),
    (default_config, "/linux/rootfsPropagation", "rshared2", "/linux/rootfsPropagation",
     '"rshared2" is not one of shared, slave, private, unbindable, rshared, rslave, rprivate, '
     "runbindable"),
    (default_config, "/linux/resources/devices/0/access", "rwx", "/linux/resources/devices/0/access",
     '"rwx" is not a combination of r, w and m'),
    (default_config, "/linux/resources/devices/0/type", "p", "/linux/resources/devices/0/type",
     '"p" is not one of a, c, b'),
    (default_config, "/linux/resources/devices/0/allow", DELETE, "/linux/resources/devices/0",
     '"allow" is required'),
    (default_config, "/linux/resources/pids", {"limit": "max"}, "/linux/resources/pids/limit",
     '"max" is not an integer'),
    (default_config, "/linux/sysctl", {"net.ipv4.ip_forward": 1}, "/linux/sysctl/net.ipv4.ip_forward",
     "1 is not a string"),
    (default_config, "/linux/seccomp", {"architectures": ["SCMP_ARCH_X86_64"]}, "/linux/seccomp",
     '"defaultAction" is required'),
    (maximal_config, "/process/consoleSize/height", DELETE, "/process/consoleSize",
     '"height" is required'),
    (maximal_config, "/process/scheduler/policy", "SCHED_X", "/process/scheduler/policy",
     '"SCHED_X" is not one of SCHED_OTHER, SCHED_FIFO, SCHED_RR, SCHED_BATCH, SCHED_ISO, '
     "SCHED_IDLE, SCHED_DEADLINE"),
    (maximal_config, "/process/scheduler/flags/1", "SCHED_FLAG_X", "/process/scheduler/flags/1",
     '"SCHED_FLAG_X" is not one of SCHED_FLAG_RESET_ON_FORK, SCHED_FLAG_RECLAIM, '
     "SCHED_FLAG_DL_OVERRUN, SCHED_FLAG_KEEP_POLICY, SCHED_FLAG_KEEP_PARAMS, "
     "SCHED_FLAG_UTIL_CLAMP_MIN, SCHED_FLAG_UTIL_CLAMP_MAX"),
    (maximal_config, "/process/scheduler/nice", 2 ** 31, "/process/scheduler/nice",
     "2147483648 is not a signed 32-bit integer (-2147483648 to 2147483647)"),
    (maximal_config, "/process/ioPriority/priority", 8, "/process/ioPriority/priority",
     "8 is not a priority level from 0 (highest) to 7 (lowest)"),
    (maximal_config, "/process/ioPriority/class", "IOPRIO_CLASS_NONE", "/process/ioPriority/class",
     '"IOPRIO_CLASS_NONE" is not one of IOPRIO_CLASS_RT, IOPRIO_CLASS_BE, IOPRIO_CLASS_IDLE'),
    (maximal_config, "/process/execCPUAffinity/final", "a-b", "/process/execCPUAffinity/final",
     '"a-b" is not a CPU list such as "0-3,7"'),
    (maximal_config, "/process/user/additionalGids/0", "5", "/process/user/additionalGids/0",
     '"5" is not an integer'),
    (maximal_config, "/hooks/poststart/0/timeout", 0, "/hooks/poststart/0/timeout",
     "0 is not a number of seconds greater than zero"),
    (maximal_config, "/hooks/prestart/0/path", "hook", "/hooks/prestart/0/path",
     '"hook" is not an absolute path'),
    (maximal_config, "/hooks/startContainer/0", {"args": []}, "/hooks/startContainer/0",
     '"path" is required'),
    (maximal_config, "/hooks/poststop", {"path": "/x"}, "/hooks/poststop",
     '{"path": "/x"} is not an array'),
    (maximal_config, "/mounts/1/gidMappings", DELETE, "/mounts/1",
     '"gidMappings" is required when "uidMappings" is set'),
    (maximal_config, "/linux/uidMappings/0/size", "1", "/linux/uidMappings/0/size",
     '"1" is not an integer'),
    (maximal_config, "/linux/gidMappings/0/hostID", DELETE, "/linux/gidMappings/0",
     '"hostID" is required'),
    (maximal_config, "/linux/timeOffsets/realtime", {"secs": 1}, "/linux/timeOffsets",
     'key "realtime" is not one of monotonic, boottime'),
    (maximal_config, "/linux/timeOffsets/monotonic/nanosecs", -1,
     "/linux/timeOffsets/monotonic/nanosecs",
     "-1 is not an unsigned 32-bit integer (0 to 4294967295)"),
    (maximal_config, "/linux/devices/1/major", DELETE, "/linux/devices/1", '"major" is required'),
    (maximal_config, "/linux/devices/0/type", "x", "/linux/devices/0/type",
     '"x" is not one of c, b, u, p'),
    (maximal_config, "/linux/devices/0/path", "dev/fuse", "/linux/devices/0/path",
     '"dev/fuse" is not an absolute path'),
    (maximal_config, "/linux/netDevices/eth1/name", 5, "/linux/netDevices/eth1/name",
     "5 is not a string"),
    (maximal_config, "/linux/resources/memory/swappiness", 101, "/linux/resources/memory/swappiness",
     "101 is not a swappiness from 0 to 100"),
    (maximal_config, "/linux/resources/memory/limit", BIG, "/linux/resources/memory/limit",
     "9223372036854775808 is not a signed 64-bit integer"),
    (maximal_config, "/linux/resources/memory/disableOOMKiller", 0,
     "/linux/resources/memory/disableOOMKiller", "0 is not a boolean"),
    (maximal_config, "/linux/resources/cpu/cpus", 3, "/linux/resources/cpu/cpus", "3 is not a string"),
    (maximal_config, "/linux/resources/blockIO/weight", 65536, "/linux/resources/blockIO/weight",
     "65536 is not an unsigned 16-bit integer (0 to 65535)"),
    (maximal_config, "/linux/resources/blockIO/weightDevice/1", {"major": 8, "minor": 16},
     "/linux/resources/blockIO/weightDevice/1",
     'at least one of "weight" and "leafWeight" is required'),
    (maximal_config, "/linux/resources/blockIO/throttleReadBpsDevice/0/rate", DELETE,
     "/linux/resources/blockIO/throttleReadBpsDevice/0", '"rate" is required'),
    (maximal_config, "/linux/resources/hugepageLimits/0/pageSize", "2mb",
     "/linux/resources/hugepageLimits/0/pageSize",
     '"2mb" is not a page size such as "2MB" (a number, then KB, MB or GB)'),
    (maximal_config, "/linux/resources/network/priorities/0/name", DELETE,
     "/linux/resources/network/priorities/0", '"name" is required'),
    (maximal_config, "/linux/resources/rdma/rxe3", {}, "/linux/resources/rdma/rxe3",
     'at least one of "hcaHandles" and "hcaObjects" is required'),
    (maximal_config, "/linux/resources/unified/io.max", ["x"], "/linux/resources/unified/io.max",
     '["x"] is not a string'),
    (maximal_config, "/linux/seccomp/defaultAction", "SCMP_ACT_DENY", "/linux/seccomp/defaultAction",
     '"SCMP_ACT_DENY" is not one of SCMP_ACT_KILL, SCMP_ACT_KILL_PROCESS, SCMP_ACT_KILL_THREAD, '
     "SCMP_ACT_TRAP, SCMP_ACT_ERRNO, SCMP_ACT_TRACE, SCMP_ACT_ALLOW, SCMP_ACT_LOG, "
     "SCMP_ACT_NOTIFY"),
    (maximal_config, "/linux/seccomp/architectures/0", "x86_64", "/linux/seccomp/architectures/0",
     '"x86_64" is not one of SCMP_ARCH_X86, SCMP_ARCH_X86_64, SCMP_ARCH_X32, SCMP_ARCH_ARM, '
     "SCMP_ARCH_AARCH64, SCMP_ARCH_MIPS, SCMP_ARCH_MIPS64, SCMP_ARCH_MIPS64N32, SCMP_ARCH_MIPSEL, "
     "SCMP_ARCH_MIPSEL64, SCMP_ARCH_MIPSEL64N32, SCMP_ARCH_PPC, SCMP_ARCH_PPC64, "
     "SCMP_ARCH_PPC64LE, SCMP_ARCH_S390, SCMP_ARCH_S390X, SCMP_ARCH_PARISC, SCMP_ARCH_PARISC64, "
     "SCMP_ARCH_RISCV64, SCMP_ARCH_LOONGARCH64, SCMP_ARCH_M68K, SCMP_ARCH_SH, SCMP_ARCH_SHEB"),
    (maximal_config, "/linux/seccomp/flags/0", "TSYNC", "/linux/seccomp/flags/0",
     '"TSYNC" is not one of SECCOMP_FILTER_FLAG_TSYNC, SECCOMP_FILTER_FLAG_LOG, '
     "SECCOMP_FILTER_FLAG_SPEC_ALLOW, SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"),
    (maximal_config, "/linux/seccomp/listenerPath", DELETE, "/linux/seccomp",
     '"listenerPath" is required when "listenerMetadata" is set'),
    (maximal_config, "/linux/seccomp/syscalls/0/names", [], "/linux/seccomp/syscalls/0/names",
     "must have at least one entry"),
    (maximal_config, "/linux/seccomp/syscalls/0/action", DELETE, "/linux/seccomp/syscalls/0",
     '"action" is required'),
    (maximal_config, "/linux/seccomp/syscalls/1/args/0/op", "EQ",
     "/linux/seccomp/syscalls/1/args/0/op",
     '"EQ" is not one of SCMP_CMP_NE, SCMP_CMP_LT, SCMP_CMP_LE, SCMP_CMP_EQ, SCMP_CMP_GE, '
     "SCMP_CMP_GT, SCMP_CMP_MASKED_EQ"),
    (maximal_config, "/linux/seccomp/syscalls/1/args/0/value", -8,
     "/linux/seccomp/syscalls/1/args/0/value",
     "-8 is not an unsigned 64-bit integer (0 to 18446744073709551615)"),
    (maximal_config, "/linux/intelRdt/memBwSchema", "L3:0=1", "/linux/intelRdt/memBwSchema",
     '"L3:0=1" is not a single line starting with "MB:"'),
    (maximal_config, "/linux/intelRdt/memBwSchema", "MB:0=1\nMB:1=2", "/linux/intelRdt/memBwSchema",
     '"MB:0=1\\nMB:1=2" is not a single line starting with "MB:"'),
    (maximal_config, "/linux/intelRdt/schemata/0", "L2:0=f\n", "/linux/intelRdt/schemata/0",
     '"L2:0=f\\n" is not a single line (no newline)'),
    (maximal_config, "/linux/intelRdt/enableMonitoring", "yes", "/linux/intelRdt/enableMonitoring",
     '"yes" is not a boolean'),
    (maximal_config, "/linux/memoryPolicy/mode", "MPOL_X", "/linux/memoryPolicy/mode",
     '"MPOL_X" is not one of MPOL_DEFAULT, MPOL_BIND, MPOL_INTERLEAVE, MPOL_WEIGHTED_INTERLEAVE, '
     "MPOL_PREFERRED, MPOL_PREFERRED_MANY, MPOL_LOCAL"),
    (maximal_config, "/linux/memoryPolicy/flags/0", "MPOL_F_X", "/linux/memoryPolicy/flags/0",
     '"MPOL_F_X" is not one of MPOL_F_NUMA_BALANCING, MPOL_F_RELATIVE_NODES, MPOL_F_STATIC_NODES'),
    (maximal_config, "/linux/personality/domain", "LINUX64", "/linux/personality/domain",
     '"LINUX64" is not one of LINUX, LINUX32'),
    (maximal_config, "/linux/personality/domain", DELETE, "/linux/personality",
     '"domain" is required'),
]


def _bad_id(case):
    return f"{case[0].__name__.split('_')[0]}:{case[1]}"


@pytest.mark.parametrize("case", BAD, ids=[_bad_id(c) for c in BAD])
def test_bad_value_is_reported_with_pointer_and_message(case):
    factory, pointer, value, want_pointer, want_message = case
    doc = mutate(factory(), pointer, value)
    assert not is_valid(doc)
    assert schema_only(doc) == [(want_pointer, want_message)]
    errors = [(e.pointer, e.message) for e in validate_config(doc)]
    assert (want_pointer, want_message) in errors


def test_document_that_is_not_an_object():
    assert not is_valid([])
    assert schema_only([]) == [("", "[] is not an object")]
    assert str(ConfigError(validate_config("x"))) == 'config.json: "x" is not an object'


def test_long_values_are_shortened():
    doc = mutate(default_config(), "/hostname", {"k": "v" * 100})
    assert schema_only(doc) == [("/hostname", "{...} is not a string")]
    doc = mutate(default_config(), "/process/cwd", "x" * 100)
    [(_, message)] = schema_only(doc)
    assert message.startswith('"xxx') and message.endswith('..." is not an absolute path')


def test_several_errors_are_all_reported_sorted_by_pointer():
    doc = default_config()
    mutate(doc, "/linux/namespaces/2/type", "pidd")
    mutate(doc, "/process/cwd", DELETE)
    mutate(doc, "/process/user/uid", "abc")
    mutate(doc, "/ociVersion", DELETE)
    mutate(doc, "/mounts/7", {"destination": "/x", "options": "ro"})
    mutate(doc, "/mounts/2/type", 7)
    err = ConfigError(validate_config(doc))
    assert str(err).splitlines() == [
        'config.json: "ociVersion" is required',
        'config.json: /linux/namespaces/2/type: "pidd" is not one of pid, network, mount, ipc, '
        "uts, user, cgroup, time",
        "config.json: /mounts/2/type: 7 is not a string",
        'config.json: /mounts/7/options: "ro" is not an array',
        'config.json: /process: "cwd" is required',
        'config.json: /process/user/uid: "abc" is not an integer',
    ]
    assert len(err.errors) == 6


def test_schema_and_semantic_errors_are_reported_together():
    doc = default_config()
    mutate(doc, "/process/user/uid", -3)
    mutate(doc, "/linux/namespaces/5", {"type": "pid"})
    pointers = [e.pointer for e in validate_config(doc)]
    assert pointers == ["/linux/namespaces/5/type", "/process/user/uid"]


# ---------------------------------------------------------------- both stages agree

def _leaves(doc, pointer=""):
    """Pointers of every value in ``doc``."""
    yield pointer
    if isinstance(doc, dict):
        for k, v in doc.items():
            yield from _leaves(v, pointer + "/" + k.replace("~", "~0").replace("/", "~1"))
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            yield from _leaves(v, f"{pointer}/{i}")


REPLACEMENTS = [DELETE, None, True, 0, -1, 1.5, 2.0, 2 ** 64, "", "x", "/abs", [], ["x"], {},
                {"type": "pid"}]


def _mutations():
    """Every value of the default config replaced by each of REPLACEMENTS;
    for the (much larger) maximal config, each value by a rotating sixth of
    them, which keeps jsonschema's share of the test to a few seconds."""
    for factory, stride in ((default_config, 1), (maximal_config, 6)):
        for i, pointer in enumerate(_leaves(factory())):
            if not pointer:
                continue
            for j, value in enumerate(REPLACEMENTS):
                if (i + j) % stride == 0:
                    yield factory, pointer, value


def test_fast_verdict_agrees_with_jsonschema_on_mutations():
    """Every value of both reference configs, replaced by values of every
    JSON type (or removed): the fast verdict must match jsonschema's."""
    validator = reference_validator("config")
    checked = invalid = 0
    for factory, pointer, value in _mutations():
        doc = mutate(factory(), pointer, value)
        fast = is_valid(doc)
        reference = validator.is_valid(doc)
        assert fast == reference, (pointer, value)
        # The rendered list is empty exactly when the document is valid.
        if not fast:
            invalid += 1
            if invalid % 25 == 0:  # rendering everything is slow; a sample suffices
                assert schema_errors(doc)
        checked += 1
    assert checked > 2500 and invalid > 1500


@pytest.mark.parametrize("case", BAD, ids=[_bad_id(c) for c in BAD])
def test_fast_verdict_agrees_on_bad_corpus(case):
    doc = mutate(case[0](), case[1], case[2])
    assert is_valid(doc) is False
    assert reference_validator("config").is_valid(doc) is False


def test_semantic_checks_survive_garbage():
    # Semantic checks also run on documents with schema errors.
    for factory, pointer, value in _mutations():
        config_checks(mutate(factory(), pointer, value), bundle_dir="/nonexistent")


# ---------------------------------------------------------------- the schema files

@pytest.mark.parametrize("name", ["config", "state", "features"])
def test_schema_files_are_valid_2020_12_schemas(name):
    schema = load_schema(name)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    jsonschema.Draft202012Validator.check_schema(schema)
    compile_schema(schema)  # every keyword is one the fast validator knows


@pytest.mark.parametrize("name", ["config", "state", "features"])
def test_schema_files_use_only_supported_keywords_and_resolvable_refs(name):
    schema = load_schema(name)
    with open(os.path.join(SCHEMA_DIR, name + ".json"), encoding="utf-8") as f:
        assert json.load(f) == schema

    schema_maps = ("properties", "$defs")
    schema_values = ("additionalProperties", "propertyNames", "items", "not", "if", "then", "else")
    schema_lists = ("anyOf", "allOf", "oneOf")

    def walk(node, where):
        assert isinstance(node, (dict, bool)), where
        if isinstance(node, bool):
            return
        for key, value in node.items():
            assert key in SUPPORTED_KEYWORDS or key.startswith("$comment"), (where, key)
            if key == "$ref":
                target = schema
                for token in value[2:].split("/"):
                    target = target[token]
                assert isinstance(target, dict), (where, value)
            elif key in schema_maps:
                for sub_name, sub in value.items():
                    walk(sub, f"{where}/{key}/{sub_name}")
            elif key in schema_values:
                walk(value, f"{where}/{key}")
            elif key in schema_lists:
                for i, sub in enumerate(value):
                    walk(sub, f"{where}/{key}/{i}")
    walk(schema, "")


def test_unknown_keyword_is_refused_by_the_fast_validator():
    with pytest.raises(ValueError, match="uniqueItems"):
        compile_schema({"type": "array", "uniqueItems": True})


def test_fast_validator_keywords():
    check = compile_schema({
        "type": "object",
        "properties": {"n": {"type": "number"}, "c": {"const": [1, {"a": True}]},
                       "o": {"oneOf": [{"type": "string"}, {"minLength": 2}]},
                       "a": {"allOf": [{"type": "integer"}, {"not": {"const": 3}}]},
                       "e": {"enum": [1, "x", None]}},
        "additionalProperties": False,
    })
    assert check({"n": 1.5, "c": [1.0, {"a": True}], "o": 5, "a": 4, "e": None})
    assert not check({"c": [1, {"a": 1}]})       # true is not 1
    assert not check({"o": "xy"})                 # matches both branches of oneOf
    assert not check({"a": 3})
    assert not check({"e": True})
    assert not check({"n": True})
    assert not check({"z": 1})


def test_deep_copy_untouched_by_validation():
    doc = maximal_config()
    before = copy.deepcopy(doc)
    validate_config(doc)
    assert doc == before
