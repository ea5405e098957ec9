"""The command line itself: version, features, spec, flag forms, usage errors."""

import json

import pytest

from oci_spec import validate_config, validate_features


@pytest.mark.pyrunc_only(reason="the version text is pyrunc's")
def test_version_names_the_runtime_and_the_spec(runtime):
    res = runtime.run("--version", check=True)
    first, second = res.stdout.splitlines()[:2]
    assert first.startswith("pyrunc version ")
    assert second == "spec: 1.3.0"


@pytest.mark.pyrunc_only(reason="runc 1.1.5 has no `features` command")
def test_features_document_is_valid_and_tells_what_is_implemented(runtime):
    doc = json.loads(runtime.run("features", check=True).stdout)
    assert validate_features(doc) == []
    assert doc["ociVersionMax"] == "1.3.0"
    assert set(doc["hooks"]) == {"prestart", "createRuntime", "createContainer", "startContainer",
                                 "poststart", "poststop"}
    assert doc["linux"]["seccomp"]["enabled"] is True
    assert "rro" in doc["mountOptions"] and "tmpcopyup" in doc["mountOptions"]


@pytest.mark.parametrize("rootless", [False, True])
def test_spec_writes_a_valid_config_and_refuses_to_overwrite(runtime, workdir, rootless):
    flags = ["--rootless"] if rootless else []
    runtime.run("spec", "-b", str(workdir), *flags, check=True)
    config = json.loads((workdir / "config.json").read_text())
    assert validate_config(config) == []
    kinds = {ns["type"] for ns in config["linux"]["namespaces"]}
    assert ("user" in kinds) == rootless and ("network" in kinds) != rootless
    again = runtime.run("spec", "-b", str(workdir), *flags)
    assert again.returncode == 1 and "exists" in again.stderr


def test_flag_value_forms_are_equivalent(runtime, bundle, cid):
    b = bundle(["sleep", "30"])
    runtime.run(f"--root={runtime.root}", "create", f"--bundle={b}", cid, check=True)
    assert runtime.state(cid)["status"] == "created"
    runtime.delete(cid, "-f")


def test_unknown_flag_is_a_usage_error(runtime):
    res = runtime.run("create", "--no-such-flag", "x")
    assert res.returncode == 1
    assert "no-such-flag" in res.stderr
