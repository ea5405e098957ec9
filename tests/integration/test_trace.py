"""Tracing the kernel steps of a real container, and errors that name their field."""

import json
import os

import pytest

pytestmark = pytest.mark.pyrunc_only(reason="step traces are pyrunc's")


def test_pyrunc_trace_file_records_every_process_steps(runtime, bundle, workdir):
    b = bundle(["true"])
    trace = workdir / "trace.jsonl"
    res = runtime.run_container(b, env=dict(os.environ, PYRUNC_TRACE=str(trace)))
    assert res.returncode == 0, res.describe()
    entries = [json.loads(line) for line in trace.read_text().splitlines()]
    procs = {e["proc"] for e in entries}
    assert {"stage-1", "init"} <= procs
    steps = [(e["proc"], e["step"].partition("(")[0], e["field"]) for e in entries]
    assert ("init", "pivot_root", "/root/path") in steps
    assert all(isinstance(e["us"], int) and e["time"].endswith("Z") for e in entries)


def test_debug_log_has_a_step_time_summary(runtime, bundle, workdir, cid):
    b = bundle(["true"])
    log = workdir / "log.txt"
    res = runtime.run("--debug", "--log", str(log), "run", "--bundle", str(b), cid)
    assert res.returncode == 0, res.describe()
    assert "step time: " in log.read_text()


def test_failed_step_names_field_and_errno(runtime, bundle, cid):
    b = bundle(["true"], edit=lambda c: c["mounts"].append(
        {"destination": "/data", "type": "tmpfs", "source": "tmpfs", "options": ["size=nonsense"]}))
    res = runtime.create(cid, b, check=False)
    assert res.returncode == 1
    index = len(b.config["mounts"]) - 1
    line = res.stderr.strip().splitlines()[-1]
    assert f"/mounts/{index}: mount(" in line and "(EINVAL)" in line, res.describe()
    assert not (runtime.root / cid).exists()


def test_bad_bind_source_names_its_mount(runtime, bundle, cid):
    b = bundle(["true"], edit=lambda c: c["mounts"].append(
        {"destination": "/data", "type": "bind", "source": "/nonexistent-src", "options": ["bind"]}))
    res = runtime.create(cid, b, check=False)
    assert res.returncode == 1
    index = len(b.config["mounts"]) - 1
    assert f"/mounts/{index}: bind mount source '/nonexistent-src' does not exist" in res.stderr
