#!/usr/bin/env python3
"""Where does one pyrunc create / start / delete spend its time?

    python3 benchmarks/profile_cmd.py [--runtime PATH] [--top N] [--wall] [--no-strace]

On a busybox /bin/true bundle, for each of `create`, `start` and `delete`:

* the wall time of the command, untraced;
* `-X importtime`: total import time and the top N modules by self time, and the top N
  top-level packages by cumulative time (the interpreter and its flags are read from the
  launcher's #! line, e.g. `python -IS`, where PYTHONPROFILEIMPORTTIME would be ignored);
* `strace -f -c`: a syscall summary of the command and its children.  For `create` that
  includes the container's init until it execs /bin/true (`--detach-on=execve`): strace
  can only finish once the init leaves, so `start` is run untraced meanwhile.  `--wall`
  counts wall-clock time in syscalls (`strace -w`) instead of system CPU time.

Needs root.  Each traced container is force-deleted afterwards.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchlib.bench import load_make_bundle  # noqa: E402
from benchlib.runtimes import find_binary  # noqa: E402

STEPS = ("create", "start", "delete")


def interpreter_of(launcher: str) -> list[str] | None:
    """[python, flags...] from a Python script's #! line, None if it is not one."""
    with open(launcher, "rb") as f:
        first = f.readline().decode(errors="replace").strip()
    if not first.startswith("#!") or "python" not in first:
        return None
    words = first[2:].split()
    if Path(words[0]).name == "env":
        words = words[1:]
    return words


class Profiler:
    def __init__(self, runtime: str, work: Path, top: int):
        self.runtime, self.work, self.top = runtime, work, top
        self.root = work / "state"
        self.bundle = work / "bundle"
        mb = load_make_bundle()
        mb.make_bundle(self.bundle, config=True, args=["/bin/true"])
        self.n = 0

    def argv(self, step: str, cid: str) -> list[str]:
        base = [self.runtime, "--root", str(self.root)]
        if step == "create":
            return [*base, "create", "--bundle", str(self.bundle), "--pid-file",
                    str(self.work / f"{cid}.pid"), cid]
        return [*base, step, cid]

    def new_id(self) -> str:
        self.n += 1
        return f"profile-{os.getpid()}-{self.n}"

    def cycle(self, wrap_step=None) -> dict[str, object]:
        """create, start, wait, delete one container; wrap_step(step, argv) runs a step."""
        cid = self.new_id()
        results = {}
        try:
            for step in STEPS:
                if step == "delete":
                    self.wait_stopped(cid)
                results[step] = (wrap_step or run_plain)(step, self.argv(step, cid), self)
        finally:
            subprocess.run([self.runtime, "--root", str(self.root), "delete", "--force", cid],
                           capture_output=True, timeout=30)
        return results

    def state(self, cid: str) -> str:
        res = subprocess.run([self.runtime, "--root", str(self.root), "state", cid],
                             capture_output=True, text=True, timeout=30)
        return res.stdout

    def wait_stopped(self, cid: str, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while '"stopped"' not in self.state(cid):
            if time.monotonic() > deadline:
                raise SystemExit(f"profile_cmd.py: {cid} did not stop")
            time.sleep(0.01)


def run_checked(argv: list[str], work: Path) -> tuple[str, float]:
    """Run argv; returns (stderr, wall ms).  Output goes to a file, not a pipe: the container
    init of `create` inherits it and outlives the command."""
    with tempfile.TemporaryFile(dir=work) as err:
        t0 = time.perf_counter()
        res = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                             stderr=err, timeout=60)
        ms = (time.perf_counter() - t0) * 1000
        err.seek(0)
        text = err.read().decode(errors="replace")
    if res.returncode != 0:
        raise SystemExit(f"profile_cmd.py: {' '.join(argv)} failed:\n{text}")
    return text, ms


def run_plain(step: str, argv: list[str], p: Profiler) -> float:
    return run_checked(argv, p.work)[1]


# --- importtime -----------------------------------------------------------------------------


def importtime_wrapper(python: list[str]):
    def run_step(step: str, argv: list[str], p: Profiler) -> list[tuple[int, int, str]]:
        return parse_importtime(run_checked([python[0], "-X", "importtime", *python[1:], *argv],
                                            p.work)[0])
    return run_step


def parse_importtime(text: str) -> list[tuple[int, int, str]]:
    """(self µs, cumulative µs, module as printed, indented by nesting) per import."""
    rows = []
    for line in text.splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        self_us, cumul_us, name = line[len("import time:"):].split("|", 2)
        rows.append((int(self_us), int(cumul_us), name.rstrip()))
    return rows


