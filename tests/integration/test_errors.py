"""Failures: what the runtime reports, where (stderr, --log), and that it leaves nothing."""

from __future__ import annotations

import json
import os

import pytest


def assert_nothing_in_root(runtime, cid):
    assert not (runtime.root / cid).exists(), f"{runtime.root / cid} left behind"
    assert cid not in runtime.list_ids()
    res = runtime.run("state", cid)
    assert res.returncode != 0


@pytest.mark.parametrize("exe", ["/no/such/binary-xyz", "no-such-command-xyz"])
def test_missing_executable_fails_at_create(runtime, bundle, cid, exe):
    b = bundle([exe])
    res = runtime.create(cid, b, check=False)
    assert res.returncode == 1, res.describe()
    assert exe in res.stderr
    assert_nothing_in_root(runtime, cid)


def test_missing_executable_fails_at_run(runtime, bundle, cid):
    b = bundle(["/no/such/binary-xyz"])
    res = runtime.run_container(b, cid=cid)
    assert res.returncode != 0, res.describe()
    assert "/no/such/binary-xyz" in res.stderr
    assert_nothing_in_root(runtime, cid)


def test_non_executable_file_fails_at_create(runtime, bundle, cid):
    b = bundle(["/etc/passwd"])
    res = runtime.create(cid, b, check=False)
    assert res.returncode == 1, res.describe()
    assert "/etc/passwd" in res.stderr
    assert_nothing_in_root(runtime, cid)


def test_missing_config_fails(runtime, bundle, cid):
    b = bundle(["true"])
    os.unlink(b.config_path)
    res = runtime.create(cid, b, check=False)
    assert res.returncode == 1, res.describe()
    assert "config.json" in res.stderr
    assert_nothing_in_root(runtime, cid)


def test_invalid_json_config_fails(runtime, bundle, cid):
    b = bundle(["true"])
    b.config_path.write_text('{"ociVersion": "1.0.2", "process": {')
    res = runtime.create(cid, b, check=False)
    assert res.returncode == 1, res.describe()
    assert res.stderr.strip()
    assert_nothing_in_root(runtime, cid)


def test_missing_rootfs_fails(runtime, bundle, cid):
    b = bundle(["true"], root={"path": "no-such-rootfs"})
    res = runtime.create(cid, b, check=False)
    assert res.returncode == 1, res.describe()
    assert_nothing_in_root(runtime, cid)


def test_failing_mount_fails_and_cleans_up(runtime, bundle, cid, workdir):
    b = bundle(["true"], edit=lambda c: c["mounts"].append(
        {"destination": "/mnt", "type": "bind", "source": str(workdir / "does-not-exist"),
         "options": ["rbind"]}))
    res = runtime.create(cid, b, check=False)
    assert res.returncode == 1, res.describe()
    assert "does-not-exist" in res.stderr
    assert_nothing_in_root(runtime, cid)


@pytest.mark.pyrunc_only(reason="runc stops at the first error; pyrunc validates the whole config")
def test_config_with_several_errors_names_every_pointer(runtime, bundle, cid):
    def edit(c):
        c["linux"]["namespaces"][0]["type"] = "pidd"
        c["process"]["cwd"] = "relative/dir"

    b = bundle(["true"], edit=edit)
    res = runtime.create(cid, b, check=False)
    assert res.returncode == 1, res.describe()
    assert "/linux/namespaces/0/type" in res.stderr
    assert "/process/cwd" in res.stderr
    assert_nothing_in_root(runtime, cid)


def read_json_log(path) -> list[dict]:
    entries = []
    for line in path.read_text().splitlines():
        if line.strip():
            entry = json.loads(line)  # every line must be one JSON object
            assert isinstance(entry, dict), line
            entries.append(entry)
    return entries


def test_json_log_of_a_failure(runtime, bundle, cid, workdir):
    log = workdir / "runtime.log.json"
    b = bundle(["/no/such/binary-xyz"])
    res = runtime.run("--log", log, "--log-format", "json", "create", "--bundle", b, cid)
    assert res.returncode == 1, res.describe()
    entries = read_json_log(log)
    errors = [e for e in entries if e.get("level") == "error"]
    assert errors, f"no error entry in {entries}"
    # the message names the missing file and why it failed
    assert any("/no/such/binary-xyz" in e.get("msg", "") and "no such file or directory" in e["msg"].lower()
               for e in errors), errors
    for e in errors:
        assert "time" in e
    assert_nothing_in_root(runtime, cid)


def test_text_log_of_a_failure(runtime, bundle, cid, workdir):
    log = workdir / "runtime.log"
    b = bundle(["/no/such/binary-xyz"])
    res = runtime.run("--log", log, "create", "--bundle", b, cid)
    assert res.returncode == 1, res.describe()
    text = log.read_text()
    assert "/no/such/binary-xyz" in text
    assert "error" in text


def test_successful_lifecycle_is_silent(runtime, bundle, cid, workdir):
    b = bundle(["sleep", "30"])
    results = [
        runtime.create(cid, b, "--pid-file", workdir / "pid"),
        runtime.start(cid),
        runtime.kill(cid, "KILL"),
    ]
    runtime.wait_status(cid, "stopped")
    results.append(runtime.delete(cid))
    for res in results:
        assert res.stderr == "", res.describe()
        assert res.stdout == "", res.describe()


def test_successful_create_with_json_log_logs_no_error(runtime, bundle, cid, workdir):
    log = workdir / "runtime.log.json"
    b = bundle(["sleep", "30"])
    res = runtime.run("--log", log, "--log-format", "json", "create", "--bundle", b, cid, check=True)
    assert res.stderr == ""
    if log.exists():
        assert not [e for e in read_json_log(log) if e.get("level") in ("error", "fatal")]


def test_bad_signal_name_fails(runtime, bundle, cid):
    b = bundle(["sleep", "30"])
    runtime.create(cid, b)
    res = runtime.kill(cid, "SIGNOPE", check=False)
    assert res.returncode != 0, res.describe()
    assert runtime.status(cid) == "created"


@pytest.mark.parametrize("bad_id", ["../escape", "a/b", ""])
def test_invalid_container_id_is_rejected(runtime, bundle, bad_id):
    b = bundle(["true"])
    res = runtime.run("create", "--bundle", b, bad_id)
    assert res.returncode != 0, res.describe()
    assert [e.name for e in os.scandir(runtime.root)] == []
    assert not (runtime.root.parent / "escape").exists()
