"""runtime-spec config.md "Process" (POSIX and Linux parts), seen from inside the container:
oomScoreAdj, rlimits, user (umask, additionalGids), capabilities with an unknown name,
scheduler, ioPriority, execCPUAffinity, personality (config-linux.md), noNewPrivileges and
the session keyring of the runc command line."""

from __future__ import annotations

import json
import os
import platform

import pytest

from .util import assert_create_fails, run_ok, status_fields


def stat_fields(line: str) -> dict[int, str]:
    """/proc/PID/stat as {field number (1-based, proc(5)): value}."""
    head, _, tail = line.rpartition(")")
    fields = tail.split()
    return {i + 3: v for i, v in enumerate(fields)} | {1: head.split("(")[0].strip()}


# --------------------------------------------------------------------------- oomScoreAdj


def set_oom_score_adj(value: int):
    def preexec():
        with open("/proc/self/oom_score_adj", "w") as f:
            f.write(str(value))

    return preexec


@pytest.mark.parametrize("value", [123, 1000])
def test_oom_score_adj_is_set(runtime, bundle, value):
    b = bundle(["cat", "/proc/self/oom_score_adj"], process={"oomScoreAdj": value})
    res = run_ok(runtime, b)
    assert res.stdout.strip() == str(value)


def test_oom_score_adj_is_lowered_from_the_callers(runtime, bundle):
    # raising is unprivileged; going back down to >= 0 is allowed too (no CAP_SYS_RESOURCE needed)
    b = bundle(["cat", "/proc/self/oom_score_adj"], process={"oomScoreAdj": 5})
    res = run_ok(runtime, b, preexec_fn=set_oom_score_adj(300))
    assert res.stdout.strip() == "5"


def test_oom_score_adj_unset_is_not_changed(runtime, bundle):
    b = bundle(["cat", "/proc/self/oom_score_adj"], process={"oomScoreAdj": None})
    res = run_ok(runtime, b, preexec_fn=set_oom_score_adj(77))
    assert res.stdout.strip() == "77"


# --------------------------------------------------------------------------- rlimits

LIMIT_NAMES = {
    "Max cpu time": "RLIMIT_CPU",
    "Max file size": "RLIMIT_FSIZE",
    "Max data size": "RLIMIT_DATA",
    "Max stack size": "RLIMIT_STACK",
    "Max core file size": "RLIMIT_CORE",
    "Max resident set": "RLIMIT_RSS",
    "Max processes": "RLIMIT_NPROC",
    "Max open files": "RLIMIT_NOFILE",
    "Max locked memory": "RLIMIT_MEMLOCK",
    "Max address space": "RLIMIT_AS",
    "Max file locks": "RLIMIT_LOCKS",
    "Max pending signals": "RLIMIT_SIGPENDING",
    "Max msgqueue size": "RLIMIT_MSGQUEUE",
    "Max nice priority": "RLIMIT_NICE",
    "Max realtime priority": "RLIMIT_RTPRIO",
    "Max realtime timeout": "RLIMIT_RTTIME",
}


def parse_limits(text: str) -> dict[str, tuple[str, str]]:
    out = {}
    for line in text.splitlines()[1:]:
        for label, name in LIMIT_NAMES.items():
            if line.startswith(label):
                soft, hard = line[len(label):].split()[:2]
                out[name] = (soft, hard)
    return out


# (all below this host's hard limits: raising one needs CAP_SYS_RESOURCE)
RLIMITS = {
    "RLIMIT_CPU": (100, 200),
    "RLIMIT_FSIZE": (1 << 20, 2 << 20),
    "RLIMIT_DATA": (512 << 20, 1 << 30),
    "RLIMIT_STACK": (4 << 20, 6 << 20),
    "RLIMIT_CORE": (0, 4096),
    "RLIMIT_RSS": (1 << 30, 2 << 30),
    "RLIMIT_NPROC": (300, 400),
    "RLIMIT_NOFILE": (512, 1000),
    "RLIMIT_MEMLOCK": (64 << 10, 128 << 10),
    "RLIMIT_AS": (1 << 30, 2 << 30),
    "RLIMIT_LOCKS": (100, 200),
    "RLIMIT_SIGPENDING": (100, 200),
    "RLIMIT_MSGQUEUE": (4096, 8192),
    "RLIMIT_NICE": (0, 0),
    "RLIMIT_RTPRIO": (0, 0),
    "RLIMIT_RTTIME": (1000000, 2000000),
}


def test_rlimits_of_every_type(runtime, bundle):
    rl = [{"type": t, "soft": s, "hard": h} for t, (s, h) in RLIMITS.items()]
    b = bundle(["sh", "-c", "cat /proc/self/limits; echo ==; ulimit -n; ulimit -Hn"], process={"rlimits": rl})
    res = run_ok(runtime, b)
    limits, shell = res.stdout.split("==\n")
    seen = parse_limits(limits)
    for name, (soft, hard) in RLIMITS.items():
        assert seen.get(name) == (str(soft), str(hard)), (name, seen.get(name))
    assert shell.split() == ["512", "1000"]


