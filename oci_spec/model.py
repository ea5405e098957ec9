"""Typed view of a validated config.json (runtime-spec 1.3.0, Linux).

Built only from documents that passed validation, so ``from_dict`` does no
type checking of its own.  Attribute names are the snake_case forms of the
JSON keys.  Absent values: an optional object is ``None``, a list ``[]``, a
map ``{}``, a scalar ``None`` unless the spec (or, for flags, "not set means
off") gives a default.  ``linux.resources`` and ``linux.seccomp`` stay plain
dicts until the runtime interprets them.

The classes are plain ones made by ``model`` below, not ``@dataclass``: this module is
imported on the hot ``create`` path, and ``dataclasses`` costs ~14 ms to import (it pulls in
``inspect``, ``re`` and ``ast``) plus ~0.5 ms a class for the code it generates with exec().
"""

from __future__ import annotations

from .errors import FieldError

MISSING = object()  # no default


class Field:
    """One attribute of a model class: its name and default, as in the class body."""

    __slots__ = ("name", "default", "default_factory", "repr")

    def __init__(self, default=MISSING, default_factory=MISSING, repr: bool = True):  # noqa: A002
        self.name = ""
        self.default = default
        self.default_factory = default_factory
        self.repr = repr

    def __repr__(self) -> str:
        return f"Field({self.name!r})"


def field(*, default=MISSING, default_factory=MISSING, repr: bool = True) -> Field:  # noqa: A002
    """A default that is made per instance (``default_factory``) or hidden from repr."""
    return Field(default, default_factory, repr)


def fields(obj) -> tuple[Field, ...]:
    """The fields of a model class or instance, in declaration order."""
    return obj._fields


class _Model:
    """``__init__`` (keyword or positional, defaults), ``__repr__`` and ``__eq__`` for the
    model classes, driven by the field list ``model`` builds from the annotations."""

    __slots__ = ()
    _fields: tuple = ()

    def __init__(self, *args, **kwargs):
        plan = self._fields
        if len(args) > len(plan):
            raise TypeError(f"{type(self).__name__}() takes {len(plan)} arguments,"
                            f" {len(args)} given")
        for i, f in enumerate(plan):
            name = f.name
            if i < len(args):
                if name in kwargs:
                    raise TypeError(f"{type(self).__name__}() got two values for {name!r}")
                value = args[i]
            elif name in kwargs:
                value = kwargs.pop(name)
            elif f.default is not MISSING:
                value = f.default
            elif f.default_factory is not MISSING:
                value = f.default_factory()
            else:
                raise TypeError(f"{type(self).__name__}() is missing {name!r}")
            setattr(self, name, value)
        if kwargs:
            raise TypeError(f"{type(self).__name__}() got unknown arguments {sorted(kwargs)}")

    def __repr__(self) -> str:
        parts = ", ".join(f"{f.name}={getattr(self, f.name)!r}" for f in self._fields if f.repr)
        return f"{type(self).__name__}({parts})"

    def __eq__(self, other):
        if type(other) is not type(self):
            return NotImplemented
        return all(getattr(self, f.name) == getattr(other, f.name) for f in self._fields)

    __hash__ = None  # mutable


def model(cls):
    """Turn the annotated attributes of ``cls`` (a ``_Model`` subclass) into its fields."""
    made = []
    for name in cls.__dict__.get("__annotations__", {}):
        value = cls.__dict__.get(name, MISSING)
        f = value if isinstance(value, Field) else Field(default=value)
        f.name = name
        if isinstance(value, Field):
            if f.default is MISSING:
                delattr(cls, name)  # the instance attribute, not the Field, is what is read
            else:
                setattr(cls, name, f.default)
        made.append(f)
    cls._fields = tuple(made)
    return cls


def _objs(cls, items) -> list:
    return [cls.from_dict(i) for i in items or ()]


@model
class IDMapping(_Model):
    """An entry of uidMappings/gidMappings (linux or a mount)."""

    container_id: int
    host_id: int
    size: int

    @classmethod
    def from_dict(cls, d: dict) -> IDMapping:
        return cls(container_id=d["containerID"], host_id=d["hostID"], size=d["size"])


@model
class Root(_Model):
    """``root``."""

    path: str
    readonly: bool = False

    @classmethod
    def from_dict(cls, d: dict) -> Root:
        return cls(path=d["path"], readonly=d.get("readonly", False))


