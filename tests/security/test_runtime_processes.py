"""CVE-2019-5736 and CVE-2016-9962: a container process must not reach a runtime process.

While a runtime (Python) process is inside the container's namespaces (the init between
`create` and `start`, the process of `exec` before its execve), it holds host fds and runs the
host's interpreter: a container process that could open /proc/<pid>/exe, read its memory or
fds, or ptrace it could overwrite the interpreter or take a host fd. Such processes are
non-dumpable from before they join the namespaces (runtime.container_init.stage1,
runtime.nsenter.enter).
"""

from __future__ import annotations

import os
import shutil
import signal
import sys
import time
from pathlib import Path

import pytest
from integration.util import wait_for

from security.util import file_digest, probe_results, with_attacker

REPO = Path(__file__).resolve().parents[2]
WAYS_IN = ("exe-link", "exe-read", "exe-write", "mem", "environ", "fd", "ptrace")


def runtime_files(runtime) -> list[str]:
    """The host files a runtime process executes: its launcher, interpreter, C shim."""
    files = [os.path.realpath(runtime.bin), os.path.realpath(sys.executable)]
    with open(runtime.bin, "rb") as f:
        first = f.readline()
    if first.startswith(b"#!"):
        interp = first[2:].split()[0].decode()
        files.append(os.path.realpath(shutil.which(interp) or interp))
    files += sorted(str(p) for p in (REPO / "cext").glob("_native*.so"))
    return sorted(set(files))


def digests(files: list[str]) -> dict[str, str]:
    return {f: file_digest(f) for f in files}


@pytest.mark.pyrunc_only
def test_cve_2019_5736_init_between_create_and_start_is_out_of_reach(runtime, bundle, cid, attacker):
    """CVE-2019-5736 / CVE-2016-9962: the init waiting for `start` (the host's Python, holding
    the exec fifo and the sync pipes) cannot be opened, read, or ptraced by a process exec'd
    into the created container; after `start` the same probes reach the user's program (the
    control: the probes work)."""
    b = bundle(["sleep", "30"], edit=lambda c: with_attacker(c, attacker))
    files = runtime_files(runtime)
    before = digests(files)
    runtime.create(cid, b)
    res = runtime.run("exec", cid, "/attacker", "probe", "1", check=True)
    got = probe_results(res.stdout)
    assert set(WAYS_IN) <= set(got), res.describe()
    reached = {k: got[k] for k in WAYS_IN if got[k] == "ok"}
    assert not reached, f"a container process reached the waiting init: {reached}\n{res.stdout}"

    runtime.start(cid)
    wait_for(lambda: "sleep" in runtime.run("exec", cid, "cat", "/proc/1/comm").stdout,
             what="the container's process to be sleep")
    control = probe_results(runtime.run("exec", cid, "/attacker", "probe", "1", check=True).stdout)
    assert control["exe-link"] == control["mem"] == control["ptrace"] == "ok", control
    assert digests(files) == before


@pytest.mark.pyrunc_only
def test_cve_2019_5736_exec_process_is_out_of_reach_before_its_execve(runtime, bundle, cid, attacker):
    """CVE-2019-5736 / CVE-2016-9962: a container process watching /proc probes every process
    of `pyrunc exec` the moment it appears in the container (before its execve: its name is
    still the runtime's); no probe may succeed while it is the runtime."""
    b = bundle(["/attacker", "watch", "pyrunc", "/tmp/stop"], edit=lambda c: with_attacker(c, attacker))
    files = runtime_files(runtime)
    before = digests(files)
    run = runtime.run_container(b, "-d", cid=cid)
    assert run.returncode == 0, run.describe()

    def probed_in_window() -> list[dict]:
        lines = [probe_results(line) for line in run.read_out().splitlines() if line.startswith("pid=")]
        return [p for p in lines if any(p.get(k) not in ("post", None) for k in WAYS_IN)]

    deadline = time.monotonic() + 20
    for _ in range(60):
        runtime.run("exec", cid, "sleep", "0", check=True)
        if len(probed_in_window()) >= 3 or time.monotonic() > deadline:
            break
    stop = runtime.run("exec", cid, "touch", "/tmp/stop")
    # the watcher is the container's init: once it sees the file it exits, and the kernel
    # SIGKILLs what is left of its pid namespace, `touch` too if it has not exited yet (137)
    assert stop.returncode in (0, 128 + signal.SIGKILL), stop.describe()
    runtime.wait_status(cid, "stopped")
    probes = [probe_results(line) for line in run.read_out().splitlines() if line.startswith("pid=")]
    reached = [p for p in probes if any(p.get(k) == "ok" for k in WAYS_IN)]
    assert not reached, f"a container process reached an exec'ing runtime process: {reached}"
    assert probed_in_window(), ("the watcher never caught an exec'ing runtime process in the "
                                f"container (test inconclusive): {probes}")
    assert digests(files) == before


