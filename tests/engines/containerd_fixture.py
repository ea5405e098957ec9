"""A private containerd for the engine tests: ``ctr`` drives the runtime under test.

Nothing here touches the host's containerd (if any): each ``Containerd`` has its own
config.toml, root and state directories under ``/var/tmp/pyrunc-test/containerd/``, its own
gRPC socket and its own namespace.  What still lands in the host-wide places is named by the
namespace and removed at the end:

* the runc shim's runtime root ``/run/containerd/runc/<namespace>`` (the shim's default
  ``--root``, the same for every containerd; ``ctr run --runc-root`` would change it, but
  not for ``--no-pivot`` tasks, see below);
* the shims' sockets ``/run/containerd/s/<hash>`` and ctr's FIFOs ``/run/containerd/fifo``.

The image ``IMAGE`` is the busybox rootfs of tests/conftest.py's ``base_rootfs``, packed
here as a one-layer OCI image layout archive (:func:`build_oci_archive`) and imported with
``ctr images import``.

Fixtures (import them into the test module: this file is not a conftest):

``containerd`` (session)
    A ``Containerd`` whose tasks are run with ``ctr run --runc-binary <runtime>``.
``containerd_path_runc`` (session)
    A ``Containerd`` started with ``PATH=<dir>:$PATH`` where ``<dir>/runc`` runs the runtime
    under test (and appends its arguments to ``<dir>/calls.log``).  ``ctr`` silently drops
    ``--runc-binary`` when ``--no-pivot`` or ``--uidmap`` is given (the task options it sends
    then replace the container's runtime options, ``BinaryName`` included) and the shim runs
    ``runc`` from its PATH: this daemon makes that ``runc`` the runtime under test.
``ctrd`` / ``ctrd_path_runc`` (function)
    A ``Session`` on one of them: unique container ids (``new_id``), ``ctr`` commands, and at
    teardown the removal of what the test left (tasks, containers, runtime state), reported
    as a test failure.

Setup runs under a file lock (``/var/tmp/pyrunc-test/containerd/setup.lock``): pytest-xdist
workers each get their own daemon but build the shared image archive once and never start
two daemons at the same moment.
"""

from __future__ import annotations

import contextlib
import fcntl
import gzip
import hashlib
import io
import json
import os
import platform
import re
import shutil
import signal
import stat
import subprocess
import tarfile
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import safe_rmtree  # tests/conftest.py: never crosses into another filesystem

BASE_DIR = Path(os.environ.get("PYRUNC_TEST_DIR", "/var/tmp/pyrunc-test")) / "containerd"
IMAGE = "docker.io/pyrunc/busybox:test"
RUNC_STATE = Path("/run/containerd/runc")  # the runc shim's default --root (plus /<namespace>)
CTR_TIMEOUT = 30.0
START_TIMEOUT = 20.0

# Plugins these tests do not need (each is a failure mode or a start-up cost less).
DISABLED_PLUGINS = [
    "io.containerd.grpc.v1.cri",
    "io.containerd.internal.v1.opt",
    "io.containerd.internal.v1.tracing",
    "io.containerd.tracing.processor.v1.otlp",
    "io.containerd.snapshotter.v1.aufs",
    "io.containerd.snapshotter.v1.btrfs",
    "io.containerd.snapshotter.v1.devmapper",
    "io.containerd.snapshotter.v1.zfs",
]


# --------------------------------------------------------------------------- image


def _goarch() -> str:
    machine = platform.machine()
    return {"x86_64": "amd64", "aarch64": "arm64", "armv7l": "arm", "i686": "386",
            "ppc64le": "ppc64le", "s390x": "s390x", "riscv64": "riscv64"}.get(machine, machine)


