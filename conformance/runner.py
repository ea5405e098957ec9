"""Running cases: the runtime under test, a case's context (bundles, ids, runtime calls,
checks) and the parallel driver with its clean-up."""

from __future__ import annotations

import contextlib
import json
import os
import shlex
import signal
import subprocess
import time
import traceback
import uuid
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from . import busybox, cleanup
from .model import Case, Result

CALL_TIMEOUT = 20.0
CGROUP_PARENT = "pyrunc-conformance"


class CaseError(Exception):
    """The scenario could not be carried out (setup or a runtime call went wrong)."""


class Runtime:
    """A runtime under test: its path as given, an optional wrapper command and a private
    ``--root`` state directory."""

    def __init__(self, path: str, wrapper: str | None, root: Path):
        self.path = path
        self.wrapper = shlex.split(wrapper) if wrapper else []
        self.root = root

    def argv(self, args: Iterable[str], root: bool = True) -> list[str]:
        base = [*self.wrapper, self.path]
        return base + (["--root", str(self.root)] if root else []) + list(args)


class Call:
    """Outcome of one runtime invocation."""

    def __init__(self, argv: list[str], rc: int | None, out: str, err: str):
        self.argv, self.rc, self.out, self.err = argv, rc, out, err

    @property
    def ok(self) -> bool:
        return self.rc == 0

    def brief(self) -> str:
        cmd = " ".join(self.argv[-3:])
        rc = "timeout" if self.rc is None else f"exit {self.rc}"
        return f"'{cmd}' -> {rc}: {(self.err or self.out).strip()[-300:]}"


def run_cmd(
    argv: list[str],
    timeout: float = CALL_TIMEOUT,
    stdout=None,
    stderr=None,
    cwd: str | None = None,
    env: dict | None = None,
) -> Call:
    """Run a command in its own session; on timeout kill its whole process group."""
    capture = stdout is None
    proc = subprocess.Popen(
        argv,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE if capture else stdout,
        stderr=subprocess.PIPE if stderr is None else stderr,
        text=True,
        start_new_session=True,
        cwd=cwd,
        env=env,
    )
    try:
        out, err = proc.communicate(timeout=timeout)
        return Call(argv, proc.returncode, out or "", err or "")
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
        return Call(argv, None, out or "", err or "")


def default_config(args: list[str]) -> dict:
    """A config.json like ``runc spec`` writes, with a non-terminal process."""
    env = ["PATH=/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm"]
    return busybox.spec_config(args, hostname="conformance", env=env)


