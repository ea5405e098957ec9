"""Memory: peak RSS of each runtime command, and the container cgroup's memory while the
container's init waits between create and start."""

from __future__ import annotations

import os

from .. import cgroups, proc
from ..bench import Bench, Result
from ..runtimes import Runtime
from .simple import SleepContainers

KIB_MAX = {"unit": "KiB", "better": "lower", "aggregate": "max"}
KIB_MEDIAN = {"unit": "KiB", "better": "lower", "aggregate": "median"}


class RssScenario:
    NAME = "rss"
    TITLE = "peak RSS per command"
    DESCRIPTION = ("ru_maxrss of each runtime command (`run`, `create`, `start`, `delete`, `exec`) "
                   "reported by wait4 in GNU time, which runs the command: the largest over "
                   "--rss-rounds rounds. It covers the command and the children it waits for, "
                   "not the container's init once `create` has returned")
    COMMANDS = ("run", "create", "start", "delete", "exec")

    @staticmethod
    def measure(bench: Bench) -> Result:
        result = Result(RssScenario.TITLE, {c: KIB_MAX for c in RssScenario.COMMANDS})
        if not os.access(proc.GNU_TIME, os.X_OK):
            result.notes.append("not measured: needs GNU time (/usr/bin/time; apt-get install time)")
            return result
        true_bundle = str(bench.bundle("true", ["/bin/true"]))
        pid_file = bench.work / "rss.pid"

        with SleepContainers(bench, result, "rss-exec") as sleepers:
            def one_round(rt: Runtime) -> dict:
                kib = {"run": bench.peak_rss_kib(rt, "run", "--bundle", true_bundle,
                                                 bench.new_id("rss-run", rt))}
                cid = bench.new_id("rss", rt)
                bench.track(rt, cid)
                kib["create"] = bench.peak_rss_kib(rt, "create", "--bundle", true_bundle,
                                                   "--pid-file", str(pid_file), cid)
                pid = int(pid_file.read_text().strip())
                bench.track(rt, cid, pid)
                pidfd = proc.open_pidfd(pid)
                try:
                    kib["start"] = bench.peak_rss_kib(rt, "start", cid)
                    proc.wait_for_exit(pid, pidfd, bench.settings.timeout)
                finally:
                    if pidfd is not None:
                        os.close(pidfd)
                kib["delete"] = bench.peak_rss_kib(rt, "delete", cid)
                bench.untrack(rt, cid)
                kib["exec"] = bench.peak_rss_kib(rt, "exec", sleepers.id_of(rt), "/bin/true")
                return kib

            bench.interleaved(result, one_round, rounds=bench.settings.rss_rounds, warmup=0,
                              progress="rss")
        return result


class InitMemoryScenario:
    NAME = "init-memory"
    TITLE = "container cgroup memory after create"
    DESCRIPTION = ("memory.usage_in_bytes of the container's cgroup v1 memory cgroup between "
                   "`create` and `start` (what the waiting init costs the container), "
                   "memory.max_usage_in_bytes (the peak charged to it during create); split into "
                   "user pages (memory.stat total_rss + total_cache) and kernel memory "
                   "(memory.kmem.usage_in_bytes: page tables, stacks, slab). The usage counters "
                   "include per-CPU charge batches (up to 64 pages), so they read about 256 KiB "
                   "even when little is charged")

    @staticmethod
    def measure(bench: Bench) -> Result:
        metrics = {"usage": KIB_MEDIAN, "max_usage": KIB_MEDIAN, "rss+cache": KIB_MEDIAN,
                   "kmem": KIB_MEDIAN}
        result = Result(InitMemoryScenario.TITLE, metrics)
        if not cgroups.MEMORY.is_dir():
            result.notes.append("not measured: no cgroup v1 memory hierarchy")
            return result
        bundles = {rt.name: bench.bundle(f"true-cg-{rt.name}", ["/bin/true"])
                   for rt in bench.runtimes}
        pid_file = bench.work / "init-memory.pid"

        def one_round(rt: Runtime) -> dict:
            cid = bench.new_id("initmem", rt)
            # a fresh cgroup per container, so that max_usage is this container's
            path = f"{cgroups.parent_path()}/{cid}"
            config = bench.config_copy(f"true-cg-{rt.name}")
            config["linux"]["cgroupsPath"] = path
            bench.write_config(bundles[rt.name], config)
            bench.track(rt, cid)
            try:
                bench.checked(rt, "create", "--bundle", str(bundles[rt.name]), "--pid-file",
                              str(pid_file), cid)
                pid = int(pid_file.read_text().strip())
                bench.track(rt, cid, pid)
                kib = {m: cgroups.memory_value(path, f"memory.{m}_in_bytes") / 1024
                       for m in ("usage", "max_usage")}
                stat = cgroups.memory_stat(path)
                kib["rss+cache"] = (stat["total_rss"] + stat["total_cache"]) / 1024
                kib["kmem"] = cgroups.memory_value(path, "memory.kmem.usage_in_bytes") / 1024
                pidfd = proc.open_pidfd(pid)
                try:
                    bench.checked(rt, "start", cid)
                    proc.wait_for_exit(pid, pidfd, bench.settings.timeout)
                finally:
                    if pidfd is not None:
                        os.close(pidfd)
                bench.checked(rt, "delete", cid)
                bench.untrack(rt, cid)
            except OSError as err:
                raise proc.BenchError(f"{rt.name} {cid}: {err}") from None
            finally:
                cgroups.remove(path)
            return kib

        bench.interleaved(result, one_round, progress="init-memory")
        return result
