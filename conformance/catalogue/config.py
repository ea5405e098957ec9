"""Requirements of config.md (root, mounts and their options, process, user, hostname,
hooks, annotations, extensibility)."""

from ..model import spec_section

R = spec_section("config.md")
OPT = "Linux mount options"

# (option, level, gist): the Linux mount option table
MOUNT_OPTIONS = [
    ("async", "MUST", "clears a preceding sync"),
    ("atime", "MUST", "clears a preceding noatime"),
    ("bind", "MUST", "bind-mounts the source"),
    ("defaults", "MUST", "gives rw, suid, dev, exec"),
    ("dev", "MUST", "clears a preceding nodev"),
    ("diratime", "MUST", "clears a preceding nodiratime"),
    ("dirsync", "MUST", "makes directory updates synchronous"),
    ("exec", "MUST", "clears a preceding noexec"),
    ("iversion", "MUST", "is accepted (i_version)"),
    ("lazytime", "MUST", "sets lazytime"),
    ("loud", "MUST", "is accepted (undoes silent)"),
    ("noatime", "MUST", "sets noatime"),
    ("nodev", "MUST", "sets nodev"),
    ("nodiratime", "MUST", "sets nodiratime"),
    ("noexec", "MUST", "sets noexec"),
    ("noiversion", "MUST", "is accepted"),
    ("nolazytime", "MUST", "clears a preceding lazytime"),
    ("norelatime", "MUST", "is accepted"),
    ("nostrictatime", "MUST", "clears a preceding strictatime"),
    ("nosuid", "MUST", "sets nosuid"),
    ("nosymfollow", "SHOULD", "sets nosymfollow"),
    ("private", "MUST", "makes the mount private"),
    ("ratime", "SHOULD", "clears noatime on submounts too"),
    ("rbind", "MUST", "bind-mounts the source with its submounts"),
    ("rdev", "SHOULD", "clears nodev on submounts too"),
    ("rdiratime", "SHOULD", "clears nodiratime on submounts too"),
    ("relatime", "MUST", "sets relatime"),
    ("remount", "MUST", "is accepted"),
    ("rexec", "SHOULD", "clears noexec on submounts too"),
    ("rnoatime", "SHOULD", "sets noatime on submounts too"),
    ("rnodiratime", "SHOULD", "sets nodiratime on submounts too"),
    ("rnoexec", "SHOULD", "sets noexec on submounts too"),
    ("rnorelatime", "SHOULD", "is accepted on a recursive bind"),
    ("rnostrictatime", "SHOULD", "is accepted on a recursive bind"),
    ("rnosuid", "SHOULD", "sets nosuid on submounts too"),
    ("rnosymfollow", "SHOULD", "sets nosymfollow on submounts too"),
    ("ro", "MUST", "makes the mount read-only"),
    ("rprivate", "MUST", "makes the mount and its submounts private"),
    ("rrelatime", "SHOULD", "sets relatime on submounts too"),
    ("rro", "SHOULD", "makes submounts read-only too"),
    ("rrw", "SHOULD", "makes submounts writable too"),
    ("rshared", "MUST", "makes the mount and submounts shared"),
    ("rslave", "MUST", "makes the mount and submounts slaves (never shared)"),
    ("rstrictatime", "SHOULD", "sets strictatime on submounts too"),
    ("rsuid", "SHOULD", "clears nosuid on submounts too"),
    ("rsymfollow", "SHOULD", "clears nosymfollow on submounts too"),
    ("runbindable", "MUST", "makes the mount and submounts unbindable"),
    ("rw", "MUST", "clears a preceding ro"),
    ("shared", "MUST", "makes the mount shared"),
    ("silent", "MUST", "is accepted"),
    ("slave", "MUST", "makes the mount a slave (never shared)"),
    ("strictatime", "MUST", "sets strictatime (neither noatime nor relatime)"),
    ("suid", "MUST", "clears a preceding nosuid"),
    ("symfollow", "SHOULD", "clears a preceding nosymfollow"),
    ("sync", "MUST", "makes the filesystem synchronous"),
    ("unbindable", "MUST", "makes the mount unbindable"),
    ("idmap", "SHOULD", "applies uidMappings/gidMappings to the mount"),
    ("ridmap", "SHOULD", "applies uidMappings/gidMappings to the mount and its submounts"),
]

