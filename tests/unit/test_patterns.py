"""oci_spec.patterns: each plain check accepts exactly what its regular expression accepts."""

from __future__ import annotations

import json
import random
import re
from pathlib import Path

import pytest

from oci_spec.patterns import CHECKS

SCHEMAS = Path(__file__).resolve().parents[2] / "oci_spec" / "schema"
ALPHABET = "0123456789" + "ABCKMGPZabrwmz" + ".-+_ ,/:\n\t" + "٣é"  # ٣: a non-ASCII digit
SAMPLES = [
    "", "0", "00", "1.0.0", "1.0", "1.0.0.0", "01.0.0", "1.0.0-rc.1", "1.0.0-", "1.0.0-rc..1",
    "1.0.0+build", "1.0.0+", "1.0.0-rc.1+b.2", "1.0.0-a-b+c-d", "1.0.0\n", "1.٣.0", "1.0.0-é",
    "/", "a/", "/a", "0-3", "0-3,5", " 0 , 2-4 ", "0 -3", "1,", ",1", "  ", "1 2", "3-", "-3",
    "MB:0=20", "MB:", "MB:\n", "MB", "a\nb", "2MB", "1GB", "0KB", "10KB", "KB", "1TB", "2MB\n",
    "rwm", "rw", "", "x", "mmm", "rwm\n", "CAP_SYS_ADMIN", "CAP_", "CAP_x", "cap_a", "CAP_A\n",
]


def schema_patterns() -> set[str]:
    found: set[str] = set()

    def walk(node) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("pattern"), str):
                found.add(node["pattern"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    for path in SCHEMAS.glob("*.json"):
        walk(json.loads(path.read_text()))
    return found


def test_every_schema_pattern_has_a_plain_check():
    assert schema_patterns() <= set(CHECKS), sorted(schema_patterns() - set(CHECKS))


def random_strings(seed: str, n: int = 4000):
    rng = random.Random(seed)
    # Near-misses of the samples find more disagreements than uniform noise.
    for _ in range(n):
        s = list(rng.choice(SAMPLES))
        for _ in range(rng.randint(0, 3)):
            op, pos = rng.random(), rng.randint(0, len(s))
            if op < 0.4:
                s.insert(pos, rng.choice(ALPHABET))
            elif s and op < 0.7:
                del s[min(pos, len(s) - 1)]
            elif s:
                s[min(pos, len(s) - 1)] = rng.choice(ALPHABET)
        yield "".join(s)
    for _ in range(n // 4):
        yield "".join(rng.choice(ALPHABET) for _ in range(rng.randint(0, 12)))


@pytest.mark.parametrize("pattern", sorted(CHECKS))
def test_plain_check_agrees_with_re(pattern):
    compiled = re.compile(pattern)
    check = CHECKS[pattern]
    for s in [*SAMPLES, *random_strings(pattern)]:
        assert check(s) == (compiled.search(s) is not None), f"{pattern!r} on {s!r}"


def test_validation_of_a_config_does_not_import_re():
    import subprocess
    import sys

    # -S: no site, as pyrunc's launcher runs (site and editable installs import re themselves).
    code = (f"import sys; sys.path.insert(0, {str(SCHEMAS.parents[1])!r}); import oci_spec; "
            "oci_spec.validate_config({'ociVersion': '1.0.2', 'root': {'path': 'r'}, "
            "'linux': {'resources': {'devices': [{'allow': False, 'access': 'rwm'}]}}}); "
            "print('re' in sys.modules)")
    out = subprocess.run([sys.executable, "-I", "-S", "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"
