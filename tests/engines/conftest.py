"""Fixtures of the engine tests: podman driving the runtime under test.

Podman runs as ``podman --root R --runroot RR --tmpdir T --runtime <runtime> ...`` with
everything private to one pytest process (an xdist worker) under
``<PYRUNC_TEST_DIR>/podman/<random>/``:

* ``containers.conf`` (``CONTAINERS_CONF``): default ulimits this machine can grant (root
  lacks CAP_SYS_RESOURCE, so podman's default nofile/nproc of 1048576 fail with every
  runtime), cgroupfs, file events and locks, the runtime registered under its own name and
  listed in ``runtime_supports_json`` (podman passes ``--log-format=json --log FILE`` only to
  those), and a private CNI config dir;
* ``storage.conf`` (``CONTAINERS_STORAGE_CONF``): native overlay in ``root/``;
* ``cwd/``: podman's working directory (conmon writes an ``oom`` marker into its cwd);
* ``host/``: scratch host directories of the tests (bind mounts, seccomp profiles).

The runtime is ``PYRUNC_TEST_RUNTIME`` (see tests/conftest.py), default pyrunc.  Every
podman call has a timeout.  The image ``localhost/busybox-test`` is the session's busybox
rootfs (``base_rootfs``) imported once per worker.  A file lock makes the podman tests of
all workers (and of concurrent sessions sharing ``PYRUNC_TEST_DIR``) run one at a time.
At session end all containers, images and networks are removed, leftover mounts under the
private directory are unmounted and the directory is deleted.
"""

from __future__ import annotations

import contextlib
import fcntl
import ipaddress
import json
import os
import random
import shutil
import subprocess
import uuid
from pathlib import Path

import pytest
from conftest import TEST_DIR, resolve_runtime, safe_rmtree  # tests/conftest.py

PODMAN_TIMEOUT = 60.0
IMAGE = "localhost/busybox-test"
LOCK_PATH = TEST_DIR / "podman.lock"
KEEP = os.environ.get("PYRUNC_TEST_KEEP", "") not in ("", "0")


def host_nofile_hard() -> int:
    import resource

    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    return hard if hard != resource.RLIM_INFINITY else 1048576


@contextlib.contextmanager
def podman_lock():
    """Serialize podman work across xdist workers and concurrent sessions."""
    TEST_DIR.mkdir(parents=True, exist_ok=True)
    with open(LOCK_PATH, "w") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


class PodmanResult(subprocess.CompletedProcess):
    """One podman call; stdout/stderr are str (bytes decoded with replacement)."""

    def describe(self) -> str:
        cmd = " ".join(str(a) for a in self.args)
        return (f"$ {cmd}\nexit status {self.returncode}\n--- stdout ---\n{self.stdout}"
                f"--- stderr ---\n{self.stderr}")


