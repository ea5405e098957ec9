"""create -> start -> wait -> delete, each step timed (benchmarks/lifecycle.py runs it from its own CLI)."""

from __future__ import annotations

import os
import time

from .. import proc
from ..bench import Bench, Result
from ..runtimes import Runtime

NAME = "lifecycle"
TITLE = "create / start / wait / delete"
DESCRIPTION = ("`create --pid-file`, `start`, the wait until the container's /bin/true has exited "
               "(a pidfd on the init, which the suite reaps as child subreaper), `delete`; "
               "each step's wall time, their sum without the wait, and the whole round")
MS = {"unit": "ms", "better": "lower", "aggregate": "median"}
METRICS = ("create", "start", "wait", "delete", "create+start+delete", "round")


def measure(bench: Bench) -> Result:
    bundle = str(bench.bundle("true", ["/bin/true"]))
    result = Result(TITLE, {m: MS for m in METRICS})
    pid_file = bench.work / "lifecycle.pid"

    def one_round(rt: Runtime) -> dict:
        cid = bench.new_id("life", rt)
        if pid_file.exists():
            pid_file.unlink()
        bench.track(rt, cid)
        t_round = time.perf_counter()
        create = bench.checked(rt, "create", "--bundle", bundle, "--pid-file", str(pid_file), cid)
        try:
            pid = int(pid_file.read_text().strip())
        except (OSError, ValueError) as err:
            raise proc.BenchError(f"{rt.name} create {cid}: no usable pid file: {err}") from None
        bench.track(rt, cid, pid)
        pidfd = proc.open_pidfd(pid)
        try:
            start = bench.checked(rt, "start", cid)
            t_wait = time.perf_counter()
            proc.wait_for_exit(pid, pidfd, bench.settings.timeout)
            wait = time.perf_counter() - t_wait
        finally:
            if pidfd is not None:
                os.close(pidfd)
        delete = bench.checked(rt, "delete", cid)
        total = time.perf_counter() - t_round
        bench.untrack(rt, cid)
        ms = {"create": create, "start": start, "wait": wait, "delete": delete,
              "create+start+delete": create + start + delete, "round": total}
        return {k: v * 1000 for k, v in ms.items()}

    bench.interleaved(result, one_round, progress="lifecycle")
    return result
