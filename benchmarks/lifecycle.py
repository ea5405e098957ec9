#!/usr/bin/env python3
"""Container lifecycle benchmark: pyrunc against runc and crun (the suite's `lifecycle` scenario).

Kept for its command line: it runs benchmarks/suite.py's `lifecycle` scenario (create ->
start -> wait for the exit of /bin/true -> delete, rounds interleaved across runtimes) and,
unless --rss-rounds is 0, its `rss` scenario (peak RSS of each runtime command).

    python3 benchmarks/lifecycle.py [--rounds N] [--warmup N] [--rss-rounds N]
                                    [--runtimes pyrunc,runc,crun] [--json FILE]

Needs root. It writes no file unless given --json (the suite's JSON format). See
benchmarks/README.md and docs/performance.md.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import suite
from benchlib import report


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--rounds", type=int, default=30, help="timed rounds per runtime (default 30)")
    p.add_argument("--warmup", type=int, default=2, help="untimed rounds per runtime first (default 2)")
    p.add_argument("--rss-rounds", type=int, default=3,
                   help="rounds of the peak-RSS scenario, run after the timed ones (default 3; 0: none)")
    p.add_argument("--runtimes", default="pyrunc,runc,crun",
                   help="comma-separated NAME or NAME=PATH (default pyrunc,runc,crun); the ratios "
                        "compare the first one found with each other one")
    p.add_argument("--timeout", type=float, default=60.0,
                   help="seconds a runtime command or the container may take (default 60)")
    p.add_argument("--json", metavar="FILE", help="also write the samples and the summary as JSON")
    p.add_argument("--no-crun-wrapper", action="store_true",
                   help="run crun directly even on a hybrid cgroup host (where it then fails)")
    args = p.parse_args(argv)
    if args.rounds < 1 or args.warmup < 0 or args.rss_rounds < 0:
        p.error("--rounds must be >= 1, --warmup and --rss-rounds >= 0")
    return args


def suite_args(args: argparse.Namespace) -> argparse.Namespace:
    """The suite's options for the same measurement."""
    scenarios = "lifecycle,rss" if args.rss_rounds else "lifecycle"
    # --rss-rounds 0 leaves out the rss scenario; the suite wants a count >= 1 all the same
    argv = ["--scenarios", scenarios, "--runtimes", args.runtimes, "--rounds", str(args.rounds),
            "--warmup", str(args.warmup), "--rss-rounds", str(max(args.rss_rounds, 1)),
            "--timeout", str(args.timeout)]
    return suite.parse_args(argv + (["--no-crun-wrapper"] if args.no_crun_wrapper else []))


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if os.geteuid() != 0:
        print("lifecycle.py: must run as root", file=sys.stderr)
        return 2
    data = suite.measure(suite_args(args),
                         ["benchmarks/lifecycle.py", *(sys.argv[1:] if argv is None else argv)])
    if data is None:
        return 2
    print(f"\nLifecycle benchmark: {args.rounds} interleaved rounds of create -> start -> exit -> "
          f"delete of a busybox /bin/true container (median ms; ratios: median of per-round "
          f"ratios, > 1: the first runtime is slower)")
    print(report.render(data))
    if args.json:
        Path(args.json).write_text(json.dumps(data, indent=1) + "\n")
        print(f"\nJSON: {args.json}")
    return 1 if suite.any_failed(data) else 0


if __name__ == "__main__":
    sys.exit(main())
