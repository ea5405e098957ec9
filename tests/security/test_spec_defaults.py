"""`pyrunc spec` writes runc's safe defaults, and a container made from them is confined."""

from __future__ import annotations

import json

import pytest
from integration.util import run_ok

MASKED = ["/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
          "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi", "/sys/firmware",
          "/sys/devices/virtual/powercap"]
READONLY = ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"]
CAPS = {"CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"}
CAP_BITS = (1 << 29) | (1 << 5) | (1 << 10)
USUAL_CHAR_DEVICES = {(1, 3), (1, 5), (1, 7), (1, 8), (1, 9), (5, 0), (5, 2)}


@pytest.fixture
def spec_config(runtime, workdir) -> dict:
    res = runtime.run("spec", cwd=workdir, check=True)
    assert res.returncode == 0
    with open(workdir / "config.json") as f:
        return json.load(f)


@pytest.mark.pyrunc_only
def test_spec_emits_masked_readonly_paths_devices_caps_and_nnp(spec_config):
    """Masked and read-only paths, a deny-all device cgroup that then allows the usual char
    devices, noNewPrivileges and the default capability set."""
    linux = spec_config["linux"]
    assert set(MASKED) <= set(linux["maskedPaths"])
    assert set(READONLY) <= set(linux["readonlyPaths"])
    rules = linux["resources"]["devices"]
    assert rules[0] == {"allow": False, "access": "rwm"}
    allowed = {(r["major"], r["minor"]) for r in rules[1:]
               if r["allow"] and r.get("type") == "c" and "minor" in r and "rw" in r["access"]}
    assert USUAL_CHAR_DEVICES <= allowed, rules
    proc = spec_config["process"]
    assert proc["noNewPrivileges"] is True
    for kind in ("bounding", "effective", "permitted"):
        assert set(proc["capabilities"][kind]) == CAPS
    assert "inheritable" not in proc["capabilities"]  # CVE-2022-29162


@pytest.mark.pyrunc_only
def test_container_from_spec_defaults_is_confined(runtime, bundle, spec_config):
    """The defaults at work: masked files are the null device, /proc/sys is read-only, no new
    privileges, the default capabilities only, and the device cgroup denies what is not listed."""
    config = dict(spec_config)
    config["process"] = dict(config["process"], terminal=False)
    script = ("stat -c '%t:%T' /proc/keys; echo 1 > /proc/sys/vm/overcommit_memory && echo WROTE; "
              "grep -E '^(NoNewPrivs|CapEff)' /proc/self/status; "
              "mknod /tmp/mem c 1 1 && head -c 1 /tmp/mem > /dev/null && echo READMEM; "
              "head -c 1 /dev/zero | wc -c")
    b = bundle(["sh", "-c", script], config=config)
    b.config["root"]["readonly"] = False  # mknod in /tmp
    b.config["process"]["capabilities"] = {k: sorted(CAPS | {"CAP_MKNOD"}) for k in
                                           ("bounding", "effective", "permitted")}
    b.write_config()
    res = run_ok(runtime, b)
    out = res.stdout.splitlines()
    assert out[0] == "1:3", res.describe()
    assert "WROTE" not in res.stdout and "READMEM" not in res.stdout, res.describe()
    fields = dict(line.split(":\t") for line in out if ":\t" in line)
    assert fields["NoNewPrivs"] == "1"
    assert int(fields["CapEff"], 16) == CAP_BITS | (1 << 27)
    assert out[-1] == "1", res.describe()  # /dev/zero is allowed
