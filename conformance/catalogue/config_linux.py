"""Requirements of config-linux.md (filesystems, namespaces, devices, cgroups, sysctl,
seccomp, masked and read-only paths, ...)."""

from ..model import spec_section

R = spec_section("config-linux.md")
NS_TYPES = ("pid", "network", "mount", "ipc", "uts", "user", "cgroup", "time")
DEFAULT_DEVICES = ("null", "zero", "full", "random", "urandom", "tty", "ptmx")

REQUIREMENTS = [
    *[
        R(
            f"linux.filesystems.{name}",
            "Default Filesystems",
            "SHOULD",
            f"{path} is available as {fs} in the container.",
        )
        for name, path, fs in (
            ("proc", "/proc", "proc"),
            ("sys", "/sys", "sysfs"),
            ("devpts", "/dev/pts", "devpts"),
            ("shm", "/dev/shm", "tmpfs"),
        )
    ],
    *[
        R(
            f"linux.namespaces.new-{t}",
            "Namespaces",
            "MUST",
            f"A {t} namespace listed without path is a new namespace, not the runtime's.",
        )
        for t in NS_TYPES
    ],
    R(
        "linux.namespaces.inherit",
        "Namespaces",
        "MUST",
        "A namespace type not listed is shared with the runtime (network left out).",
    ),
    R(
        "linux.namespaces.path",
        "Namespaces",
        "MUST",
        "A namespace with path makes the process join that namespace.",
    ),
    R(
        "linux.namespaces.path-wrong-type",
        "Namespaces",
        "MUST",
        "A path whose namespace is of another type is refused.",
    ),
    R("linux.namespaces.duplicate", "Namespaces", "MUST", "Two namespaces of the same type are refused."),
    R(
        "linux.userns.mappings",
        "User namespace mappings",
        "MUST",
        "uidMappings and gidMappings are written to the user namespace.",
    ),
    R(
        "linux.userns.no-chown",
        "User namespace mappings",
        "SHOULD",
        "The rootfs ownership is not changed to realise the mapping.",
    ),
    R(
        "linux.devices.created",
        "Devices",
        "MUST",
        "A listed device exists in the container with its type and numbers.",
    ),
    R("linux.devices.attributes", "Devices", "MUST", "A listed device gets its fileMode, uid and gid."),
    R(
        "linux.devices.conflict",
        "Devices",
        "MUST",
        "A non-matching file already at a device path makes create fail.",
    ),
    *[
        R(f"linux.devices.default-{d}", "Default Devices", "MUST", f"/dev/{d} is provided.")
        for d in DEFAULT_DEVICES
    ],
    R(
        "linux.devices.default-console",
        "Default Devices",
        "MUST",
        "/dev/console is provided when the process has a terminal.",
    ),
    R(
        "linux.netdevices.moved",
        "Network Devices",
        "MUST",
        "A netDevices interface is moved into the container's network namespace (renamed if asked).",
    ),
    R("linux.netdevices.up", "Network Devices", "MUST", "A moved interface is up."),
    R(
        "linux.netdevices.attributes",
        "Network Devices",
        "MUST",
        "A moved interface keeps its attributes (MTU).",
    ),
    R(
        "linux.netdevices.exists",
        "Network Devices",
        "MUST",
        "Moving an interface that does not exist is an error.",
    ),
    R(
        "linux.netdevices.no-lifecycle",
        "Network Devices",
        "MUST",
        "The runtime does not move the interface back out of the namespace at termination.",
    ),
    R(
        "linux.cgroups.path-absolute",
        "Cgroups Path",
        "MUST",
        "An absolute cgroupsPath is taken relative to the cgroup mount points.",
    ),
    R(
        "linux.cgroups.path-consistent",
        "Cgroups Path",
        "MUST",
        "The same cgroupsPath gives the same cgroup for a later container.",
    ),
    R(
        "linux.cgroups.ownership",
        "Cgroup ownership",
        "SHOULD",
        "Cgroup ownership is changed only with a user namespace and a cgroup2 namespace.",
    ),
    R(
        "linux.cgroups.devices-order",
        "Allowed Device list",
        "MUST",
        "Device rules apply in order: deny all, then allow one device, lets only that device open.",
    ),
    R(
        "linux.cgroups.devices-deny",
        "Allowed Device list",
        "MUST",
        "A device denied by the rules cannot be opened even if its node exists.",
    ),
    R("linux.cgroups.memory-limit", "Memory", "MUST", "memory.limit is written to the memory cgroup."),
    R("linux.cgroups.memory-reservation", "Memory", "MUST", "memory.reservation is the soft limit."),
    R("linux.cgroups.memory-swap", "Memory", "MUST", "memory.swap is the memory+swap limit."),
    R("linux.cgroups.cpu-shares", "CPU", "MUST", "cpu.shares is written."),
    R("linux.cgroups.cpu-quota-period", "CPU", "MUST", "cpu.quota and cpu.period are written."),
    R("linux.cgroups.cpuset", "CPU", "MUST", "cpu.cpus and cpu.mems are written to the cpuset cgroup."),
    R("linux.cgroups.pids-limit", "PIDs", "MUST", "pids.limit is written to pids.max."),
    R("linux.cgroups.pids-zero", "PIDs", "SHOULD", "pids.limit 0 is a real limit of 0, not 'unset'."),
    R(
        "linux.cgroups.blkio-throttle",
        "Block IO",
        "MUST",
        "throttleReadBpsDevice is written to the blkio cgroup.",
    ),
    R(
        "linux.cgroups.hugepages",
        "Huge page limits",
        "MUST",
        "hugepageLimits are written to the hugetlb cgroup.",
    ),
    R(
        "linux.cgroups.unified-missing-controller",
        "Unified",
        "MUST",
        "unified naming a controller that is not available is refused.",
    ),
    R(
        "linux.cgroups.unified-write",
        "Unified",
        "MUST",
        "unified entries, known or not, are written to their files.",
    ),
    R(
        "linux.intelrdt.no-resctrl",
        "IntelRdt",
        "MUST",
        "intelRdt without a mounted resctrl filesystem is refused.",
    ),
    R("linux.intelrdt.untouched", "IntelRdt", "MUST", "Without intelRdt the runtime does not touch resctrl."),
    R("linux.sysctl", "Sysctl", "MUST", "sysctl values are set in the container's namespaces."),
    R(
        "linux.seccomp.errno",
        "Seccomp",
        "MUST",
        "A rule with SCMP_ACT_ERRNO makes the syscall fail with errnoRet.",
    ),
    R("linux.seccomp.default-action", "Seccomp", "MUST", "defaultAction applies to syscalls without a rule."),
    R("linux.seccomp.filter-mode", "Seccomp", "MUST", "The process runs in seccomp filter mode."),
    R(
        "linux.seccomp.errno-unsupported",
        "Seccomp",
        "MUST",
        "errnoRet on an action that takes no errno is refused.",
    ),
    R(
        "linux.seccomp.listener-state",
        "Seccomp",
        "MUST",
        "With SCMP_ACT_NOTIFY the state and the notify fd (SCM_RIGHTS) go to listenerPath.",
    ),
    R(
        "linux.seccomp.listener-one-per-connection",
        "Seccomp",
        "MUST",
        "Exactly one container process state is sent per connection, then it is closed.",
    ),
    R("linux.seccomp.listener-failure", "Seccomp", "MUST", "An unreachable listenerPath makes create fail."),
    R(
        "linux.rootfs-propagation",
        "Rootfs Mount Propagation",
        "MUST",
        "rootfsPropagation private leaves the container's / private.",
    ),
    R("linux.masked-paths.file", "Masked Paths", "MUST", "A masked file reads as empty."),
    R("linux.masked-paths.dir", "Masked Paths", "MUST", "A masked directory appears empty."),
    R("linux.readonly-paths", "Readonly Paths", "MUST", "A read-only path cannot be opened for writing."),
    R("linux.personality", "Personality", "MUST", "personality LINUX32 sets the execution domain."),
]
