"""The context every scenario gets: runtimes, bundles, commands, rounds and cleanup."""

from __future__ import annotations

import importlib.util
import itertools
import json
import os
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from . import proc
from .runtimes import REPO, Runtime

MAKE_BUNDLE = REPO / "scripts" / "make_bundle.py"
MAX_ERRORS_KEPT = 3   # error messages kept per runtime and scenario
Sample = dict[str, float]


def load_make_bundle():
    spec = importlib.util.spec_from_file_location("make_bundle", MAKE_BUNDLE)
    if spec is None or spec.loader is None or not MAKE_BUNDLE.exists():
        raise proc.BenchError(f"{MAKE_BUNDLE} not found")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@dataclass
class Result:
    """What one scenario measured: per runtime, per metric, one sample per round (None when
    that round failed), aligned by round index across runtimes."""

    title: str
    metrics: dict[str, dict]          # metric -> {"unit", "better": lower|higher, "aggregate"}
    samples: dict[str, dict[str, list[float | None]]] = field(default_factory=dict)
    failures: dict[str, int] = field(default_factory=dict)
    errors: dict[str, list[str]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    extra: dict = field(default_factory=dict)

    def add(self, rt: str, sample: Sample | None) -> None:
        per_metric = self.samples.setdefault(rt, {m: [] for m in self.metrics})
        for metric in self.metrics:
            per_metric[metric].append(None if sample is None else sample.get(metric))

    def fail(self, rt: str, message: str) -> None:
        self.failures[rt] = self.failures.get(rt, 0) + 1
        kept = self.errors.setdefault(rt, [])
        if len(kept) < MAX_ERRORS_KEPT:
            kept.append(message[-2000:])


@dataclass
class Settings:
    rounds: int = 20              # timed rounds of the per-command scenarios
    warmup: int = 2               # untimed rounds first
    timeout: float = 60.0         # seconds a runtime command or container may take
    rss_rounds: int = 3
    throughput_rounds: int = 3
    containers: int = 100
    concurrency: int = 10
    floor_low_kib: int = 64
    floor_high_kib: int = 64 * 1024
    floor_timeout: float = 10.0
    # seconds of quiet before each runtime's turn: the kernel's cgroup attach lock goes cold
    # ~20 ms after its last use, and a runtime right after one that used it would find it warm
    # (a 10-16 ms difference here); with the pause every turn starts alike
    settle: float = 0.1


class Bench:
    def __init__(self, work: Path, runtimes: list[Runtime], settings: Settings):
        self.work = work
        self.runtimes = runtimes
        self.settings = settings
        self.out = proc.OutputFile(work / "output")
        self.rss_file = str(work / "rss")
        self._make_bundle = load_make_bundle()
        self._base_rootfs: Path | None = None
        self._bundles: dict[str, Path] = {}
        self._ids = itertools.count()
        self._live: dict[tuple[str, str], tuple[Runtime, int | None]] = {}
        self._lock = threading.Lock()

    @property
    def base_rootfs(self) -> Path:
        if self._base_rootfs is None:
            self._base_rootfs = self.work / "rootfs"
            self._make_bundle.build_rootfs(self._base_rootfs)
        return self._base_rootfs

    # -- bundles
    def bundle(self, name: str, args: list[str]) -> Path:
        """A busybox bundle (scripts/make_bundle.py default config) running args, made once."""
        if name in self._bundles:
            return self._bundles[name]
        mb = self._make_bundle
        path = self.work / "bundles" / name
        path.mkdir(parents=True)
        mb.clone_rootfs(self.base_rootfs, path / "rootfs")
        mb.write_config(path, mb.default_config(args))
        self._bundles[name] = path
        return path

    def config_copy(self, name: str) -> dict:
        """The config.json of bundle `name`, to change and write back with write_config."""
        return json.loads((self._bundles[name] / "config.json").read_text())

    def write_config(self, bundle: Path, config: dict) -> None:
        self._make_bundle.write_config(bundle, config)

    # -- containers
    def new_id(self, label: str, rt: Runtime) -> str:
        return f"bench-{os.getpid()}-{label}-{rt.name}-{next(self._ids)}"

    def track(self, rt: Runtime, cid: str, pid: int | None = None) -> None:
        """Remember a container that must be removed if the suite stops half-way."""
        with self._lock:
            self._live[(rt.name, cid)] = (rt, pid)

    def untrack(self, rt: Runtime, cid: str) -> None:
        with self._lock:
            self._live.pop((rt.name, cid), None)

    def command(self, rt: Runtime, *args: str, out: proc.OutputFile | None = None,
                timeout: float | None = None) -> proc.Outcome:
        return proc.run(rt.argv(*args), out or self.out, timeout or self.settings.timeout)

    def checked(self, rt: Runtime, *args: str, out: proc.OutputFile | None = None) -> float:
        """Run a runtime command that must succeed; returns its wall seconds."""
        res = self.command(rt, *args, out=out)
        if not res.ok:
            raise proc.BenchError(res.describe())
        return res.seconds

    def peak_rss_kib(self, rt: Runtime, *args: str) -> int:
        """Run a runtime command under GNU time; returns its ru_maxrss (KiB)."""
        if os.path.exists(self.rss_file):
            os.unlink(self.rss_file)
        res = proc.run(proc.with_peak_rss(rt.argv(*args), self.rss_file), self.out, self.settings.timeout)
        if not res.ok:
            raise proc.BenchError(res.describe())
        return proc.read_peak_rss(self.rss_file)

    def force_delete(self, rt: Runtime, cid: str, pid: int | None = None,
                     out: proc.OutputFile | None = None) -> None:
        self.command(rt, "delete", "--force", cid, out=out, timeout=30)
        if pid is not None:
            proc.kill_if_child(pid)
        self.untrack(rt, cid)

    def cleanup(self) -> None:
        for rt, cid in list(self._live):
            rtobj, pid = self._live[(rt, cid)]
            try:
                self.force_delete(rtobj, cid, pid)
            except proc.BenchError as err:
                print(f"suite: cleanup of {cid}: {err}", file=sys.stderr)
        proc.reap_strays()

    # -- rounds
    def interleaved(self, result: Result, one_round: Callable[[Runtime], Sample],
                    rounds: int | None = None, warmup: int | None = None,
                    progress: str = "") -> None:
        """Run one_round for every runtime in turn (A B C A B C ...), warmup rounds first.

        A round that raises BenchError (or OSError, ValueError) counts as a failure of that
        runtime (its sample is None) and the suite goes on; its containers are force-deleted.
        """
        rounds = self.settings.rounds if rounds is None else rounds
        warmup = self.settings.warmup if warmup is None else warmup
        for i in range(warmup + rounds):
            for rt in self.runtimes:
                time.sleep(self.settings.settle)
                try:
                    sample = one_round(rt)
                except (proc.BenchError, OSError, ValueError) as err:  # e.g. no pid file
                    sample = None
                    if i >= warmup:
                        result.fail(rt.name, f"{type(err).__name__}: {err}"
                                    if not isinstance(err, proc.BenchError) else str(err))
                    self.cleanup()
                if i >= warmup:
                    result.add(rt.name, sample)
                proc.reap_strays()
            done = i + 1 - warmup
            if progress and done > 0 and (done % 10 == 0 or done == rounds):
                print(f"  {progress}: {done}/{rounds} rounds", file=sys.stderr)

    def close(self) -> None:
        self.cleanup()
        self.out.close()
