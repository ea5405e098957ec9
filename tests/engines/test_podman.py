"""podman driving the runtime under test (PYRUNC_TEST_RUNTIME, default pyrunc).

Each test runs podman commands serially against the session's private podman (see
tests/engines/conftest.py) and checks what a podman user sees: output, exit codes, and the
effects of run options inside the container or on the host.  Containers use
``--network none`` unless the test is about networking.  runc must pass this file too.
"""

from __future__ import annotations

import json
import os
import re
import time
from pathlib import Path

import make_bundle
import pytest
from integration.util import wait_for

from engines.conftest import IMAGE, Podman, host_nofile_hard

NONET = ("--network", "none")


def run(podman: Podman, *args, input=None, ok: bool = True):
    """``podman run --rm --network none ARGS...`` (the image is named by the caller)."""
    call = podman.ok if ok else podman
    return call("run", "--rm", *NONET, *args, input=input)


def status_field(text: str, field: str) -> str:
    m = re.search(rf"^{field}:\s*(\S+)", text, re.M)
    assert m, f"{field} not in:\n{text}"
    return m.group(1)


def inspect(podman: Podman, name: str, fmt: str) -> str:
    return podman.ok("container", "inspect", "--format", fmt, name).stdout.strip()


def wait_until(pred, timeout: float = 10.0, what: str = "condition"):
    return wait_for(pred, timeout, interval=0.1, what=what)  # each poll runs podman


# --------------------------------------------------------------------------- run basics


def test_run_output(podman):
    res = run(podman, IMAGE, "sh", "-c", "echo hello; echo oops >&2")
    assert res.stdout == "hello\n"
    assert "oops" in res.stderr


def test_exit_codes(podman):
    assert run(podman, IMAGE, "sh", "-c", "exit 3", ok=False).returncode == 3
    assert run(podman, IMAGE, "false", ok=False).returncode == 1
    assert run(podman, IMAGE, "true").returncode == 0


def test_signal_death_with_init(podman):
    # as pid 1 a shell cannot kill itself with SIGKILL; under --init it is not pid 1
    res = run(podman, "--init", IMAGE, "sh", "-c", "kill -9 $$", ok=False)
    assert res.returncode == 137, res.describe()


def test_kill_and_wait_code(podman):
    podman.ok("run", "-d", "--name", "victim", *NONET, IMAGE, "sleep", "300")
    podman.ok("kill", "--signal", "KILL", "victim")
    assert podman.ok("wait", "victim").stdout.strip() == "137"
    assert inspect(podman, "victim", "{{.State.ExitCode}}") == "137"
    assert inspect(podman, "victim", "{{.State.Status}}") == "exited"


def test_wait_exit_code(podman):
    podman.ok("run", "-d", "--name", "waiter", *NONET, IMAGE, "sh", "-c", "sleep 0.3; exit 42")
    assert podman.ok("wait", "waiter").stdout.strip() == "42"


def test_env_workdir_user_hostname(podman):
    res = run(podman, "-e", "FOO=bar baz", "-w", "/home/test", "--user", "1000:2000",
              "--hostname", "podhost", IMAGE,
              "sh", "-c", 'echo "$FOO"; pwd; id -u; id -g; hostname; cat /etc/hostname')
    assert res.stdout.splitlines() == ["bar baz", "/home/test", "1000", "2000", "podhost",
                                       "podhost"]
    # a user name is resolved in the image's /etc/passwd, its groups in /etc/group
    res = run(podman, "--user", "test", IMAGE, "id")
    assert res.stdout.startswith("uid=1000(test) gid=1000(test)"), res.stdout
    res = run(podman, "--user", "1000", "--group-add", "2000", IMAGE, "id", "-G")
    assert sorted(res.stdout.split()) == ["1000", "2000"], res.stdout


def test_read_only(podman):
    res = run(podman, "--read-only", IMAGE, "sh", "-c",
              "touch /newfile 2>&1; echo rc=$?; touch /tmp/ok && echo tmp-writable", ok=False)
    assert "Read-only file system" in res.stdout, res.describe()
    assert "rc=1" in res.stdout
    assert "tmp-writable" in res.stdout


