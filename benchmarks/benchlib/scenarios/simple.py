"""`run /bin/true` end to end, and `exec /bin/true` into a running container."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from ..bench import Bench, Result
from ..proc import BenchError
from ..runtimes import Runtime

MS = {"unit": "ms", "better": "lower", "aggregate": "median"}
TimedCommand = Callable[[Runtime], float]  # runs one runtime command; returns its wall seconds


@dataclass(frozen=True)
class CommandScenario:
    """A scenario whose round is one runtime command, timed; its metric is named NAME.

    `prepare(bench, result)` is a context manager that makes what the command needs (a
    bundle, a running container) and gives the function running the command."""

    NAME: str
    TITLE: str
    DESCRIPTION: str
    prepare: Callable[[Bench, Result], contextlib.AbstractContextManager[TimedCommand]]

    def measure(self, bench: Bench) -> Result:
        result = Result(self.TITLE, {self.NAME: MS})
        with self.prepare(bench, result) as command:
            bench.interleaved(result, lambda rt: {self.NAME: command(rt) * 1000},
                              progress=self.NAME)
        return result


@contextlib.contextmanager
def run_true(bench: Bench, result: Result) -> Iterator[TimedCommand]:
    bundle = str(bench.bundle("true", ["/bin/true"]))

    def run(rt: Runtime) -> float:
        cid = bench.new_id("run", rt)
        bench.track(rt, cid)
        seconds = bench.checked(rt, "run", "--bundle", bundle, cid)
        bench.untrack(rt, cid)  # `run` deletes the container when its process exits
        return seconds

    yield run


@contextlib.contextmanager
def exec_true(bench: Bench, result: Result) -> Iterator[TimedCommand]:
    with SleepContainers(bench, result, "exec") as sleepers:
        yield lambda rt: bench.checked(rt, "exec", sleepers.id_of(rt), "/bin/true")


RUN = CommandScenario(
    "run", "run /bin/true",
    "wall time of `RUNTIME run --bundle B ID` for a busybox bundle whose process is /bin/true: "
    "create, start, wait for the exit and delete in one command", run_true)
EXEC = CommandScenario(
    "exec", "exec /bin/true",
    "wall time of `RUNTIME exec ID /bin/true` into a running container whose process is "
    "`sleep` (started once per runtime with `run --detach`, not timed)", exec_true)


class SleepContainers:
    """One running container per runtime whose process is `sleep` (for exec); force-deleted
    on exit.  A runtime whose container could not start is missing from `ids`."""

    def __init__(self, bench: Bench, result: Result, label: str):
        self.bench, self.result, self.label = bench, result, label
        self.ids: dict[str, str] = {}

    def __enter__(self) -> SleepContainers:
        bundle = str(self.bench.bundle("sleep", ["sleep", "1000000"]))
        for rt in self.bench.runtimes:
            cid = self.bench.new_id(self.label, rt)
            self.bench.track(rt, cid)
            try:
                self.bench.checked(rt, "run", "--detach", "--bundle", bundle, cid)
            except BenchError as err:
                self.result.fail(rt.name, f"could not start the sleep container: {err}")
                self.bench.force_delete(rt, cid)
                continue
            self.ids[rt.name] = cid
        return self

    def id_of(self, rt: Runtime) -> str:
        if rt.name not in self.ids:
            raise BenchError(f"{rt.name}: no running container to exec into")
        return self.ids[rt.name]

    def __exit__(self, *exc) -> None:
        for rt in self.bench.runtimes:
            if rt.name in self.ids:
                self.bench.force_delete(rt, self.ids.pop(rt.name))
