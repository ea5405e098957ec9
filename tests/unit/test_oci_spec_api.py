"""oci_spec public API: loading bundles and process files, error text,
state and features documents, import cost."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

import oci_spec
from oci_spec import (
    ConfigError,
    FieldError,
    Spec,
    load_bundle_config,
    load_process,
    validate_features,
    validate_state,
)
from oci_spec.model import Process

from .test_oci_spec_data import default_config, features_doc, maximal_config, state_doc
from .test_oci_spec_schema import DELETE, mutate

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def make_bundle(tmp_path, config, rootfs=True):
    if rootfs:
        (tmp_path / "rootfs").mkdir()
    text = config if isinstance(config, str) else json.dumps(config)
    (tmp_path / "config.json").write_text(text)
    return str(tmp_path)


def pairs(errors):
    return [(e.pointer, e.message) for e in errors]


def test_load_bundle_config(tmp_path):
    spec = load_bundle_config(make_bundle(tmp_path, default_config()))
    assert isinstance(spec, Spec)
    assert spec.root.path == "rootfs" and spec.process.args == ["sh"]
    assert spec.raw == default_config()
    assert spec.warnings == []


def test_load_bundle_config_collects_warnings(tmp_path):
    config = mutate(default_config(), "/mounts/0/destination", "proc")
    config["process"]["user"]["name"] = "root"
    spec = load_bundle_config(make_bundle(tmp_path, config))
    assert pairs(spec.warnings) == [
        ("/mounts/0/destination", '"proc" is relative, which is deprecated; it is taken as "/proc"'),
        ("/process/user/name", "unknown property, ignored"),
    ]


def test_missing_config_json(tmp_path):
    with pytest.raises(ConfigError) as info:
        load_bundle_config(str(tmp_path))
    assert str(info.value) == (
        f"config.json: cannot read {tmp_path}/config.json: No such file or directory")
    assert info.value.errors == [FieldError(
        "", f"cannot read {tmp_path}/config.json: No such file or directory")]


def test_invalid_json(tmp_path):
    bundle = make_bundle(tmp_path, '{\n  "ociVersion": "1.0.0",\n  "root": }\n')
    with pytest.raises(ConfigError) as info:
        load_bundle_config(bundle)
    assert str(info.value) == "config.json: invalid JSON at line 3 column 11: Expecting value"


@pytest.mark.parametrize("text,message", [
    ('{"ociVersion": NaN}', "invalid JSON: NaN is not a JSON value"),
    ("", "invalid JSON at line 1 column 1: Expecting value"),
    ('{"a": 1} x', "invalid JSON at line 1 column 10: Extra data"),
])
def test_other_invalid_json(tmp_path, text, message):
    with pytest.raises(ConfigError) as info:
        load_bundle_config(make_bundle(tmp_path, text))
    assert str(info.value) == f"config.json: {message}"


def test_not_utf8(tmp_path):
    (tmp_path / "config.json").write_bytes(b'{"hostname": "\xff"}')
    with pytest.raises(ConfigError, match=r"^config.json: invalid JSON: not UTF-8 text \(byte 14\)$"):
        load_bundle_config(str(tmp_path))


def test_missing_rootfs_and_schema_errors_reported_together(tmp_path):
    config = mutate(default_config(), "/linux/namespaces/2/type", "pidd")
    bundle = make_bundle(tmp_path, config, rootfs=False)
    with pytest.raises(ConfigError) as info:
        load_bundle_config(bundle)
    assert str(info.value).splitlines() == [
        'config.json: /linux/namespaces/2/type: "pidd" is not one of pid, network, mount, ipc, '
        "uts, user, cgroup, time",
        f'config.json: /root/path: directory "{bundle}/rootfs" does not exist',
    ]
    assert all(isinstance(e, FieldError) for e in info.value.errors)


def test_config_error_is_an_exception_with_sorted_unique_errors():
    err = ConfigError([FieldError("/b/10", "x"), FieldError("/b/9", "y"), FieldError("/a", "z"),
                       FieldError("/b/9", "y")])
    assert isinstance(err, Exception)
    assert [e.pointer for e in err.errors] == ["/a", "/b/9", "/b/10"]
    assert str(err) == "config.json: /a: z\nconfig.json: /b/9: y\nconfig.json: /b/10: x"
    assert str(ConfigError([FieldError("/x", "bad")], "process.json")) == "process.json: /x: bad"


def test_load_process_from_file_and_dict(tmp_path):
    path = tmp_path / "process.json"
    process = maximal_config()["process"]
    path.write_text(json.dumps(process))
    p = load_process(str(path))
    assert isinstance(p, Process) and p.cwd == "/root" and p.user.additional_gids == [5, 6]
    assert load_process(path) == p  # a PathLike works too
    assert load_process(process) == p


def test_load_process_errors(tmp_path):
    path = tmp_path / "p.json"
    bad = {"args": [], "user": {"uid": "0", "gid": 0}, "terminal": 1,
           "rlimits": [{"type": "RLIMIT_CORE", "soft": 0, "hard": 0},
                       {"type": "RLIMIT_CORE", "soft": 1, "hard": 1}]}
    path.write_text(json.dumps(bad))
    with pytest.raises(ConfigError) as info:
        load_process(str(path))
    assert str(info.value).splitlines() == [
        f'{path}: "cwd" is required',
        f"{path}: /args: must have at least one entry",
        f'{path}: /rlimits/1/type: "RLIMIT_CORE" is already set by /rlimits/0',
        f"{path}: /terminal: 1 is not a boolean",
        f'{path}: /user/uid: "0" is not an integer',
    ]
    with pytest.raises(ConfigError, match=r'^process: "cwd" is required'):
        load_process({"args": ["sh"]})
    with pytest.raises(ConfigError, match="No such file or directory"):
        load_process(str(tmp_path / "absent.json"))


def test_state_documents():
    assert validate_state(state_doc()) == []
    stopped = mutate(state_doc(), "/status", "stopped")
    assert validate_state(mutate(stopped, "/pid", DELETE)) == []
    assert pairs(validate_state(mutate(state_doc(), "/pid", DELETE))) == [("", '"pid" is required')]
    assert pairs(validate_state(mutate(state_doc(), "/status", "exploded"))) == [
        ("/status", '"exploded" is not one of creating, created, running, stopped, paused')]
    assert pairs(validate_state(mutate(state_doc(), "/bundle", "rel"))) == [
        ("/bundle", '"rel" is not an absolute path')]
    doc = mutate(mutate(state_doc(), "/id", DELETE), "/pid", -1)
    assert pairs(validate_state(doc)) == [("", '"id" is required'),
                                          ("/pid", "-1 is not a process ID (0 or more)")]
    assert validate_state(mutate(state_doc(), "/x-runtime", {"any": 1})) == []


def test_features_documents():
    assert validate_features(features_doc()) == []
    assert validate_features({"ociVersionMin": "1.0.0", "ociVersionMax": "1.3.0"}) == []
    # every property but the two versions may be null
    nulls = {k: None for k in features_doc()}
    nulls.update(ociVersionMin="1.0.0", ociVersionMax="1.3.0")
    assert validate_features(nulls) == []
    doc = features_doc()
    doc["linux"] = {k: None for k in doc["linux"]}
    assert validate_features(doc) == []
    assert pairs(validate_features({"ociVersionMin": "1.0.0"})) == [("", '"ociVersionMax" is required')]


@pytest.mark.parametrize("pointer,value,error", [
    ("/unknownFeature", True, ("", 'unknown property "unknownFeature"')),
    ("/linux/seccomp/extra", 1, ("/linux/seccomp", 'unknown property "extra"')),
    ("/hooks/0", "preStart", ("/hooks/0", '"preStart" is not one of prestart, createRuntime, '
                                          "createContainer, startContainer, poststart, poststop")),
    ("/linux/capabilities/0", "chown", ("/linux/capabilities/0",
                                        '"chown" is not a capability name such as "CAP_CHOWN"')),
    ("/linux/cgroup/v2", "yes", ("/linux/cgroup/v2", '"yes" is not a boolean or null')),
    ("/linux/namespaces/0", "cgroups", ("/linux/namespaces/0", '"cgroups" is not one of pid, '
                                        "network, mount, ipc, uts, user, cgroup, time")),
    ("/mountOptions", "ro", ("/mountOptions", '"ro" is not an array or null')),
    ("/ociVersionMax", None, ("/ociVersionMax", "null is not a string")),
])
def test_bad_features_documents(pointer, value, error):
    assert pairs(validate_features(mutate(features_doc(), pointer, value))) == [error]


def _run(code: str) -> str:
    env = dict(os.environ, PYTHONPATH=REPO)
    return subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, check=True,
                          capture_output=True, text=True).stdout


def test_import_does_not_load_jsonschema():
    out = _run("import sys, oci_spec; print('jsonschema' in sys.modules)")
    assert out.strip() == "False"


def test_valid_bundle_is_loaded_without_jsonschema(tmp_path):
    bundle = make_bundle(tmp_path, maximal_config())
    out = _run("import sys, oci_spec\n"
               f"spec = oci_spec.load_bundle_config({bundle!r})\n"
               "print(spec.linux.namespace('time').type, 'jsonschema' in sys.modules)")
    assert out.split() == ["time", "False"]


def test_public_api():
    for name in ["load_bundle_config", "load_process", "validate_config", "validate_state",
                 "validate_features", "Spec", "ConfigError", "FieldError"]:
        assert hasattr(oci_spec, name), name
        assert name in oci_spec.__all__
