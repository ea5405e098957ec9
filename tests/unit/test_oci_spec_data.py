"""Documents shared by the oci_spec tests (no tests here).

Written for these tests: a config in the shape ``runc spec`` produces, one
that sets every property runtime-spec 1.3.0 defines for Linux, and state and
features documents.  Each function returns a fresh copy to mutate.
"""

from __future__ import annotations

CAPS = ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"]


def default_config() -> dict:
    """The shape of ``runc spec``'s default (rootful) config."""
    return {
        "ociVersion": "1.2.0",
        "process": {
            "terminal": True,
            "user": {"uid": 0, "gid": 0},
            "args": ["sh"],
            "env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                    "TERM=xterm"],
            "cwd": "/",
            "capabilities": {"bounding": list(CAPS), "effective": list(CAPS),
                             "permitted": list(CAPS)},
            "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}],
            "noNewPrivileges": True,
        },
        "root": {"path": "rootfs", "readonly": True},
        "hostname": "runc",
        "mounts": [
            {"destination": "/proc", "type": "proc", "source": "proc"},
            {"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
             "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
            {"destination": "/dev/pts", "type": "devpts", "source": "devpts",
             "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]},
            {"destination": "/dev/shm", "type": "tmpfs", "source": "shm",
             "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]},
            {"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue",
             "options": ["nosuid", "noexec", "nodev"]},
            {"destination": "/sys", "type": "sysfs", "source": "sysfs",
             "options": ["nosuid", "noexec", "nodev", "ro"]},
            {"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup",
             "options": ["nosuid", "noexec", "nodev", "relatime", "ro"]},
        ],
        "linux": {
            "resources": {"devices": [{"allow": False, "access": "rwm"}]},
            "namespaces": [{"type": "pid"}, {"type": "network"}, {"type": "ipc"},
                           {"type": "uts"}, {"type": "mount"}, {"type": "cgroup"}],
            "maskedPaths": ["/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys",
                            "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats",
                            "/proc/sched_debug", "/sys/firmware", "/proc/scsi"],
            "readonlyPaths": ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys",
                              "/proc/sysrq-trigger"],
        },
    }


def hook(path: str = "/usr/bin/hook", **extra) -> dict:
    return {"path": path, "args": [path.rsplit("/", 1)[-1], "x"], "env": ["A=1"], "timeout": 5,
            **extra}


def maximal_config() -> dict:
    """Every property of config.json (runtime-spec 1.3.0, Linux) set once."""
    def idmap():
        return [{"containerID": 0, "hostID": 100000, "size": 65536}]

    def throttle():
        return [{"major": 8, "minor": 0, "rate": 600}]

    return {
        "ociVersion": "1.3.0",
        "root": {"path": "rootfs", "readonly": False},
        "mounts": [
            {"destination": "/proc", "type": "proc", "source": "proc"},
            {"destination": "/data", "type": "none", "source": "/volumes/data",
             "options": ["rbind", "rw", "idmap"], "uidMappings": idmap(), "gidMappings": idmap()},
        ],
        "process": {
            "terminal": True,
            "consoleSize": {"height": 25, "width": 80},
            "user": {"uid": 1, "gid": 1, "umask": 18, "additionalGids": [5, 6]},
            "cwd": "/root",
            "env": ["PATH=/usr/bin:/bin", "TERM=xterm"],
            "args": ["sh", "-c", "true"],
            "commandLine": "sh -c true",
            "rlimits": [{"type": "RLIMIT_NOFILE", "soft": 1024, "hard": 4096},
                        {"type": "RLIMIT_CORE", "soft": 0, "hard": 18446744073709551615}],
            "apparmorProfile": "acme_secure_profile",
            "capabilities": {"bounding": list(CAPS), "effective": ["CAP_KILL"],
                             "inheritable": [], "permitted": list(CAPS),
                             "ambient": ["CAP_NET_BIND_SERVICE"]},
            "noNewPrivileges": True,
            "oomScoreAdj": -500,
            "scheduler": {"policy": "SCHED_DEADLINE", "nice": -5, "priority": 0,
                          "flags": ["SCHED_FLAG_RESET_ON_FORK", "SCHED_FLAG_RECLAIM"],
                          "runtime": 10000000, "deadline": 20000000, "period": 30000000},
            "selinuxLabel": "system_u:system_r:svirt_lxc_net_t:s0:c124,c675",
            "ioPriority": {"class": "IOPRIO_CLASS_BE", "priority": 7},
            "execCPUAffinity": {"initial": "7", "final": "0-3,7"},
        },
        "hostname": "box",
        "domainname": "example.test",
        "hooks": {
            "prestart": [hook("/usr/bin/prestart")],
            "createRuntime": [hook("/usr/bin/create-runtime")],
            "createContainer": [hook("/usr/bin/create-container")],
            "startContainer": [{"path": "/usr/bin/ldconfig"}],
            "poststart": [hook("/usr/bin/poststart")],
            "poststop": [hook("/usr/bin/poststop")],
        },
        "annotations": {"com.example.key": "value", "com.example.empty": ""},
        "linux": {
            "namespaces": [{"type": "pid"}, {"type": "network", "path": "/var/run/netns/a"},
                           {"type": "mount"}, {"type": "ipc"}, {"type": "uts"},
                           {"type": "user"}, {"type": "cgroup"}, {"type": "time"}],
            "uidMappings": idmap(),
            "gidMappings": idmap(),
            "timeOffsets": {"monotonic": {"secs": 172800, "nanosecs": 0},
                            "boottime": {"secs": -3600, "nanosecs": 999999999}},
            "devices": [
                {"path": "/dev/fuse", "type": "c", "major": 10, "minor": 229, "fileMode": 438,
                 "uid": 0, "gid": 0},
                {"path": "/dev/sda", "type": "b", "major": 8, "minor": 0},
                {"path": "/dev/fifo", "type": "p"},
                {"path": "/dev/ubuf", "type": "u", "major": 4, "minor": 1},
            ],
            "netDevices": {"eth1": {"name": "ctr_eth1"}, "eth2": {}},
            "cgroupsPath": "/myRuntime/myContainer",
            "resources": {
                "devices": [{"allow": False, "access": "rwm"},
                            {"allow": True, "type": "c", "major": 10, "minor": 229, "access": "rw"},
                            {"allow": True, "type": "a"}],
                "memory": {"limit": 536870912, "reservation": 268435456, "swap": 1073741824,
                           "kernel": -1, "kernelTCP": -1, "swappiness": 60,
                           "disableOOMKiller": False, "useHierarchy": True,
                           "checkBeforeUpdate": True},
                "cpu": {"shares": 1024, "quota": 1000000, "burst": 500000, "period": 500000,
                        "realtimeRuntime": 950000, "realtimePeriod": 1000000, "cpus": "2-3",
                        "mems": "0-7", "idle": 0},
                "pids": {"limit": 32771},
                "blockIO": {
                    "weight": 10, "leafWeight": 10,
                    "weightDevice": [{"major": 8, "minor": 0, "weight": 500, "leafWeight": 300},
                                     {"major": 8, "minor": 16, "leafWeight": 100}],
                    "throttleReadBpsDevice": throttle(),
                    "throttleWriteBpsDevice": throttle(),
                    "throttleReadIOPSDevice": throttle(),
                    "throttleWriteIOPSDevice": throttle(),
                },
                "hugepageLimits": [{"pageSize": "2MB", "limit": 209715200},
                                   {"pageSize": "1GB", "limit": 0}],
                "network": {"classID": 1048577,
                            "priorities": [{"name": "eth0", "priority": 500}]},
                "rdma": {"mlx5_1": {"hcaHandles": 3, "hcaObjects": 10000},
                         "rxe3": {"hcaObjects": 10000}},
                "unified": {"io.max": "259:0 rbps=2097152", "memory.high": "max"},
            },
            "rootfsPropagation": "slave",
            "seccomp": {
                "defaultAction": "SCMP_ACT_ERRNO",
                "defaultErrnoRet": 1,
                "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
                "flags": ["SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW"],
                "listenerPath": "/run/seccomp-agent.sock",
                "listenerMetadata": "opaque",
                "syscalls": [
                    {"names": ["read", "write"], "action": "SCMP_ACT_ALLOW"},
                    {"names": ["personality"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38,
                     "args": [{"index": 0, "value": 8, "valueTwo": 0, "op": "SCMP_CMP_EQ"}]},
                    {"names": ["mkdir"], "action": "SCMP_ACT_NOTIFY"},
                ],
            },
            "sysctl": {"net.ipv4.ip_forward": "1"},
            "maskedPaths": ["/proc/kcore"],
            "readonlyPaths": ["/proc/sys"],
            "mountLabel": "system_u:object_r:svirt_sandbox_file_t:s0:c715,c811",
            "personality": {"domain": "LINUX32", "flags": []},
            "intelRdt": {"closID": "guaranteed_group", "l3CacheSchema": "L3:0=7f0;1=1f",
                         "memBwSchema": "MB:0=20;1=70", "schemata": ["L2:0=f;1=f"],
                         "enableMonitoring": True},
            "memoryPolicy": {"mode": "MPOL_INTERLEAVE", "nodes": "2-3",
                             "flags": ["MPOL_F_STATIC_NODES"]},
        },
    }


def state_doc() -> dict:
    return {"ociVersion": "1.3.0", "id": "ctr1", "status": "running", "pid": 4422,
            "bundle": "/containers/redis", "annotations": {"myKey": "myValue"}}


def features_doc() -> dict:
    """A features document of the shape ``pyrunc features`` prints."""
    return {
        "ociVersionMin": "1.0.0",
        "ociVersionMax": "1.3.0",
        "hooks": ["prestart", "createRuntime", "createContainer", "startContainer",
                  "poststart", "poststop"],
        "mountOptions": ["bind", "rbind", "ro", "rw", "nosuid", "idmap"],
        "linux": {
            "namespaces": ["cgroup", "ipc", "mount", "network", "pid", "user", "uts", "time"],
            "capabilities": ["CAP_CHOWN", "CAP_KILL", "CAP_CHECKPOINT_RESTORE"],
            "cgroup": {"v1": False, "v2": True, "systemd": False, "systemdUser": False,
                       "rdma": True},
            "seccomp": {"enabled": True, "actions": ["SCMP_ACT_ALLOW", "SCMP_ACT_ERRNO"],
                        "operators": ["SCMP_CMP_EQ"], "archs": ["SCMP_ARCH_X86_64"],
                        "knownFlags": ["SECCOMP_FILTER_FLAG_LOG"],
                        "supportedFlags": ["SECCOMP_FILTER_FLAG_LOG"]},
            "apparmor": {"enabled": True},
            "selinux": {"enabled": False},
            "intelRdt": {"enabled": True, "schemata": True, "monitoring": False},
            "memoryPolicy": {"modes": ["MPOL_DEFAULT", "MPOL_BIND"],
                             "flags": ["MPOL_F_STATIC_NODES"]},
            "mountExtensions": {"idmap": {"enabled": True}},
            "netDevices": {"enabled": True},
        },
        "annotations": {"org.opencontainers.runc.version": "pyrunc 0.1.0"},
        "potentiallyUnsafeConfigAnnotations": ["org.systemd.property."],
    }
