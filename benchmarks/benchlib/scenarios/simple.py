"""`run /bin/true` end to end, and `exec /bin/true` into a running container."""

from __future__ import annotations

from ..bench import Bench, Result
from ..proc import BenchError
from ..runtimes import Runtime

MS = {"unit": "ms", "better": "lower", "aggregate": "median"}


class RunScenario:
    NAME = "run"
    TITLE = "run /bin/true"
    DESCRIPTION = ("wall time of `RUNTIME run --bundle B ID` for a busybox bundle whose process "
                   "is /bin/true: create, start, wait for the exit and delete in one command")

    @staticmethod
    def measure(bench: Bench) -> Result:
        bundle = str(bench.bundle("true", ["/bin/true"]))
        result = Result(RunScenario.TITLE, {"run": MS})

        def one_round(rt: Runtime) -> dict:
            cid = bench.new_id("run", rt)
            bench.track(rt, cid)
            seconds = bench.checked(rt, "run", "--bundle", bundle, cid)
            bench.untrack(rt, cid)  # `run` deletes the container when its process exits
            return {"run": seconds * 1000}

        bench.interleaved(result, one_round, progress="run")
        return result


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


class ExecScenario:
    NAME = "exec"
    TITLE = "exec /bin/true"
    DESCRIPTION = ("wall time of `RUNTIME exec ID /bin/true` into a running container whose "
                   "process is `sleep` (started once per runtime with `run --detach`, not timed)")

    @staticmethod
    def measure(bench: Bench) -> Result:
        result = Result(ExecScenario.TITLE, {"exec": MS})
        with SleepContainers(bench, result, "exec") as sleepers:
            def one_round(rt: Runtime) -> dict:
                seconds = bench.checked(rt, "exec", sleepers.id_of(rt), "/bin/true")
                return {"exec": seconds * 1000}

            bench.interleaved(result, one_round, progress="exec")
        return result