def test_rlimit_unknown_type_fails(runtime, bundle, cid):
    b = bundle(["true"], process={"rlimits": [{"type": "RLIMIT_BOGUS", "soft": 1, "hard": 1}]})
    assert_create_fails(runtime, b, cid, "RLIMIT_BOGUS")


@pytest.mark.pyrunc_only(reason="runc 1.1.5 does not detect duplicated rlimits (last one wins)")
def test_rlimit_duplicated_type_fails(runtime, bundle, cid):
    rl = [{"type": "RLIMIT_CORE", "soft": 0, "hard": 200}, {"type": "RLIMIT_CORE", "soft": 0, "hard": 100}]
    b = bundle(["true"], process={"rlimits": rl})
    assert_create_fails(runtime, b, cid, "RLIMIT_CORE")


def has_cap_sys_resource() -> bool:
    eff = int(status_fields(open("/proc/self/status").read())["CapEff"], 16)
    return bool(eff & (1 << 24))


def test_rlimit_that_cannot_be_applied_fails(runtime, bundle, cid):
    """Raising a hard limit above the runtime's own needs CAP_SYS_RESOURCE: without it the
    limit cannot be applied, and the runtime must say so rather than ignore it."""
    if has_cap_sys_resource():
        pytest.skip("the runtime may raise hard limits here (CAP_SYS_RESOURCE)")
    import resource

    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    b = bundle(["true"], process={"rlimits": [{"type": "RLIMIT_NOFILE", "soft": 64, "hard": hard + 1}]})
    res = runtime.create(cid, b, check=False)
    assert res.returncode == 1, res.describe()
    assert runtime.status(cid) is None


# --------------------------------------------------------------------------- user


def test_user_with_umask(runtime, bundle):
    script = "umask; touch /tmp/f; mkdir /tmp/d; stat -c '%a %u %g' /tmp/f /tmp/d"
    b = bundle(["sh", "-c", script], process={"user": {"uid": 1000, "gid": 1000, "umask": 0o002}})
    res = run_ok(runtime, b)
    assert res.stdout.splitlines() == ["0002", "664 1000 1000", "775 1000 1000"]


@pytest.mark.pyrunc_only(reason="runc 1.1.5 sets umask 0022 when process.user.umask is unset")
def test_umask_unset_keeps_the_callers(runtime, bundle):
    """config.md: if umask is unspecified, the umask should not be changed from the calling
    process' umask."""
    b = bundle(["sh", "-c", "umask"], process={"user": {"uid": 0, "gid": 0}})
    res = run_ok(runtime, b, preexec_fn=lambda: os.umask(0o077))
    assert res.stdout.strip() == "0077"


def test_several_additional_gids(runtime, bundle):
    b = bundle(["cat", "/proc/self/status"],
               process={"user": {"uid": 1000, "gid": 1000, "additionalGids": [3000, 2000, 1000, 65534]}})
    res = run_ok(runtime, b)
    f = status_fields(res.stdout)
    assert sorted(f["Groups"].split(), key=int) == ["1000", "2000", "3000", "65534"]
    assert f["Gid"].split() == ["1000"] * 4


USERNS = [{"containerID": 0, "hostID": 100000, "size": 65536}]


def userns_edit(c):
    c["linux"]["namespaces"].append({"type": "user"})
    c["linux"]["uidMappings"] = list(USERNS)
    c["linux"]["gidMappings"] = list(USERNS)


@pytest.mark.parametrize("gids", [[2000, 3000], []], ids=["with", "without"])
def test_additional_gids_in_user_namespace(runtime, bundle, workdir, gids):
    shared = workdir / "shared"
    shared.mkdir()
    os.chmod(shared, 0o777)
    script = "cat /proc/self/status; touch /shared/f; chgrp 3000 /shared/f 2>/dev/null; echo chgrp=$?"

    def edit(c):
        userns_edit(c)
        c["mounts"].append({"destination": "/shared", "type": "bind", "source": str(shared),
                            "options": ["rbind"]})

    b = bundle(["sh", "-c", script], edit=edit,
               process={"user": {"uid": 1000, "gid": 1000, "additionalGids": gids}})
    (b.rootfs / "shared").mkdir()
    res = run_ok(runtime, b)
    f = status_fields(res.stdout)
    assert sorted(f["Groups"].split(), key=int) == [str(g) for g in gids]
    st = os.stat(shared / "f")
    assert st.st_uid == 101000
    if gids:
        assert res.stdout.splitlines()[-1] == "chgrp=0"
        assert st.st_gid == 103000
    else:
        assert res.stdout.splitlines()[-1] == "chgrp=1"
        assert st.st_gid == 101000


