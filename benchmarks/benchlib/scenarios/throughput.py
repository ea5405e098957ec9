"""Many containers through create -> start -> exit -> delete, several at a time."""

from __future__ import annotations

import os
import queue
import threading
import time

from .. import proc
from ..bench import Bench, Result
from ..runtimes import Runtime

NAME = "throughput"
TITLE = "100 containers, 10 at a time"
DESCRIPTION = ("N containers (default 100) each go through create -> start -> exit of /bin/true "
               "-> delete, run by a pool of C workers (default 10, so 10 containers are in "
               "flight at any time); containers per second over the whole batch, and how many "
               "failed (a failed container is force-deleted and counted, the batch goes on)")
METRICS = {
    "containers/s": {"unit": "1/s", "better": "higher", "aggregate": "median"},
    "failed": {"unit": "count", "better": "lower", "aggregate": "sum"},
}


def one_container(bench: Bench, rt: Runtime, bundle: str, slot: int,
                  out: proc.OutputFile) -> None:
    cid = bench.new_id("tp", rt)
    pid_file = bench.work / f"throughput-{slot}.pid"
    if pid_file.exists():
        pid_file.unlink()
    bench.track(rt, cid)
    pid = None
    try:
        bench.checked(rt, "create", "--bundle", bundle, "--pid-file", str(pid_file), cid, out=out)
        try:
            pid = int(pid_file.read_text().strip())
        except (OSError, ValueError) as err:
            raise proc.BenchError(f"{rt.name} create {cid}: no usable pid file: {err}") from None
        pidfd = proc.open_pidfd(pid)
        try:
            bench.checked(rt, "start", cid, out=out)
            proc.wait_for_exit(pid, pidfd, bench.settings.timeout)
        finally:
            if pidfd is not None:
                os.close(pidfd)
        bench.checked(rt, "delete", cid, out=out)
    except proc.BenchError:
        bench.force_delete(rt, cid, pid, out=out)
        raise
    bench.untrack(rt, cid)


def batch(bench: Bench, rt: Runtime, bundle: str, count: int, workers: int,
          errors: list[str]) -> tuple[float, int]:
    """Run `count` containers on `workers` threads; returns (seconds, failures)."""
    todo: queue.Queue[int] = queue.Queue()
    for i in range(count):
        todo.put(i)
    failed = [0] * workers

    def worker(slot: int) -> None:
        out = proc.OutputFile(bench.work / f"throughput-{slot}.out")
        try:
            while True:
                try:
                    todo.get_nowait()
                except queue.Empty:
                    return
                try:
                    one_container(bench, rt, bundle, slot, out)
                except proc.BenchError as err:
                    failed[slot] += 1
                    errors.append(str(err))
        finally:
            out.close()

    threads = [threading.Thread(target=worker, args=(slot,)) for slot in range(workers)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return time.perf_counter() - t0, sum(failed)


def measure(bench: Bench) -> Result:
    bundle = str(bench.bundle("true", ["/bin/true"]))
    count, workers = bench.settings.containers, bench.settings.concurrency
    result = Result(f"{count} containers, {workers} at a time", METRICS)
    result.extra = {"containers": count, "concurrency": workers}

    def one_round(rt: Runtime) -> dict:
        errors: list[str] = []
        seconds, failed = batch(bench, rt, bundle, count, workers, errors)
        for message in errors:
            result.fail(rt.name, message)
        return {"containers/s": (count - failed) / seconds, "failed": failed}

    bench.interleaved(result, one_round, rounds=bench.settings.throughput_rounds, warmup=0,
                      progress="throughput")
    return result
