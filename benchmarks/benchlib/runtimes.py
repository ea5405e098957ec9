"""The runtimes under test: finding them, their versions, and crun's cgroup v1 namespace."""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from . import proc

REPO = Path(__file__).resolve().parents[2]
CGROUP_UNIFIED = "/sys/fs/cgroup/unified"
# crun 1.8 refuses a hybrid cgroup host ("cgroups in hybrid mode not supported").  It runs in
# a mount namespace, made once and kept by a sleeping holder, where the cgroup2 mount is gone
# and the host looks like a plain cgroup v1 host; each crun command enters it with nsenter.
HOLDER_SCRIPT = f"umount {CGROUP_UNIFIED} && echo ready && exec sleep 2147483647"


@dataclass
class Runtime:
    name: str
    binary: str
    root: Path                                    # its own --root state directory
    version: str = ""
    prefix: list[str] = field(default_factory=list)  # wrapper put before the binary (nsenter)

    def argv(self, *args: str) -> list[str]:
        return [*self.prefix, self.binary, "--root", str(self.root), *args]


def find_binary(name: str) -> str | None:
    found = shutil.which(name)
    if found is None and name == "pyrunc":
        venv = REPO / ".venv" / "bin" / "pyrunc"
        found = str(venv) if os.access(venv, os.X_OK) else None
    return found


def runtime_version(binary: str) -> str | None:
    """First line of `binary --version`, or None if that fails."""
    try:
        res = subprocess.run([binary, "--version"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    if res.returncode != 0:
        return None
    return res.stdout.strip().splitlines()[0] if res.stdout.strip() else "?"


def resolve(spec: str, work: Path, notes: list[str]) -> list[Runtime]:
    """Runtimes from "NAME,NAME=PATH,..."; missing ones are skipped with a note."""
    found = []
    for item in filter(None, (s.strip() for s in spec.split(","))):
        name, _, path = item.partition("=")
        binary = path or find_binary(name)
        if not binary or not os.access(binary, os.X_OK):
            notes.append(f"{name}: not installed, skipped")
            continue
        binary = os.path.abspath(binary)
        version = runtime_version(binary)
        if version is None:
            notes.append(f"{name}: `{binary} --version` failed, skipped")
            continue
        root = work / "state" / name
        root.mkdir(parents=True)
        found.append(Runtime(name=name, binary=binary, root=root, version=version))
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


def needs_v1_namespace(rt: Runtime) -> bool:
    return Path(rt.binary).name == "crun" and hybrid_cgroups()


class CgroupV1Namespace:
    """A mount namespace where /sys/fs/cgroup/unified is unmounted, held by a sleeping child."""

    def __init__(self) -> None:
        unshare, nsenter = shutil.which("unshare"), shutil.which("nsenter")
        if unshare is None or nsenter is None:
            raise proc.BenchError("crun on a hybrid cgroup host needs unshare and nsenter")
        self.holder = subprocess.Popen(
            [unshare, "--mount", "--propagation", "private", "sh", "-c", HOLDER_SCRIPT],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        if self.holder.stdout.readline().strip() != "ready":
            err = self.holder.stderr.read()
            self.stop()
            raise proc.BenchError(f"could not make the cgroup v1 mount namespace: {err}")
        if not os.path.ismount(CGROUP_UNIFIED):
            self.stop()
            raise proc.BenchError(f"making crun's namespace unmounted the host's {CGROUP_UNIFIED}")
        self.prefix = [nsenter, f"--mount=/proc/{self.holder.pid}/ns/mnt"]

    def overhead_ms(self, out: proc.OutputFile, n: int = 20) -> float:
        """Median extra wall time of entering the namespace, measured around /bin/true."""
        true = shutil.which("true") or "/bin/true"
        plain = [proc.run([true], out, 10).seconds for _ in range(n)]
        wrapped = [proc.run([*self.prefix, true], out, 10).seconds for _ in range(n)]
        return (statistics.median(wrapped) - statistics.median(plain)) * 1000

    def stop(self) -> None:
        if self.holder.poll() is None:
            self.holder.kill()
        self.holder.wait(timeout=10)
        self.holder.stdout.close()
        self.holder.stderr.close()


def write_unshare_wrapper(binary: str, directory: Path) -> Path:
    """An executable running `binary` in a mount namespace of its own without the cgroup2
    mount (for podman).  Not the shared namespace of CgroupV1Namespace: that one is a copy of
    the host's mounts when it was made, and podman mounts each container's rootfs later (the
    host's mounts are private here, and containers/storage makes its overlay home private)."""
    directory.mkdir(parents=True, exist_ok=True)
    # named like the runtime: podman picks per-runtime behaviour by the file name
    script = directory / Path(binary).name
    script.write_text(
        "#!/bin/sh\n# run the runtime where the host looks like a plain cgroup v1 host\n"
        f"exec unshare --mount sh -c 'umount {CGROUP_UNIFIED} && exec \"$0\" \"$@\"' "
        f"{binary} \"$@\"\n")
    script.chmod(0o755)
    return script


def crun_note(rt: Runtime, cost_ms: float) -> str:
    return (f"{rt.name} (marked *): this host has hybrid cgroups, which crun refuses, so every "
            f"crun command ran as `nsenter --mount=/proc/HOLDER/ns/mnt crun ...` in a mount "
            f"namespace (made once) where {CGROUP_UNIFIED} is unmounted; under podman through "
            f"an sh wrapper that makes such a namespace per command (unshare --mount, umount, "
            f"exec crun). nsenter costs about {cost_ms:.2f} ms per command (measured around "
            f"/bin/true), included in crun's times; its peak RSS is the larger of nsenter's "
            f"and crun's")
