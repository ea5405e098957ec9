#!/usr/bin/env python3
"""Benchmark suite: pyrunc against runc and crun, scenario by scenario.

    python3 benchmarks/suite.py [--quick] [--scenarios a,b] [--runtimes pyrunc,runc,crun]
                                [--rounds N] [--json FILE] [--plot FILE] [--markdown FILE]

Scenarios: run, lifecycle, exec, podman, throughput, rss, init-memory, memory-floor
("memory" = the last three).  Within a scenario the runtimes take turns (A B C A B C ...);
medians per runtime and the median of per-round ratios pyrunc/other are printed and written
as JSON, with a plot.  Needs root.  See benchmarks/README.md and docs/performance.md.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path

from benchlib import cgroups, plot, proc, report, runtimes, stats, targets
from benchlib.bench import Bench, Result, Settings
from benchlib.scenarios import ALIASES, SCENARIOS

REPO = runtimes.REPO
DEFAULT_JSON = REPO / "benchmarks" / "results" / "latest.json"
DEFAULT_PLOT = REPO / "docs" / "performance.png"
QUICK_JSON = REPO / "benchmarks" / "results" / "quick.json"
QUICK_PLOT = REPO / "benchmarks" / "results" / "quick.png"
SUITE_VERSION = 1


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true",
                   help="smoke-test sizes: 3 rounds, 1 warmup, 1 rss/throughput round, 20 "
                        "containers; output to benchmarks/results/quick.{json,png}")
    p.add_argument("--scenarios", default=",".join(SCENARIOS),
                   help=f"comma-separated, from {', '.join(SCENARIOS)}, memory (default: all)")
    p.add_argument("--runtimes", default="pyrunc,runc,crun",
                   help="comma-separated NAME or NAME=PATH; ratios compare the first with each "
                        "other one (default pyrunc,runc,crun)")
    p.add_argument("--rounds", type=int, help="timed rounds per scenario (default 20)")
    p.add_argument("--warmup", type=int, help="untimed rounds first (default 2)")
    p.add_argument("--rss-rounds", type=int, help="rounds of the rss scenario (default 3)")
    p.add_argument("--throughput-rounds", type=int, help="batches per runtime (default 3)")
    p.add_argument("--containers", type=int, help="containers per throughput batch (default 100)")
    p.add_argument("--concurrency", type=int, default=10, help="throughput workers (default 10)")
    p.add_argument("--timeout", type=float, default=60.0,
                   help="seconds a runtime command or container may take (default 60)")
    p.add_argument("--floor-low", type=int, default=64,
                   help="memory floor bisection low end, KiB (default 64)")
    p.add_argument("--floor-high", type=int, default=65536, help="... high end, KiB (64 MiB)")
    p.add_argument("--floor-timeout", type=float, default=10.0,
                   help="seconds a `run` probe may take before it counts as failed (default 10)")
    p.add_argument("--settle", type=float, default=0.1,
                   help="seconds of quiet before each runtime's turn in a round (default 0.1)")
    p.add_argument("--json", metavar="FILE", help=f"default {DEFAULT_JSON.relative_to(REPO)}")
    p.add_argument("--plot", metavar="FILE",
                   help=f"PNG; default {DEFAULT_PLOT.relative_to(REPO)}; 'none' for no plot")
    p.add_argument("--markdown", metavar="FILE", help="also write the tables as markdown")
    p.add_argument("--from-json", metavar="FILE",
                   help="measure nothing: print the report of an earlier run's JSON and write its "
                        "plot (--plot) and markdown (--markdown)")
    p.add_argument("--no-crun-wrapper", action="store_true",
                   help="run crun directly even on a hybrid cgroup host (where it fails)")
    args = p.parse_args(argv)
    names: list[str] = []
    for name in filter(None, (s.strip() for s in args.scenarios.split(","))):
        for n in ALIASES.get(name, [name]):
            if n not in SCENARIOS:
                p.error(f"unknown scenario {n!r}; known: {', '.join(SCENARIOS)}, memory")
            if n not in names:
                names.append(n)
    args.scenario_list = names
    return args


def settings_from(args: argparse.Namespace) -> Settings:
    quick = args.quick

    def pick(value, normal, small):
        return value if value is not None else (small if quick else normal)

    s = Settings(rounds=pick(args.rounds, 20, 3), warmup=pick(args.warmup, 2, 1),
                 timeout=args.timeout, rss_rounds=pick(args.rss_rounds, 3, 1),
                 throughput_rounds=pick(args.throughput_rounds, 3, 1),
                 containers=pick(args.containers, 100, 20), concurrency=args.concurrency,
                 floor_low_kib=args.floor_low, floor_high_kib=args.floor_high,
                 floor_timeout=args.floor_timeout, settle=args.settle)
    if min(s.rounds, s.rss_rounds, s.throughput_rounds, s.containers, s.concurrency) < 1 \
            or s.warmup < 0 or s.settle < 0 or not 0 < s.floor_low_kib < s.floor_high_kib:
        raise SystemExit("suite.py: counts must be >= 1, --warmup and --settle >= 0, "
                         "0 < --floor-low < --floor-high")
    return s


def host_info() -> dict:
    return {"kernel": platform.release(), "machine": platform.machine(), "cpus": os.cpu_count(),
            "hybrid_cgroups": runtimes.hybrid_cgroups(),
            "loadavg": os.getloadavg()}


def git_info() -> dict:
    def git(*a: str) -> str:
        try:
            return subprocess.run(["git", "-C", str(REPO), *a], capture_output=True, text=True,
                                  timeout=10).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return ""
    return {"commit": git("rev-parse", "HEAD"), "dirty": bool(git("status", "--porcelain",
                                                                  "--untracked-files=no"))}


def run_scenarios(bench: Bench, names: list[str], base: str | None) -> dict:
    out = {}
    rt_names = [rt.name for rt in bench.runtimes]
    for name in names:
        module = SCENARIOS[name]
        print(f"suite: {name}: {module.TITLE}", file=sys.stderr, flush=True)
        t0 = time.monotonic()
        try:
            result = module.measure(bench)
        except proc.BenchError as err:  # a scenario that cannot run at all: note, go on
            result = Result(module.TITLE, {})
            result.notes.append(f"scenario failed: {err}")
            print(f"suite: {name}: {err}", file=sys.stderr)
        finally:
            bench.cleanup()
        data = asdict(result)
        data["description"] = module.DESCRIPTION
        data["seconds"] = round(time.monotonic() - t0, 1)
        data["summary"] = stats.summarize(result, rt_names, base)
        out[name] = data
    return out


def write_outputs(data: dict, args: argparse.Namespace, plot_path: str) -> None:
    if args.markdown:
        Path(args.markdown).write_text(report.render_markdown(data) + "\n")
        print(f"markdown: {args.markdown}")
    if plot_path != "none":
        why_not = plot.write_plot(data, plot_path)
        print(f"plot: {why_not}" if why_not else f"plot: {plot_path}")


def measure(args: argparse.Namespace, command: list[str]) -> dict | None:
    """Run args.scenario_list against args.runtimes; the run's data (no targets), or None when
    none of the runtimes is installed.  `command` is recorded as the run's argv.  Needs root."""
    settings = settings_from(args)
    notes: list[str] = []
    if not proc.become_subreaper():
        raise SystemExit("suite.py: prctl(PR_SET_CHILD_SUBREAPER) failed")
    work = Path(tempfile.mkdtemp(prefix="pyrunc-suite-"))
    found = runtimes.resolve(args.runtimes, work, notes)
    for note in notes:
        print(f"suite: {note}", file=sys.stderr)
    if not found:
        shutil.rmtree(work, ignore_errors=True)
        print("suite: none of the runtimes is installed", file=sys.stderr)
        return None
    bench = Bench(work, found, settings)
    v1ns = None
    started = datetime.datetime.now(datetime.UTC)
    try:
        wrapped = [rt for rt in found if runtimes.needs_v1_namespace(rt) and not args.no_crun_wrapper]
        if wrapped:
            v1ns = runtimes.CgroupV1Namespace()
            cost = v1ns.overhead_ms(bench.out)
            for rt in wrapped:
                rt.prefix = list(v1ns.prefix)
                notes.append(runtimes.crun_note(rt, cost))
        scenarios = run_scenarios(bench, args.scenario_list, found[0].name)
    finally:
        bench.close()
        cgroups.remove_all()
        if v1ns is not None:
            v1ns.stop()
        proc.reap_strays()
        shutil.rmtree(work, ignore_errors=True)
    return {
        "suite_version": SUITE_VERSION,
        "started": started.isoformat(timespec="seconds"),
        "argv": command,
        "host": host_info(), "git": git_info(),
        "settings": {**asdict(settings), "scenarios": args.scenario_list,
                     "cgroup_parent": cgroups.parent_path()},
        "runtimes": {rt.name: {"binary": rt.binary, "version": rt.version,
                               "wrapped": bool(rt.prefix), "argv": rt.argv("...")}
                     for rt in found},
        "notes": notes,
        "scenarios": scenarios,
    }


def any_failed(data: dict) -> bool:
    return any(sc["failures"] for sc in data["scenarios"].values())


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.from_json:
        data = json.loads(Path(args.from_json).read_text())
        print(report.render(data))
        write_outputs(data, args, args.plot or "none")
        return 0
    if os.geteuid() != 0:
        print("suite.py: must run as root", file=sys.stderr)
        return 2
    json_path = Path(args.json or (QUICK_JSON if args.quick else DEFAULT_JSON)).resolve()
    plot_path = args.plot or str(QUICK_PLOT if args.quick else DEFAULT_PLOT)
    data = measure(args, ["benchmarks/suite.py", *(sys.argv[1:] if argv is None else argv)])
    if data is None:
        return 2
    base = next(iter(data["runtimes"]))
    data["targets"] = targets.check(data["scenarios"]) if base == targets.BASE else []
    print(report.render(data))
    json_path.parent.mkdir(parents=True, exist_ok=True)
    json_path.write_text(json.dumps(data, indent=1) + "\n")
    print(f"\nJSON: {json_path}")
    write_outputs(data, args, plot_path)
    return 1 if any_failed(data) else 0


if __name__ == "__main__":
    sys.exit(main())