@model
class Mount(_Model):
    """An entry of ``mounts``."""

    destination: str
    type: str | None = None
    source: str | None = None
    options: list[str] = field(default_factory=list)
    uid_mappings: list[IDMapping] = field(default_factory=list)
    gid_mappings: list[IDMapping] = field(default_factory=list)

    @classmethod
    def from_dict(cls, d: dict) -> Mount:
        return cls(destination=d["destination"], type=d.get("type"), source=d.get("source"),
                   options=list(d.get("options", ())),
                   uid_mappings=_objs(IDMapping, d.get("uidMappings")),
                   gid_mappings=_objs(IDMapping, d.get("gidMappings")))


@model
class ConsoleSize(_Model):
    """``process.consoleSize``."""

    height: int
    width: int

    @classmethod
    def from_dict(cls, d: dict) -> ConsoleSize:
        return cls(height=d["height"], width=d["width"])


@model
class User(_Model):
    """``process.user``.  When the config has no user, the process runs as
    uid 0, gid 0 (the zero value of the spec's Go type, and runc's behaviour),
    so ``Process.user`` is never None."""
    uid: int = 0
    gid: int = 0
    umask: int | None = None  # None: leave the umask of the runtime alone
    additional_gids: list[int] = field(default_factory=list)

    @classmethod
    def from_dict(cls, d: dict) -> User:
        return cls(uid=d["uid"], gid=d["gid"], umask=d.get("umask"),
                   additional_gids=list(d.get("additionalGids", ())))


@model
class Capabilities(_Model):
    """``process.capabilities``."""

    effective: list[str] = field(default_factory=list)
    bounding: list[str] = field(default_factory=list)
    inheritable: list[str] = field(default_factory=list)
    permitted: list[str] = field(default_factory=list)
    ambient: list[str] = field(default_factory=list)

    @classmethod
    def from_dict(cls, d: dict) -> Capabilities:
        return cls(effective=list(d.get("effective", ())), bounding=list(d.get("bounding", ())),
                   inheritable=list(d.get("inheritable", ())),
                   permitted=list(d.get("permitted", ())), ambient=list(d.get("ambient", ())))


@model
class Rlimit(_Model):
    """An entry of ``process.rlimits``."""

    type: str
    soft: int
    hard: int

    @classmethod
    def from_dict(cls, d: dict) -> Rlimit:
        return cls(type=d["type"], soft=d["soft"], hard=d["hard"])


@model
class Scheduler(_Model):
    """``process.scheduler``."""

    policy: str
    # The spec: "If not set, the runtime must use the value 0".
    nice: int = 0
    priority: int = 0
    flags: list[str] = field(default_factory=list)
    runtime: int = 0
    deadline: int = 0
    period: int = 0

    @classmethod
    def from_dict(cls, d: dict) -> Scheduler:
        return cls(policy=d["policy"], nice=d.get("nice", 0), priority=d.get("priority", 0),
                   flags=list(d.get("flags", ())), runtime=d.get("runtime", 0),
                   deadline=d.get("deadline", 0), period=d.get("period", 0))


@model
class IOPriority(_Model):
    """``process.ioPriority``."""

    # "class" is a Python keyword, hence the trailing underscore.
    class_: str
    priority: int

    @classmethod
    def from_dict(cls, d: dict) -> IOPriority:
        return cls(class_=d["class"], priority=d["priority"])


@model
class ExecCPUAffinity(_Model):
    """``process.execCPUAffinity``."""

    initial: str | None = None
    final: str | None = None

    @classmethod
    def from_dict(cls, d: dict) -> ExecCPUAffinity:
        return cls(initial=d.get("initial"), final=d.get("final"))