# --------------------------------------------------------------------------- capabilities

CAP_KILL, CAP_NET_BIND_SERVICE, CAP_AUDIT_WRITE = 5, 10, 29


def test_unknown_capability_is_reported_and_the_rest_applied(runtime, bundle):
    """config.md (1.3): a capability that cannot be mapped to a kernel interface MUST be
    logged as a warning; runtimes SHOULD NOT fail for capabilities that cannot be granted.
    The name must be reported (stderr) and the known capabilities still applied."""

    def edit(c):
        for kind in ("bounding", "effective", "permitted"):
            c["process"]["capabilities"][kind] = ["CAP_KILL", "CAP_NOT_A_CAP", "CAP_NET_BIND_SERVICE"]
        c["process"]["capabilities"]["ambient"] = []

    b = bundle(["cat", "/proc/self/status"], edit=edit)
    res = runtime.run_container(b)
    assert "CAP_NOT_A_CAP" in res.stderr, res.describe()
    assert res.returncode == 0, res.describe()
    f = status_fields(res.stdout)
    expected = (1 << CAP_KILL) | (1 << CAP_NET_BIND_SERVICE)
    for field in ("CapEff", "CapPrm", "CapBnd"):
        assert int(f[field], 16) == expected, (field, f[field])


# --------------------------------------------------------------------------- scheduler

SCHED = {"SCHED_OTHER": 0, "SCHED_FIFO": 1, "SCHED_RR": 2, "SCHED_BATCH": 3, "SCHED_IDLE": 5,
         "SCHED_DEADLINE": 6}
RUNC_NO_SCHED = "runc 1.1.5 lacks process.scheduler (runc >= 1.2)"


@pytest.mark.pyrunc_only(reason=RUNC_NO_SCHED)
@pytest.mark.parametrize("sched,nice", [({"policy": "SCHED_BATCH", "nice": 7}, "7"),
                                        ({"policy": "SCHED_IDLE"}, "0"),
                                        ({"policy": "SCHED_OTHER", "nice": -4}, "-4")],
                         ids=["batch", "idle", "other-nice"])
def test_scheduler_policy_and_nice(runtime, bundle, sched, nice):
    b = bundle(["cat", "/proc/self/stat"], process={"scheduler": sched})
    res = run_ok(runtime, b)
    f = stat_fields(res.stdout)
    assert f[41] == str(SCHED[sched["policy"]]), f
    assert f[19] == nice, f


@pytest.mark.pyrunc_only(reason=RUNC_NO_SCHED)
def test_scheduler_realtime_priority(runtime, bundle):
    # (with RT group scheduling the container's cpu cgroup needs a realtime budget)
    b = bundle(["cat", "/proc/self/stat"], process={"scheduler": {"policy": "SCHED_RR", "priority": 12}},
               linux={"resources": {"cpu": {"realtimeRuntime": 20000, "realtimePeriod": 1000000}}})
    res = run_ok(runtime, b)
    f = stat_fields(res.stdout)
    assert (f[41], f[40]) == ("2", "12"), f


@pytest.mark.pyrunc_only(reason=RUNC_NO_SCHED)
def test_scheduler_reset_on_fork(runtime, bundle):
    """SCHED_FLAG_RESET_ON_FORK: the process keeps its negative nice, its children get 0."""
    # `; true`: busybox sh would exec a last simple command itself instead of forking it
    script = "read -r s < /proc/$$/stat; echo \"$s\"; cat /proc/self/stat; true"
    b = bundle(["sh", "-c", script], process={"scheduler": {
        "policy": "SCHED_BATCH", "nice": -5, "flags": ["SCHED_FLAG_RESET_ON_FORK"]}})
    res = run_ok(runtime, b)
    own, child = (stat_fields(line) for line in res.stdout.splitlines())
    assert (own[41], own[19]) == ("3", "-5"), own
    assert (child[41], child[19]) == ("3", "0"), child


@pytest.mark.pyrunc_only(reason=RUNC_NO_SCHED)
def test_scheduler_deadline(runtime, bundle):
    b = bundle(["cat", "/proc/self/stat"], process={"scheduler": {
        "policy": "SCHED_DEADLINE", "runtime": 1000000, "deadline": 10000000, "period": 10000000}})
    res = run_ok(runtime, b)
    assert stat_fields(res.stdout)[41] == "6"


@pytest.mark.pyrunc_only(reason=RUNC_NO_SCHED)
def test_scheduler_unknown_policy_fails(runtime, bundle, cid):
    b = bundle(["true"], process={"scheduler": {"policy": "SCHED_BOGUS"}})
    assert_create_fails(runtime, b, cid, "SCHED_BOGUS")