RUNTIME_NS_HOOKS = ("prestart", "createRuntime", "poststart", "poststop")
CONTAINER_NS_HOOKS = ("createContainer", "startContainer")

REQUIREMENTS = [
    R(
        "config.ociversion.invalid",
        "Specification version",
        "MUST",
        "An ociVersion that is not SemVer is an invalid value and is refused.",
    ),
    R("config.root.path-exists", "Root", "MUST", "A root.path that is not a directory fails create."),
    R("config.root.path-relative", "Root", "MUST", "A relative root.path is taken relative to the bundle."),
    R("config.root.readonly", "Root", "MUST", "With root.readonly the root filesystem is read-only."),
    R(
        "config.root.readonly-default",
        "Root",
        "MUST",
        "Without root.readonly the root filesystem is writable.",
    ),
    R(
        "config.mounts.order",
        "Mounts",
        "MUST",
        "Mounts are made in the listed order (of two on one destination the last is on top).",
    ),
    R(
        "config.mounts.relative-destination",
        "Mounts",
        "MUST",
        "A relative destination is interpreted relative to /.",
    ),
    *[
        R(f"config.mounts.option.{name}", OPT, level, f"Mount option {name} {gist}.")
        for name, level, gist in MOUNT_OPTIONS
    ],
    R(
        "config.mounts.unknown-option-data",
        OPT,
        "SHOULD",
        "Unknown options are passed to mount(2) as filesystem data (tmpfs nr_inodes=).",
    ),
    R(
        "config.mounts.mount8-behaviour",
        OPT,
        "SHOULD",
        "Custom options known to mount(8) behave as mount(8) describes.",
    ),
    R(
        "config.mounts.idmap-pairs",
        "POSIX-platform Mounts",
        "MUST",
        "uidMappings without gidMappings on a mount is invalid and refused.",
    ),
    R(
        "config.process.console-size-ignored",
        "Process",
        "MUST",
        "consoleSize is ignored when terminal is false.",
    ),
    R("config.process.cwd", "Process", "MUST", "The process starts in process.cwd."),
    R("config.process.cwd-absolute", "Process", "MUST", "A relative process.cwd is refused."),
    R("config.process.env", "Process", "MUST", "The process environment is exactly process.env."),
    R("config.process.args", "Process", "MUST", "process.args is the program and its argv."),
    R(
        "config.process.rlimits-invalid",
        "POSIX process",
        "MUST",
        "An rlimit type with no kernel equivalent is refused.",
    ),
    R(
        "config.process.rlimits-getrlimit",
        "POSIX process",
        "MUST",
        "getrlimit succeeds in the container for every configured type.",
    ),
    R(
        "config.process.rlimits-soft",
        "POSIX process",
        "MUST",
        "The soft limit equals the configured soft value.",
    ),
    R(
        "config.process.rlimits-hard",
        "POSIX process",
        "MUST",
        "The hard limit equals the configured hard value.",
    ),
    R(
        "config.process.rlimits-duplicate",
        "POSIX process",
        "MUST",
        "Two rlimits entries of the same type are refused.",
    ),
    *[
        R(f"config.process.caps-{s}", "Linux Process", "MUST", f"The {s} capability set is as configured.")
        for s in ("bounding", "effective", "permitted", "inheritable", "ambient")
    ],
    R(
        "config.process.caps-unknown-no-fail",
        "Linux Process",
        "SHOULD",
        "An unknown capability name does not make the container fail.",
    ),
    R(
        "config.process.caps-unknown-warning",
        "Linux Process",
        "MUST",
        "An unknown capability name is logged as a warning.",
    ),
    R(
        "config.process.no-new-privileges",
        "Linux Process",
        "MUST",
        "noNewPrivileges true sets the no_new_privs bit of the process.",
    ),
    R("config.process.oom-score-adj", "Linux Process", "MUST", "oomScoreAdj sets /proc/self/oom_score_adj."),
    R(
        "config.process.oom-score-adj-unset",
        "Linux Process",
        "MUST",
        "Without oomScoreAdj the value is the runtime's own (not changed).",
    ),
    R(
        "config.process.cpu-affinity-unset",
        "Linux Process",
        "SHOULD",
        "Without execCPUAffinity the process keeps the CPU affinity of its caller.",
    ),
    R("config.user.uid", "POSIX-platform User", "MUST", "The process runs with user.uid."),
    R("config.user.gid", "POSIX-platform User", "MUST", "The process runs with user.gid."),
    R(
        "config.user.additional-gids",
        "POSIX-platform User",
        "MUST",
        "The supplementary groups are user.additionalGids.",
    ),
    R("config.user.umask", "POSIX-platform User", "MUST", "The process's umask is user.umask."),
    R("config.hostname", "Hostname", "MUST", "The container's hostname is config.hostname."),
    R("config.domainname", "Domainname", "MUST", "The container's NIS domain name is config.domainname."),
    R("config.hooks.order", "POSIX-platform Hooks", "MUST", "Hooks of one kind run in the listed order."),
    R(
        "config.hooks.state-on-stdin",
        "POSIX-platform Hooks",
        "MUST",
        "Each hook reads the container state (right id and status) on stdin.",
    ),
    R(
        "config.hooks.prestart-before-createruntime",
        "Prestart",
        "MUST",
        "prestart hooks run before createRuntime hooks.",
    ),
    R(
        "config.hooks.createcontainer-after-createruntime",
        "CreateContainer Hooks",
        "MUST",
        "createContainer hooks run after createRuntime hooks.",
    ),
    R(
        "config.hooks.create-phase",
        "Prestart",
        "MUST",
        "prestart, createRuntime and createContainer hooks run during create.",
    ),
    R(
        "config.hooks.startcontainer-before-program",
        "StartContainer Hooks",
        "MUST",
        "startContainer hooks run during start before the user program.",
    ),
    R(
        "config.hooks.poststart-before-start-returns",
        "Poststart",
        "MUST",
        "poststart hooks have run when start returns, after the startContainer ones.",
    ),
    R(
        "config.hooks.poststop-before-delete-returns",
        "Poststop",
        "MUST",
        "poststop hooks have run when delete returns.",
    ),
    *[
        R(
            f"config.hooks.{h}-namespace",
            "POSIX-platform Hooks",
            "MUST",
            f"{h} hooks run in the runtime's namespaces (net, uts, pid).",
        )
        for h in RUNTIME_NS_HOOKS
    ],
    *[
        R(
            f"config.hooks.{h}-namespace",
            "POSIX-platform Hooks",
            "MUST",
            f"{h} hooks run in the container's namespaces (net, uts, pid, mnt).",
        )
        for h in CONTAINER_NS_HOOKS
    ],
    R(
        "config.hooks.createcontainer-path-runtime-ns",
        "CreateContainer Hooks",
        "MUST",
        "A createContainer hook path is resolved on the host, not in the container rootfs.",
    ),
    R(
        "config.hooks.startcontainer-path-container-ns",
        "StartContainer Hooks",
        "MUST",
        "A startContainer hook path is resolved in the container's filesystem.",
    ),
    R(
        "config.annotations.unknown-ignored",
        "Annotations",
        "MUST",
        "Unknown annotation keys do not disturb the container.",
    ),
    R(
        "config.extensibility.unknown-property",
        "Extensibility",
        "MUST",
        "Unknown properties in config.json are ignored.",
    ),
    R(
        "config.valid-values.unsupported",
        "Valid values",
        "MUST",
        "An unsupported value (an unknown namespace type) is refused.",
    ),
]