def _layer_tar(rootfs: Path) -> bytes:
    """An uncompressed, reproducible tar of ``rootfs`` (sorted names, fixed mtimes, owners kept)."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        seen: dict[tuple[int, int], str] = {}
        for dirpath, dirnames, filenames in os.walk(rootfs):
            dirnames.sort()
            rel_dir = os.path.relpath(dirpath, rootfs)
            for name in dirnames + sorted(filenames):
                full = os.path.join(dirpath, name)
                arc = name if rel_dir == "." else f"{rel_dir}/{name}"
                st = os.lstat(full)
                info = tarfile.TarInfo(arc)
                info.mode = stat.S_IMODE(st.st_mode)
                info.uid, info.gid = st.st_uid, st.st_gid
                info.mtime = 0
                if stat.S_ISDIR(st.st_mode):
                    info.type = tarfile.DIRTYPE
                    tar.addfile(info)
                elif stat.S_ISLNK(st.st_mode):
                    info.type = tarfile.SYMTYPE
                    info.linkname = os.readlink(full)
                    tar.addfile(info)
                elif stat.S_ISREG(st.st_mode):
                    key = (st.st_dev, st.st_ino)
                    if key in seen:
                        info.type = tarfile.LNKTYPE
                        info.linkname = seen[key]
                        tar.addfile(info)
                        continue
                    seen[key] = arc
                    info.size = st.st_size
                    with open(full, "rb") as f:
                        tar.addfile(info, f)
    return buf.getvalue()


def build_oci_archive(rootfs: Path, dest: Path, image: str = IMAGE) -> str:
    """Write ``dest``: an OCI image layout tar (oci-layout, index.json, blobs/sha256/...) of one
    gzip layer holding ``rootfs``, named ``image``.  Returns the manifest digest."""
    blobs: dict[str, bytes] = {}

    def blob(data: bytes) -> dict:
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        blobs[digest] = data
        return {"digest": digest, "size": len(data)}

    layer = _layer_tar(rootfs)
    diff_id = "sha256:" + hashlib.sha256(layer).hexdigest()
    gz = gzip.compress(layer, mtime=0)
    layer_desc = {"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", **blob(gz)}
    config = {
        "architecture": _goarch(),
        "os": "linux",
        "created": "1970-01-01T00:00:00Z",
        "config": {
            "Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
            "Cmd": ["sh"],
            "WorkingDir": "/",
        },
        "rootfs": {"type": "layers", "diff_ids": [diff_id]},
        "history": [{"created": "1970-01-01T00:00:00Z", "created_by": "pyrunc tests: busybox rootfs"}],
    }
    config_desc = {"mediaType": "application/vnd.oci.image.config.v1+json",
                   **blob(json.dumps(config, sort_keys=True).encode())}
    manifest = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": config_desc,
        "layers": [layer_desc],
    }
    manifest_desc = {
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        **blob(json.dumps(manifest, sort_keys=True).encode()),
        "platform": {"architecture": _goarch(), "os": "linux"},
        "annotations": {
            "io.containerd.image.name": image,
            "org.opencontainers.image.ref.name": image.rpartition(":")[2],
        },
    }
    index = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
             "manifests": [manifest_desc]}

    def add(tar: tarfile.TarFile, name: str, data: bytes | None) -> None:
        info = tarfile.TarInfo(name)
        info.mtime = 0
        if data is None:
            info.type, info.mode = tarfile.DIRTYPE, 0o755
            tar.addfile(info)
        else:
            info.size, info.mode = len(data), 0o644
            tar.addfile(info, io.BytesIO(data))

    tmp = dest.with_name(dest.name + f".{os.getpid()}.tmp")
    with tarfile.open(tmp, "w", format=tarfile.PAX_FORMAT) as tar:
        add(tar, "oci-layout", json.dumps({"imageLayoutVersion": "1.0.0"}).encode())
        add(tar, "index.json", json.dumps(index, sort_keys=True).encode())
        add(tar, "blobs", None)
        add(tar, "blobs/sha256", None)
        for digest, data in sorted(blobs.items()):
            add(tar, "blobs/sha256/" + digest.split(":", 1)[1], data)
    os.replace(tmp, dest)
    return manifest_desc["digest"]


# --------------------------------------------------------------------------- helpers


def _mount_points_under(top: str) -> list[str]:
    points = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            point = re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), line.split()[4])
            if point == top or point.startswith(top.rstrip("/") + "/"):
                points.append(point)
    return points


def unmount_under(top: str | os.PathLike) -> list[str]:
    """Lazily unmount every mount at or under ``top`` (deepest first); returns them."""
    points = _mount_points_under(os.fspath(top))
    for point in sorted(set(points), key=lambda p: p.count("/"), reverse=True):
        subprocess.run(["umount", "-l", point], capture_output=True, timeout=10)
    return points


def cgroup_mounts() -> list[str]:
    """Mount points of the cgroup v1 hierarchies and of cgroup2."""
    points = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            left, _, right = line.partition(" - ")
            if right.split()[:1] in (["cgroup"], ["cgroup2"]):
                points.append(left.split()[4])
    return points


def cgroup_dirs(rel: str) -> list[str]:
    """``<hierarchy>/<rel>`` for every cgroup hierarchy where that directory exists."""
    return [p for p in (os.path.join(m, rel.strip("/")) for m in cgroup_mounts()) if os.path.isdir(p)]


def remove_cgroups(rel: str) -> list[str]:
    """Remove ``<hierarchy>/<rel>`` and its children in every hierarchy, killing what still
    runs in them.  Returns the child cgroups that were left (a runtime's leftovers)."""
    leftovers = []
    for top in cgroup_dirs(rel):
        for dirpath, _dirs, _files in sorted(os.walk(top), key=lambda w: w[0].count("/"), reverse=True):
            if dirpath != top:
                leftovers.append(dirpath)
            with contextlib.suppress(OSError):
                for pid in Path(dirpath, "cgroup.procs").read_text().split():
                    with contextlib.suppress(OSError):
                        os.kill(int(pid), signal.SIGKILL)
            for _ in range(50):
                try:
                    os.rmdir(dirpath)
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    time.sleep(0.02)
    return leftovers


def _processes_with(needle: str) -> list[int]:
    """Pids whose command line contains ``needle`` (exact substring of the NUL-joined argv)."""
    found = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            cmd = Path(f"/proc/{entry.name}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if needle in cmd:
            found.append(int(entry.name))
    return found


def alive(pid: int) -> bool:
    """The process exists and is not a zombie."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(") ", 1)[1][0] not in "ZX"
    except (OSError, IndexError):
        return False


def _wait_gone(pids: list[int], timeout: float) -> list[int]:
    deadline = time.monotonic() + timeout
    while True:
        left = [p for p in pids if alive(p)]
        if not left or time.monotonic() > deadline:
            return left
        time.sleep(0.05)


# --------------------------------------------------------------------------- containerd


class Containerd:
    """One private containerd daemon (``start()``/``stop()``) and its ``ctr`` client."""

    def __init__(self, runtime: str, *, path_runc: bool = False, tag: str = "ctrd"):
        self.runtime = runtime
        self.path_runc = path_runc
        BASE_DIR.mkdir(parents=True, exist_ok=True)
        self.dir = Path(tempfile.mkdtemp(prefix=f"{tag}-", dir=BASE_DIR))
        os.chmod(self.dir, 0o711)
        self.namespace = f"pyrunc-test-{uuid.uuid4().hex[:8]}"
        self.address = str(self.dir / "containerd.sock")
        self.root = self.dir / "root"
        self.state = self.dir / "state"
        self.config_path = self.dir / "config.toml"
        self.log_path = self.dir / "containerd.log"
        self.bin_dir = self.dir / "bin"
        self.calls_log = self.bin_dir / "calls.log"
        self.proc: subprocess.Popen | None = None

    # -- paths
    @property
    def runtime_root(self) -> Path:
        """The runtime's --root as the shim passes it."""
        return RUNC_STATE / self.namespace

    def bundle_dir(self, cid: str) -> Path:
        return self.state / "io.containerd.runtime.v2.task" / self.namespace / cid

    # -- life cycle
    def write_config(self) -> None:
        disabled = ", ".join(json.dumps(p) for p in DISABLED_PLUGINS)
        self.config_path.write_text(f"""\
version = 2
root = "{self.root}"
state = "{self.state}"
disabled_plugins = [{disabled}]

[grpc]
  address = "{self.address}"

[ttrpc]
  address = "{self.address}.ttrpc"

[debug]
  level = "debug"

[metrics]
  address = ""

[plugins."io.containerd.gc.v1.scheduler"]
  startup_delay = "100ms"
""")

    def _environment(self) -> dict[str, str]:
        env = dict(os.environ)
        if self.path_runc:
            self.bin_dir.mkdir()
            wrapper = self.bin_dir / "runc"
            # a wrapper rather than a bare symlink: calls.log shows what the shim ran
            wrapper.write_text(f"#!/bin/sh\nprintf '%s\\n' \"$*\" >> {self.calls_log}\n"
                               f"exec {self.runtime} \"$@\"\n")
            os.chmod(wrapper, 0o755)
            env["PATH"] = f"{self.bin_dir}:{env.get('PATH', '/usr/sbin:/usr/bin:/sbin:/bin')}"
        return env

    def start(self, timeout: float = START_TIMEOUT) -> None:
        self.write_config()
        log = open(self.log_path, "ab")
        try:
            self.proc = subprocess.Popen(
                ["containerd", "--config", str(self.config_path)], stdin=subprocess.DEVNULL,
                stdout=log, stderr=log, env=self._environment(), start_new_session=True)
        finally:
            log.close()
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"containerd exited with status {self.proc.returncode}:\n"
                                   + self.log_tail())
            if os.path.exists(self.address):
                res = self.ctr("tasks", "ls", timeout=5)  # the tasks service loaded, too
                if res.returncode == 0:
                    return
            if time.monotonic() > deadline:
                raise RuntimeError(f"containerd socket {self.address} not ready after {timeout}s:\n"
                                   + self.log_tail())
            time.sleep(0.05)

    def import_image(self, archive: Path) -> None:
        res = self.ctr("images", "import", str(archive), timeout=120)
        if res.returncode != 0:
            raise RuntimeError("ctr images import failed:\n" + describe(res) + self.log_tail())
        res = self.ctr("images", "ls", "-q")
        if IMAGE not in res.stdout.split():
            raise RuntimeError(f"image {IMAGE} not listed after import:\n" + describe(res))

    def stop(self) -> list[str]:
        """Remove every task and container of the namespace, stop the daemon and its shims,
        unmount and delete its directories.  Returns notes about what needed force."""
        notes: list[str] = []
        if self.proc is not None and self.proc.poll() is None:
            res = self.ctr("containers", "ls", "-q", timeout=10)
            for cid in res.stdout.split():
                self.ctr("tasks", "kill", "-s", "SIGKILL", "--all", cid, timeout=10)
                self.ctr("tasks", "delete", "-f", cid, timeout=10)
                self.ctr("containers", "delete", cid, timeout=10)
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                notes.append("containerd ignored SIGTERM for 10s: killed")
                self.proc.kill()
                self.proc.wait()
        shims = _processes_with(f"-address {self.address} ")
        if shims:
            notes.append(f"shims left running: {shims}: killed")
            for pid in shims:
                with contextlib.suppress(OSError):
                    os.killpg(pid, signal.SIGKILL)
                with contextlib.suppress(OSError):
                    os.kill(pid, signal.SIGKILL)
            _wait_gone(shims, 5)
        # ctr puts a task in the cgroup /<namespace>/<id>: the runtime removes the leaf, the
        # namespace level stays (as with the host's containerd)
        cg_left = remove_cgroups(self.namespace)
        if cg_left:
            notes.append("cgroups left: " + ", ".join(cg_left))
        left = unmount_under(self.dir)
        if left:
            notes.append("mounts left: " + ", ".join(left))
        if self.runtime_root.is_dir():
            entries = os.listdir(self.runtime_root)
            if entries:
                notes.append(f"runtime state left in {self.runtime_root}: {entries}")
            safe_rmtree(self.runtime_root)
        refused = safe_rmtree(self.dir)
        if refused:
            notes.append("could not remove (other filesystem): " + ", ".join(refused))
        return notes

    # -- commands
    def ctr(self, *args: str, timeout: float = CTR_TIMEOUT, input: str | None = None,
            **kw) -> subprocess.CompletedProcess:
        argv = ["ctr", "--address", self.address, "--namespace", self.namespace, *args]
        try:
            return subprocess.run(argv, capture_output=True, text=True, timeout=timeout,
                                  input=input, stdin=None if input is not None else subprocess.DEVNULL,
                                  **kw)
        except subprocess.TimeoutExpired as e:
            out = e.stdout.decode(errors="replace") if isinstance(e.stdout, bytes) else e.stdout or ""
            err = e.stderr.decode(errors="replace") if isinstance(e.stderr, bytes) else e.stderr or ""
            return subprocess.CompletedProcess(argv, -1, out, err + f"\n[timed out after {timeout}s]")

    def ctr_argv(self, *args: str) -> list[str]:
        return ["ctr", "--address", self.address, "--namespace", self.namespace, *args]

    def runtime_cmd(self, *args: str, timeout: float = CTR_TIMEOUT) -> subprocess.CompletedProcess:
        """The runtime under test with the shim's --root."""
        return subprocess.run([self.runtime, "--root", str(self.runtime_root), *args],
                              capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)

    def log_tail(self, lines: int = 60, grep: str | None = None) -> str:
        try:
            text = self.log_path.read_text(errors="replace").splitlines()
        except OSError:
            return ""
        if grep:
            text = [line for line in text if grep in line]
        return "\n--- containerd log (tail) ---\n" + "\n".join(text[-lines:]) + "\n"


def describe(res: subprocess.CompletedProcess) -> str:
    cmd = " ".join(str(a) for a in res.args)
    return (f"$ {cmd}\nexit status {res.returncode}\n--- stdout ---\n{res.stdout}"
            f"--- stderr ---\n{res.stderr}")


# --------------------------------------------------------------------------- sessions


class Session:
    """One test's use of a ``Containerd``: ids it made, diagnostics, cleanup."""

    def __init__(self, daemon: Containerd, name: str):
        self.d = daemon
        self.name = name
        self.ids: list[str] = []
        self.runtime_logs: dict[str, str] = {}
        try:  # diagnose() shows the daemon's log from here on
            self.log_offset = daemon.log_path.stat().st_size
        except OSError:
            self.log_offset = 0

    def new_id(self, prefix: str = "c") -> str:
        cid = f"{prefix}-{uuid.uuid4().hex[:10]}"
        self.ids.append(cid)
        return cid

    def ctr(self, *args: str, **kw) -> subprocess.CompletedProcess:
        return self.d.ctr(*args, **kw)

    def save_runtime_log(self, cid: str) -> None:
        """Keep ``<bundle>/log.json`` (the runtime's JSON log, from the shim's ``--log``) while
        the bundle still exists: ``diagnose`` shows it."""
        with contextlib.suppress(OSError):
            self.runtime_logs[cid] = (self.d.bundle_dir(cid) / "log.json").read_text(errors="replace")

    def diagnose(self, *results: subprocess.CompletedProcess) -> str:
        """Text for an assertion message: the commands, the runtime's log.json of every
        container of the test and the daemon's log lines about them."""
        parts = [describe(r) for r in results]
        for cid in self.ids:
            self.save_runtime_log(cid)
            if self.runtime_logs.get(cid):
                parts.append(f"--- {cid}: runtime log.json ---\n{self.runtime_logs[cid][-4000:]}")
        with open(self.d.log_path, "rb") as f:
            f.seek(self.log_offset)
            text = f.read().decode(errors="replace")
        ids = tuple(self.ids)
        lines = [line for line in text.splitlines()
                 if line.startswith(ids) or any(cid in line for cid in ids)
                 or "level=error" in line or "level=warn" in line]
        parts.append("--- containerd log during this test (lines naming its containers, warnings, "
                     "errors) ---\n" + "\n".join(lines[-40:]))
        return "\n".join(parts)

    def task_status(self, cid: str) -> str | None:
        """STATUS column of ``ctr task ls`` for ``cid`` (None when it has no task)."""
        res = self.ctr("tasks", "ls")
        for line in res.stdout.splitlines()[1:]:
            fields = line.split()
            if fields and fields[0] == cid:
                return fields[-1]
        return None

    def task_pid(self, cid: str) -> int:
        res = self.ctr("tasks", "ls")
        for line in res.stdout.splitlines()[1:]:
            fields = line.split()
            if fields and fields[0] == cid:
                return int(fields[1])
        raise AssertionError(f"no task {cid} in `ctr task ls`:\n{self.diagnose(res)}")

    def wait_status(self, cid: str, want: str, timeout: float = 10.0) -> str | None:
        deadline = time.monotonic() + timeout
        status = self.task_status(cid)
        while status != want and time.monotonic() < deadline:
            time.sleep(0.05)
            status = self.task_status(cid)
        return status

    def runtime_ids(self) -> list[str]:
        """``<runtime> --root /run/containerd/runc/<ns> list -q`` (empty if the root is absent)."""
        if not self.d.runtime_root.exists():
            return []
        res = self.d.runtime_cmd("list", "-q")
        assert res.returncode == 0, describe(res)
        return [line.strip() for line in res.stdout.splitlines() if line.strip()]

    def cleanup(self) -> list[str]:
        problems: list[str] = []
        tasks = {line.split()[0] for line in self.ctr("tasks", "ls").stdout.splitlines()[1:] if line.split()}
        containers = set(self.ctr("containers", "ls", "-q").stdout.split())
        for cid in self.ids:
            if cid in tasks:
                problems.append(f"task {cid} left")
                self.ctr("tasks", "kill", "-s", "SIGKILL", "--all", cid, timeout=10)
                self.ctr("tasks", "delete", "-f", cid, timeout=10)
            if cid in containers:
                problems.append(f"container {cid} left")
                self.ctr("containers", "delete", cid, timeout=10)
        for cid in self.ids:
            state_dir = self.d.runtime_root / cid
            if state_dir.exists():
                problems.append(f"runtime state {state_dir} left")
                subprocess.run([self.d.runtime, "--root", str(self.d.runtime_root), "delete", "--force",
                                cid], capture_output=True, timeout=10, stdin=subprocess.DEVNULL)
                if state_dir.exists():
                    safe_rmtree(state_dir)
            cgroups = cgroup_dirs(f"{self.d.namespace}/{cid}")
            if cgroups:
                problems.append(f"cgroups left: {', '.join(cgroups)}")
                remove_cgroups(f"{self.d.namespace}/{cid}")
            if self.d.bundle_dir(cid).exists():
                left = unmount_under(self.d.bundle_dir(cid))
                problems.append(f"bundle {self.d.bundle_dir(cid)} left (mounts: {left})")
        return problems


# --------------------------------------------------------------------------- fixtures


def _resolve_runtime() -> str:
    from conftest import resolve_runtime  # tests/conftest.py: PYRUNC_TEST_RUNTIME

    try:
        return resolve_runtime()
    except FileNotFoundError as e:
        pytest.fail(str(e), pytrace=False)


@contextlib.contextmanager
def _setup_lock() -> Iterator[None]:
    BASE_DIR.mkdir(parents=True, exist_ok=True)
    with open(BASE_DIR / "setup.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def _image_archive(base_rootfs: Path) -> Path:
    """The OCI archive of ``base_rootfs`` (built once per rootfs; call under the lock)."""
    archive = BASE_DIR / f"image-{base_rootfs.name}.oci.tar"
    if not archive.exists():
        build_oci_archive(base_rootfs, archive)
    return archive


def _daemon(base_rootfs: Path, *, path_runc: bool, tag: str) -> Iterator[Containerd]:
    if os.geteuid() != 0:
        pytest.skip("containerd tests need root")
    for tool in ("containerd", "ctr", "containerd-shim-runc-v2"):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} is not installed")
    runtime = _resolve_runtime()
    daemon = Containerd(runtime, path_runc=path_runc, tag=tag)
    try:
        with _setup_lock():
            archive = _image_archive(base_rootfs)
            daemon.start()
            daemon.import_image(archive)
    except Exception as e:
        notes = daemon.stop()
        pytest.fail(f"could not start containerd: {e}\n{notes}", pytrace=False)
    yield daemon
    notes = daemon.stop()
    if notes:
        # session teardown: a warning is the most that can be done here
        import warnings

        warnings.warn(f"containerd ({daemon.namespace}) teardown: " + "; ".join(notes), stacklevel=1)


@pytest.fixture(scope="session")
def containerd(base_rootfs: Path) -> Iterator[Containerd]:
    """Private containerd; tasks get the runtime under test through ``--runc-binary``."""
    yield from _daemon(base_rootfs, path_runc=False, tag="ctrd")


@pytest.fixture(scope="session")
def containerd_path_runc(base_rootfs: Path) -> Iterator[Containerd]:
    """Private containerd whose PATH's ``runc`` is the runtime under test (for ctr options
    that drop ``--runc-binary``: ``--no-pivot``, ``--uidmap``)."""
    yield from _daemon(base_rootfs, path_runc=True, tag="ctrd-path")


def _session(request: pytest.FixtureRequest, daemon: Containerd) -> Iterator[Session]:
    s = Session(daemon, request.node.nodeid)
    yield s
    problems = s.cleanup()
    if problems:
        pytest.fail(f"{request.node.nodeid} left things behind (cleaned by force):\n  "
                    + "\n  ".join(problems), pytrace=False)


@pytest.fixture
def ctrd(request: pytest.FixtureRequest, containerd: Containerd) -> Iterator[Session]:
    yield from _session(request, containerd)


@pytest.fixture
def ctrd_path_runc(request: pytest.FixtureRequest, containerd_path_runc: Containerd) -> Iterator[Session]:
    yield from _session(request, containerd_path_runc)
