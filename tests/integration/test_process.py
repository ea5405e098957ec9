"""The container process: user and groups, umask, env, cwd, noNewPrivileges, capabilities,
rlimits, file descriptors."""

from __future__ import annotations

import os
import re

import pytest

from .util import run_ok, status_fields

STATUS = ["cat", "/proc/self/status"]


def test_user_uid_gid_additional_gids(runtime, bundle):
    b = bundle(["sh", "-c", "cat /proc/self/status; echo ==; id"],
               process={"user": {"uid": 1000, "gid": 1000, "additionalGids": [2000]}})
    res = run_ok(runtime, b)
    status, ident = res.stdout.split("==\n")
    f = status_fields(status)
    assert f["Uid"].split() == ["1000"] * 4
    assert f["Gid"].split() == ["1000"] * 4
    assert f["Groups"].split() == ["2000"]
    assert ident.startswith("uid=1000(test) gid=1000(test)")
    assert "2000(extra)" in ident


@pytest.mark.parametrize("uid", [0, 1000])
def test_no_supplementary_groups_without_additional_gids(runtime, bundle, uid):
    # the runtime itself runs with extra groups: none may reach the container, and the
    # image's /etc/group (which lists 'test' in group 'extra') must not be consulted
    b = bundle(STATUS, process={"user": {"uid": uid, "gid": uid}})
    res = run_ok(runtime, b, extra_groups=[4242, 4343])
    f = status_fields(res.stdout)
    assert f["Groups"].split() == []
    assert f["Uid"].split() == [str(uid)] * 4


def test_umask(runtime, bundle):
    b = bundle(["sh", "-c", "umask; touch /tmp/f; mkdir /tmp/d; stat -c %a /tmp/f /tmp/d"],
               process={"user": {"uid": 0, "gid": 0, "umask": 0o027}})
    res = run_ok(runtime, b)
    assert res.stdout.split() == ["0027", "640", "750"]


def test_env(runtime, bundle):
    env = ["PATH=/usr/bin:/bin", "FOO=bar baz", "EMPTY=", "MULTI=a=b=c"]
    b = bundle(["env"], process={"env": env})
    host_env = dict(os.environ, PYRUNC_TEST_LEAK="leaked-from-host")
    res = run_ok(runtime, b, env=host_env)
    lines = res.stdout.splitlines()
    for var in env:
        assert var in lines, f"{var!r} missing from {lines}"
    assert not any(line.startswith("PYRUNC_TEST_LEAK=") for line in lines)
    assert not any("leaked-from-host" in line for line in lines)


@pytest.mark.parametrize("cwd", ["/home/test", "/tmp", "/"])
def test_cwd(runtime, bundle, cwd):
    b = bundle(["pwd"], process={"cwd": cwd})
    res = run_ok(runtime, b)
    assert res.stdout == cwd + "\n"


def test_path_lookup_uses_container_env(runtime, bundle):
    # 'hello' only exists in a directory named by the container's PATH
    b = bundle(["hello"], process={"env": ["PATH=/opt/tools:/bin"]})
    tools = b.rootfs / "opt" / "tools"
    tools.mkdir(parents=True)
    (tools / "hello").write_text("#!/bin/sh\necho hello-from-path\n")
    os.chmod(tools / "hello", 0o755)
    res = run_ok(runtime, b)
    assert res.stdout == "hello-from-path\n"


@pytest.mark.parametrize("nnp", [True, False])
def test_no_new_privileges(runtime, bundle, nnp):
    b = bundle(STATUS, process={"noNewPrivileges": nnp})
    res = run_ok(runtime, b)
    assert status_fields(res.stdout)["NoNewPrivs"] == ("1" if nnp else "0")


CAP_NUMBERS = {
    "CAP_CHOWN": 0,
    "CAP_DAC_OVERRIDE": 1,
    "CAP_KILL": 5,
    "CAP_SETGID": 6,
    "CAP_SETUID": 7,
    "CAP_NET_BIND_SERVICE": 10,
    "CAP_NET_RAW": 13,
    "CAP_SYS_CHROOT": 18,
    "CAP_SYS_ADMIN": 21,
    "CAP_AUDIT_WRITE": 29,
}


def capmask(names) -> int:
    mask = 0
    for name in names:
        mask |= 1 << CAP_NUMBERS[name]
    return mask