class Podman:
    """Podman with private storage and config, driving ``runtime``."""

    def __init__(self, base: Path, runtime: str):
        self.base = base
        self.runtime = runtime
        self.runtime_name = os.path.basename(runtime)
        self.root = base / "root"
        self.runroot = base / "runroot"
        self.tmpdir = base / "tmp"
        self.cwd = base / "cwd"
        self.host = base / "host"
        self.netconf = base / "cni"
        for d in (self.root, self.runroot, self.tmpdir, self.cwd, self.host, self.netconf):
            d.mkdir(parents=True, exist_ok=True)
        os.chmod(self.host, 0o755)
        self.conf = base / "containers.conf"
        self.storage_conf = base / "storage.conf"
        self.network: str | None = None
        self._write_conf()
        self.env = {k: v for k, v in os.environ.items()
                    if not k.startswith(("CONTAINERS_", "CONTAINER_", "REGISTRY_AUTH"))}
        self.env.update(CONTAINERS_CONF=str(self.conf),
                        CONTAINERS_STORAGE_CONF=str(self.storage_conf),
                        TMPDIR=str(self.tmpdir))
        self._n = 0

    def _write_conf(self) -> None:
        nofile = host_nofile_hard()
        json_names = ["crun", "runc", "kata", "runsc", "youki", "krun", "pyrunc"]
        if self.runtime_name not in json_names:
            json_names.append(self.runtime_name)
        runtimes = {"pyrunc": shutil.which("pyrunc") or "/usr/local/bin/pyrunc"}
        runtimes[self.runtime_name] = self.runtime
        lines = [
            "[containers]",
            f'default_ulimits = ["nofile={nofile}:{nofile}", "nproc=32768:32768"]',
            "",
            "[network]",
            f'network_config_dir = "{self.netconf}"',
            "",
            "[engine]",
            'cgroup_manager = "cgroupfs"',
            'events_logger = "file"',
            'lock_type = "file"',
            f"runtime_supports_json = {json.dumps(json_names)}",
            "",
            "[engine.runtimes]",
        ]
        lines += [f"{name} = {json.dumps([path])}" for name, path in runtimes.items()]
        self.conf.write_text("\n".join(lines) + "\n")
        self.storage_conf.write_text(
            "[storage]\n"
            'driver = "overlay"\n'
            f'graphroot = "{self.root}"\n'
            f'runroot = "{self.runroot}"\n'
        )

    def argv(self, *args) -> list[str]:
        return ["podman", "--root", str(self.root), "--runroot", str(self.runroot),
                "--tmpdir", str(self.tmpdir), "--runtime", self.runtime,
                *(os.fspath(a) for a in args)]

    def __call__(self, *args, input: str | bytes | None = None,
                 timeout: float = PODMAN_TIMEOUT) -> PodmanResult:
        """Run ``podman ARGS`` (stdin /dev/null unless ``input``); never raises on failure."""
        argv = self.argv(*args)
        if isinstance(input, str):
            input = input.encode()
        try:
            proc = subprocess.run(argv, input=input, capture_output=True, timeout=timeout,
                                  cwd=self.cwd, env=self.env,
                                  stdin=subprocess.DEVNULL if input is None else None)
        except subprocess.TimeoutExpired as e:
            out = (e.stdout or b"").decode(errors="replace")
            err = (e.stderr or b"").decode(errors="replace")
            pytest.fail(f"podman call timed out after {timeout}s: {' '.join(argv)}\n"
                        f"--- stdout ---\n{out}--- stderr ---\n{err}")
        return PodmanResult(argv, proc.returncode, proc.stdout.decode(errors="replace"),
                            proc.stderr.decode(errors="replace"))

    def ok(self, *args, **kw) -> PodmanResult:
        """Like calling, but the call must exit 0 (the failure shows podman's output and
        the runtime's log of the container named by ``--name``, if any)."""
        res = self(*args, **kw)
        if res.returncode != 0:
            pytest.fail(res.describe() + self.diagnose(args), pytrace=False)
        return res

    # -- diagnostics
    def runtime_log(self, name: str) -> str:
        """The runtime's log (``--log`` given by podman) of container ``name``, if any."""
        res = self("container", "inspect", "--format", "{{.ID}}", name, timeout=20)
        if res.returncode != 0:
            return ""
        cid = res.stdout.strip()
        log = self.runroot / "overlay-containers" / cid / "userdata" / "oci-log"
        try:
            return log.read_text(errors="replace")
        except OSError:
            return ""

    def diagnose(self, args: tuple) -> str:
        args = [str(a) for a in args]
        names = [args[i + 1] for i, a in enumerate(args[:-1]) if a == "--name"]
        names += [a.split("=", 1)[1] for a in args if a.startswith("--name=")]
        text = ""
        for name in names:
            log = self.runtime_log(name)
            if log:
                text += f"\n--- runtime log of {name} ---\n{log}"
        return text

    # -- setup and teardown
    def ensure_network(self) -> str:
        """A bridge network of this session (private subnet, own bridge name)."""
        if self.network:
            return self.network
        used = _used_ipv4_networks()
        tag = uuid.uuid4().hex[:8]
        name = f"pyrunc-test-{tag}"
        last = None
        for _ in range(8):
            subnet = ipaddress.ip_network(f"10.{random.randint(64, 250)}.{random.randint(0, 255)}.0/24")
            if any(subnet.overlaps(n) for n in used):
                continue
            # the bridge's name (cni-podmanN) is chosen by podman among unused ones
            last = self("network", "create", "--subnet", str(subnet), name)
            if last.returncode == 0:
                self.network = name
                return name
        pytest.fail("could not create a bridge network for the podman tests"
                    + ("\n" + last.describe() if last else ""))

    def remove_containers(self) -> None:
        self("rm", "--all", "--force", "--time", "0", timeout=120)

    def teardown(self) -> list[str]:
        notes = []
        self.remove_containers()
        left = self("ps", "--all", "--quiet", timeout=20)
        if left.stdout.strip():
            notes.append("containers left after `podman rm -af`: " + left.stdout.strip())
        if self.network:
            res = self("network", "rm", "--force", self.network, timeout=60)
            if res.returncode != 0:
                notes.append(res.describe())
            shutil.rmtree(Path("/var/lib/cni/networks") / self.network, ignore_errors=True)
        self("rmi", "--all", "--force", timeout=60)
        _remove_libpod_parent()
        # no `podman system reset`: the private directories go as a whole
        _umount_under(self.base)
        if not KEEP:
            skipped = safe_rmtree(self.base)
            if skipped:
                notes.append("could not remove (other filesystem): " + ", ".join(skipped))
        return notes


