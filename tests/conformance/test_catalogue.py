"""Unit tests of the conformance catalogue and of the JSON document's shape (no containers)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SPEC_REPO = Path("/work/.mirror/opencontainers+runtime-spec/repo")
sys.path.insert(0, str(REPO))

from conformance.catalogue import REQUIREMENTS, automated_ids  # noqa: E402
from conformance.model import CASES, LEVELS  # noqa: E402


def test_ids_unique_and_fields_complete():
    ids = [r.id for r in REQUIREMENTS]
    assert len(ids) == len(set(ids))
    for r in REQUIREMENTS:
        assert r.spec_file.endswith(".md") and r.section and r.text, r
        assert r.level in LEVELS, r


def test_counts():
    assert len(REQUIREMENTS) >= 150
    assert len(automated_ids()) >= 120


def test_every_case_decides_known_requirements_once():
    automated_ids()
    seen: dict[str, str] = {}
    for c in CASES:
        for rid in c.reqs:
            assert rid not in seen, f"{rid} decided by {seen[rid]} and {c.name}"
            seen[rid] = c.name


@pytest.mark.skipif(not SPEC_REPO.exists(), reason="no runtime-spec mirror on this machine")
def test_spec_files_and_sections_exist():
    for name in {r.spec_file for r in REQUIREMENTS}:
        text = subprocess.run(
            ["git", "-C", str(SPEC_REPO), "show", f"HEAD:{name}"], capture_output=True, text=True, check=True
        ).stdout
        headings = [line for line in text.splitlines() if line.startswith("#")]
        for r in (r for r in REQUIREMENTS if r.spec_file == name):
            assert any(r.section in h for h in headings), f"{r.id}: no section {r.section!r} in {name}"


def test_list_json_shape(tmp_path):
    out = tmp_path / "cat.json"
    proc = subprocess.run(
        [sys.executable, "-m", "conformance", "--list", "--json", str(out)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(out.read_text())
    assert set(doc) == {"requirements", "results"} and doc["results"] == {}
    assert len(doc["requirements"]) == len(REQUIREMENTS)
    for entry in doc["requirements"]:
        assert set(entry) == {"id", "spec_file", "section", "level", "text", "automated"}
        assert isinstance(entry["automated"], bool)
