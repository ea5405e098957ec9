"""Process and kernel attributes of the config that are one call each: oomScoreAdj,
personality, scheduler, ioPriority, memoryPolicy, sysctl. Applied by the init before
pivot_root, while the host's /proc still shows it its own files; every procfs write goes
through kernel.write_file, which opens it with runtime.procfs (an fd checked to be procfs's
own file)."""

import cext
from runtime.errors import PyruncError

_SCHED_FLAGS = {name: getattr(cext, name) for name in (
    "SCHED_FLAG_RESET_ON_FORK", "SCHED_FLAG_RECLAIM", "SCHED_FLAG_DL_OVERRUN", "SCHED_FLAG_KEEP_POLICY",
    "SCHED_FLAG_KEEP_PARAMS", "SCHED_FLAG_UTIL_CLAMP_MIN", "SCHED_FLAG_UTIL_CLAMP_MAX")}
SCHED_ISO = 4  # reserved by Linux, never implemented: the kernel answers EINVAL
_IOPRIO_CLASSES = {"IOPRIO_CLASS_RT": 1, "IOPRIO_CLASS_BE": 2, "IOPRIO_CLASS_IDLE": 3}
_MPOL_MODES = {"MPOL_DEFAULT": 0, "MPOL_PREFERRED": 1, "MPOL_BIND": 2, "MPOL_INTERLEAVE": 3,
               "MPOL_LOCAL": 4, "MPOL_PREFERRED_MANY": 5, "MPOL_WEIGHTED_INTERLEAVE": 6}
_MPOL_FLAGS = {"MPOL_F_NUMA_BALANCING": 1 << 13, "MPOL_F_RELATIVE_NODES": 1 << 14,
               "MPOL_F_STATIC_NODES": 1 << 15}
_PERSONALITY = {"LINUX": 0x0000, "LINUX32": 0x0008}

# sysctl prefixes and the namespace that makes them the container's own (runc's list).
_IPC_SYSCTLS = ("kernel.msgmax", "kernel.msgmnb", "kernel.msgmni", "kernel.sem", "kernel.shmall",
                "kernel.shmmax", "kernel.shmmni", "kernel.shm_rmid_forced", "fs.mqueue.")
_UTS_SYSCTLS = ("kernel.hostname", "kernel.domainname")


def apply_process_attributes(kernel, spec) -> None:
    proc = spec.process
    if proc.oom_score_adj is not None:
        with kernel.because("/process/oomScoreAdj"):
            kernel.write_file("/proc/self/oom_score_adj", str(proc.oom_score_adj))
    linux = spec.linux
    if linux is not None and linux.personality is not None:
        with kernel.because("/linux/personality"):
            if linux.personality.flags:
                raise PyruncError(f"personality flags {linux.personality.flags} are not supported")
            kernel.personality(_PERSONALITY[linux.personality.domain], linux.personality.domain)
    if proc.scheduler is not None:
        apply_scheduler(kernel, proc.scheduler)
    if proc.io_priority is not None:
        with kernel.because("/process/ioPriority"):
            prio = proc.io_priority
            ioprio = (_IOPRIO_CLASSES[prio.class_] << cext.IOPRIO_CLASS_SHIFT) | prio.priority
            kernel.ioprio_set(ioprio, f"{prio.class_}:{prio.priority}")
    if linux is not None and linux.memory_policy is not None:
        apply_memory_policy(kernel, linux.memory_policy)


def apparmor_enabled() -> bool:
    try:
        with open("/sys/module/apparmor/parameters/enabled") as f:
            return f.read().strip() == "Y"
    except OSError:
        return False


def selinux_enabled() -> bool:
    import os

    return os.path.exists("/sys/fs/selinux/enforce")


def apply_lsm_labels(kernel, spec) -> None:
    """process.apparmorProfile and process.selinuxLabel take effect at the next execve, so the
    init writes them now (its own /proc, before pivot_root). On a host without that LSM they
    are accepted and the trace says they were not applied."""
    apply_process_labels(kernel, spec.process)
    if spec.linux is not None and spec.linux.mount_label and not selinux_enabled():
        with kernel.because("/linux/mountLabel"):
            kernel.note("SELinux is not enabled on this host: mount label not applied")


def apply_process_labels(kernel, proc) -> None:
    """The container init's and exec's: both take effect at the next execve."""
    if proc.apparmor_profile:
        with kernel.because("/process/apparmorProfile"):
            if apparmor_enabled():
                kernel.write_file("/proc/thread-self/attr/apparmor/exec", f"exec {proc.apparmor_profile}")
            else:
                kernel.note("AppArmor is not enabled on this host: profile not applied")
    if proc.selinux_label:
        with kernel.because("/process/selinuxLabel"):
            if selinux_enabled():
                kernel.write_file("/proc/thread-self/attr/exec", proc.selinux_label)
            else:
                kernel.note("SELinux is not enabled on this host: label not applied")


def apply_scheduler(kernel, sched) -> None:
    with kernel.because("/process/scheduler"):
        policy = SCHED_ISO if sched.policy == "SCHED_ISO" else getattr(cext, sched.policy)
        flags = 0
        for name in sched.flags:
            flags |= _SCHED_FLAGS[name]
        kernel.sched_setattr(policy, flags, sched.nice, sched.priority, sched.runtime, sched.deadline,
                             sched.period, sched.policy)


def apply_memory_policy(kernel, policy) -> None:
    with kernel.because("/linux/memoryPolicy"):
        mode = _MPOL_MODES[policy.mode]
        for name in policy.flags:
            mode |= _MPOL_FLAGS[name]
        kernel.set_mempolicy(mode, parse_cpu_list(policy.nodes or ""), policy.mode)


def parse_cpu_list(text: str) -> list[int]:
    """'0-3,7' -> [0, 1, 2, 3, 7] (the format of cpusets, NUMA nodes and affinities)."""
    out: list[int] = []
    for part in filter(None, (p.strip() for p in text.split(","))):
        lo, _, hi = part.partition("-")
        out.extend(range(int(lo), int(hi or lo) + 1))
    return out


def sysctl_namespace(key: str) -> str | None:
    """The namespace kind that owns a sysctl, None for one that is the host's alone."""
    if key.startswith("net."):
        return "network"
    if key in _UTS_SYSCTLS:
        return "uts"
    if any(key == p or (p.endswith(".") and key.startswith(p)) for p in _IPC_SYSCTLS):
        return "ipc"
    return None


def check_sysctls(spec, namespaces) -> None:
    """At create time, before anything exists: only sysctls of a namespace the container has."""
    for key in (spec.linux.sysctl if spec.linux else {}):
        kind = sysctl_namespace(key)
        field = f"config.json: /linux/sysctl/{key}"
        if kind is None:
            raise PyruncError(f"{field}: {key} is not namespaced: it would change the host")
        if not namespaces.has(kind):
            raise PyruncError(f"{field}: {key} belongs to the {kind} namespace, and the container "
                              f"shares the host's")


def apply_sysctls(kernel, spec) -> None:
    for key, value in (spec.linux.sysctl if spec.linux else {}).items():
        with kernel.because(f"/linux/sysctl/{key}"):
            kernel.write_file("/proc/sys/" + key.replace(".", "/"), value)