@model
class Process(_Model):
    """``process``, or the process JSON of ``exec --process``."""

    cwd: str
    args: list[str] = field(default_factory=list)
    env: list[str] = field(default_factory=list)
    terminal: bool = False
    console_size: ConsoleSize | None = None
    user: User = field(default_factory=User)
    command_line: str | None = None
    rlimits: list[Rlimit] = field(default_factory=list)
    apparmor_profile: str | None = None
    capabilities: Capabilities | None = None
    no_new_privileges: bool = False
    oom_score_adj: int | None = None  # None: the runtime MUST NOT change it
    scheduler: Scheduler | None = None
    selinux_label: str | None = None
    io_priority: IOPriority | None = None
    exec_cpu_affinity: ExecCPUAffinity | None = None

    @classmethod
    def from_dict(cls, d: dict) -> Process:
        return cls(
            cwd=d["cwd"], args=list(d.get("args", ())), env=list(d.get("env", ())),
            terminal=d.get("terminal", False),
            console_size=_opt(ConsoleSize, d.get("consoleSize")),
            user=User.from_dict(d["user"]) if "user" in d else User(),
            command_line=d.get("commandLine"),
            rlimits=_objs(Rlimit, d.get("rlimits")),
            apparmor_profile=d.get("apparmorProfile"),
            capabilities=_opt(Capabilities, d.get("capabilities")),
            no_new_privileges=d.get("noNewPrivileges", False),
            oom_score_adj=d.get("oomScoreAdj"),
            scheduler=_opt(Scheduler, d.get("scheduler")),
            selinux_label=d.get("selinuxLabel"),
            io_priority=_opt(IOPriority, d.get("ioPriority")),
            exec_cpu_affinity=_opt(ExecCPUAffinity, d.get("execCPUAffinity")),
        )


@model
class Hook(_Model):
    """An entry of one of the ``hooks`` lists."""

    path: str
    args: list[str] = field(default_factory=list)
    env: list[str] = field(default_factory=list)
    timeout: int | None = None

    @classmethod
    def from_dict(cls, d: dict) -> Hook:
        return cls(path=d["path"], args=list(d.get("args", ())), env=list(d.get("env", ())),
                   timeout=d.get("timeout"))


@model
class Hooks(_Model):
    """``hooks``."""

    prestart: list[Hook] = field(default_factory=list)
    create_runtime: list[Hook] = field(default_factory=list)
    create_container: list[Hook] = field(default_factory=list)
    start_container: list[Hook] = field(default_factory=list)
    poststart: list[Hook] = field(default_factory=list)
    poststop: list[Hook] = field(default_factory=list)

    @classmethod
    def from_dict(cls, d: dict) -> Hooks:
        return cls(prestart=_objs(Hook, d.get("prestart")),
                   create_runtime=_objs(Hook, d.get("createRuntime")),
                   create_container=_objs(Hook, d.get("createContainer")),
                   start_container=_objs(Hook, d.get("startContainer")),
                   poststart=_objs(Hook, d.get("poststart")),
                   poststop=_objs(Hook, d.get("poststop")))


@model
class Namespace(_Model):
    """An entry of ``linux.namespaces``."""

    type: str  # the spec's name: 'pid', 'network', 'mount', 'ipc', 'uts', 'user', 'cgroup', 'time'
    path: str | None = None  # None: create a new namespace

    @classmethod
    def from_dict(cls, d: dict) -> Namespace:
        return cls(type=d["type"], path=d.get("path"))


@model
class Device(_Model):
    """An entry of ``linux.devices``."""

    type: str
    path: str
    major: int | None = None  # None only for FIFOs (type 'p')
    minor: int | None = None
    file_mode: int | None = None
    uid: int | None = None
    gid: int | None = None

    @classmethod
    def from_dict(cls, d: dict) -> Device:
        return cls(type=d["type"], path=d["path"], major=d.get("major"), minor=d.get("minor"),
                   file_mode=d.get("fileMode"), uid=d.get("uid"), gid=d.get("gid"))


@model
class TimeOffset(_Model):
    """A value of ``linux.timeOffsets`` (keyed by clock)."""

    secs: int | None = None
    nanosecs: int | None = None

    @classmethod
    def from_dict(cls, d: dict) -> TimeOffset:
        return cls(secs=d.get("secs"), nanosecs=d.get("nanosecs"))


@model
class NetDevice(_Model):
    """A value of ``linux.netDevices`` (keyed by host interface name)."""

    name: str | None = None  # None: keep the host's name

    @classmethod
    def from_dict(cls, d: dict) -> NetDevice:
        return cls(name=d.get("name"))


@model
class Personality(_Model):
    """``linux.personality``."""

    domain: str
    flags: list[str] = field(default_factory=list)

    @classmethod
    def from_dict(cls, d: dict) -> Personality:
        return cls(domain=d["domain"], flags=list(d.get("flags", ())))


@model
class IntelRdt(_Model):
    """``linux.intelRdt``."""

    clos_id: str | None = None
    l3_cache_schema: str | None = None
    mem_bw_schema: str | None = None
    schemata: list[str] = field(default_factory=list)
    enable_monitoring: bool = False

    @classmethod
    def from_dict(cls, d: dict) -> IntelRdt:
        return cls(clos_id=d.get("closID"), l3_cache_schema=d.get("l3CacheSchema"),
                   mem_bw_schema=d.get("memBwSchema"), schemata=list(d.get("schemata", ())),
                   enable_monitoring=d.get("enableMonitoring", False))