def test_cgroup_limits_visible(podman):
    res = run(podman, "--memory", "64m", "--pids-limit", "20", "--cpus", "0.5", IMAGE,
              "sh", "-c", "cat /sys/fs/cgroup/memory/memory.limit_in_bytes "
              "/sys/fs/cgroup/pids/pids.max /sys/fs/cgroup/cpu/cpu.cfs_quota_us "
              "/sys/fs/cgroup/cpu/cpu.cfs_period_us")
    assert res.stdout.split() == ["67108864", "20", "50000", "100000"], res.describe()


def test_capabilities(podman):
    res = run(podman, "--cap-drop", "ALL", "--cap-add", "NET_RAW", IMAGE,
              "cat", "/proc/self/status")
    assert int(status_field(res.stdout, "CapEff"), 16) == 1 << 13  # CAP_NET_RAW
    assert int(status_field(res.stdout, "CapBnd"), 16) == 1 << 13
    default = run(podman, IMAGE, "cat", "/proc/self/status")
    eff = int(status_field(default.stdout, "CapEff"), 16)
    assert eff & (1 << 0) and eff & (1 << 5)  # CHOWN, KILL: podman's defaults
    assert not eff & (1 << 21)  # no SYS_ADMIN


def test_no_new_privileges(podman):
    res = run(podman, "--security-opt", "no-new-privileges", IMAGE, "cat", "/proc/self/status")
    assert status_field(res.stdout, "NoNewPrivs") == "1"
    res = run(podman, IMAGE, "cat", "/proc/self/status")
    assert status_field(res.stdout, "NoNewPrivs") == "0"


def test_ulimits(podman):
    # --ulimit replaces containers.conf's default_ulimits, and podman then adds its own
    # nproc=1048576, which root without CAP_SYS_RESOURCE cannot grant: name nproc too
    res = run(podman, "--ulimit", "nofile=512:512", "--ulimit", "nproc=1000:2000", IMAGE,
              "sh", "-c", "ulimit -Sn; ulimit -Hn; ulimit -Su; ulimit -Hu")
    assert res.stdout.split() == ["512", "512", "1000", "2000"]
    # containers.conf's default_ulimits apply otherwise
    res = run(podman, IMAGE, "sh", "-c", "ulimit -Hn; ulimit -Hu")
    assert res.stdout.split() == [str(host_nofile_hard()), "32768"]


def test_ulimit_beyond_hard_limit_is_refused(podman):
    if has_cap(24):
        pytest.skip("root holds CAP_SYS_RESOURCE here: it may raise any limit")
    too_high = host_nofile_hard() + 1
    res = run(podman, "--ulimit", f"nofile={too_high}:{too_high}",
              "--ulimit", "nproc=32768:32768", IMAGE, "true", ok=False)
    assert res.returncode == 126, res.describe()  # podman's "OCI permission denied"
    text = res.stderr.lower()
    assert "rlimit" in text and "operation not permitted" in text, res.describe()
    assert "internal error" not in text, res.describe()


def has_cap(bit: int) -> bool:
    eff = int(status_field(Path("/proc/self/status").read_text(), "CapEff"), 16)
    return bool(eff & (1 << bit))


# --------------------------------------------------------------------------- detached containers


