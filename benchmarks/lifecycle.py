#!/usr/bin/env python3
"""Container lifecycle benchmark: pyrunc against runc and crun.

One round for one runtime is ``create`` -> ``start`` -> wait until the container process
has exited -> ``delete``, on a busybox bundle whose process is ``/bin/true``. Rounds are
interleaved across runtimes (A B C A B C ...) so that drifts in machine load hit every
runtime alike. Each runtime gets its own ``--root`` state directory.

    python3 benchmarks/lifecycle.py [--rounds N] [--runtimes pyrunc,runc,crun] [--json FILE]

Needs root. See benchmarks/README.md for what is measured and how.
"""

from __future__ import annotations

import argparse
import ctypes
import importlib.util
import json
import os
import platform
import select
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
MAKE_BUNDLE = REPO / "scripts" / "make_bundle.py"

STEPS = ("create", "start", "wait", "delete")
COMMANDS = ("create", "start", "delete")  # the steps that run a runtime command
PR_SET_CHILD_SUBREAPER = 36
TIMEOUT = 60.0  # seconds a runtime command or the container process may take (--timeout)
CGROUP_UNIFIED = "/sys/fs/cgroup/unified"
# crun refuses a hybrid cgroup host. On such a host it runs in a private mount namespace
# without the cgroup2 mount, where it sees a plain cgroup v1 host. The namespace is made once
# and kept by a sleeping holder process; each crun command enters it with nsenter, which costs
# much less than making a namespace per command (`unshare -m sh -c 'umount ...; exec crun'`).
HOLDER_SCRIPT = f"umount {CGROUP_UNIFIED} && echo ready && exec sleep 2147483647"


class BenchError(Exception):
    pass


@dataclass
class Runtime:
    name: str
    binary: str
    root: Path
    prefix: list[str] = field(default_factory=list)  # wrapper command put before the binary
    version: str = ""
    seconds: dict[str, list[float]] = field(
        default_factory=lambda: {s: [] for s in ("round", *STEPS)})
    rss_kib: dict[str, list[int]] = field(default_factory=lambda: {s: [] for s in COMMANDS})

    def argv(self, *args: str) -> list[str]:
        return [*self.prefix, self.binary, "--root", str(self.root), *args]


@dataclass
class Harness:
    out_fd: int                   # stdout+stderr of every runtime command (for error messages)
    gnu_time: str | None          # /usr/bin/time, for the peak-RSS rounds
    rss_file: Path
    measure_rss: bool = False     # False: timed rounds; True: peak-RSS rounds
    # the round under way: runtime, container id, container pid (once known)
    current: tuple[Runtime, str, int | None] | None = None


# --- process helpers ------------------------------------------------------------------------


def spawn_and_wait(argv: list[str], out_fd: int) -> tuple[int, float]:
    """Run argv (argv[0] an absolute path) with stdin /dev/null and stdout+stderr to out_fd.

    Returns (exit code, wall seconds). posix_spawn + wait4 keep the harness's own cost small
    and the same for every runtime. A command still running after TIMEOUT is killed.
    """
    os.ftruncate(out_fd, 0)
    devnull = os.open(os.devnull, os.O_RDONLY)
    try:
        actions = [
            (os.POSIX_SPAWN_DUP2, devnull, 0),
            (os.POSIX_SPAWN_DUP2, out_fd, 1),
            (os.POSIX_SPAWN_DUP2, out_fd, 2),
        ]
        t0 = time.perf_counter()
        pid = os.posix_spawn(argv[0], argv, os.environ, file_actions=actions)
        pidfd = os.pidfd_open(pid)
        try:
            exited = select.poll()
            exited.register(pidfd, select.POLLIN)
            timed_out = not exited.poll(TIMEOUT * 1000)
            if timed_out:
                signal.pidfd_send_signal(pidfd, signal.SIGKILL)
            _, status, _ = os.wait4(pid, 0)
        finally:
            os.close(pidfd)
        elapsed = time.perf_counter() - t0
    finally:
        os.close(devnull)
    if timed_out:
        raise BenchError(f"`{' '.join(argv)}` did not finish in {TIMEOUT:g} s; killed it. "
                         f"Its output:\n{read_output(out_fd)}")
    return os.waitstatus_to_exitcode(status), elapsed