@model
class MemoryPolicy(_Model):
    """``linux.memoryPolicy``."""

    mode: str
    nodes: str | None = None
    flags: list[str] = field(default_factory=list)

    @classmethod
    def from_dict(cls, d: dict) -> MemoryPolicy:
        return cls(mode=d["mode"], nodes=d.get("nodes"), flags=list(d.get("flags", ())))


@model
class Linux(_Model):
    """``linux``."""

    namespaces: list[Namespace] = field(default_factory=list)
    uid_mappings: list[IDMapping] = field(default_factory=list)
    gid_mappings: list[IDMapping] = field(default_factory=list)
    time_offsets: dict[str, TimeOffset] = field(default_factory=dict)
    devices: list[Device] = field(default_factory=list)
    net_devices: dict[str, NetDevice] = field(default_factory=dict)
    cgroups_path: str | None = None
    resources: dict | None = None  # untyped until the cgroup code needs it
    rootfs_propagation: str | None = None
    seccomp: dict | None = None  # untyped until the seccomp code needs it
    sysctl: dict[str, str] = field(default_factory=dict)
    masked_paths: list[str] = field(default_factory=list)
    readonly_paths: list[str] = field(default_factory=list)
    mount_label: str | None = None
    personality: Personality | None = None
    intel_rdt: IntelRdt | None = None
    memory_policy: MemoryPolicy | None = None

    @classmethod
    def from_dict(cls, d: dict) -> Linux:
        return cls(
            namespaces=_objs(Namespace, d.get("namespaces")),
            uid_mappings=_objs(IDMapping, d.get("uidMappings")),
            gid_mappings=_objs(IDMapping, d.get("gidMappings")),
            time_offsets={k: TimeOffset.from_dict(v)
                          for k, v in d.get("timeOffsets", {}).items()},
            devices=_objs(Device, d.get("devices")),
            net_devices={k: NetDevice.from_dict(v) for k, v in d.get("netDevices", {}).items()},
            cgroups_path=d.get("cgroupsPath"),
            resources=d.get("resources"),
            rootfs_propagation=d.get("rootfsPropagation"),
            seccomp=d.get("seccomp"),
            sysctl=dict(d.get("sysctl", {})),
            masked_paths=list(d.get("maskedPaths", ())),
            readonly_paths=list(d.get("readonlyPaths", ())),
            mount_label=d.get("mountLabel"),
            personality=_opt(Personality, d.get("personality")),
            intel_rdt=_opt(IntelRdt, d.get("intelRdt")),
            memory_policy=_opt(MemoryPolicy, d.get("memoryPolicy")),
        )

    def namespace(self, ns_type: str) -> Namespace | None:
        """The entry for ``ns_type`` ('pid', 'user', ...), or None when the
        container shares the runtime's namespace of that type."""
        for ns in self.namespaces:
            if ns.type == ns_type:
                return ns
        return None


@model
class Spec(_Model):
    """The whole config.json."""

    oci_version: str
    root: Root | None = None
    mounts: list[Mount] = field(default_factory=list)
    process: Process | None = None
    hostname: str | None = None
    domainname: str | None = None
    hooks: Hooks | None = None
    annotations: dict[str, str] = field(default_factory=dict)
    linux: Linux | None = None
    # The document as read, for what the model does not carry (unknown
    # properties, other platforms) and for writing it back unchanged.
    raw: dict = field(default_factory=dict, repr=False)
    # Things worth logging that are not errors (unknown properties, unknown
    # capabilities, deprecated forms); filled by load_bundle_config.
    warnings: list[FieldError] = field(default_factory=list, repr=False)

    @classmethod
    def from_dict(cls, d: dict) -> Spec:
        return cls(
            oci_version=d["ociVersion"],
            root=_opt(Root, d.get("root")),
            mounts=_objs(Mount, d.get("mounts")),
            process=_opt(Process, d.get("process")),
            hostname=d.get("hostname"),
            domainname=d.get("domainname"),
            hooks=_opt(Hooks, d.get("hooks")),
            annotations=dict(d.get("annotations", {})),
            linux=_opt(Linux, d.get("linux")),
            raw=d,
        )


def _opt(cls, d):
    return None if d is None else cls.from_dict(d)