def test_detached_exec_stop_rm(podman):
    cid = podman.ok("run", "-d", "--name", "det", *NONET, IMAGE, "sh", "-c",
                    "trap 'echo got-term; exit 0' TERM; echo started; "
                    "while true; do sleep 0.1; done").stdout.strip()
    assert re.fullmatch(r"[0-9a-f]{64}", cid)
    assert inspect(podman, "det", "{{.OCIRuntime}}") == podman.runtime
    assert inspect(podman, "det", "{{.State.Status}}") == "running"
    pid = int(inspect(podman, "det", "{{.State.Pid}}"))
    assert pid > 0 and os.path.exists(f"/proc/{pid}")

    res = podman.ok("exec", "-e", "X=1", "-w", "/tmp", "det", "sh", "-c", "echo $X; pwd; id -u")
    assert res.stdout.split() == ["1", "/tmp", "0"]
    assert podman("exec", "det", "sh", "-c", "exit 7").returncode == 7
    assert podman.ok("exec", "--user", "1000", "det", "id", "-u").stdout.strip() == "1000"
    res = podman.ok("exec", "-t", "det", "sh", "-c", "tty; test -t 0 && echo stdin-tty")
    lines = res.stdout.replace("\r\n", "\n").split()
    assert re.fullmatch(r"/dev/pts/\d+", lines[0]), res.describe()
    assert lines[1] == "stdin-tty"
    res = podman("exec", "det", "/no/such/binary")
    assert res.returncode == 127, res.describe()

    podman.ok("stop", "--time", "10", "det")
    assert inspect(podman, "det", "{{.State.Status}}") == "exited"
    assert inspect(podman, "det", "{{.State.ExitCode}}") == "0"
    logs = podman.ok("logs", "det").stdout
    assert logs.split() == ["started", "got-term"], logs
    podman.ok("rm", "det")
    assert podman("container", "exists", "det").returncode == 1
    assert not os.path.exists(f"/proc/{pid}") or _is_zombie_or_other(pid)


def _is_zombie_or_other(pid: int) -> bool:
    try:
        data = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return data[data.rindex(")") + 2] in "ZX" or "sh" not in data


def test_update_and_restart(podman):
    podman.ok("run", "-d", "--name", "upd", *NONET, "--cpus", "0.5", IMAGE, "sleep", "300")
    podman.ok("update", "--cpus", "0.25", "--memory", "48m", "upd")
    res = podman.ok("exec", "upd", "cat", "/sys/fs/cgroup/cpu/cpu.cfs_quota_us",
                    "/sys/fs/cgroup/memory/memory.limit_in_bytes")
    assert res.stdout.split() == ["25000", str(48 << 20)]
    pid = inspect(podman, "upd", "{{.State.Pid}}")
    podman.ok("restart", "--time", "0", "upd")
    assert inspect(podman, "upd", "{{.State.Status}}") == "running"
    assert inspect(podman, "upd", "{{.State.Pid}}") != pid
    assert podman.ok("exec", "upd", "echo", "again").stdout == "again\n"


def test_oom_kill(podman):
    res = run(podman, "--memory", "32m", "--memory-swap", "32m", IMAGE,
              "sh", "-c", "tail /dev/zero", ok=False)
    assert res.returncode == 137, res.describe()


def test_kill_usr1(podman):
    podman.ok("run", "-d", "--name", "sig", *NONET, IMAGE, "sh", "-c",
              "trap 'echo got-usr1' USR1; echo ready; while true; do sleep 0.1; done")
    wait_until(lambda: "ready" in podman("logs", "sig").stdout, what="container ready")
    podman.ok("kill", "--signal", "USR1", "sig")
    wait_until(lambda: "got-usr1" in podman("logs", "sig").stdout, what="USR1 handled")
    assert inspect(podman, "sig", "{{.State.Status}}") == "running"


def test_pause_unpause(podman):
    podman.ok("run", "-d", "--name", "ticker", *NONET, IMAGE, "sh", "-c",
              "i=0; while true; do i=$((i+1)); echo $i; sleep 0.05; done")
    wait_until(lambda: len(podman("logs", "ticker").stdout.split()) > 2, what="ticks")
    podman.ok("pause", "ticker")
    assert inspect(podman, "ticker", "{{.State.Status}}") == "paused"
    # a tick printed just before the freeze may still be on its way through conmon's pipe:
    # take the log once it has settled, then it must stay as it is
    time.sleep(0.3)
    before = podman.ok("logs", "ticker").stdout
    time.sleep(0.6)
    assert podman.ok("logs", "ticker").stdout == before, "a paused container kept running"
    podman.ok("unpause", "ticker")
    assert inspect(podman, "ticker", "{{.State.Status}}") == "running"
    wait_until(lambda: len(podman("logs", "ticker").stdout) > len(before), what="ticks again")