def caps_in_status(text: str) -> dict[str, int]:
    f = status_fields(text)
    return {k: int(f[k], 16) for k in ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb")}


def test_capabilities_all_five_sets_non_root(runtime, bundle):
    # For a non-root user exec'ing a file without file capabilities the kernel makes the
    # new permitted and effective sets equal to the ambient set: configure them equal so
    # every configured set is observable exactly.
    bounding = ["CAP_CHOWN", "CAP_KILL", "CAP_NET_BIND_SERVICE", "CAP_SETUID", "CAP_SYS_CHROOT"]
    inheritable = ["CAP_KILL", "CAP_NET_BIND_SERVICE", "CAP_CHOWN"]
    ambient = ["CAP_KILL", "CAP_NET_BIND_SERVICE"]
    b = bundle(STATUS, process={
        "user": {"uid": 1000, "gid": 1000},
        "capabilities": {
            "bounding": bounding,
            "effective": ambient,
            "permitted": ambient,
            "inheritable": inheritable,
            "ambient": ambient,
        },
    })
    res = run_ok(runtime, b)
    caps = caps_in_status(res.stdout)
    assert caps == {
        "CapBnd": capmask(bounding),
        "CapInh": capmask(inheritable),
        "CapPrm": capmask(ambient),
        "CapEff": capmask(ambient),
        "CapAmb": capmask(ambient),
    }, {k: hex(v) for k, v in caps.items()}


def test_capabilities_root_limited_by_bounding_set(runtime, bundle):
    sets = ["CAP_CHOWN", "CAP_KILL", "CAP_AUDIT_WRITE"]
    b = bundle(STATUS, process={
        "user": {"uid": 0, "gid": 0},
        "capabilities": {"bounding": sets, "effective": sets, "permitted": sets},
    })
    res = run_ok(runtime, b)
    caps = caps_in_status(res.stdout)
    assert caps == {
        "CapBnd": capmask(sets),
        "CapInh": 0,
        "CapPrm": capmask(sets),
        "CapEff": capmask(sets),
        "CapAmb": 0,
    }, {k: hex(v) for k, v in caps.items()}


def test_capabilities_none(runtime, bundle):
    b = bundle(STATUS, process={"capabilities": {"bounding": [], "effective": [], "permitted": []}})
    res = run_ok(runtime, b)
    assert set(caps_in_status(res.stdout).values()) == {0}


def test_capabilities_are_enforced(runtime, bundle):
    # without CAP_CHOWN root cannot give a file away; with it, it can
    script = "touch /tmp/a; chown 1000 /tmp/a && echo chown-ok; echo rc=$?"
    caps = ["CAP_KILL"]
    b = bundle(["sh", "-c", script],
               process={"capabilities": {"bounding": caps, "effective": caps, "permitted": caps}})
    res = runtime.run_container(b)
    assert res.returncode == 0, res.describe()
    assert "chown-ok" not in res.stdout
    assert "Operation not permitted" in res.stderr
    assert os.stat(b.rootfs / "tmp" / "a").st_uid == 0


def test_rlimits(runtime, bundle):
    host_hard = int(open("/proc/self/limits").read().split("Max open files")[1].split()[1])
    soft, hard = 1000, 2000
    assert hard <= host_hard, "the host's hard NOFILE limit is too low for this test"
    b = bundle(["sh", "-c", "ulimit -n; ulimit -Hn; cat /proc/self/limits"], process={"rlimits": [
        {"type": "RLIMIT_NOFILE", "soft": soft, "hard": hard},
        {"type": "RLIMIT_CORE", "soft": 1048576, "hard": 2097152},
        {"type": "RLIMIT_NPROC", "soft": 500, "hard": 600},
    ]})
    res = run_ok(runtime, b)
    lines = res.stdout.splitlines()
    assert lines[:2] == [str(soft), str(hard)]
    limits = "\n".join(lines[2:])
    assert re.search(r"^Max open files\s+1000\s+2000\s+files", limits, re.M), limits
    assert re.search(r"^Max core file size\s+1048576\s+2097152\s+bytes", limits, re.M), limits
    assert re.search(r"^Max processes\s+500\s+600\s+processes", limits, re.M), limits


def fd_list(text: str) -> list[int]:
    return sorted(int(x) for x in text.split())


def test_only_stdio_fds(runtime, bundle):
    # ls opens the directory itself: the lowest free number, 3 when nothing leaked
    b = bundle(["ls", "/proc/self/fd"])
    res = run_ok(runtime, b)
    assert fd_list(res.stdout) == [0, 1, 2, 3]


def test_extra_fd_not_passed_without_preserve_fds(runtime, bundle, workdir):
    data = workdir / "fd3.txt"
    data.write_text("secret-fd3\n")
    b = bundle(["sh", "-c", "ls /proc/self/fd; cat <&3 2>/dev/null || echo no-fd3"])
    fd = os.open(data, os.O_RDONLY)
    try:
        res = run_ok(runtime, b, fds={3: fd})
    finally:
        os.close(fd)
    lines = res.stdout.splitlines()
    assert fd_list(" ".join(lines[:-1])) == [0, 1, 2, 3]
    assert lines[-1] == "no-fd3"


def test_preserve_fds(runtime, bundle, workdir):
    data = workdir / "fd3.txt"
    data.write_text("passed-fd3\n")
    b = bundle(["sh", "-c", "cat <&3; ls /proc/self/fd"])
    fd = os.open(data, os.O_RDONLY)
    try:
        res = run_ok(runtime, b, "--preserve-fds", "1", fds={3: fd})
    finally:
        os.close(fd)
    lines = res.stdout.splitlines()
    assert lines[0] == "passed-fd3"
    assert fd_list(" ".join(lines[1:])) == [0, 1, 2, 3, 4]


def test_stdio_passthrough(runtime, bundle):
    b = bundle(["sh", "-c", "read line; echo out:$line; echo err:$line >&2"])
    res = runtime.run_container(b, input="piped-in\n")
    assert res.returncode == 0, res.describe()
    assert res.stdout == "out:piped-in\n"
    assert res.stderr == "err:piped-in\n"


def test_args_are_passed_verbatim(runtime, bundle):
    args = ["printf", "[%s]\\n", "a b", "", "$HOME", "'q'", "*"]
    b = bundle(args)
    res = run_ok(runtime, b)
    assert res.stdout.splitlines() == ["[a b]", "[]", "[$HOME]", "['q']", "[*]"]
