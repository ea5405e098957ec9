"""`kill`: send a signal to the container's init (or, with --all, to all its processes)."""

# `signal` builds its enums at import (~4 ms); the C module underneath has all we need.
import _signal as signal
import os

from runtime import state
from runtime.errors import NotRunning, PyruncError


def parse_signal(text: str) -> int:
    if text.isdigit():
        num = int(text)
        if 0 < num < signal.NSIG:
            return num
        raise PyruncError(f"invalid signal: {text}")
    name = text.upper()
    name = name if name.startswith("SIG") else "SIG" + name
    num = getattr(signal, name, None) if name.isidentifier() and not name.startswith("SIG_") else None
    if not isinstance(num, int) or name in ("SIGRTMIN", "SIGRTMAX"):
        raise PyruncError(f"unknown signal {text!r}")
    return int(num)


def kill(store: state.StateStore, cid: str, sig: int, all_processes: bool = False) -> None:
    cdir = store.open(cid)
    try:
        cdir.lock()
        record = cdir.read()
        if cdir.status(record) == "stopped":
            raise NotRunning()
        pids = container_pids(record) if all_processes else [record["pid"]]
        signal_init(record, sig)
        for pid in pids:
            if pid != record["pid"]:
                try:
                    os.kill(pid, sig)
                except ProcessLookupError:
                    pass
    finally:
        cdir.close()


def signal_init(record: dict, sig: int) -> None:
    """Through a pidfd, so a pid reused after the check can never receive the signal."""
    try:
        pidfd = os.pidfd_open(record["pid"])
    except ProcessLookupError:
        raise NotRunning() from None
    try:
        if state.process_start_time(record["pid"]) != record.get("init_start_time"):
            raise NotRunning()
        signal.pidfd_send_signal(pidfd, sig)
    except ProcessLookupError:
        raise NotRunning() from None
    finally:
        os.close(pidfd)


def container_pids(record: dict) -> list[int]:
    """The init and its descendants (the cgroup drivers replace this with cgroup.procs)."""
    children: dict[int, list[int]] = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as f:
                stat = f.read()
        except OSError:
            continue
        ppid = int(stat[stat.rindex(b")") + 2:].split()[1])
        children.setdefault(ppid, []).append(int(name))
    found, todo = [], [record["pid"]]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(children.get(pid, []))
    return found
