"""The harness catches planted defects: wrapper scripts around pyrunc that break one thing
each.  The harness runs with -k on the relevant rows only, against the real pyrunc and the
broken one in the same run, and must fail exactly the rows the defect touches."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PYRUNC = shutil.which("pyrunc") or str(REPO / ".venv" / "bin" / "pyrunc")

pytestmark = pytest.mark.skipif(
    not shutil.which("busybox") and not Path("/bin/busybox").exists(), reason="needs busybox"
)

# Each wrapper edits the bundle's config.json (found from --bundle) before passing the call
# on, or rewrites the output of `state`.
PRELUDE = textwrap.dedent(f"""\
    #!{sys.executable}
    import json, os, subprocess, sys
    REAL = {PYRUNC!r}
    args = sys.argv[1:]

    def bundle_config():
        if "create" in args or "run" in args:
            i = args.index("--bundle")
            return os.path.join(args[i + 1], "config.json")
        return None

    def edit(change):
        path = bundle_config()
        if path:
            cfg = json.load(open(path))
            change(cfg)
            json.dump(cfg, open(path, "w"))
    """)

DEFECTS = {
    "no-hostname": PRELUDE
    + textwrap.dedent("""\
        edit(lambda cfg: cfg.pop("hostname", None))
        os.execv(REAL, [REAL] + args)
        """),
    "drops-mount": PRELUDE
    + textwrap.dedent("""\
        edit(lambda cfg: cfg.__setitem__("mounts", [m for m in cfg["mounts"]
                                                     if m["destination"] != "/m/nosuid"]))
        os.execv(REAL, [REAL] + args)
        """),
    "wrong-status": PRELUDE
    + textwrap.dedent("""\
        if "state" not in args:  # a pipe would be held open by a created container
            os.execv(REAL, [REAL] + args)
        proc = subprocess.run([REAL] + args, stdout=subprocess.PIPE)
        out = proc.stdout
        if "state" in args and proc.returncode == 0:
            doc = json.loads(out)
            if doc.get("status") == "running":
                doc["status"] = "created"
            out = json.dumps(doc).encode()
        sys.stdout.buffer.write(out)
        sys.exit(proc.returncode)
        """),
    "no-net-devices": PRELUDE
    + textwrap.dedent("""\
        edit(lambda cfg: cfg["linux"].pop("netDevices", None))
        os.execv(REAL, [REAL] + args)
        """),
    "run-fails": PRELUDE
    + textwrap.dedent("""\
        if "run" in args:
            sys.exit("run-fails: refusing to run")
        os.execv(REAL, [REAL] + args)
        """),
}
NET_DEVICE_ROWS = {
    "linux.netdevices.moved",
    "linux.netdevices.up",
    "linux.netdevices.attributes",
    "linux.netdevices.exists",
    "linux.netdevices.no-lifecycle",
}


def run_harness(tmp_path: Path, defect: str, patterns: list[str]) -> dict:
    broken = tmp_path / f"pyrunc-{defect}"
    broken.write_text(DEFECTS[defect])
    broken.chmod(0o755)
    out = tmp_path / "results.json"
    cmd = [
        sys.executable,
        "-m",
        "conformance",
        "--runtime",
        PYRUNC,
        "--runtime",
        str(broken),
        "--json",
        str(out),
        "--baseline",
        PYRUNC,
    ]
    for p in patterns:
        cmd += ["-k", p]
    proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=300)
    doc = json.loads(out.read_text())
    doc["exit"], doc["stdout"] = proc.returncode, proc.stdout
    doc["paths"] = (PYRUNC, str(broken))
    return doc


def failed(doc: dict, path: str) -> set[str]:
    return {rid for rid, r in doc["results"][path].items() if r["status"] == "fail"}


@pytest.mark.parametrize(
    "defect, patterns, expected",
    [
        ("no-hostname", ["config.hostname", "config.domainname"], {"config.hostname"}),
        (
            "drops-mount",
            ["config.mounts.option.nosuid", "config.mounts.option.noexec"],
            {"config.mounts.option.nosuid"},
        ),
        ("wrong-status", ["runtime.state.status", "runtime.state.id"], {"runtime.state.status"}),
        ("no-net-devices", ["linux.netdevices*", "linux.sysctl"], NET_DEVICE_ROWS),
    ],
)
def test_planted_defect_fails_exactly_its_rows(tmp_path, defect, patterns, expected):
    doc = run_harness(tmp_path, defect, patterns)
    real, broken = doc["paths"]
    assert failed(doc, real) == set(), doc["stdout"]
    assert failed(doc, broken) == expected, doc["stdout"]
    assert doc["exit"] == 1 and "REGRESSIONS" in doc["stdout"], doc["stdout"]
    for rid in expected:
        assert "expected" in doc["results"][broken][rid]["detail"]


def _harness_veths() -> set[str]:
    """Host interfaces named like the harness's veth pairs (cf<tag>, cf<tag>p)."""
    out = subprocess.run(["ip", "-o", "link", "show"], capture_output=True, text=True, check=True).stdout
    names = {line.split(": ")[1].split("@")[0] for line in out.splitlines()}
    return {n for n in names if re.fullmatch(r"cf[0-9a-f]{8}p?", n)}


@pytest.mark.skipif(shutil.which("ip") is None, reason="needs iproute2 on the host")
def test_net_device_case_removes_its_veth_when_the_container_fails(tmp_path):
    before = _harness_veths()
    doc = run_harness(tmp_path, "run-fails", ["linux.netdevices.moved", "linux.netdevices.up"])
    real, broken = doc["paths"]
    assert failed(doc, real) == set(), doc["stdout"]
    assert failed(doc, broken) == {"linux.netdevices.moved", "linux.netdevices.up"}, doc["stdout"]
    assert "run-fails: refusing to run" in doc["results"][broken]["linux.netdevices.moved"]["detail"]
    assert _harness_veths() <= before, "a veth pair of the harness is left on the host"