def read_output(fd: int) -> str:
    os.lseek(fd, 0, os.SEEK_SET)
    return os.read(fd, 1 << 16).decode(errors="replace").strip()


def wait_for_exit(pid: int, pidfd: int | None) -> None:
    """Block until process pid has exited, then reap it if it is our child."""
    deadline = time.monotonic() + TIMEOUT
    if pidfd is not None:
        poller = select.poll()
        poller.register(pidfd, select.POLLIN)
        if not poller.poll(TIMEOUT * 1000):
            raise BenchError(f"the container process {pid} did not exit in {TIMEOUT:g} s")
    else:  # no pidfd: poll /proc tightly
        while not _gone_or_zombie(pid):
            if time.monotonic() > deadline:
                raise BenchError(f"the container process {pid} did not exit in {TIMEOUT:g} s")
            time.sleep(0.0001)
    try:
        os.waitpid(pid, 0)  # we are a child subreaper, so the orphaned init is our child
    except ChildProcessError:
        pass


def _gone_or_zombie(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"
    except (OSError, IndexError):
        return True


def kill_if_child(pid: int) -> None:
    """SIGKILL pid if it is our (unreaped) child, which rules out a reused pid."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            ppid = int(f.read().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return
    if ppid == os.getpid():
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)


def reap_strays() -> None:
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def become_subreaper() -> bool:
    libc = ctypes.CDLL(None, use_errno=True)
    return libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0


# --- bundle ---------------------------------------------------------------------------------


def build_bundle(bundle: Path) -> None:
    """A busybox bundle (scripts/make_bundle.py) whose process is /bin/true, no terminal."""
    spec = importlib.util.spec_from_file_location("make_bundle", MAKE_BUNDLE)
    if spec is None or spec.loader is None or not MAKE_BUNDLE.exists():
        raise BenchError(f"{MAKE_BUNDLE} not found")
    make_bundle = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(make_bundle)
    make_bundle.make_bundle(bundle, config=True, args=["/bin/true"])
    config_path = bundle / "config.json"
    config = json.loads(config_path.read_text())
    config["process"]["args"] = ["/bin/true"]
    config["process"]["terminal"] = False
    config_path.write_text(json.dumps(config, indent=2))


# --- runtimes -------------------------------------------------------------------------------


def find_binary(name: str) -> str | None:
    found = shutil.which(name)
    if found is None and name == "pyrunc":
        venv = REPO / ".venv" / "bin" / "pyrunc"
        found = str(venv) if os.access(venv, os.X_OK) else None
    return found


def hybrid_cgroups() -> bool:
    """True on a host with cgroup v1 controllers and a cgroup2 mount at .../unified."""
    if not os.path.ismount(CGROUP_UNIFIED):
        return False
    with open("/proc/self/mountinfo") as f:
        for line in f:
            fields = line.split()
            if fields[4] == "/sys/fs/cgroup":
                return fields[fields.index("-") + 1] == "tmpfs"
    return False


def runtime_version(binary: str) -> str | None:
    """First line of `binary --version`, or None if that fails."""
    try:
        proc = subprocess.run([binary, "--version"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    if proc.returncode != 0:
        return None
    return proc.stdout.strip().splitlines()[0] if proc.stdout.strip() else "?"


class CgroupV1Namespace:
    """A mount namespace where /sys/fs/cgroup/unified is unmounted, held by a sleeping child."""

    def __init__(self) -> None:
        unshare, nsenter = shutil.which("unshare"), shutil.which("nsenter")
        if unshare is None or nsenter is None:
            raise BenchError("crun on a hybrid cgroup host needs unshare and nsenter (util-linux)")
        self.holder = subprocess.Popen(
            [unshare, "--mount", "--propagation", "private", "sh", "-c", HOLDER_SCRIPT],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        if self.holder.stdout.readline().strip() != "ready":
            self.stop()
            raise BenchError(f"could not make the cgroup v1 mount namespace: {self.holder.stderr.read()}")
        self.prefix = [nsenter, f"--mount=/proc/{self.holder.pid}/ns/mnt"]

    def overhead_ms(self, out_fd: int, n: int = 30) -> float:
        """Median extra wall time of entering the namespace, measured around /bin/true."""
        true = shutil.which("true") or "/bin/true"
        plain, wrapped = [], []
        for _ in range(n):
            plain.append(spawn_and_wait([true], out_fd)[1])
            rc, secs = spawn_and_wait([*self.prefix, true], out_fd)
            if rc != 0:
                raise BenchError(f"nsenter failed: {read_output(out_fd)}")
            wrapped.append(secs)
        return (statistics.median(wrapped) - statistics.median(plain)) * 1000

    def stop(self) -> None:
        if self.holder.poll() is None:
            self.holder.kill()
        try:
            self.holder.wait(timeout=10)
        except ChildProcessError:
            pass
        self.holder.stdout.close()
        self.holder.stderr.close()


# --- the round ------------------------------------------------------------------------------


def run_command(rt: Runtime, step: str, args: list[str], h: Harness, cid: str) -> float:
    argv = rt.argv(*args)
    if h.measure_rss:
        h.rss_file.unlink(missing_ok=True)
        argv = [h.gnu_time, "-q", "-f", "%M", "-o", str(h.rss_file), *argv]
    rc, secs = spawn_and_wait(argv, h.out_fd)
    if rc != 0:
        raise BenchError(f"{rt.name} {step} {cid} exited with status {rc}:\n{read_output(h.out_fd)}")
    if h.measure_rss:
        rt.rss_kib[step].append(int(h.rss_file.read_text().split()[-1]))
    return secs


def one_round(rt: Runtime, bundle: Path, cid: str, h: Harness) -> None:
    pid_file = rt.root.parent / "container.pid"
    pid_file.unlink(missing_ok=True)
    steps: dict[str, float] = {}
    h.current = (rt, cid, None)
    t_round = time.perf_counter()
    steps["create"] = run_command(
        rt, "create", ["create", "--bundle", str(bundle), "--pid-file", str(pid_file), cid], h, cid)
    try:
        pid = int(pid_file.read_text().strip())
    except (OSError, ValueError) as err:
        raise BenchError(f"{rt.name} create {cid}: no usable pid file: {err}") from None
    h.current = (rt, cid, pid)
    try:
        pidfd: int | None = os.pidfd_open(pid)
    except ProcessLookupError:
        pidfd = None
    try:
        steps["start"] = run_command(rt, "start", ["start", cid], h, cid)
        t_wait = time.perf_counter()
        wait_for_exit(pid, pidfd)
        steps["wait"] = time.perf_counter() - t_wait
    finally:
        if pidfd is not None:
            os.close(pidfd)
    steps["delete"] = run_command(rt, "delete", ["delete", cid], h, cid)
    steps["round"] = time.perf_counter() - t_round
    h.current = None
    if not h.measure_rss:
        for key, secs in steps.items():
            rt.seconds[key].append(secs)


def run_rounds(runtimes: list[Runtime], bundle: Path, h: Harness, n: int, label: str) -> None:
    for i in range(n):
        for rt in runtimes:
            one_round(rt, bundle, f"bench-{os.getpid()}-{label}-{rt.name}-{i}", h)
            reap_strays()
        if label == "timed" and (i + 1) % 10 == 0:
            print(f"  {i + 1}/{n} timed rounds", file=sys.stderr)


# --- report ---------------------------------------------------------------------------------


def summarize(runtimes: list[Runtime]) -> dict:
    summary: dict = {"runtimes": {}, "ratios": {}}
    for rt in runtimes:
        summary["runtimes"][rt.name] = {
            "version": rt.version,
            "median_ms": {k: statistics.median(v) * 1000 for k, v in rt.seconds.items()},
            "peak_rss_kib": {k: (max(v) if v else None) for k, v in rt.rss_kib.items()},
        }
    base = runtimes[0]
    for other in runtimes[1:]:
        ratios = {}
        for key in ("round", *STEPS):
            pairs = [a / b for a, b in zip(base.seconds[key], other.seconds[key], strict=True) if b > 0]
            ratios[key] = statistics.median(pairs) if pairs else None
        summary["ratios"][f"{base.name}/{other.name}"] = ratios
    return summary


def print_report(runtimes: list[Runtime], summary: dict, args: argparse.Namespace,
                 notes: list[str]) -> None:
    def cell(value: float | None, fmt: str, width: int) -> str:
        return format(value, fmt).rjust(width) if value is not None else "n/a".rjust(width)

    print()
    print(f"Lifecycle benchmark: {args.rounds} interleaved rounds of create -> start -> exit -> "
          f"delete of a busybox /bin/true container (median ms)")
    header = (f"{'runtime':<8} {'round':>8} {'create':>8} {'start':>8} {'wait':>8} {'delete':>8}"
              f"   peak RSS MiB: {'create':>6} {'start':>6} {'delete':>6}")
    print(header)
    print("-" * len(header))
    for rt in runtimes:
        s = summary["runtimes"][rt.name]
        med, rss = s["median_ms"], s["peak_rss_kib"]
        times = " ".join(cell(med[k], ".2f", 8) for k in ("round", *STEPS))
        mib = " ".join(cell(rss[k] / 1024 if rss[k] else None, ".1f", 6) for k in COMMANDS)
        print(f"{rt.name:<8} {times}   {'':14}{mib}")
    if summary["ratios"]:
        print()
        print("ratios: median of the per-round ratios (> 1: the first runtime is slower)")
        print(f"{'pair':<14} {'round':>7} {'create':>7} {'start':>7} {'wait':>7} {'delete':>7}")
        for pair, r in summary["ratios"].items():
            print(f"{pair:<14} " + " ".join(cell(r[k], ".2f", 7) for k in ("round", *STEPS)))
    print()
    for rt in runtimes:
        print(f"{rt.name}: {rt.version} ({rt.binary})")
    for note in notes:
        print(f"note: {note}")


# --- main -----------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--rounds", type=int, default=30, help="timed rounds per runtime (default 30)")
    p.add_argument("--warmup", type=int, default=2, help="untimed rounds per runtime first (default 2)")
    p.add_argument("--rss-rounds", type=int, default=3,
                   help="extra rounds per runtime, run under GNU time, for peak RSS (default 3)")
    p.add_argument("--runtimes", default="pyrunc,runc,crun",
                   help="comma-separated NAME or NAME=PATH (default pyrunc,runc,crun); the ratios "
                        "compare the first one found with each other one")
    p.add_argument("--timeout", type=float, default=TIMEOUT,
                   help=f"seconds a runtime command or the container may take (default {TIMEOUT:g})")
    p.add_argument("--json", metavar="FILE", help="also write the raw samples and the summary as JSON")
    p.add_argument("--no-crun-wrapper", action="store_true",
                   help="run crun directly even on a hybrid cgroup host (where it then fails)")
    args = p.parse_args(argv)
    if args.rounds < 1 or args.warmup < 0 or args.rss_rounds < 0:
        p.error("--rounds must be >= 1, --warmup and --rss-rounds >= 0")
    return args


def main(argv: list[str] | None = None) -> int:
    global TIMEOUT
    args = parse_args(argv)
    TIMEOUT = args.timeout
    if os.geteuid() != 0:
        print("lifecycle.py: must run as root", file=sys.stderr)
        return 2
    notes: list[str] = []
    if not become_subreaper():
        notes.append("could not become a child subreaper: the benchmark did not reap container processes")

    runtimes: list[Runtime] = []
    work = Path(tempfile.mkdtemp(prefix="pyrunc-bench-"))
    for item in filter(None, (s.strip() for s in args.runtimes.split(","))):
        name, _, path = item.partition("=")
        binary = path or find_binary(name)
        if not binary or not os.access(binary, os.X_OK):
            notes.append(f"{name}: not installed, skipped")
            print(f"lifecycle.py: {name} is not installed, skipping it", file=sys.stderr)
            continue
        binary = os.path.abspath(binary)
        version = runtime_version(binary)
        if version is None:
            notes.append(f"{name}: `{binary} --version` failed, skipped")
            print(f"lifecycle.py: `{binary} --version` failed, skipping {name}", file=sys.stderr)
            continue
        root = work / name / "state"
        root.mkdir(parents=True)
        runtimes.append(Runtime(name=name, binary=binary, root=root, version=version))
    if not runtimes:
        print("lifecycle.py: none of the runtimes is installed", file=sys.stderr)
        shutil.rmtree(work, ignore_errors=True)
        return 2

    out_fd = os.open(work / "output", os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, 0o600)
    gnu_time = "/usr/bin/time" if os.access("/usr/bin/time", os.X_OK) else None
    h = Harness(out_fd=out_fd, gnu_time=gnu_time, rss_file=work / "rss")
    v1ns: CgroupV1Namespace | None = None
    status = 0
    try:
        hybrid = hybrid_cgroups()
        for rt in runtimes:
            if Path(rt.binary).name != "crun" or not hybrid or args.no_crun_wrapper:
                continue
            if v1ns is None:
                v1ns = CgroupV1Namespace()
            rt.prefix = list(v1ns.prefix)
            cost = v1ns.overhead_ms(out_fd)
            notes.append(
                f"{rt.name}: this host has hybrid cgroups, which crun refuses, so every crun "
                f"command ran as `{' '.join(v1ns.prefix)} crun ...`, in a mount namespace made "
                f"once by `unshare --mount` where {CGROUP_UNIFIED} is unmounted. nsenter's cost, "
                f"about {cost:.2f} ms per command ({3 * cost:.2f} ms per round; measured around "
                f"/bin/true), is included in crun's times, and its peak RSS is the larger of "
                f"nsenter's and crun's")

        bundle = work / "bundle"
        build_bundle(bundle)
        notes.append("bundle: scripts/make_bundle.py default config, process /bin/true, terminal false")

        run_rounds(runtimes, bundle, h, args.warmup, "warmup")
        run_rounds(runtimes, bundle, h, args.rounds, "timed")
        if gnu_time and args.rss_rounds:
            h.measure_rss = True
            run_rounds(runtimes, bundle, h, args.rss_rounds, "rss")
            notes.append(
                f"peak RSS: largest ru_maxrss over {args.rss_rounds} separate rounds in which each "
                f"runtime command ran under GNU time (wait4 in a small parent; see README)")
        else:
            notes.append("peak RSS not measured (needs GNU time, /usr/bin/time: apt-get install time)")

        summary = summarize(runtimes)
        print_report(runtimes, summary, args, notes)
        if args.json:
            data = {
                "rounds": args.rounds,
                "warmup": args.warmup,
                "rss_rounds": args.rss_rounds if gnu_time else 0,
                "host": {"kernel": platform.release(), "machine": platform.machine(),
                         "cpus": os.cpu_count(), "hybrid_cgroups": hybrid},
                "notes": notes,
                "summary": summary,
                "samples_ms": {rt.name: {k: [x * 1000 for x in v] for k, v in rt.seconds.items()}
                               for rt in runtimes},
                "rss_kib": {rt.name: rt.rss_kib for rt in runtimes},
                "commands": {rt.name: rt.argv("...") for rt in runtimes},
            }
            Path(args.json).write_text(json.dumps(data, indent=2) + "\n")
            print(f"raw samples written to {args.json}")
    except BenchError as err:
        print(f"lifecycle.py: {err}", file=sys.stderr)
        status = 1
    finally:
        if h.current is not None:  # a round failed half-way: remove its container
            rt, cid, pid = h.current
            try:
                spawn_and_wait(rt.argv("delete", "--force", cid), out_fd)
            except BenchError as err:
                print(f"lifecycle.py: cleanup: {err}", file=sys.stderr)
            if pid is not None:
                kill_if_child(pid)
        if v1ns is not None:
            v1ns.stop()
        reap_strays()
        os.close(out_fd)
        shutil.rmtree(work, ignore_errors=True)
    return status


if __name__ == "__main__":
    sys.exit(main())
