"""docs/cli.md is generated from runtime/cli.py and must be current; the man page names
every command and global flag."""

import subprocess
import sys
from pathlib import Path

from runtime import cli

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "scripts" / "gen_cli_docs.py"


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SCRIPT), *args], cwd=REPO,
                          capture_output=True, text=True, timeout=60)


def test_cli_md_is_current():
    res = _run("--check")
    assert res.returncode == 0, res.stderr + "\n(run: python3 scripts/gen_cli_docs.py)"


def test_cli_md_names_every_command_and_flag():
    text = (REPO / "docs" / "cli.md").read_text()
    for name in cli.COMMANDS:
        assert f"### {name}\n" in text
    for flag in cli.GLOBAL_FLAGS:
        assert f"`{'--' if len(flag) > 1 else '-'}{flag}" in text


def test_man_page_has_every_command():
    res = _run("--man")
    assert res.returncode == 0, res.stderr
    page = res.stdout
    for section in ("NAME", "SYNOPSIS", "DESCRIPTION", "COMMANDS", "GLOBAL OPTIONS"):
        assert f".SH {section}\n" in page
    for name in cli.COMMANDS:
        assert f"\\fB{name}\\fR" in page, name
    for flag in ("root", "log-format", "systemd-cgroup"):
        assert flag.replace("-", "\\-") in page


def test_check_fails_when_stale(tmp_path, monkeypatch):
    sys.path.insert(0, str(SCRIPT.parent))
    try:
        import gen_cli_docs
    finally:
        sys.path.remove(str(SCRIPT.parent))
    stale = tmp_path / "cli.md"
    stale.write_text("# old\n")
    monkeypatch.setattr(gen_cli_docs, "CLI_MD", stale)
    monkeypatch.setattr(gen_cli_docs, "REPO", tmp_path)
    assert gen_cli_docs.main(["--check"]) == 1
