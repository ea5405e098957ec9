"""`pyrunc explain` against a real container: the plan is what create then does ("plan vs trace")."""

import json
import os
import re
import subprocess
import sys
from itertools import zip_longest

import pytest

pytestmark = pytest.mark.pyrunc_only

# A trace line of the debug log (runtime.ops.create.log_trace):
#   "<proc>: <name>(<args>)[ = <result>| -> <error>] (<us> us)[  <- <field>]"
TRACE = re.compile(r"^(runtime|stage-1|init): (\w+)\((.*)\)(?: = -?\d+| -> .*)? \(\d+ us\)(?:  <- (\S+))?$")
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def explained(runtime, bundle) -> list[dict]:
    """The plan, through the CLI; while `explain` is not wired into runtime/cli.py, through the
    function itself (in a subprocess, like the CLI)."""
    res = runtime.run("explain", "-b", bundle, "--format", "json")
    if res.returncode != 0 and "explain" in res.stderr and "help topic" in res.stderr:
        code = "import sys; from runtime.ops.explain import explain; print(explain(sys.argv[1], 'json'))"
        cp = subprocess.run([sys.executable, "-c", code, str(bundle)], capture_output=True, text=True,
                            cwd=REPO, timeout=30)
        assert cp.returncode == 0, cp.stderr
        return json.loads(cp.stdout)
    assert res.returncode == 0, res.describe()
    return json.loads(res.stdout)


def traced(log_path) -> list[tuple[str, str, str | None]]:
    steps = []
    for line in log_path.read_text().splitlines():
        entry = json.loads(line)
        m = TRACE.match(entry.get("msg", "")) if entry.get("level") == "debug" else None
        if m:
            steps.append((m.group(1), m.group(2), m.group(4)))
    return steps


# Path lookups and the directories/files made for missing mount points: the recording kernel
# answers every openat2 lookup as found (it cannot know what the rootfs will hold once the
# earlier mounts are made, e.g. /dev/pts inside the new /dev tmpfs), so the real run has an
# openat2 that fails with ENOENT, a mkdir or creat, and the openat2 again where the plan has one
# openat2. These steps only make mount points; the mounts themselves are compared.
LOOKUPS = {"openat2", "mkdir", "creat"}


def test_plan_equals_trace(runtime, bundle, cid, workdir):
    b = bundle(["true"])
    plan = explained(runtime, b)
    log = workdir / "trace.json"
    runtime.run("--debug", "--log", log, "--log-format", "json", "create", "--bundle", b, cid, check=True)
    runtime.delete(cid, "--force")
    done = [s for s in traced(log) if s[0] == "init" and s[1] not in LOOKUPS]
    assert done, f"no init trace in {log.read_text()[:2000]}"

    def wanted(row) -> bool:
        if row["proc"] != "init" or row["step"] in LOOKUPS or row["step"] == "note":
            return False
        field = row["field"] or ""
        if re.match(r"^/linux/(maskedPaths|readonlyPaths)/\d+$", field):
            # A masked or read-only path that does not exist in the container's /proc or /sys
            # is skipped at run time; the plan lists it. The container sees this host's kernel.
            index = int(field.rsplit("/", 1)[1])
            kind = "maskedPaths" if "masked" in field else "readonlyPaths"
            return os.path.exists(b.config["linux"][kind][index])
        return True

    planned = [(r["proc"], r["step"], r["field"]) for r in plan if wanted(r)]
    # execve is traced after the init sent `ready`, when create has usually stopped reading the
    # channel: the trace may lack it (it is there only if stage-1's `init <pid>` came later).
    assert planned[-1] == ("init", "execve", "/process/args")
    planned.pop()
    done = [s for s in done if s[1] != "execve"]
    assert done == planned, "\n".join(
        f"{i}: trace {d}  plan {p}" for i, (d, p) in enumerate(zip_longest(done, planned)) if d != p)


def test_explain_changes_nothing(runtime, bundle):
    b = bundle(["true"])
    before = sorted(os.listdir(b.path))
    plan = explained(runtime, b)
    assert plan[-1]["step"] == "execve" and plan[-1]["args"][1] == ["true"]
    assert sorted(os.listdir(b.path)) == before
    assert runtime.list_ids() == []