def fds_of_shell() -> list[str]:
    # the fds of sh, the container process (`; true`: sh forks ls rather than exec it)
    return ["sh", "-c", "ls /proc/$$/fd; true"]


def test_cve_2024_21626_create_start_process_holds_only_stdio_and_preserved_fds(runtime, bundle, workdir):
    """CVE-2024-21626: no fd of the runtime is left open in the container process: only 0-2
    and the --preserve-fds ones."""
    b = bundle(fds_of_shell())
    res = runtime.run_container(b)
    assert res.returncode == 0, res.describe()
    assert res.stdout.split() == ["0", "1", "2"], res.describe()
    with open(workdir / "passed", "w") as passed:
        res = runtime.run_container(b, "--preserve-fds", "1", fds={3: passed.fileno()})
    assert res.returncode == 0, res.describe()
    assert res.stdout.split() == ["0", "1", "2", "3"], res.describe()


def test_cve_2024_21626_exec_process_holds_only_stdio_and_preserved_fds(runtime, bundle, cid, workdir):
    """CVE-2024-21626, `exec` side: only 0-2 and the --preserve-fds ones."""
    runtime.run_container(bundle(["sleep", "30"]), "-d", cid=cid, check=True)
    res = runtime.run("exec", cid, *fds_of_shell(), check=True)
    assert res.stdout.split() == ["0", "1", "2"], res.describe()
    with open(workdir / "passed", "w") as passed:
        res = runtime.run("exec", "--preserve-fds", "1", cid, *fds_of_shell(), check=True,
                          fds={3: passed.fileno()})
    assert res.stdout.split() == ["0", "1", "2", "3"], res.describe()


def test_cve_2024_21626_cwd_through_proc_self_fd_gives_no_host_directory(runtime, bundle, make_id):
    """CVE-2024-21626: process.cwd /proc/self/fd/N (N a runtime fd, maybe a host directory)
    is refused, for `create` and for `exec --cwd`, whatever N is."""
    for n in range(3, 8):
        b = bundle(["pwd"], process={"cwd": f"/proc/self/fd/{n}"})
        cid = make_id("cwd")
        res = runtime.create(cid, b, check=False)
        assert res.returncode != 0, f"cwd /proc/self/fd/{n} was accepted:\n{res.describe()}"
        assert runtime.status(cid) is None
    cid = make_id("cwdx")
    runtime.run_container(bundle(["sleep", "30"]), "-d", cid=cid, check=True)
    for n in range(3, 16):
        res = runtime.run("exec", "--cwd", f"/proc/self/fd/{n}", cid, "pwd")
        assert res.returncode != 0, f"exec --cwd /proc/self/fd/{n} ran in {res.stdout!r}"
        assert "/proc/self/fd" in res.stderr, res.describe()


def test_cve_2024_21626_cwd_symlinks_resolve_inside_the_rootfs(runtime, bundle, cid):
    """process.cwd through absolute, relative and `..`-chain symlinks of the image stays in
    the rootfs (for `create` and `exec --cwd`)."""
    b = bundle(["sh", "-c", "ls; sleep 30"], process={"cwd": "/up/abs"})
    (b.rootfs / "marker-in-rootfs").write_text("")
    os.symlink("../../../../../../../../..", b.rootfs / "up")
    os.symlink("/", b.rootfs / "abs")
    run = runtime.run_container(b, "-d", cid=cid)
    assert run.returncode == 0, run.describe()
    wait_for(lambda: "marker-in-rootfs" in run.read_out(), what="ls in the container's cwd")
    for cwd in ("/abs", "/up", "/up/up/abs/up"):
        res = runtime.run("exec", "--cwd", cwd, cid, "ls", check=True)
        assert "marker-in-rootfs" in res.stdout.split(), res.describe()