def test_top(podman):
    podman.ok("run", "-d", "--name", "topped", *NONET, IMAGE, "sleep", "300")
    res = podman.ok("top", "topped")
    assert "sleep 300" in res.stdout, res.describe()
    res = podman.ok("top", "topped", "pid", "args")
    rows = [line.strip().split(None, 1) for line in res.stdout.splitlines()[1:]]
    assert ["1", "sleep 300"] in rows, res.describe()


# --------------------------------------------------------------------------- stdio


def test_run_tty(podman):
    res = run(podman, "-t", IMAGE, "sh", "-c", "tty; test -t 1 && echo out-tty; echo end")
    assert "\r\n" in res.stdout, repr(res.stdout)  # the tty's line discipline
    lines = res.stdout.replace("\r\n", "\n").split()
    assert re.fullmatch(r"/dev/pts/\d+", lines[0]), res.describe()
    assert lines[1:] == ["out-tty", "end"]


def test_run_interactive_stdin(podman):
    res = run(podman, "-i", IMAGE, "sh", "-c", "cat; echo done", input="line one\nline two\n")
    assert res.stdout == "line one\nline two\ndone\n"
    res = run(podman, "-i", IMAGE, "wc", "-l", input="a\nb\nc\n")
    assert res.stdout.strip() == "3"


# --------------------------------------------------------------------------- mounts and devices


def test_tmpfs(podman):
    res = run(podman, "--tmpfs", "/x", "--shm-size", "10m", IMAGE, "sh", "-c",
              "grep ' /x ' /proc/mounts; echo data > /x/f && cat /x/f; "
              "df -k /dev/shm | tail -n 1")
    lines = res.stdout.splitlines()
    fields = lines[0].split()
    assert fields[1] == "/x" and fields[2] == "tmpfs", res.stdout
    assert lines[1] == "data"
    assert lines[2].split()[1] == "10240", res.stdout  # /dev/shm's size in KiB


def test_bind_mounts(podman, hostdir):
    ro, rw = hostdir / "ro", hostdir / "rw"
    ro.mkdir()
    rw.mkdir()
    (ro / "file").write_text("from-host\n")
    res = run(podman, "-v", f"{ro}:/ro:ro", "-v", f"{rw}:/rw", IMAGE, "sh", "-c",
              "cat /ro/file; touch /ro/new 2>&1; echo ro-rc=$?; echo from-container > /rw/out",
              ok=False)
    assert res.returncode == 0, res.describe()
    assert "from-host" in res.stdout
    assert "Read-only file system" in res.stdout and "ro-rc=1" in res.stdout
    assert not (ro / "new").exists()
    assert (rw / "out").read_text() == "from-container\n"


def test_device(podman):
    res = run(podman, "--device", "/dev/null:/dev/mynull", IMAGE, "sh", "-c",
              "ls -l /dev/mynull; echo x > /dev/mynull && echo written; wc -c < /dev/mynull")
    first = res.stdout.splitlines()[0]
    assert first.startswith("c"), res.stdout
    assert re.search(r"\b1,\s+3\b", first), first
    assert res.stdout.splitlines()[1:] == ["written", "0"]


def test_sysctl(podman):
    res = run(podman, "--sysctl", "net.ipv4.ip_forward=1", IMAGE,
              "cat", "/proc/sys/net/ipv4/ip_forward")
    assert res.stdout.strip() == "1"


def test_rootfs_dir(podman, hostdir, base_rootfs):
    rootfs = make_bundle.clone_rootfs(base_rootfs, hostdir / "rootfs")
    (rootfs / "marker").write_text("rootfs-dir\n")
    res = podman.ok("run", "--rm", *NONET, "--rootfs", str(rootfs), "sh", "-c",
                    "cat /marker; grep ^extra: /etc/group")
    assert res.stdout.splitlines() == ["rootfs-dir", "extra:x:2000:test"]


# --------------------------------------------------------------------------- namespaces


