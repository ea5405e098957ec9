"""containerd drives the runtime under test: ``ctr`` against a private containerd 1.6 whose
runc v2 shim runs ``--runc-binary <runtime>`` (or ``runc`` from its PATH, see
``containerd_path_runc``).

Runtime-agnostic: ``PYRUNC_TEST_RUNTIME=runc`` must pass this file unchanged.  Each test's
containers are removed at its end and the shim's runtime root
(``/run/containerd/runc/<namespace>``) must hold nothing of them.

On a failure the assertion message holds the ``ctr`` commands, the runtime's ``log.json``
(written by the shim's ``--log``, kept while the bundle exists) and the containerd log lines
naming the test's containers (``Session.diagnose``).
"""

# The fixtures are imported from engines/containerd_fixture.py (not a conftest): test
# parameters named like them are what pyflakes calls redefinitions.
# ruff: noqa: F811

from __future__ import annotations

import fcntl
import json
import os
import re
import select
import struct
import subprocess
import termios
import time
from pathlib import Path

import pytest

from engines.containerd_fixture import (  # noqa: F401  (fixtures are used by name)
    IMAGE,
    Session,
    alive,
    cgroup_dirs,
    containerd,
    containerd_path_runc,
    ctrd,
    ctrd_path_runc,
    describe,
)

LOOP = "while :; do sleep 0.1; done"


# --------------------------------------------------------------------------- helpers


def wait_until(predicate, timeout: float = 10.0, what: str = "condition", diag=None):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout}s waiting for {what}"
                        + (f"\n{diag()}" if diag else ""), pytrace=False)
        time.sleep(0.05)


def run_rm(s: Session, cid: str, *cmd: str, opts: tuple[str, ...] = (), **kw) -> subprocess.CompletedProcess:
    """``ctr run --rm --runc-binary <runtime> [opts] IMAGE cid cmd...`` (attached)."""
    return s.ctr("run", "--rm", "--runc-binary", s.d.runtime, *opts, IMAGE, cid, *cmd, **kw)


def run_detached(s: Session, cid: str, script: str, *opts: str, ready: str | None = "ready") -> Path:
    """``ctr run -d`` of ``sh -c script`` with its output in a file (``--log-uri file://``);
    waits for ``ready`` in that output.  Returns the output file."""
    out = s.d.dir / "io" / f"{cid}.log"
    out.parent.mkdir(exist_ok=True)
    res = s.ctr("run", "-d", "--runc-binary", s.d.runtime, "--log-uri", f"file://{out}", *opts,
                IMAGE, cid, "sh", "-c", script)
    assert res.returncode == 0, s.diagnose(res)
    s.save_runtime_log(cid)
    if ready is not None:
        wait_until(lambda: out.exists() and ready in out.read_text(), what=f"{ready!r} from {cid}",
                   diag=lambda: s.diagnose(res))
    return out


def remove(s: Session, cid: str) -> subprocess.CompletedProcess:
    """Delete the (stopped) task and the container; returns the task delete result."""
    s.save_runtime_log(cid)
    res = s.ctr("tasks", "delete", cid)
    assert res.returncode == 0, s.diagnose(res)
    res2 = s.ctr("containers", "delete", cid)
    assert res2.returncode == 0, s.diagnose(res2)
    return res


def kill_and_remove(s: Session, cid: str) -> None:
    res = s.ctr("tasks", "kill", "-s", "SIGKILL", cid)
    assert res.returncode == 0, s.diagnose(res)
    assert s.wait_status(cid, "STOPPED") == "STOPPED", s.diagnose(res)
    remove(s, cid)


def assert_no_runtime_state(s: Session, *cids: str) -> None:
    """The shim's runtime root knows none of ``cids`` (and, as each daemon has its own
    namespace and one worker runs one test at a time, nothing at all)."""
    ids = s.runtime_ids()
    assert ids == [], f"`{s.d.runtime} --root {s.d.runtime_root} list -q` still shows {ids}"
    for cid in cids:
        assert not (s.d.runtime_root / cid).exists(), f"{s.d.runtime_root / cid} still exists"
        assert not s.d.bundle_dir(cid).exists(), f"bundle {s.d.bundle_dir(cid)} still exists"
        left = cgroup_dirs(f"{s.d.namespace}/{cid}")
        assert not left, f"the container's cgroups still exist: {left}"


