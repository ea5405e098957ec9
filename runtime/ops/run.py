"""`run`: create + start, then (unless --detach) wait and return the process's exit status."""

import _signal as signal  # not `signal`: its enums cost ~3 ms to import
import os

from runtime import state
from runtime.errors import PyruncError

FORWARDED = [signal.SIGHUP, signal.SIGINT, signal.SIGQUIT, signal.SIGTERM, signal.SIGUSR1,
             signal.SIGUSR2, signal.SIGWINCH, signal.SIGCONT]


def run(store: state.StateStore, cid: str, opts, detach: bool, keep: bool) -> int:
    """`opts`: runtime.ops.create.CreateOptions. (The operations are imported here: `exec`
    imports this module only for `wait_for`.)"""
    import cext
    from runtime.ops import create as create_op
    from runtime.ops import delete as delete_op
    from runtime.ops import start as start_op

    spec = create_op.load_spec(opts.bundle)
    proxy = None
    if spec.process.terminal and not opts.console_socket:
        if detach:
            raise PyruncError("cannot allocate a tty when detaching without --console-socket")
        from runtime.ops.tty_proxy import TtyProxy

        proxy = TtyProxy()
        opts.console_fd = proxy.child_end
    if not detach:
        cext.prctl(create_op.PR_SET_CHILD_SUBREAPER, 1)  # the init becomes our child: we wait for it
    try:
        record = create_op.create(store, cid, opts, spec)
    finally:
        if proxy is not None:
            proxy.close_child_end()
    try:
        if proxy is not None:
            proxy.receive_master()
        start_op.start(store, cid)
    except BaseException:
        delete_op.delete(store, cid, force=True)
        raise
    if detach:
        return 0
    status = wait_for(record["pid"], proxy)
    if not keep:
        delete_op.delete(store, cid, force=True)
    return status


def wait_for(pid: int, proxy) -> int:
    """Forward signals to the init until it exits; reap orphans that land on us meanwhile."""
    def forward(signum, _frame):
        try:
            os.kill(pid, signum)
        except ProcessLookupError:
            pass

    for sig in FORWARDED:
        signal.signal(sig, forward)
    if proxy is not None:
        proxy.pump_until_exit(pid)
    while True:
        try:
            reaped, status = os.waitpid(-1, 0)
        except ChildProcessError:
            return 255
        if reaped == pid:
            if proxy is not None:
                proxy.finish()
            return os.waitstatus_to_exitcode(status) if os.WIFEXITED(status) else 128 + os.WTERMSIG(status)