def _host_ns(kind: str) -> str:
    return os.readlink(f"/proc/self/ns/{kind}")


def test_host_namespaces(podman):
    script = ("for ns in pid ipc uts; do readlink /proc/self/ns/$ns; done; hostname")
    shared = run(podman, "--pid", "host", "--ipc", "host", "--uts", "host", IMAGE,
                 "sh", "-c", script).stdout.split()
    assert shared == [_host_ns("pid"), _host_ns("ipc"), _host_ns("uts"), os.uname().nodename]
    private = run(podman, IMAGE, "sh", "-c", script).stdout.split()
    assert private[0] != _host_ns("pid")
    assert private[1] != _host_ns("ipc")
    assert private[2] != _host_ns("uts")


def test_pid_of_other_container(podman):
    podman.ok("run", "-d", "--name", "pidowner", *NONET, IMAGE, "sleep", "300")
    pid = int(inspect(podman, "pidowner", "{{.State.Pid}}"))
    res = run(podman, "--pid", "container:pidowner", IMAGE, "sh", "-c",
              "readlink /proc/self/ns/pid; ps -o pid,args")
    lines = res.stdout.splitlines()
    assert lines[0] == os.readlink(f"/proc/{pid}/ns/pid")
    assert any(line.split(None, 1) == ["1", "sleep 300"] for line in lines[1:]), res.stdout


def test_rm_removes_container(podman):
    run(podman, "--name", "ephemeral", IMAGE, "true")
    assert podman("container", "exists", "ephemeral").returncode == 1
    assert "ephemeral" not in podman.ok("ps", "-a", "--format", "{{.Names}}").stdout


def test_uidmap(podman, hostdir):
    data = hostdir / "data"
    data.mkdir()
    os.chmod(data, 0o777)
    res = podman.ok("run", "--rm", *NONET, "--uidmap", "0:100000:65536",
                    "--gidmap", "0:100000:65536", "-v", f"{data}:/data", IMAGE, "sh", "-c",
                    "id -u; cat /proc/self/uid_map; touch /data/made; stat -c %u /bin/busybox",
                    timeout=120)
    lines = res.stdout.splitlines()
    assert lines[0] == "0"
    assert lines[1].split() == ["0", "100000", "65536"]
    assert lines[2] == "0"  # the image's files are root's inside
    st = os.stat(data / "made")
    assert (st.st_uid, st.st_gid) == (100000, 100000)


# --------------------------------------------------------------------------- security


def test_default_seccomp(podman):
    res = run(podman, IMAGE, "cat", "/proc/self/status")
    assert status_field(res.stdout, "Seccomp") == "2"


def test_custom_seccomp_blocks_mkdir(podman, hostdir):
    profile = {
        "defaultAction": "SCMP_ACT_ALLOW",
        "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO",
                      "errnoRet": 1}],
    }
    path = hostdir / "no-mkdir.json"
    path.write_text(json.dumps(profile))
    res = run(podman, "--security-opt", f"seccomp={path}", IMAGE, "sh", "-c",
              "mkdir /tmp/d 2>&1; echo rc=$?; touch /tmp/f && echo touched", ok=False)
    assert res.returncode == 0, res.describe()
    assert "Operation not permitted" in res.stdout, res.stdout
    assert "rc=1" in res.stdout and "touched" in res.stdout


def test_init(podman):
    res = run(podman, "--init", IMAGE, "sh", "-c",
              "tr '\\0' ' ' < /proc/1/cmdline; echo; echo $$")
    lines = res.stdout.splitlines()
    assert "init" in lines[0].split()[0], res.stdout  # podman's init (catatonit) is pid 1
    assert lines[1] != "1"