def print_importtime(step: str, rows: list[tuple[int, int, str]], top: int) -> None:
    total = sum(r[0] for r in rows)
    print(f"\n## {step}: -X importtime: {len(rows)} imports, {total / 1000:.1f} ms in total")
    print(f"top {top} by self time:")
    for self_us, cumul_us, name in sorted(rows, reverse=True)[:top]:
        print(f"  {self_us / 1000:7.2f} ms self  {cumul_us / 1000:7.2f} ms cumulative  {name.strip()}")
    top_level = [r for r in rows if r[2].startswith(" ") and not r[2].startswith("  ")]
    print(f"top {top} top-level imports by cumulative time:")
    for _, cumul_us, name in sorted(top_level, key=lambda r: r[1], reverse=True)[:top]:
        print(f"  {cumul_us / 1000:7.2f} ms  {name.strip()}")


# --- strace ---------------------------------------------------------------------------------


def strace_wrapper(wall: bool):
    def run_step(step: str, argv: list[str], p: Profiler) -> str:
        out = p.work / f"strace-{step}.txt"
        cmd = ["strace", "-f", "-c", *(["-w"] if wall else []), "-o", str(out)]
        if step != "create":
            run_checked([*cmd, *argv], p.work)
            return out.read_text()
        # the init outlives create and strace waits for it: start it untraced meanwhile
        tracer = subprocess.Popen([*cmd, "--detach-on=execve", *argv], stdin=subprocess.DEVNULL,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        cid = argv[-1]
        deadline = time.monotonic() + 60
        while '"created"' not in p.state(cid):
            if tracer.poll() is not None or time.monotonic() > deadline:
                raise SystemExit("profile_cmd.py: the traced create failed")
            time.sleep(0.01)
        run_checked([p.runtime, "--root", str(p.root), "start", cid], p.work)
        tracer.wait(timeout=60)
        return out.read_text()

    def cycle(p: Profiler) -> dict[str, str]:
        cid = p.new_id()
        results = {}
        try:
            results["create"] = run_step("create", p.argv("create", cid), p)
            p.wait_stopped(cid)
            results["delete"] = run_step("delete", p.argv("delete", cid), p)
            cid2 = p.new_id()  # start on its own: create untraced, start traced
            run_checked(p.argv("create", cid2), p.work)
            results["start"] = run_step("start", p.argv("start", cid2), p)
            p.wait_stopped(cid2)
            run_checked(p.argv("delete", cid2), p.work)
        finally:
            for c in (cid, f"profile-{os.getpid()}-{p.n}"):
                subprocess.run([p.runtime, "--root", str(p.root), "delete", "--force", c],
                               capture_output=True, timeout=30)
        return results
    return cycle


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runtime", default=find_binary("pyrunc"), help="pyrunc launcher (PATH)")
    ap.add_argument("--top", type=int, default=15, help="rows per table (default 15)")
    ap.add_argument("--wall", action="store_true", help="strace -w: wall time in syscalls")
    ap.add_argument("--no-strace", action="store_true", help="skip the strace summaries")
    args = ap.parse_args(argv)
    if os.geteuid() != 0:
        print("profile_cmd.py: must run as root", file=sys.stderr)
        return 2
    if not args.runtime:
        print("profile_cmd.py: pyrunc not found; give --runtime", file=sys.stderr)
        return 2
    runtime = os.path.abspath(args.runtime)
    work = Path(tempfile.mkdtemp(prefix="pyrunc-profile-"))
    try:
        p = Profiler(runtime, work, args.top)
        p.cycle()  # warm the page cache and the bytecode
        walls = p.cycle()
        print(f"# {runtime}: wall time untraced: "
              + ", ".join(f"{s} {walls[s]:.1f} ms" for s in STEPS))
        python = interpreter_of(runtime)
        if python is None:
            print("(not a Python script: no -X importtime)")
        else:
            for step, rows in p.cycle(importtime_wrapper(python)).items():
                print_importtime(step, rows, args.top)
        if not args.no_strace and shutil.which("strace"):
            what = "wall-clock" if args.wall else "system CPU"
            traced = strace_wrapper(args.wall)(p)
            for step in STEPS:
                text = traced[step]
                extra = " (and the container init until its execve)" if step == "create" else ""
                print(f"\n## {step}{extra}: strace -f -c ({what} time in syscalls)")
                print(text.rstrip())
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