# --------------------------------------------------------------------------- ioPriority


@pytest.mark.pyrunc_only(reason="runc 1.1.5 lacks process.ioPriority (runc >= 1.2)")
@pytest.mark.parametrize("cls,prio,expected", [
    ("IOPRIO_CLASS_BE", 3, "best-effort: prio 3"),
    ("IOPRIO_CLASS_RT", 1, "realtime: prio 1"),
    ("IOPRIO_CLASS_IDLE", 0, "idle"),  # (busybox prints no level for idle)
])
def test_io_priority(runtime, bundle, cls, prio, expected):
    b = bundle(["sh", "-c", "ionice -p $$; sh -c 'ionice -p $$'"],
               process={"ioPriority": {"class": cls, "priority": prio}})
    res = run_ok(runtime, b)
    # the process and its children
    assert res.stdout.splitlines() == [expected, expected], res.describe()


# --------------------------------------------------------------------------- execCPUAffinity


def cpus_allowed(text: str) -> str:
    return status_fields(text)["Cpus_allowed_list"]


@pytest.mark.pyrunc_only(reason="runc 1.1.5 lacks process.execCPUAffinity (runc >= 1.2)")
def test_exec_cpu_affinity_final(runtime, bundle, cid, workdir):
    if len(os.sched_getaffinity(0)) < 2 or not {0, 1} <= os.sched_getaffinity(0):
        pytest.skip("needs CPUs 0 and 1")
    b = bundle(["sleep", "30"])
    runtime.create(cid, b)
    runtime.start(cid)
    proc = dict(b.config["process"], args=["cat", "/proc/self/status"],
                execCPUAffinity={"initial": "0", "final": "1"})
    pfile = workdir / "process.json"
    pfile.write_text(json.dumps(proc))
    res = runtime.run("exec", "--process", pfile, cid)
    assert res.returncode == 0, res.describe()
    init = runtime.run("exec", cid, "cat", "/proc/1/status")
    runtime.kill(cid)
    runtime.wait_status(cid, "stopped")
    runtime.delete(cid)
    assert cpus_allowed(res.stdout) == "1"
    # "not applicable to the container's init process"
    assert cpus_allowed(init.stdout) == cpus_allowed(open("/proc/self/status").read())


# --------------------------------------------------------------------------- personality


@pytest.mark.pyrunc_only(reason="runc 1.1.5 ignores linux.personality")
@pytest.mark.parametrize("domain", ["LINUX32", "LINUX"])
def test_personality(runtime, bundle, domain):
    if platform.machine() != "x86_64":
        pytest.skip("expects an x86_64 host")
    b = bundle(["sh", "-c", "uname -m; cat /proc/self/personality"],
               linux={"personality": {"domain": domain}})
    res = run_ok(runtime, b)
    machine, pers = res.stdout.split()
    if domain == "LINUX32":
        assert machine == "i686"
        assert int(pers, 16) & 0xff == 0x08
    else:
        assert machine == "x86_64"
        assert int(pers, 16) & 0xff == 0


# --------------------------------------------------------------------------- noNewPrivileges


@pytest.mark.parametrize("nnp", [True, False])
def test_no_new_privileges_for_non_root_user(runtime, bundle, nnp):
    b = bundle(["cat", "/proc/self/status"],
               process={"noNewPrivileges": nnp, "user": {"uid": 1000, "gid": 1000}})
    res = run_ok(runtime, b)
    f = status_fields(res.stdout)
    assert f["NoNewPrivs"] == ("1" if nnp else "0")
    assert f["Uid"].split() == ["1000"] * 4


# --------------------------------------------------------------------------- session keyring


def keyrings(text: str) -> list[str]:
    return [line.split()[-2].rstrip(":") for line in text.splitlines() if " keyring " in line]


def keyrings_seen(runtime, bundle, cid, *flags) -> list[str]:
    b = bundle(["cat", "/proc/keys"], edit=lambda c: c["linux"].update(maskedPaths=[]))
    res = run_ok(runtime, b, *flags, cid=cid)
    names = keyrings(res.stdout)
    assert names, res.describe()
    return names


@pytest.mark.parametrize("new_keyring", [True, False])
def test_session_keyring_named_after_container(runtime, bundle, cid, new_keyring):
    """runc's command line: a new session keyring named after the container, unless
    ``--no-new-keyring``."""
    names = keyrings_seen(runtime, bundle, cid, *([] if new_keyring else ["--no-new-keyring"]))
    ours = [n for n in names if cid in n]
    assert len(ours) == (1 if new_keyring else 0), names


def test_session_keyring_name_is_runcs(runtime, bundle, cid):
    """runc names the keyring ``_ses.<id>``."""
    names = keyrings_seen(runtime, bundle, cid)
    assert f"_ses.{cid}" in names, names
