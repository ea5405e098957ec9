"""Shared fixtures for the real-container tests (tests/integration).

The runtime under test is a runc-compatible command line:

* ``PYRUNC_TEST_RUNTIME``: a path or a command name (``runc``, ``crun``, ``pyrunc``);
  default: ``pyrunc`` on PATH, else ``<repo>/.venv/bin/pyrunc``.
* ``PYRUNC_TEST_DIR``: where base rootfs and bundles live (default /var/tmp/pyrunc-test).
* ``PYRUNC_TEST_KEEP=1``: keep bundles and logs after each test.

Fixtures (see each docstring): ``base_rootfs`` (session), ``bundle`` (factory),
``runtime``, ``make_id`` (factory) and ``cid`` (one fresh id).  Tests marked
``pyrunc_only`` are skipped unless the runtime's ``--version`` starts with ``pyrunc``.

Every test using ``bundle``/``runtime`` ends with a hygiene check: all containers of the
test's ``--root`` are killed and force-deleted, then nothing may remain (no state dir,
no process rooted in or working inside a bundle, no host mount under a bundle).  Leftovers
are cleaned by force and reported as a test error.
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import json
import os
import re
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterable
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
for _p in (REPO / "scripts", REPO / "tests"):
    if str(_p) not in sys.path:
        sys.path.insert(0, str(_p))

import make_bundle  # noqa: E402
from integration.util import (  # noqa: E402
    parse_mountinfo,
    pid_alive,
    proc_starttime,
    unique_id,
)

TEST_DIR = Path(os.environ.get("PYRUNC_TEST_DIR", "/var/tmp/pyrunc-test"))
ROOT_BASE = Path("/run/pyrunc-test")
DEFAULT_TIMEOUT = 20.0
KEEP = os.environ.get("PYRUNC_TEST_KEEP", "") not in ("", "0")


# --------------------------------------------------------------------------- runtime binary


def resolve_runtime() -> str:
    """Absolute path of the runtime under test (raises FileNotFoundError)."""
    name = os.environ.get("PYRUNC_TEST_RUNTIME", "").strip()
    if name:
        if "/" in name:
            path = os.path.abspath(name)
            if os.access(path, os.X_OK):
                return path
            raise FileNotFoundError(f"PYRUNC_TEST_RUNTIME={name}: not an executable file")
        found = shutil.which(name)
        if found:
            return found
        raise FileNotFoundError(f"PYRUNC_TEST_RUNTIME={name}: not found on PATH")
    found = shutil.which("pyrunc")
    if found:
        return found
    venv = REPO / ".venv" / "bin" / "pyrunc"
    if os.access(venv, os.X_OK):
        return str(venv)
    raise FileNotFoundError("no pyrunc on PATH nor in .venv (set PYRUNC_TEST_RUNTIME)")


@functools.cache
def runtime_version_line() -> str:
    """First line of ``<runtime> --version`` ('' when it cannot be run)."""
    try:
        out = subprocess.run([resolve_runtime(), "--version"], capture_output=True, text=True,
                             timeout=DEFAULT_TIMEOUT, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.SubprocessError):
        return ""
    lines = out.stdout.splitlines()
    return lines[0].strip() if lines else ""


def is_pyrunc() -> bool:
    return runtime_version_line().startswith("pyrunc")


# --------------------------------------------------------------------------- pytest hooks


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "pyrunc_only: checks pyrunc-specific behaviour; skipped when the runtime under test "
        "(PYRUNC_TEST_RUNTIME) does not report 'pyrunc ...' as the first line of --version",
    )


def pytest_runtest_setup(item: pytest.Item) -> None:
    marker = item.get_closest_marker("pyrunc_only")
    if marker is None:
        return
    line = runtime_version_line()
    if line and not line.startswith("pyrunc"):
        reason = marker.kwargs.get("reason") or (marker.args[0] if marker.args else "")
        pytest.skip(f"pyrunc only (runtime is {line!r}){': ' + reason if reason else ''}")


# --------------------------------------------------------------------------- small helpers


def _is_under(path: str, top: str) -> bool:
    top = top.rstrip("/")
    return path == top or path.startswith(top + "/")


def safe_rmtree(top: str | os.PathLike) -> list[str]:
    """Remove a tree without ever crossing into another filesystem (a leftover bind mount
    of a host directory must not be emptied).  Returns the paths it refused to enter."""
    top = os.fspath(top)
    skipped: list[str] = []
    try:
        top_dev = os.lstat(top).st_dev
    except FileNotFoundError:
        return skipped

    def rm(path: str) -> bool:
        st = os.lstat(path)
        if not stat.S_ISDIR(st.st_mode):
            os.unlink(path)
            return True
        if st.st_dev != top_dev:
            skipped.append(path)
            return False
        with contextlib.suppress(OSError):
            os.chmod(path, 0o700)
        empty = True
        for entry in os.scandir(path):
            try:
                empty = rm(entry.path) and empty
            except FileNotFoundError:
                pass
        if empty:
            os.rmdir(path)
        return empty

    rm(top)
    return skipped


def _sanitize(name: str, limit: int = 40) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name)[:limit].strip("_.") or "test"


# --------------------------------------------------------------------------- bundles


class Bundle(os.PathLike):
    """A bundle directory: ``path``, ``rootfs``, ``config`` (dict, written as config.json).

    Passes as a path (``os.fspath(bundle)``); edit ``config`` and call ``write_config()``
    to change it after creation.
    """

    def __init__(self, path: Path, config: dict):
        self.path = path
        self.rootfs = path / "rootfs"
        self.config = config
        st = os.stat(self.rootfs)
        self.rootfs_ident = (st.st_dev, st.st_ino)

    def __fspath__(self) -> str:
        return str(self.path)

    def __str__(self) -> str:
        return str(self.path)

    def __repr__(self) -> str:
        return f"Bundle({str(self.path)!r})"

    @property
    def config_path(self) -> Path:
        return self.path / "config.json"

    def write_config(self) -> None:
        make_bundle.write_config(self.path, self.config)


# --------------------------------------------------------------------------- results


class Result(subprocess.CompletedProcess):
    """CompletedProcess of one runtime command; stdout/stderr are str.

    The command's stdout/stderr went to files (``out_path``/``err_path``), never to pipes:
    a container process started by ``create``/``run -d`` inherits them and keeps writing
    there, and ``read_out()``/``read_err()`` read what is there now.
    """

    out_path: Path
    err_path: Path

    def read_out(self) -> str:
        return self.out_path.read_bytes().decode(errors="replace")

    def read_err(self) -> str:
        return self.err_path.read_bytes().decode(errors="replace")

    def describe(self) -> str:
        cmd = " ".join(str(a) for a in self.args)
        return (f"$ {cmd}\nexit status {self.returncode}\n--- stdout ---\n{self.stdout}"
                f"--- stderr ---\n{self.stderr}")


class Spawned:
    """A runtime command running in the background (``Runtime.spawn``)."""

    def __init__(self, proc: subprocess.Popen, args: list[str], out_path: Path, err_path: Path,
                 files: list):
        self.proc = proc
        self.args = args
        self.out_path = out_path
        self.err_path = err_path
        self._files = files

    def wait(self, timeout: float = DEFAULT_TIMEOUT) -> Result:
        try:
            rc = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            pytest.fail(f"{' '.join(self.args)} did not finish within {timeout}s")
        finally:
            for f in self._files:
                f.close()
        res = Result(self.args, rc, "", "")
        res.out_path, res.err_path = self.out_path, self.err_path
        res.stdout, res.stderr = res.read_out(), res.read_err()
        return res


# --------------------------------------------------------------------------- hygiene


class _Hygiene:
    """What one test made (bundles, roots, pids) and the leftover check at its end."""

    def __init__(self, name: str):
        self.name = name
        self.bundles: list[Bundle] = []
        self.extra_paths: list[Path] = []
        self.roots: list[Path] = []
        self.pids: dict[int, int] = {}  # pid -> start time
        self.problems: list[str] = []

    def note_pid(self, pid: int) -> None:
        if pid and pid > 0 and pid not in self.pids:
            start = proc_starttime(pid)
            if start is not None:
                self.pids[pid] = start

    # -- processes
    def _leftover_processes(self) -> dict[int, str]:
        idents = {b.rootfs_ident for b in self.bundles}
        tops = [str(b.path) for b in self.bundles] + [str(p) for p in self.extra_paths]
        found: dict[int, str] = {}
        me = os.getpid()
        for entry in os.scandir("/proc"):
            if not entry.name.isdigit():
                continue
            pid = int(entry.name)
            if pid == me:
                continue
            why = None
            try:
                st = os.stat(f"/proc/{pid}/root")
                if (st.st_dev, st.st_ino) in idents:
                    why = "its root is a bundle's rootfs"
            except OSError:
                pass
            if why is None:
                for link in ("root", "cwd"):
                    try:
                        target = os.readlink(f"/proc/{pid}/{link}")
                    except OSError:
                        continue
                    if any(_is_under(target, t) for t in tops):
                        why = f"its {link} is {target}"
                        break
            if why is None and pid in self.pids and proc_starttime(pid) == self.pids[pid]:
                why = "it is a container process the runtime reported"
            if why is not None and pid_alive(pid):
                found[pid] = why
        return found

    @staticmethod
    def _describe(pid: int) -> str:
        try:
            cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode().strip()
        except OSError:
            cmd = "?"
        return f"pid {pid} ({cmd})"

    def check_processes(self) -> None:
        deadline = time.monotonic() + 3.0
        left = self._leftover_processes()
        while left and time.monotonic() < deadline:
            time.sleep(0.05)
            left = self._leftover_processes()
        if not left:
            return
        self.problems.append("processes left running: " + "; ".join(
            f"{self._describe(pid)}: {why}" for pid, why in sorted(left.items())))
        for pid in left:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 3.0
        while self._leftover_processes() and time.monotonic() < deadline:
            time.sleep(0.05)

    # -- mounts
    def check_mounts(self) -> None:
        tops = [str(b.path) for b in self.bundles] + [str(p) for p in self.extra_paths]
        tops += [str(r) for r in self.roots]
        mounts = parse_mountinfo(Path("/proc/self/mountinfo").read_text())
        left = [m["mount_point"] for m in mounts if any(_is_under(m["mount_point"], t) for t in tops)]
        if not left:
            return
        self.problems.append("host mounts left: " + ", ".join(left))
        for mp in sorted(set(left), key=lambda p: p.count("/"), reverse=True):
            subprocess.run(["umount", "-l", mp], capture_output=True, timeout=DEFAULT_TIMEOUT)

    # -- roots and files
    def check_roots(self) -> None:
        for root in self.roots:
            if root.is_dir():
                left = sorted(e.name for e in os.scandir(root) if e.is_dir(follow_symlinks=False))
                if left:
                    self.problems.append(f"state left in --root {root}: {', '.join(left)}")
            if not KEEP:
                safe_rmtree(root)

    def remove_files(self) -> None:
        if KEEP:
            return
        for path in [b.path for b in self.bundles] + self.extra_paths:
            skipped = safe_rmtree(path)
            if skipped:
                self.problems.append(f"could not remove (other filesystem): {', '.join(skipped)}")

    def finish(self) -> None:
        self.check_processes()
        self.check_mounts()
        self.check_roots()
        self.remove_files()
        if self.problems:
            pytest.fail(f"test {self.name} left things behind (cleaned by force):\n  "
                        + "\n  ".join(self.problems), pytrace=False)


@pytest.fixture
def _hygiene(request: pytest.FixtureRequest):
    h = _Hygiene(request.node.nodeid)
    yield h
    h.finish()


@pytest.fixture
def workdir(request: pytest.FixtureRequest, _hygiene: _Hygiene) -> Path:
    """A fresh, world-traversable scratch directory for the test (removed at teardown)."""
    TEST_DIR.mkdir(parents=True, exist_ok=True)
    os.chmod(TEST_DIR, 0o755)
    base = TEST_DIR / "work"
    base.mkdir(exist_ok=True)
    os.chmod(base, 0o755)
    path = Path(tempfile.mkdtemp(prefix=_sanitize(request.node.name) + "-", dir=base))
    os.chmod(path, 0o755)
    _hygiene.extra_paths.append(path)
    return path


# --------------------------------------------------------------------------- base rootfs


@pytest.fixture(scope="session")
def base_rootfs() -> Path:
    """Busybox rootfs shared by the session (built once, safe under pytest-xdist).

    ``<PYRUNC_TEST_DIR>/rootfs-<hash>``; the hash covers the busybox binary and the layout
    of scripts/make_bundle.py, so a change of either builds a new one.  Never modify it:
    bundles hard-link its files.
    """
    try:
        busybox = make_bundle.find_busybox()
    except FileNotFoundError as e:
        pytest.skip(str(e))
    TEST_DIR.mkdir(parents=True, exist_ok=True)
    os.chmod(TEST_DIR, 0o755)
    key = make_bundle.rootfs_cache_key(busybox)
    final = TEST_DIR / f"rootfs-{key}"
    with open(TEST_DIR / f"rootfs-{key}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not final.is_dir():
            tmp = Path(tempfile.mkdtemp(prefix=f".build-{key}-", dir=TEST_DIR))
            try:
                make_bundle.build_rootfs(tmp / "rootfs", busybox)
                os.rename(tmp / "rootfs", final)
            finally:
                shutil.rmtree(tmp, ignore_errors=True)
    return final


@pytest.fixture
def bundle(request: pytest.FixtureRequest, base_rootfs: Path, _hygiene: _Hygiene):
    """Factory: ``bundle(args=None, edit=None, *, config=None, **overrides) -> Bundle``.

    A fresh bundle under ``<PYRUNC_TEST_DIR>/bundles`` (world-traversable, so user-namespaced
    containers can reach it) whose rootfs is a hard-linked copy of ``base_rootfs``.
    ``config`` (default: ``make_bundle.default_config(args)``) gets ``overrides`` deep-merged
    (dicts merge, lists and scalars replace, ``None`` deletes the key), then ``edit(config)``
    may change it in place (or return a new dict).  Removed at the end of the test.
    """
    base = TEST_DIR / "bundles"
    base.mkdir(parents=True, exist_ok=True)
    os.chmod(base, 0o755)
    prefix = _sanitize(request.node.name) + "-"

    def make(args: Iterable[str] | None = None, edit: Callable[[dict], dict | None] | None = None,
             *, config: dict | None = None, **overrides) -> Bundle:
        path = Path(tempfile.mkdtemp(prefix=prefix, dir=base))
        os.chmod(path, 0o755)
        make_bundle.clone_rootfs(base_rootfs, path / "rootfs")
        if config is None:
            cfg = make_bundle.default_config(args)
        else:
            cfg = json.loads(json.dumps(config))
            if args is not None:
                cfg.setdefault("process", {})["args"] = list(args)
        cfg = make_bundle.deep_merge(cfg, overrides)
        if edit is not None:
            new = edit(cfg)
            if new is not None:
                cfg = new
        b = Bundle(path, cfg)
        _hygiene.bundles.append(b)
        b.write_config()
        return b

    return make


# --------------------------------------------------------------------------- runtime


class Runtime:
    """The runtime under test with a private ``--root``.

    ``run(*args, check=False, input=None, timeout=20, **popen_kwargs)`` runs
    ``[bin, "--root", root, *args]`` (stdin /dev/null unless ``input``; stdout/stderr to
    files, see ``Result``).  Extra keywords go to ``subprocess`` (``cwd``, ``env``,
    ``pass_fds``, ``extra_groups``, ...); ``fds={3: fd}`` places ``fd`` at number 3 in
    the runtime process.
    """

    def __init__(self, binary: str, root: Path, logdir: Path, hygiene: _Hygiene):
        self.bin = binary
        self.root = root
        self.logdir = logdir
        self._hygiene = hygiene
        self._n = 0

    # -- plumbing
    def argv(self, *args) -> list[str]:
        return [self.bin, "--root", str(self.root), *(os.fspath(a) for a in args)]

    def _files(self, args: tuple) -> tuple[Path, Path]:
        self._n += 1
        first = next((str(a) for a in args if not str(a).startswith("-")), "cmd")
        stem = self.logdir / f"{self._n:03d}-{_sanitize(first, 20)}"
        return stem.with_suffix(".out"), stem.with_suffix(".err")

    @staticmethod
    def _popen_kwargs(kw: dict) -> dict:
        fds = kw.pop("fds", None)
        kw.setdefault("cwd", "/")
        if fds:
            pass_fds = set(kw.pop("pass_fds", ())) | set(fds)
            mapping = dict(fds)

            def place_fds() -> None:
                for target, source in mapping.items():
                    if source == target:
                        os.set_inheritable(target, True)
                    else:
                        os.dup2(source, target, inheritable=True)

            kw["pass_fds"] = tuple(sorted(pass_fds))
            kw["preexec_fn"] = place_fds
        return kw

    def run(self, *args, check: bool = False, input: str | bytes | None = None,
            timeout: float = DEFAULT_TIMEOUT, **kw) -> Result:
        argv = self.argv(*args)
        out_path, err_path = self._files(args)
        kw = self._popen_kwargs(kw)
        if input is None:
            kw.setdefault("stdin", subprocess.DEVNULL)
        elif isinstance(input, str):
            input = input.encode()
        with open(out_path, "wb") as out, open(err_path, "wb") as err:
            try:
                cp = subprocess.run(argv, input=input, stdout=out, stderr=err, timeout=timeout, **kw)
            except subprocess.TimeoutExpired:
                pytest.fail(f"$ {' '.join(argv)}\ndid not finish within {timeout}s; stderr so far:\n"
                            + err_path.read_text(errors="replace"))
        res = Result(argv, cp.returncode, "", "")
        res.out_path, res.err_path = out_path, err_path
        res.stdout, res.stderr = res.read_out(), res.read_err()
        if check and res.returncode != 0:
            pytest.fail("runtime command failed:\n" + res.describe(), pytrace=False)
        return res

    def spawn(self, *args, input_fd: int | None = None, **kw) -> Spawned:
        """Start a runtime command in the background; ``.wait()`` gives its Result."""
        argv = self.argv(*args)
        out_path, err_path = self._files(args)
        kw = self._popen_kwargs(kw)
        out, err = open(out_path, "wb"), open(err_path, "wb")
        proc = subprocess.Popen(argv, stdin=input_fd if input_fd is not None else subprocess.DEVNULL,
                                stdout=out, stderr=err, **kw)
        return Spawned(proc, argv, out_path, err_path, [out, err])

    # -- commands
    def create(self, cid: str, bundle: str | os.PathLike, *flags, check: bool = True, **kw) -> Result:
        res = self.run("create", "--bundle", bundle, *flags, cid, check=check, **kw)
        if res.returncode == 0:
            self._note_state_pid(cid)
        return res

    def start(self, cid: str, check: bool = True, **kw) -> Result:
        return self.run("start", cid, check=check, **kw)

    def kill(self, cid: str, sig: str | int = "KILL", *flags, check: bool = True, **kw) -> Result:
        return self.run("kill", *flags, cid, str(sig), check=check, **kw)

    def delete(self, cid: str, *flags, check: bool = True, **kw) -> Result:
        return self.run("delete", *flags, cid, check=check, **kw)

    def state(self, cid: str, check: bool = True, **kw) -> dict:
        res = self.run("state", cid, check=check, **kw)
        if res.returncode != 0:
            return {}
        try:
            data = json.loads(res.stdout)
        except ValueError:
            pytest.fail("state output is not JSON:\n" + res.describe(), pytrace=False)
        if isinstance(data, dict) and isinstance(data.get("pid"), int):
            self._hygiene.note_pid(data["pid"])
        return data

    def status(self, cid: str) -> str | None:
        """The container's status, or None when the runtime does not know it."""
        res = self.run("state", cid)
        if res.returncode != 0:
            return None
        return json.loads(res.stdout).get("status")

    def list_ids(self) -> list[str]:
        res = self.run("list", "-q", check=True)
        return [line.strip() for line in res.stdout.splitlines() if line.strip()]

    def run_container(self, bundle: str | os.PathLike, *flags, cid: str | None = None, **kw) -> Result:
        """``run --bundle BUNDLE [flags] ID`` (id generated when not given)."""
        return self.run("run", "--bundle", bundle, *flags, cid or unique_id("run"), **kw)

    def wait_status(self, cid: str, *statuses: str, timeout: float = 10.0) -> str:
        seen: list[str | None] = []

        def check() -> str | None:
            s = self.status(cid)
            seen.append(s)
            return s if s in statuses else None

        deadline = time.monotonic() + timeout
        while True:
            s = check()
            if s:
                return s
            if time.monotonic() > deadline:
                pytest.fail(f"container {cid} never reached {statuses} within {timeout}s "
                            f"(last status {seen[-1] if seen else None!r})")
            time.sleep(0.02)

    def _note_state_pid(self, cid: str) -> None:
        res = self.run("state", cid)
        if res.returncode == 0:
            with contextlib.suppress(ValueError, AttributeError):
                self._hygiene.note_pid(int(json.loads(res.stdout).get("pid") or 0))

    # -- teardown
    def cleanup(self) -> list[str]:
        """Kill and force-delete every container of this root; return error notes."""
        notes: list[str] = []
        ids: set[str] = set()
        res = self.run("list", "-q", timeout=10)
        if res.returncode == 0:
            ids.update(line.strip() for line in res.stdout.splitlines() if line.strip())
        else:
            notes.append("`list -q` failed at teardown:\n" + res.describe())
        if self.root.is_dir():
            ids.update(e.name for e in os.scandir(self.root) if e.is_dir(follow_symlinks=False))
        for cid in sorted(ids):
            self._note_state_pid(cid)
            self.run("kill", "--all", cid, "KILL", timeout=10)
            res = self.run("delete", "--force", cid, timeout=10)
            if res.returncode != 0 and (self.root / cid).exists():
                notes.append(f"`delete --force {cid}` failed at teardown:\n" + res.describe())
        return notes


@pytest.fixture
def runtime(request: pytest.FixtureRequest, _hygiene: _Hygiene, workdir: Path):
    """The runtime under test with a fresh ``--root`` (see ``Runtime``)."""
    if os.geteuid() != 0:
        pytest.skip("real-container tests need root")
    try:
        binary = resolve_runtime()
    except FileNotFoundError as e:
        pytest.fail(str(e), pytrace=False)
    root = ROOT_BASE / uuid.uuid4().hex
    root.mkdir(parents=True, mode=0o711)
    _hygiene.roots.append(root)
    logdir = workdir / "runtime-log"
    logdir.mkdir()
    rt = Runtime(binary, root, logdir, _hygiene)
    yield rt
    _hygiene.problems.extend(rt.cleanup())


@pytest.fixture
def make_id() -> Callable[..., str]:
    """Factory of unique container ids: ``make_id(prefix="t")``."""
    return unique_id


@pytest.fixture
def cid(request: pytest.FixtureRequest) -> str:
    """One unique container id for the test."""
    return unique_id(_sanitize(request.node.originalname, 20).replace("_", "-").strip("-") or "t")
