"""The example of docs/api.md runs as written."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.pyrunc_only(reason="the Python API is pyrunc's")
def test_api_example_runs():
    text = (REPO / "docs" / "api.md").read_text()
    code = re.search(r"```python\n(.*?)```", text, re.S).group(1)
    env = dict(os.environ, PYTHONPATH=str(REPO))
    res = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True,
                         text=True, timeout=60)
    assert res.returncode == 0, res.stderr
    lines = res.stdout.splitlines()
    assert lines[0] == "created True"
    assert any(line.startswith("hello from ") for line in lines)
    assert "['api-demo']" in lines
    assert lines[-1] == "container does not exist"
