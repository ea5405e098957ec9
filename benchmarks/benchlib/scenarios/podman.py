"""`podman run --rm IMAGE true` with each runtime: podman's own cost included."""

from __future__ import annotations

import contextlib
import json
import os
import resource
import shutil
import statistics
import subprocess
from pathlib import Path

from .. import proc
from ..bench import Bench, Result
from ..runtimes import Runtime, write_unshare_wrapper

NAME = "podman"
TITLE = "podman run --rm true"
DESCRIPTION = ("wall time of `podman run --rm --network none IMAGE true` with `--runtime PATH`; "
               "podman runs with private --root/--runroot/--tmpdir, a containers.conf of its own "
               "(CONTAINERS_CONF: lower default_ulimits, cgroupfs, file events and locks) and a "
               "local image imported from the suite's busybox rootfs")
MS = {"unit": "ms", "better": "lower", "aggregate": "median"}
IMAGE = "localhost/pyrunc-bench-busybox"
LIBPOD_PARENT = "libpod_parent"


class PrivatePodman:
    def __init__(self, base: Path, runtimes: list[str]):
        self.base = base
        self.dirs = {d: base / d for d in ("root", "runroot", "tmp", "cni")}
        for d in self.dirs.values():
            d.mkdir(parents=True, exist_ok=True)
        self.conf = base / "containers.conf"
        self.storage_conf = base / "storage.conf"
        self._write_conf(runtimes)
        self.env = {k: v for k, v in os.environ.items()
                    if not k.startswith(("CONTAINERS_", "CONTAINER_", "REGISTRY_AUTH"))}
        self.env.update(CONTAINERS_CONF=str(self.conf),
                        CONTAINERS_STORAGE_CONF=str(self.storage_conf),
                        TMPDIR=str(self.dirs["tmp"]))
        self.binary = shutil.which("podman") or "podman"

    def _write_conf(self, runtimes: list[str]) -> None:
        # root here lacks CAP_SYS_RESOURCE beyond the current hard limit, so podman's default
        # nofile/nproc ulimits of 1048576 fail with every runtime
        nofile = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
        if nofile == resource.RLIM_INFINITY:
            nofile = 1048576
        names = ["crun", "runc", "kata", "runsc", "youki", "krun",
                 *(Path(path).name for path in runtimes)]
        lines = [
            "[containers]",
            f'default_ulimits = ["nofile={nofile}:{nofile}", "nproc=32768:32768"]',
            "",
            "[network]",
            f'network_config_dir = "{self.dirs["cni"]}"',
            "",
            "[engine]",
            'cgroup_manager = "cgroupfs"',
            'events_logger = "file"',
            'lock_type = "file"',
            f"runtime_supports_json = {json.dumps(sorted(set(names)))}",
        ]
        self.conf.write_text("\n".join(lines) + "\n")
        self.storage_conf.write_text(
            f'[storage]\ndriver = "overlay"\ngraphroot = "{self.dirs["root"]}"\n'
            f'runroot = "{self.dirs["runroot"]}"\n')

    def argv(self, *args: str, runtime: str | None = None) -> list[str]:
        extra = ["--runtime", runtime] if runtime else []
        return [self.binary, "--root", str(self.dirs["root"]), "--runroot",
                str(self.dirs["runroot"]), "--tmpdir", str(self.dirs["tmp"]), *extra, *args]

    def call(self, *args: str, timeout: float = 120, **kw) -> subprocess.CompletedProcess:
        return subprocess.run(self.argv(*args), capture_output=True, text=True, env=self.env,
                              cwd=self.base, timeout=timeout, **kw)

    def import_rootfs(self, rootfs: Path) -> None:
        tar = subprocess.Popen(["tar", "-C", str(rootfs), "-c", "."], stdout=subprocess.PIPE)
        try:
            res = subprocess.run(self.argv("import", "-", IMAGE), stdin=tar.stdout,
                                 capture_output=True, text=True, env=self.env, cwd=self.base,
                                 timeout=120)
        finally:
            tar.stdout.close()
            tar.wait(timeout=120)
        if res.returncode != 0:
            raise proc.BenchError(f"podman import failed:\n{res.stderr}")

    def teardown(self) -> None:
        with contextlib.suppress(subprocess.SubprocessError, OSError):
            self.call("rm", "--all", "--force", "--time", "0")
            self.call("rmi", "--all", "--force")
        umount_under(self.base)


