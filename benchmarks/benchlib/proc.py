"""Starting, timing and reaping processes with as little harness cost as possible.

Commands are started with ``posix_spawn`` and reaped with ``wait4``; stdin is /dev/null and
stdout+stderr go to a file, shown when a command fails.  The benchmark is a child subreaper,
so the init of a container whose ``create`` returned becomes its child and can be waited for
through a pidfd.
"""

from __future__ import annotations

import ctypes
import os
import select
import signal
import time
from dataclasses import dataclass

PR_SET_CHILD_SUBREAPER = 36
GNU_TIME = "/usr/bin/time"


class BenchError(Exception):
    pass


@dataclass
class Outcome:
    """One finished command."""

    argv: list[str]
    status: int          # exit code (negative: killed by that signal)
    seconds: float       # wall time from spawn to reaped
    timed_out: bool
    output: str          # stdout+stderr, only read when the command failed

    @property
    def ok(self) -> bool:
        return self.status == 0 and not self.timed_out

    def describe(self) -> str:
        what = "timed out" if self.timed_out else f"exited with status {self.status}"
        return f"`{' '.join(self.argv)}` {what}:\n{self.output}"


class OutputFile:
    """A scratch file that receives a command's stdout+stderr (one per concurrent command)."""

    def __init__(self, path: str | os.PathLike):
        self.fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)

    def read(self) -> str:
        os.lseek(self.fd, 0, os.SEEK_SET)
        return os.read(self.fd, 1 << 16).decode(errors="replace").strip()

    def close(self) -> None:
        os.close(self.fd)


def spawn(argv: list[str], out: OutputFile, env: dict[str, str] | None = None) -> int:
    """Start argv (argv[0] an absolute path); returns its pid."""
    os.ftruncate(out.fd, 0)
    os.lseek(out.fd, 0, os.SEEK_SET)
    devnull = os.open(os.devnull, os.O_RDONLY | os.O_CLOEXEC)
    try:
        actions = [(os.POSIX_SPAWN_DUP2, devnull, 0),
                   (os.POSIX_SPAWN_DUP2, out.fd, 1),
                   (os.POSIX_SPAWN_DUP2, out.fd, 2)]
        return os.posix_spawn(argv[0], argv, os.environ if env is None else env,
                              file_actions=actions)
    finally:
        os.close(devnull)


def run(argv: list[str], out: OutputFile, timeout: float,
        env: dict[str, str] | None = None) -> Outcome:
    """Run argv to completion; a command still running after `timeout` s is killed."""
    t0 = time.perf_counter()
    pid = spawn(argv, out, env)
    pidfd = os.pidfd_open(pid)
    try:
        poller = select.poll()
        poller.register(pidfd, select.POLLIN)
        timed_out = not poller.poll(timeout * 1000)
        if timed_out:
            signal.pidfd_send_signal(pidfd, signal.SIGKILL)
        _, status, _ = os.wait4(pid, 0)
    finally:
        os.close(pidfd)
    seconds = time.perf_counter() - t0
    code = os.waitstatus_to_exitcode(status)
    ok = code == 0 and not timed_out
    return Outcome(argv, code, seconds, timed_out, "" if ok else out.read())


def with_peak_rss(argv: list[str], rss_file: str) -> list[str]:
    """argv run under GNU time, which writes the command's ru_maxrss (KiB) to rss_file.

    Why not the ru_maxrss of our own wait4: a child of a Python process starts with (or, with
    vfork, shares) the interpreter's memory, and Linux counts the memory a process had before
    exec in its ru_maxrss, so every command would report at least the harness's RSS.  GNU
    time is a small C program.  Its wait4 covers the command and the children it waited for;
    a wrapper that execs the runtime (nsenter) is the same process, so the figure is the
    larger of the wrapper's and the runtime's.
    """
    return [GNU_TIME, "-q", "-f", "%M", "-o", rss_file, *argv]


def read_peak_rss(rss_file: str) -> int:
    with open(rss_file) as f:
        return int(f.read().split()[-1])


def wait_for_exit(pid: int, pidfd: int | None, timeout: float) -> None:
    """Block until process pid has exited, then reap it if it is our child."""
    if pidfd is not None:
        poller = select.poll()
        poller.register(pidfd, select.POLLIN)
        if not poller.poll(timeout * 1000):
            raise BenchError(f"the container process {pid} did not exit in {timeout:g} s")
    else:  # no pidfd (it exited already or is not ours): poll /proc
        deadline = time.monotonic() + timeout
        while not gone_or_zombie(pid):
            if time.monotonic() > deadline:
                raise BenchError(f"the container process {pid} did not exit in {timeout:g} s")
            time.sleep(0.0001)
    try:
        os.waitpid(pid, 0)  # we are a child subreaper, so the orphaned init is our child
    except ChildProcessError:
        pass


def open_pidfd(pid: int) -> int | None:
    try:
        return os.pidfd_open(pid)
    except ProcessLookupError:
        return None


def gone_or_zombie(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"
    except (OSError, IndexError):
        return True


def kill_if_child(pid: int) -> None:
    """SIGKILL pid if it is our (unreaped) child, which rules out a reused pid."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            ppid = int(f.read().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return
    if ppid == os.getpid():
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)


def reap_strays() -> None:
    """Reap exited children we did not wait for (orphaned container processes)."""
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def become_subreaper() -> bool:
    libc = ctypes.CDLL(None, use_errno=True)
    return libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0