def test_privileged(podman):
    my_status = Path("/proc/self/status").read_text()
    res = run(podman, "--privileged", IMAGE, "sh", "-c",
              "cat /proc/self/status; grep ' /sys ' /proc/mounts; ls /dev")
    assert status_field(res.stdout, "CapEff") == status_field(my_status, "CapBnd")
    assert status_field(res.stdout, "Seccomp") == "0"
    sys_line = next(line for line in res.stdout.splitlines() if " /sys " in line)
    assert "rw" in sys_line.split()[3].split(","), sys_line
    host_devs = [d for d in ("loop-control", "kmsg", "tty0", "fuse", "mem")
                 if os.path.exists(f"/dev/{d}")]
    if host_devs:
        assert host_devs[0] in res.stdout.split(), f"/dev/{host_devs[0]} not in the container"


# --------------------------------------------------------------------------- errors


def test_missing_executable_error(podman):
    res = podman("run", "--name", "failing", *NONET, IMAGE, "/no/such/program")
    assert res.returncode == 127, res.describe()
    errors = [line for line in res.stderr.splitlines() if line.startswith("Error")]
    assert len(errors) == 1, res.describe()
    assert "/no/such/program" in errors[0], res.describe()
    assert "no such file or directory" in errors[0].lower(), res.describe()
    # podman passed --log-format=json --log FILE (runtime_supports_json) and read the cause
    # from that file: one JSON object per line
    log = podman.runtime_log("failing")
    entries = [json.loads(line) for line in log.splitlines() if line.strip()]
    assert any(e.get("level") == "error" and "/no/such/program" in e.get("msg", "")
               for e in entries), log
    podman.ok("rm", "failing")

    res = run(podman, IMAGE, "no-such-command", ok=False)
    assert res.returncode == 127, res.describe()
    assert "no-such-command" in res.stderr and "not found" in res.stderr, res.describe()

    res = run(podman, IMAGE, "/etc/passwd", ok=False)  # not executable
    assert res.returncode == 126, res.describe()
    assert "/etc/passwd" in res.stderr and "permission denied" in res.stderr, res.describe()


# --------------------------------------------------------------------------- network


def test_bridge_network(podman, network):
    podman.ok("run", "-d", "--name", "server", "--network", network, IMAGE,
              "sh", "-c", "echo hello-over-bridge | nc -l -p 7777")
    ip = inspect(podman, "server",
                 f'{{{{(index .NetworkSettings.Networks "{network}").IPAddress}}}}')
    gateway = inspect(podman, "server",
                      f'{{{{(index .NetworkSettings.Networks "{network}").Gateway}}}}')
    assert re.fullmatch(r"\d+\.\d+\.\d+\.\d+", ip), ip
    script = (f"ip -4 -o addr show eth0; "
              f"for i in 1 2 3 4 5 6 7 8 9 10; do nc {ip} 7777 </dev/null && break; "
              f"sleep 0.2; done; ping -c 1 -W 3 {gateway} >/dev/null && echo gateway-ok")
    res = podman.ok("run", "--rm", "--network", network, IMAGE, "sh", "-c", script)
    assert "inet " in res.stdout
    assert "hello-over-bridge" in res.stdout, res.describe()
    assert "gateway-ok" in res.stdout, res.describe()
    assert podman.ok("wait", "server").stdout.strip() == "0"


# --------------------------------------------------------------------------- explain


def test_explain_prints_the_plan_of_a_podman_generated_config(podman):
    """`pyrunc explain` on the config.json podman wrote (after `podman init` mounted its root)."""
    import subprocess

    from conftest import resolve_runtime  # tests/conftest.py

    binary = resolve_runtime()
    if "pyrunc" not in subprocess.run([binary, "--version"], capture_output=True, text=True).stdout:
        pytest.skip("explain is pyrunc's")
    podman.ok("create", "--name", "explained", "--network", "none", "--memory", "64m", IMAGE, "true")
    podman.ok("init", "explained")
    bundle = Path(inspect(podman, "explained", "{{.OCIConfigPath}}")).parent
    res = subprocess.run([binary, "explain", "-b", str(bundle)], capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr
    assert "pivot_root" in res.stdout and "<- /root/path" in res.stdout
    assert "/linux/seccomp" in res.stdout  # podman's default profile
    assert "memory" in res.stdout  # the cgroup the 64m limit goes to
    podman.ok("rm", "-f", "explained")