class CaseContext:
    """What a case works with.  Everything it creates is tracked for clean-up."""

    def __init__(self, case: Case, runtime: Runtime, workdir: Path, rootfs: Path, selected: set[str]):
        self.case, self.runtime, self.rootfs = case, runtime, rootfs
        self.workdir = workdir
        self.selected = selected
        self.results: dict[str, Result] = {}
        self.ids: list[str] = []
        self.bundles: list[Path] = []
        self.host_mounts: list[str] = []  # made by the case itself on the host
        self.host_dirs: list[Path] = []
        self.tag = uuid.uuid4().hex[:8]

    # ------------------------------------------------------------------ results

    def record(self, rid: str, status: str, detail: str = "") -> None:
        if rid not in self.case.reqs:
            raise KeyError(f"case {self.case.name} does not declare {rid}")
        if rid not in self.results or self.results[rid].status == "pass":
            self.results[rid] = Result(status, detail)

    def check(self, rid: str, ok: bool, expected: object = "", observed: object = "") -> bool:
        if ok:
            self.record(rid, "pass", f"{observed}"[:200] if observed != "" else "")
        else:
            self.record(rid, "fail", f"expected {expected}; observed {observed}")
        return ok

    def eq(self, rid: str, observed: object, expected: object) -> bool:
        return self.check(rid, observed == expected, expected, observed)

    def skip(self, rid: str, reason: str) -> None:
        self.record(rid, "skip", reason)

    def wants(self, rid: str) -> bool:
        return rid in self.selected

    # ------------------------------------------------------------------ bundles

    def new_id(self) -> str:
        cid = f"conf-{self.case.name[:24].replace('_', '-')}-{self.tag}-{len(self.ids)}"
        self.ids.append(cid)
        return cid

    def config(self, args: list[str] | None = None) -> dict:
        cfg = default_config(list(args) if args else ["/checker"])
        cfg["linux"]["cgroupsPath"] = f"/{CGROUP_PARENT}/{self.tag}-{len(self.bundles)}"
        return cfg

    def bundle(self, config: dict, files: dict[str, str] | None = None) -> Path:
        """A fresh bundle with a copy of the base rootfs; ``files`` are extra rootfs files."""
        path = self.workdir / f"{self.case.name}-{self.tag}-{len(self.bundles)}"
        path.mkdir(parents=True)
        self.bundles.append(path)
        busybox.clone_tree(self.rootfs, path / "rootfs")
        for rel, text in (files or {}).items():
            target = path / "rootfs" / rel.lstrip("/")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text)
            target.chmod(0o755)
        self.write_config(path, config)
        return path

    def host_dir(self, name: str) -> Path:
        """A scratch directory outside any bundle (a source for bind mounts)."""
        path = self.workdir / f"{name}-{self.tag}-{len(self.host_dirs)}"
        path.mkdir(parents=True)
        self.host_dirs.append(path)
        return path

    def host_tmpfs(self, target: Path, flags: int = 0, remount_flags: int | None = None) -> None:
        """Mount a private tmpfs on the host (the harness's own fixture, removed after the
        case); ``remount_flags`` are then applied by a bind remount (per-mount flags)."""
        cleanup.mount_tmpfs(target, flags, remount_flags)
        self.host_mounts.append(str(target))

    @staticmethod
    def write_config(bundle: Path, config: dict) -> None:
        (bundle / "config.json").write_text(json.dumps(config, indent=1))

    # ------------------------------------------------------------------ runtime calls

    def rt(self, *args: str, timeout: float = CALL_TIMEOUT, root: bool = True) -> Call:
        return run_cmd(self.runtime.argv(args, root=root), timeout=timeout)

    def create(self, bundle: Path, cid: str, extra: Iterable[str] = ()) -> Call:
        """``create``; the container's stdio goes to files in the bundle (a pipe would be
        held open by the container)."""
        with open(bundle / "stdout", "w") as out, open(bundle / "stderr", "w") as err:
            call = run_cmd(
                self.runtime.argv(["create", *extra, "--bundle", str(bundle), cid]), stdout=out, stderr=err
            )
        call.err = (bundle / "stderr").read_text()
        return call

    def run(self, bundle: Path, cid: str, timeout: float = CALL_TIMEOUT) -> Call:
        """``run`` in the foreground; returns the container's exit code and output."""
        with open(bundle / "stdout", "w") as out, open(bundle / "stderr", "w") as err:
            call = run_cmd(
                self.runtime.argv(["run", "--bundle", str(bundle), cid]),
                stdout=out,
                stderr=err,
                timeout=timeout,
            )
        call.out = (bundle / "stdout").read_text()
        call.err = (bundle / "stderr").read_text()
        return call

    def state(self, cid: str) -> dict:
        call = self.rt("state", cid)
        if not call.ok:
            raise CaseError(f"state failed: {call.brief()}")
        try:
            return json.loads(call.out)
        except ValueError as e:
            raise CaseError(f"state printed no JSON ({e}): {call.out[:200]!r}") from None

    def status(self, cid: str) -> str | None:
        call = self.rt("state", cid)
        if not call.ok:
            return None
        with contextlib.suppress(ValueError, AttributeError):
            return json.loads(call.out).get("status")
        return None

    def wait_status(self, cid: str, want: str, timeout: float = 10.0) -> str | None:
        deadline = time.monotonic() + timeout
        seen = self.status(cid)
        while seen != want and time.monotonic() < deadline:
            time.sleep(0.05)
            seen = self.status(cid)
        return seen

    def must(self, call: Call, what: str) -> Call:
        if not call.ok:
            raise CaseError(f"{what} failed: {call.brief()}")
        return call

    # ------------------------------------------------------------------ common scenarios

    def inspect(self, probes: list[str], edit=None, files: dict[str, str] | None = None) -> dict:
        """Run the checker with ``probes`` in a container (``edit(config)`` adjusts the
        config) and return its JSON findings."""
        cfg = self.config(["/checker", *probes])
        if edit:
            edit(cfg)
        bundle = self.bundle(cfg, files)
        call = self.run(bundle, self.new_id())
        if not call.ok:
            raise CaseError(f"container failed: {call.brief()}")
        try:
            return json.loads(call.out)
        except ValueError:
            raise CaseError(f"checker output is not JSON: {call.out[:300]!r}") from None

    def sh(self, script: str, edit=None, files: dict[str, str] | None = None) -> Call:
        """Run ``sh -c script`` in a container; returns the call (rc = the script's)."""
        cfg = self.config(["/bin/sh", "-c", script])
        if edit:
            edit(cfg)
        return self.run(self.bundle(cfg, files), self.new_id())


# ---------------------------------------------------------------------- driver


def run_case(
    case: Case, runtime: Runtime, workdir: Path, rootfs: Path, selected: set[str]
) -> dict[str, Result]:
    ctx = CaseContext(case, runtime, workdir, rootfs, selected)
    try:
        case.func(ctx)
    except CaseError as e:
        _fill(ctx, "fail", str(e))
    except Exception as e:  # a bug in a case must not stop the run
        _fill(ctx, "fail", f"harness error: {e!r} {traceback.format_exc(limit=-2)!r}")
    finally:
        leftovers = cleanup.clean_case(ctx)
    _fill(ctx, "fail", "the case did not decide this requirement")
    if leftovers:
        for rid, res in list(ctx.results.items()):
            if res.status == "pass":
                ctx.results[rid] = Result("fail", f"left behind: {'; '.join(leftovers)}")
    return {rid: r for rid, r in ctx.results.items() if rid in selected}


def _fill(ctx: CaseContext, status: str, detail: str) -> None:
    for rid in ctx.case.reqs:
        if rid not in ctx.results:
            ctx.results[rid] = Result(status, detail)


def run_all(
    cases: list[Case],
    runtimes: list[Runtime],
    selected: set[str],
    jobs: int,
    workdir: Path,
    rootfs: Path,
    progress=None,
) -> dict[str, dict[str, Result]]:
    results: dict[str, dict[str, Result]] = {rt.path: {} for rt in runtimes}
    for rt in runtimes:
        rt.root.mkdir(parents=True, exist_ok=True)
    work = [(c, rt) for c in cases for rt in runtimes]
    # longest first would need timings; interleaving runtimes spreads load evenly
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        futures = {pool.submit(run_case, c, rt, workdir, rootfs, selected): (c, rt) for c, rt in work}
        for fut in futures:
            c, rt = futures[fut]
            results[rt.path].update(fut.result())
            if progress:
                progress(c, rt)
    for rt in runtimes:
        cleanup.clean_root(rt)
    return results
