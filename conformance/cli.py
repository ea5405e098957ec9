"""``python -m conformance``: run the catalogue against one or more runtimes."""

from __future__ import annotations

import argparse
import fnmatch
import os
import shutil
import sys
import time
from pathlib import Path

from . import build, report
from .catalogue import REQUIREMENTS, automated_ids
from .model import CASES
from .runner import Runtime, run_all

DEFAULT_ROOT = Path("/run/pyrunc-conformance")

EPILOG = """\
A wrapper is bound to a runtime with --runtime-wrapper RUNTIME=CMD, where RUNTIME is the
value given to --runtime (or its basename) and CMD is a command line that is run with the
runtime's path and arguments appended, e.g.
  --runtime crun --runtime-wrapper crun=conformance/wrappers/private-cgroup-ns.sh
Exit status: 0, or 1 when --baseline is given and a runtime fails a requirement the
baseline passes, 2 on a usage or build error.
"""


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="python -m conformance",
        description=__doc__,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--runtime",
        action="append",
        default=[],
        metavar="PATH",
        help="runtime to test (path or command name); repeatable",
    )
    p.add_argument(
        "--runtime-wrapper",
        action="append",
        default=[],
        metavar="RUNTIME=CMD",
        help="run RUNTIME through CMD (CMD RUNTIME-PATH ARGS...); repeatable",
    )
    p.add_argument(
        "-k",
        action="append",
        default=[],
        metavar="PATTERN",
        dest="patterns",
        help="only requirements whose id contains PATTERN (or matches it as a glob)",
    )
    p.add_argument("--json", metavar="FILE", help="also write the results as JSON")
    p.add_argument("--list", action="store_true", help="print (or with --json write) the catalogue")
    p.add_argument("-j", "--jobs", type=int, default=2, help="cases run in parallel (default 2)")
    p.add_argument(
        "--root",
        type=Path,
        default=DEFAULT_ROOT,
        help=f"parent of each runtime's --root state directory (default {DEFAULT_ROOT})",
    )
    p.add_argument(
        "--cache",
        type=Path,
        default=build.DEFAULT_CACHE,
        help=f"where the rootfs, checker and bundles go (default {build.DEFAULT_CACHE})",
    )
    p.add_argument(
        "--baseline", metavar="RUNTIME", help="exit 1 if another runtime fails a requirement RUNTIME passes"
    )
    p.add_argument("--no-skips", action="store_true", help="leave skip reasons out of the details")
    return p.parse_args(argv)


def select(patterns: list[str]) -> set[str]:
    ids = [r.id for r in REQUIREMENTS]
    if not patterns:
        return set(ids)
    return {i for i in ids for pat in patterns if pat in i or fnmatch.fnmatchcase(i, pat)}


def resolve(name: str) -> str:
    if "/" in name:
        return os.path.abspath(name)
    found = shutil.which(name)
    if not found:
        raise SystemExit(f"conformance: runtime {name!r} not found on PATH")
    return found


def wrappers_by_runtime(specs: list[str], names: list[str]) -> dict[str, str]:
    out = {}
    for spec in specs:
        key, sep, cmd = spec.partition("=")
        matches = [n for n in names if key in (n, os.path.basename(n))]
        if not sep or not cmd or not matches:
            raise SystemExit(
                f"conformance: --runtime-wrapper {spec!r}: want RUNTIME=CMD with RUNTIME one of {names}"
            )
        for n in matches:
            out[n] = cmd
    return out


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    selected = select(args.patterns)
    reqs = [r for r in REQUIREMENTS if r.id in selected]
    automated = automated_ids()
    if args.list:
        if args.json:
            report.write_json(args.json, report.document(reqs, automated, None))
        else:
            for r in reqs:
                mark = "auto" if r.id in automated else "manual"
                print(f"{r.id:<44} {r.level:<6} {mark:<6} {r.spec_file} §{r.section}: {r.text}")
        print(f"{len(reqs)} requirements, {len(selected & automated)} automated", file=sys.stderr)
        return 0
    if not args.runtime:
        print("conformance: give at least one --runtime (or --list)", file=sys.stderr)
        return 2
    wrappers = wrappers_by_runtime(args.runtime_wrapper, args.runtime)
    stamp = f"{os.getpid()}-{int(time.time())}"
    runtimes = [
        Runtime(resolve(n), wrappers.get(n), args.root / f"{stamp}-{i}") for i, n in enumerate(args.runtime)
    ]
    paths = {rt.path for rt in runtimes}
    if len(paths) != len(runtimes):
        print("conformance: the same runtime is given twice", file=sys.stderr)
        return 2
    try:
        rootfs = build.base_rootfs(args.cache)
    except (build.BuildError, OSError) as e:
        print(f"conformance: build failed: {e}", file=sys.stderr)
        return 2
    workdir = args.cache / "bundles"
    workdir.mkdir(parents=True, exist_ok=True)
    cases = [c for c in CASES if selected.intersection(c.reqs)]
    t0 = time.monotonic()
    results = run_all(cases, runtimes, selected, args.jobs, workdir, rootfs)
    # requirements without a case are reported as skipped, so each column is complete
    for per in results.values():
        for r in reqs:
            per.setdefault(r.id, report.Result("skip", "not automated"))
    print(report.table(reqs, results))
    notes = report.details(reqs, results, show_skips=not args.no_skips)
    if notes:
        print("\n" + notes)
    print()
    for path, per in results.items():
        print(report.summary_line(path, per))
    print(f"({len(cases)} cases x {len(runtimes)} runtimes in {time.monotonic() - t0:.0f} s)")
    if args.json:
        report.write_json(args.json, report.document(reqs, automated, results))
    if args.baseline:
        base = (
            resolve(args.baseline) if args.baseline in args.runtime or "/" in args.baseline else args.baseline
        )
        base = next(
            (
                rt.path
                for rt, n in zip(runtimes, args.runtime, strict=False)
                if args.baseline in (n, os.path.basename(n), rt.path)
            ),
            base,
        )
        if base not in results:
            print(f"conformance: --baseline {args.baseline} is not among the runtimes", file=sys.stderr)
            return 2
        regs = report.regressions(results, base)
        if regs:
            print(f"\nREGRESSIONS against {report.label(base)}:")
            for path, rid in regs:
                print(f"  {rid} [{report.label(path)}]: {results[path][rid].detail}")
            return 1
    return 0
