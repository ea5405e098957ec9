"""Smoke test of the benchmark suite (benchmarks/suite.py): a --quick run with pyrunc on
cheap scenarios, real containers, and the shape of the JSON it writes."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SUITE = REPO / "benchmarks" / "suite.py"
SCENARIOS = ["run", "lifecycle", "init-memory"]
ROUNDS = 3

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="the benchmark suite needs root")


def test_quick_suite_run(tmp_path):
    """One suite run (one test, so that xdist does not run the suite on both workers)."""
    run = suite_run(tmp_path)
    check_every_scenario_has_results(run)
    check_times_and_memory_are_plausible(run)
    check_targets_and_report(run)
    check_plot_is_a_png_or_skipped_with_a_message(run)
    check_no_cgroup_left_behind(run)


def suite_run(out: Path) -> dict:
    if shutil.which("pyrunc") is None and not (REPO / ".venv" / "bin" / "pyrunc").exists():
        pytest.skip("pyrunc is not installed")
    json_path, plot_path = out / "result.json", out / "result.png"
    argv = [sys.executable, str(SUITE), "--quick", "--runtimes", "pyrunc",
            "--scenarios", ",".join(SCENARIOS), "--rounds", str(ROUNDS),
            "--json", str(json_path), "--plot", str(plot_path)]
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=120, cwd=out)
    assert proc.returncode == 0, f"{' '.join(argv)}\n{proc.stdout}\n{proc.stderr}"
    return {"data": json.loads(json_path.read_text()), "stdout": proc.stdout,
            "plot": plot_path}


def check_every_scenario_has_results(suite_run: dict) -> None:
    data = suite_run["data"]
    assert data["suite_version"] == 1
    assert list(data["scenarios"]) == SCENARIOS
    assert data["runtimes"]["pyrunc"]["version"].startswith("pyrunc version ")
    assert data["settings"]["rounds"] == ROUNDS
    assert {"kernel", "cpus", "hybrid_cgroups"} <= set(data["host"])
    for name, sc in data["scenarios"].items():
        assert sc["failures"] == {} and sc["errors"] == {}, name
        per_rt = sc["summary"]["per_runtime"]["pyrunc"]
        assert set(per_rt) == set(sc["metrics"]), name
        for metric, samples in sc["samples"]["pyrunc"].items():
            assert len(samples) == ROUNDS, (name, metric)
            assert all(isinstance(x, float) and x >= 0 for x in samples), (name, metric)
        assert sc["summary"]["ratios"] == {}  # one runtime: nothing to compare with


def check_times_and_memory_are_plausible(suite_run: dict) -> None:
    scenarios = suite_run["data"]["scenarios"]
    run_ms = scenarios["run"]["summary"]["per_runtime"]["pyrunc"]["run"]
    steps = scenarios["lifecycle"]["summary"]["per_runtime"]["pyrunc"]
    assert 1 < run_ms < 10_000
    assert 1 < steps["create"] < steps["round"]
    for i in range(ROUNDS):  # the round contains its steps
        sample = {k: v[i] for k, v in scenarios["lifecycle"]["samples"]["pyrunc"].items()}
        assert sample["create"] + sample["start"] + sample["delete"] <= sample["round"]
    # the waiting init is charged to the container's memory cgroup
    usage_kib = scenarios["init-memory"]["summary"]["per_runtime"]["pyrunc"]["usage"]
    assert 0 < usage_kib < 64 * 1024


def check_targets_and_report(suite_run: dict) -> None:
    data = suite_run["data"]
    texts = [t["text"] for t in data["targets"]]
    assert len(texts) == 8 and any("runc" in t for t in texts)
    # pyrunc alone, on three scenarios: no target can be judged
    assert {t["status"] for t in data["targets"]} == {"not measured"}
    assert "create / start / wait / delete [lifecycle]" in suite_run["stdout"]


def check_plot_is_a_png_or_skipped_with_a_message(suite_run: dict) -> None:
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        assert "matplotlib is not installed" in suite_run["stdout"]
        return
    assert suite_run["plot"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def check_no_cgroup_left_behind(suite_run: dict) -> None:
    parent = suite_run["data"]["settings"]["cgroup_parent"].lstrip("/")
    assert parent.startswith("pyrunc-bench-")
    assert list(Path("/sys/fs/cgroup").glob(f"*/{parent}")) == []