def umount_under(top: Path) -> None:
    prefix = str(top).rstrip("/") + "/"
    points = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            mp = line.split()[4].encode().decode("unicode_escape")
            if mp.startswith(prefix):
                points.append(mp)
    for mp in sorted(set(points), key=lambda p: p.count("/"), reverse=True):
        subprocess.run(["umount", "-l", mp], capture_output=True, timeout=30)


def libpod_parents() -> set[Path]:
    return set(Path("/sys/fs/cgroup").glob(f"*/{LIBPOD_PARENT}"))


def remove_new_libpod_parents(before: set[Path]) -> None:
    """podman's cgroupfs manager never removes the libpod_parent cgroups it makes."""
    for parent in libpod_parents() - before:
        for sub in sorted(parent.rglob("*"), key=lambda p: len(p.parts), reverse=True):
            if sub.is_dir():
                with contextlib.suppress(OSError):
                    sub.rmdir()
        with contextlib.suppress(OSError):
            parent.rmdir()


def engine_runtimes(bench: Bench, base: Path) -> dict[str, str]:
    """What podman is given as each runtime: its binary, or for a runtime run through
    nsenter (crun on a hybrid host) a wrapper script (see write_unshare_wrapper)."""
    return {rt.name: str(write_unshare_wrapper(rt.binary, base / "wrappers" / rt.name))
            if rt.prefix else rt.binary for rt in bench.runtimes}


def wrapper_cost_ms(bench: Bench, base: Path, n: int = 20) -> float:
    """Median extra wall time of the unshare wrapper, measured around /bin/true."""
    true = shutil.which("true") or "/bin/true"
    wrapped = str(write_unshare_wrapper(true, base / "wrappers" / "true"))
    plain = [proc.run([true], bench.out, 10).seconds for _ in range(n)]
    through = [proc.run([wrapped], bench.out, 10).seconds for _ in range(n)]
    return (statistics.median(through) - statistics.median(plain)) * 1000


def measure(bench: Bench) -> Result:
    result = Result(TITLE, {"podman run": MS})
    if not shutil.which("podman") or not shutil.which("conmon"):
        result.notes.append("not measured: podman or conmon not installed")
        return result
    rootfs = bench.base_rootfs
    base = bench.work / "podman"
    base.mkdir()
    before = libpod_parents()
    pm = None
    try:
        engine_paths = engine_runtimes(bench, base)
        pm = PrivatePodman(base, list(engine_paths.values()))
        pm.import_rootfs(rootfs)
        version = pm.call("--version").stdout.strip()
        result.notes.append(f"{version}; with --network none (no CNI setup)")
        result.extra["engine_runtimes"] = engine_paths
        if any(rt.prefix for rt in bench.runtimes):
            result.notes.append(
                f"the runtimes marked * ran through an sh wrapper making a mount namespace per "
                f"command (unshare, umount of the cgroup2 mount); it costs about "
                f"{wrapper_cost_ms(bench, base):.1f} ms per runtime command (measured around "
                f"/bin/true), and podman runs the runtime 3 to 4 times per `run`")

        def one_round(rt: Runtime) -> dict:
            argv = pm.argv("run", "--rm", "--network", "none", IMAGE, "true",
                           runtime=engine_paths[rt.name])
            res = proc.run(argv, bench.out, bench.settings.timeout, env=pm.env)
            if not res.ok:
                raise proc.BenchError(res.describe())
            return {"podman run": res.seconds * 1000}

        bench.interleaved(result, one_round, progress="podman")
    finally:
        if pm is not None:
            pm.teardown()
        remove_new_libpod_parents(before)
    return result