# podman's cgroupfs manager puts containers under `libpod_parent` in every hierarchy and never
# removes it: the tests remove the ones that were not there before them (once empty).
_LIBPOD_PARENTS_BEFORE = {str(p) for p in Path("/sys/fs/cgroup").glob("*/libpod_parent")}


def _remove_libpod_parent() -> None:
    for parent in Path("/sys/fs/cgroup").glob("*/libpod_parent"):
        if str(parent) in _LIBPOD_PARENTS_BEFORE:
            continue
        for sub in sorted(parent.rglob("*"), key=lambda p: len(str(p)), reverse=True):
            if sub.is_dir():
                try:
                    sub.rmdir()
                except OSError:
                    pass  # still in use (another worker's container), or not ours to remove
        try:
            parent.rmdir()
        except OSError:
            pass


def _used_ipv4_networks() -> list[ipaddress.IPv4Network]:
    nets = []
    try:
        out = subprocess.run(["ip", "-4", "-o", "addr", "show"], capture_output=True,
                             text=True, timeout=10).stdout
        out += subprocess.run(["ip", "-4", "route", "show", "table", "all"],
                              capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return nets
    for word in out.split():
        if "/" in word and word[0].isdigit():
            with contextlib.suppress(ValueError):
                nets.append(ipaddress.ip_network(word, strict=False))
    return nets


def _umount_under(top: Path) -> None:
    prefix = str(top).rstrip("/") + "/"
    points = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            mp = line.split()[4].encode().decode("unicode_escape")
            if mp.startswith(prefix) or mp == str(top):
                points.append(mp)
    for mp in sorted(set(points), key=lambda p: p.count("/"), reverse=True):
        subprocess.run(["umount", "-l", mp], capture_output=True, timeout=30)


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="session")
def podman_session(base_rootfs: Path):
    """Session-wide Podman (private storage, image imported); removed at session end."""
    if os.geteuid() != 0:
        pytest.skip("podman tests need root")
    if not shutil.which("podman") or not shutil.which("conmon"):
        pytest.skip("podman or conmon not installed (scripts/install.sh installs them)")
    try:
        runtime = resolve_runtime()
    except FileNotFoundError as e:
        pytest.fail(str(e), pytrace=False)
    base = TEST_DIR / "podman" / uuid.uuid4().hex[:12]
    base.mkdir(parents=True)
    pm = Podman(base, runtime)
    try:
        with podman_lock():
            tar = subprocess.Popen(["tar", "-C", str(base_rootfs), "-c", "."],
                                   stdout=subprocess.PIPE)
            try:
                res = subprocess.run(pm.argv("import", "-", IMAGE), stdin=tar.stdout,
                                     capture_output=True, timeout=PODMAN_TIMEOUT,
                                     cwd=pm.cwd, env=pm.env)
            finally:
                tar.stdout.close()
                tar.wait(timeout=PODMAN_TIMEOUT)
            if res.returncode != 0:
                pytest.fail("podman import failed:\n" + res.stderr.decode(errors="replace"))
        yield pm
    finally:
        with podman_lock():
            notes = pm.teardown()
        if notes:
            print("podman teardown: " + "\n".join(notes))


@pytest.fixture
def podman(podman_session: Podman):
    """The session's Podman, used by one test at a time across workers; every container
    is removed after the test."""
    with podman_lock():
        yield podman_session
        podman_session.remove_containers()


@pytest.fixture
def network(podman: Podman) -> str:
    """Name of the session's bridge network (created on first use)."""
    return podman.ensure_network()


@pytest.fixture
def hostdir(podman: Podman, request: pytest.FixtureRequest):
    """A fresh host directory for the test (mode 0755), removed afterwards."""
    path = podman.host / f"{request.node.name[:40]}-{uuid.uuid4().hex[:6]}"
    path.mkdir()
    os.chmod(path, 0o755)
    yield path
    if not KEEP:
        safe_rmtree(path)