def exit_code_of_delete(res: subprocess.CompletedProcess) -> int:
    """ctr 1.6 has no ``task wait``: ``ctr task delete`` reports a non-zero exit status as a
    warning ('task X exit with non-zero exit code N') and exits 0."""
    m = re.search(r"exit with non-zero exit code (\d+)", res.stderr)
    return int(m.group(1)) if m else 0


def run_in_pty(argv: list[str], *, rows: int = 33, cols: int = 101, answer: tuple[str, str] | None = None,
               timeout: float = 30.0) -> tuple[int, str]:
    """Run ``argv`` with a new pseudo-terminal (rows x cols) as its controlling terminal and
    stdio; when the output matches the regex ``answer[0]``, type ``answer[1]``.  Returns the
    exit status and the output (NULs and CRs removed)."""
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
    try:
        proc = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave, start_new_session=True,
                                preexec_fn=lambda: fcntl.ioctl(0, termios.TIOCSCTTY, 0))
    finally:
        os.close(slave)
    out = b""
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.2)
            if ready:
                try:
                    chunk = os.read(master, 4096)
                except OSError:  # EIO: every slave fd is closed
                    break
                if not chunk:
                    break
                out += chunk
                if answer and re.search(answer[0], _clean(out)):
                    os.write(master, answer[1].encode())
                    answer = None
            elif proc.poll() is not None:
                break
        try:
            rc = proc.wait(timeout=max(1.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            rc = -1
    finally:
        os.close(master)
    return rc, _clean(out)


def _clean(out: bytes) -> str:
    return out.decode(errors="replace").replace("\r", "").replace("\0", "")


# --------------------------------------------------------------------------- ctr run


@pytest.mark.parametrize("code", [0, 3])
def test_run_rm_output_and_exit_code(ctrd: Session, code: int):
    cid = ctrd.new_id("run")
    res = run_rm(ctrd, cid, "sh", "-c", f"echo out; echo err >&2; exit {code}")
    assert res.returncode == code, ctrd.diagnose(res)
    assert res.stdout == "out\n", ctrd.diagnose(res)
    assert "err" in res.stderr.splitlines(), ctrd.diagnose(res)
    assert cid not in ctrd.ctr("containers", "ls", "-q").stdout.split()
    assert_no_runtime_state(ctrd, cid)


def test_run_stdin_env_cwd(ctrd: Session):
    cid = ctrd.new_id("stdin")
    # (ctr run never closes the task's stdin at EOF: the script must not wait for it)
    res = run_rm(ctrd, cid, "sh", "-c", 'read line; echo "got:$line"; echo "$FOO"; pwd; read l2; echo "$l2"',
                 opts=("--env", "FOO=bar", "--cwd", "/tmp"), input="hello\nrest\n")
    assert res.returncode == 0, ctrd.diagnose(res)
    assert res.stdout == "got:hello\nbar\n/tmp\nrest\n", ctrd.diagnose(res)


def test_run_missing_cwd_is_created(ctrd: Session):
    """An image's WorkingDir (here --cwd) need not exist in the rootfs: runc creates it
    (mkdir -p inside the container's root) before chdir, and images rely on that."""
    cid = ctrd.new_id("cwd")
    res = run_rm(ctrd, cid, "sh", "-c", "pwd; stat -c %a .", opts=("--cwd", "/work/dir"))
    assert res.returncode == 0, ctrd.diagnose(res)
    assert res.stdout == "/work/dir\n755\n", ctrd.diagnose(res)
    assert_no_runtime_state(ctrd, cid)


def test_runtime_errors_reach_ctr(ctrd: Session):
    """The shim reads the runtime's error from <bundle>/log.json: it must reach the user, and
    a failed create must leave nothing behind (state, cgroup, bundle)."""
    cid = ctrd.new_id("err")
    res = run_rm(ctrd, cid, "/nonexistent")
    assert res.returncode != 0, ctrd.diagnose(res)
    assert "OCI runtime create failed" in res.stderr, ctrd.diagnose(res)
    assert "/nonexistent" in res.stderr and "no such file or directory" in res.stderr.lower(), \
        ctrd.diagnose(res)
    assert cid not in ctrd.ctr("containers", "ls", "-q").stdout.split()
    assert_no_runtime_state(ctrd, cid)

    cid = ctrd.new_id("execerr")
    run_detached(ctrd, cid, f"echo ready; {LOOP}")
    res = ctrd.ctr("tasks", "exec", "--exec-id", "x1", cid, "/nonexistent")
    assert res.returncode != 0 and "OCI runtime exec failed" in res.stderr, ctrd.diagnose(res)
    assert "/nonexistent" in res.stderr and "no such file or directory" in res.stderr.lower(), \
        ctrd.diagnose(res)
    res = ctrd.ctr("tasks", "exec", "--exec-id", "x2", "--cwd", "/nope", cid, "pwd")
    assert res.returncode != 0 and "OCI runtime exec failed" in res.stderr, ctrd.diagnose(res)
    err = res.stderr.lower()
    assert "cwd" in err and "/nope" in err and "no such file or directory" in err, ctrd.diagnose(res)
    # the task survives failed execs
    res = ctrd.ctr("tasks", "exec", "--exec-id", "x3", cid, "echo", "still-here")
    assert res.returncode == 0 and res.stdout == "still-here\n", ctrd.diagnose(res)
    kill_and_remove(ctrd, cid)
    assert_no_runtime_state(ctrd, cid)


def test_runtime_under_test_runs_the_task(ctrd: Session):
    """While the task runs, the runtime under test (same --root as the shim) reports it:
    proof that --runc-binary was honoured, and that its state is what the shim sees."""
    cid = ctrd.new_id("state")
    run_detached(ctrd, cid, f"echo ready; {LOOP}")
    assert ctrd.task_status(cid) == "RUNNING"
    pid = ctrd.task_pid(cid)
    assert cid in ctrd.runtime_ids()
    res = ctrd.d.runtime_cmd("state", cid)
    assert res.returncode == 0, ctrd.diagnose(res)
    st = json.loads(res.stdout)
    assert st["id"] == cid and st["status"] == "running" and st["pid"] == pid, ctrd.diagnose(res)
    assert os.path.realpath(st["bundle"]) == os.path.realpath(ctrd.d.bundle_dir(cid)), ctrd.diagnose(res)
    kill_and_remove(ctrd, cid)
    assert_no_runtime_state(ctrd, cid)


# --------------------------------------------------------------------------- exec


def test_task_exec_output_and_exit_code(ctrd: Session):
    cid = ctrd.new_id("exec")
    run_detached(ctrd, cid, f"echo ready; {LOOP}")
    res = ctrd.ctr("tasks", "exec", "--exec-id", "e1", cid, "sh", "-c", "echo in-exec; echo err >&2; exit 7")
    assert res.returncode == 7, ctrd.diagnose(res)
    assert res.stdout == "in-exec\n" and "err" in res.stderr.splitlines(), ctrd.diagnose(res)
    res = ctrd.ctr("tasks", "exec", "--exec-id", "e2", "--cwd", "/tmp", "--user", "1000", cid,
                   "sh", "-c", "pwd; id -u; id -g")
    assert res.returncode == 0, ctrd.diagnose(res)
    assert res.stdout == "/tmp\n1000\n1000\n", ctrd.diagnose(res)
    # the exec'd processes are gone: only the init (and its sleep) remain
    init = ctrd.task_pid(cid)
    res = ctrd.ctr("tasks", "ps", cid)
    pids = {int(line.split()[0]) for line in res.stdout.splitlines()[1:] if line.split()}
    assert init in pids and len(pids) <= 2, ctrd.diagnose(res)
    kill_and_remove(ctrd, cid)
    assert_no_runtime_state(ctrd, cid)


# --------------------------------------------------------------------------- kill / status


def test_kill_sigterm_trapped(ctrd: Session):
    """``ctr task kill`` (SIGTERM) reaches a trap; the attached ``ctr run`` (which waits for
    the task) exits with the task's status."""
    cid = ctrd.new_id("term")
    out = ctrd.d.dir / "io" / f"{cid}.out"
    out.parent.mkdir(exist_ok=True)
    with open(out, "wb") as f:
        proc = subprocess.Popen(
            ctrd.d.ctr_argv("run", "--rm", "--runc-binary", ctrd.d.runtime, IMAGE, cid, "sh", "-c",
                            f'trap "echo got TERM; exit 3" TERM; echo ready; {LOOP}'),
            stdin=subprocess.DEVNULL, stdout=f, stderr=subprocess.STDOUT)
    try:
        wait_until(lambda: "ready" in out.read_text() or proc.poll() is not None, what="ready",
                   diag=lambda: ctrd.diagnose())
        assert ctrd.task_status(cid) == "RUNNING", out.read_text() + ctrd.diagnose()
        res = ctrd.ctr("tasks", "kill", cid)
        assert res.returncode == 0, ctrd.diagnose(res)
        rc = proc.wait(timeout=15)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert rc == 3, out.read_text() + ctrd.diagnose()
    assert out.read_text() == "ready\ngot TERM\n"
    assert_no_runtime_state(ctrd, cid)


def test_kill_sigkill_after_ignored_sigterm(ctrd: Session):
    cid = ctrd.new_id("kill")
    run_detached(ctrd, cid, f'trap "" TERM; echo ready; {LOOP}')
    res = ctrd.ctr("tasks", "kill", "-s", "SIGTERM", cid)
    assert res.returncode == 0, ctrd.diagnose(res)
    time.sleep(0.5)
    assert ctrd.task_status(cid) == "RUNNING", ctrd.diagnose(res)
    res = ctrd.ctr("tasks", "kill", "-s", "SIGKILL", cid)
    assert res.returncode == 0, ctrd.diagnose(res)
    assert ctrd.wait_status(cid, "STOPPED") == "STOPPED", ctrd.diagnose(res)
    res = remove(ctrd, cid)
    assert exit_code_of_delete(res) == 137, ctrd.diagnose(res)
    assert_no_runtime_state(ctrd, cid)


def test_detached_task_exit_status(ctrd: Session):
    cid = ctrd.new_id("exit")
    out = run_detached(ctrd, cid, "echo ready; exit 5")
    assert ctrd.wait_status(cid, "STOPPED") == "STOPPED", ctrd.diagnose()
    assert out.read_text() == "ready\n"
    res = remove(ctrd, cid)
    assert exit_code_of_delete(res) == 5, ctrd.diagnose(res)
    assert_no_runtime_state(ctrd, cid)


def test_kill_all(ctrd: Session):
    """``ctr task kill --all`` makes the shim run ``<runtime> kill --all``: every process of
    the container gets the signal, not only the init."""
    cid = ctrd.new_id("killall")
    run_detached(ctrd, cid, "sleep 1000 & sleep 1000 & echo ready; wait")
    init = ctrd.task_pid(cid)
    res = ctrd.ctr("tasks", "ps", cid)
    pids = {int(line.split()[0]) for line in res.stdout.splitlines()[1:] if line.split()}
    assert len(pids) == 3 and init in pids, ctrd.diagnose(res)
    res = ctrd.ctr("tasks", "kill", "--all", "-s", "SIGKILL", cid)
    assert res.returncode == 0, ctrd.diagnose(res)
    assert ctrd.wait_status(cid, "STOPPED") == "STOPPED", ctrd.diagnose(res)
    wait_until(lambda: not any(alive(p) for p in pids), timeout=5,
               what="every process of the container to die")
    res = remove(ctrd, cid)
    assert exit_code_of_delete(res) == 137, ctrd.diagnose(res)
    assert_no_runtime_state(ctrd, cid)


# --------------------------------------------------------------------------- terminals


def test_run_tty(ctrd: Session):
    cid = ctrd.new_id("tty")
    script = ('tty; i=0; while [ "$(stty size 2>/dev/null)" != "33 101" ] && [ $i -lt 50 ]; do '
              'sleep 0.1; i=$((i+1)); done; stty size; read x; echo "got:$x"; exit 5')
    rc, out = run_in_pty(ctrd.d.ctr_argv("run", "--rm", "-t", "--runc-binary", ctrd.d.runtime, IMAGE, cid,
                                         "sh", "-c", script),
                         answer=(r"\n\d+ \d+\n", "hello\n"))
    assert rc == 5, out + ctrd.diagnose()
    lines = out.splitlines()
    assert "/dev/pts/0" in lines, out
    assert "33 101" in lines, out  # ctr's terminal size reached the container's terminal
    assert "got:hello" in lines, out
    assert_no_runtime_state(ctrd, cid)


def test_exec_tty(ctrd: Session):
    cid = ctrd.new_id("xtty")
    run_detached(ctrd, cid, f"echo ready; {LOOP}")
    rc, out = run_in_pty(ctrd.d.ctr_argv("tasks", "exec", "-t", "--exec-id", "t1", cid,
                                         "sh", "-c", "tty; [ -t 0 ] && [ -t 1 ] && echo both-tty; exit 6"))
    assert rc == 6, out + ctrd.diagnose()
    assert re.search(r"^/dev/pts/\d+$", out, re.M), out
    assert "both-tty" in out.splitlines(), out
    kill_and_remove(ctrd, cid)
    assert_no_runtime_state(ctrd, cid)


# --------------------------------------------------------------------------- cgroup commands


def test_pause_resume(ctrd: Session):
    cid = ctrd.new_id("pause")
    out = run_detached(ctrd, cid, "echo ready; while :; do echo tick; sleep 0.05; done")
    res = ctrd.ctr("tasks", "pause", cid)
    assert res.returncode == 0, ctrd.diagnose(res)
    assert ctrd.task_status(cid) == "PAUSED", ctrd.diagnose(res)
    st = ctrd.d.runtime_cmd("state", cid)
    assert '"paused"' in st.stdout, ctrd.diagnose(st)
    # frozen: no output while paused
    time.sleep(0.3)
    before = out.read_text()
    time.sleep(0.5)
    assert out.read_text() == before, "the task kept running while PAUSED"
    res = ctrd.ctr("tasks", "resume", cid)
    assert res.returncode == 0, ctrd.diagnose(res)
    assert ctrd.task_status(cid) == "RUNNING", ctrd.diagnose(res)
    st = ctrd.d.runtime_cmd("state", cid)
    assert '"running"' in st.stdout, ctrd.diagnose(st)
    wait_until(lambda: len(out.read_text()) > len(before), what="output after resume")
    kill_and_remove(ctrd, cid)
    assert_no_runtime_state(ctrd, cid)


def test_task_ps(ctrd: Session):
    cid = ctrd.new_id("ps")
    run_detached(ctrd, cid, "sleep 1000 & echo ready; wait")
    init = ctrd.task_pid(cid)

    def children() -> set[int]:
        try:
            return {int(p) for p in Path(f"/proc/{init}/task/{init}/children").read_text().split()}
        except OSError:
            return set()

    kids = wait_until(children, what="the init's child")
    res = ctrd.ctr("tasks", "ps", cid)
    assert res.returncode == 0, ctrd.diagnose(res)
    pids = {int(line.split()[0]) for line in res.stdout.splitlines()[1:] if line.split()}
    assert pids == {init} | kids, ctrd.diagnose(res)
    kill_and_remove(ctrd, cid)
    assert_no_runtime_state(ctrd, cid)


def test_task_metrics(ctrd: Session):
    """The shim reads the cgroup (v1 here) itself: the runtime must have made it where the
    spec says, with the limit set."""
    cid = ctrd.new_id("metrics")
    run_detached(ctrd, cid, "sleep 1000 & echo ready; wait", "--memory-limit", "67108864")
    res = ctrd.ctr("tasks", "metrics", cid)
    assert res.returncode == 0, ctrd.diagnose(res)
    values = dict(line.split(None, 1) for line in res.stdout.splitlines() if len(line.split()) >= 2)
    assert values.get("memory.limit_in_bytes", "").strip() == "67108864", ctrd.diagnose(res)
    assert values.get("pids.current", "").strip() == "2", ctrd.diagnose(res)
    kill_and_remove(ctrd, cid)
    assert_no_runtime_state(ctrd, cid)


def test_run_spec_options(ctrd: Session, tmp_path: Path):
    """Spec fields ctr sets: read-only rootfs, a read-only bind mount, --cap-add, seccomp
    (the default profile) and no_new_privs."""
    host = tmp_path / "hostdir"
    host.mkdir()
    (host / "f").write_text("from-host\n")
    cid = ctrd.new_id("spec")
    script = ("cat /h/f; touch /x 2>/dev/null && echo rootfs-rw || echo rootfs-ro; "
              "touch /h/y 2>/dev/null && echo bind-rw || echo bind-ro; "
              "grep -E '^(Seccomp|NoNewPrivs|CapEff):' /proc/self/status")
    res = run_rm(ctrd, cid, "sh", "-c", script,
                 opts=("--read-only", "--mount", f"type=bind,src={host},dst=/h,options=rbind:ro",
                       "--cap-add", "CAP_SYS_ADMIN", "--seccomp"))
    assert res.returncode == 0, ctrd.diagnose(res)
    lines = res.stdout.splitlines()
    assert lines[:3] == ["from-host", "rootfs-ro", "bind-ro"], ctrd.diagnose(res)
    status = dict(line.split(":\t", 1) for line in lines[3:])
    assert status.get("Seccomp") == "2" and status.get("NoNewPrivs") == "1", ctrd.diagnose(res)
    assert int(status["CapEff"], 16) & (1 << 21), ctrd.diagnose(res)  # CAP_SYS_ADMIN
    assert not (host / "y").exists()
    assert_no_runtime_state(ctrd, cid)


# --------------------------------------------------------------------------- delete


def test_delete_leaves_no_runtime_state(ctrd: Session):
    cid = ctrd.new_id("del")
    run_detached(ctrd, cid, f"echo ready; {LOOP}")
    assert (ctrd.d.runtime_root / cid).is_dir()
    assert ctrd.runtime_ids() == [cid]
    res = ctrd.ctr("tasks", "kill", "-s", "SIGKILL", cid)
    assert res.returncode == 0, ctrd.diagnose(res)
    assert ctrd.wait_status(cid, "STOPPED") == "STOPPED", ctrd.diagnose(res)
    res = ctrd.ctr("tasks", "delete", cid)
    assert res.returncode == 0, ctrd.diagnose(res)
    assert ctrd.task_status(cid) is None
    assert ctrd.runtime_ids() == [], ctrd.diagnose(res)
    assert not (ctrd.d.runtime_root / cid).exists(), ctrd.diagnose(res)
    res = ctrd.ctr("containers", "delete", cid)
    assert res.returncode == 0, ctrd.diagnose(res)
    assert_no_runtime_state(ctrd, cid)
    # the shim is gone too
    wait_until(lambda: not _shim_of(ctrd, cid), timeout=5, what=f"the shim of {cid} to exit")


def _shim_of(s: Session, cid: str) -> list[int]:
    found = []
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                cmd = Path(f"/proc/{entry.name}/cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if b"containerd-shim-runc-v2" in cmd[0] and cid.encode() in cmd and \
                    s.d.address.encode() in cmd:
                found.append(int(entry.name))
    return found


# --------------------------------------------------------------------------- PATH's runc


def test_no_pivot(ctrd_path_runc: Session):
    """``--no-pivot`` drops ``--runc-binary``: the shim runs ``runc`` from containerd's PATH,
    which here is the runtime under test (its wrapper logs each call)."""
    s = ctrd_path_runc
    cid = s.new_id("nopivot")
    res = s.ctr("run", "--rm", "--no-pivot", IMAGE, cid, "sh", "-c", "echo hi; exit 2")
    assert res.returncode == 2, s.diagnose(res)
    assert res.stdout == "hi\n", s.diagnose(res)
    calls = [line for line in s.d.calls_log.read_text().splitlines() if line.endswith(" " + cid)]
    creates = [line for line in calls if " create " in line]
    assert creates and "--no-pivot" in creates[0].split(), calls
    assert any(" start " in line for line in calls), calls
    assert_no_runtime_state(s, cid)


def test_uidmap(ctrd_path_runc: Session):
    """``--uidmap``/``--gidmap`` drop ``--runc-binary`` too; root in the container is the
    host's 100000."""
    s = ctrd_path_runc
    cid = s.new_id("userns")
    res = s.ctr("run", "--rm", "--uidmap", "0:100000:65536", "--gidmap", "0:100000:65536", IMAGE, cid,
                "sh", "-c", "cat /proc/self/uid_map /proc/self/gid_map; id -u; stat -c %u /bin/busybox")
    assert res.returncode == 0, s.diagnose(res)
    lines = [line.split() for line in res.stdout.splitlines()]
    assert lines == [["0", "100000", "65536"], ["0", "100000", "65536"], ["0"], ["0"]], s.diagnose(res)
    assert any(" create " in line and line.endswith(" " + cid)
               for line in s.d.calls_log.read_text().splitlines())
    assert_no_runtime_state(s, cid)


def test_container_create_then_task_start(ctrd_path_runc: Session):
    """``ctr container create`` has no --runc-binary: the shim runs PATH's runc.  The task
    is created by ``ctr task start`` (attached: its status is ctr's)."""
    s = ctrd_path_runc
    cid = s.new_id("cstart")
    res = s.ctr("containers", "create", IMAGE, cid, "--", "sh", "-c", "echo started; exit 4")
    assert res.returncode == 0, s.diagnose(res)
    res = s.ctr("tasks", "start", cid)
    assert res.returncode == 4, s.diagnose(res)
    assert res.stdout == "started\n", s.diagnose(res)
    assert s.task_status(cid) is None, s.diagnose(res)
    res = s.ctr("containers", "delete", cid)
    assert res.returncode == 0, s.diagnose(res)
    assert any(" create " in line and line.endswith(" " + cid)
               for line in s.d.calls_log.read_text().splitlines())
    assert_no_runtime_state(s, cid)
