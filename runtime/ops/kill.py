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
        status = cdir.status(record)
        if status == "stopped":
            raise NotRunning()
        signal_init(record, sig)
        # The cgroup driver only when it has work: --all, or a frozen init that cannot die of
        # its SIGKILL until thawed (kill is a hot command: no import otherwise).
        thaw = sig == signal.SIGKILL and status == "paused"
        if record.get("cgroup") and (all_processes or thaw):
            from runtime.cgroups import manager_from_record

            cgroup = manager_from_record(record["cgroup"])
            if all_processes:
                cgroup.signal_all(sig)
            else:
                cgroup.thaw()
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
