"""What runs on the container's side of `create`, as one ordered list of kernel steps.

Process tree of `create`:

    pyrunc create (runtime)
      └─ stage-1: joins namespaces given by path, creates the new ones (user first, so the
         │          others belong to it; the runtime writes its uid/gid maps)
         └─ init:   PID 1 of the new pid namespace; mounts, /dev, pivot_root, identity; then
                    blocks in C on exec.fifo until `start`, and execs process.args

stage-1 exits once init exists; init reports `ready` (or `error <message>`) to the runtime.
Both run the functions below against a Kernel, so the same code prints the plan (`explain`).
"""

import os

import cext
from runtime import attributes, devices, namespaces, process, rootfs
from runtime.errors import PyruncError, SetupError
from runtime.paths import Root


class InitConfig:
    """Everything the container side needs, fixed before the fork."""

    def __init__(self, spec, cid: str, bundle: str, rootfs_path: str, fifo_path: str,
                 no_pivot: bool = False, no_new_keyring: bool = False, preserve_fds: int = 0,
                 console_fd: int = -1):
        self.spec = spec
        self.id = cid
        self.bundle = bundle
        self.rootfs = rootfs_path
        self.fifo_path = fifo_path
        self.no_pivot = no_pivot
        self.no_new_keyring = no_new_keyring
        self.preserve_fds = preserve_fds
        self.console_fd = console_fd
        self.ns = namespaces.NamespacePlan(spec.linux.namespaces if spec.linux else [])
        self.cgroup_dirs: list[tuple[str, str]] = []  # v1: (hierarchy, the container's dir)
        self.cgroup_v2_dir: str | None = None
        # How the init gets into its cgroup (see place_in_cgroup): files it writes "0" into,
        # a cgroup2 directory it is cloned into, and whether the runtime must do the rest.
        self.cgroup_join_files: list[tuple[str, str]] = []
        self.cgroup_birth_dir: str | None = None
        self.cgroup_rest_to_join = lambda born: True
        self.cgroup_fds: list[tuple[str, int]] = []
        self.cgroup_birth_fd = -1
        self.born_in_cgroup = False
        self.cgroup_joined = False
        self.fifo_fd = -1
        self.caller_umask = 0o022
        self.idmap_fds: dict[int, int] = {}  # mount index -> user namespace fd (runtime.idmap)
        self.seccomp = None  # runtime.seccomp.Filter, compiled before the fork
        hooks = spec.hooks
        self.has_create_hooks = bool(
            hooks and (hooks.prestart or hooks.create_runtime or hooks.create_container))


def place_in_cgroup(cfg: InitConfig, cgroup) -> None:
    """Plan how the init enters the container's cgroup (runtime.cgroups.base.Manager): as
    much as possible by itself, which spares the kernel's global cgroup attach lock."""
    cfg.cgroup_dirs = cgroup.v1_dirs()
    cfg.cgroup_v2_dir = cgroup.v2_dir()
    cfg.cgroup_join_files = cgroup.self_join_files()
    # A clone into a cgroup is checked against the cloning process's credentials, which in a
    # user namespace are the container's: then the runtime moves the init instead.
    cfg.cgroup_birth_dir = None if cfg.ns.has("user") else cgroup.birth_dir()
    cfg.cgroup_rest_to_join = cgroup.rest_to_join


def error_text(exc: BaseException, kernel) -> str:
    if isinstance(exc, SetupError):
        return str(exc)
    text = str(exc) or type(exc).__name__
    field = getattr(exc, "field", None) or kernel.field
    if isinstance(exc, PyruncError) and field and not text.startswith("/"):
        return f"{field}: {text}"
    if not isinstance(exc, (PyruncError, OSError)):
        return f"internal error in the container init: {type(exc).__name__}: {text}"
    return text


# -- stage-1 ---------------------------------------------------------------------------------

def stage1(kernel, cfg: InitConfig, chan, fork=os.fork) -> int:
    """Enter and create the namespaces; fork the init. Returns the init's pid (to stage-1)."""
    ns = cfg.ns
    # Before any namespace is joined: no process of the container may read this one's memory,
    # fds or executable (the host's interpreter), nor ptrace it (CVE-2019-5736, CVE-2016-9962).
    # The init inherits it; the kernel makes the user's program dumpable again at execve.
    kernel.prctl(cext.PR_SET_DUMPABLE, 0, "PR_SET_DUMPABLE")
    # Opened while still the host's root: inside a new user namespace the state directory
    # may be out of reach. The init inherits the fd.
    cfg.fifo_fd = kernel.open(cfg.fifo_path, os.O_RDWR)
    open_cgroup_files(kernel, cfg)
    namespaces.join_all(kernel, ns)
    if "user" in ns.new:
        with kernel.because("/linux/namespaces"):
            kernel.unshare(cext.CLONE_NEWUSER)
        chan.send("userns", str(os.getpid()))
        if chan.recv()[0] != "mapped":
            raise PyruncError("the runtime did not map the user namespace")
        if any(m.container_id == 0 for m in cfg.spec.linux.uid_mappings):
            kernel.setresgid(0)
            kernel.setresuid(0)
    # The cgroup namespace waits until the init is in its cgroup (see init()).
    flags = ns.new_flags(exclude=("user", "cgroup"))
    if flags:
        with kernel.because("/linux/namespaces"):
            kernel.unshare(flags)
    if "time" in ns.new and cfg.spec.linux.time_offsets:
        write_time_offsets(kernel, cfg.spec.linux.time_offsets)
    return fork_init(kernel, cfg, fork)


def open_cgroup_files(kernel, cfg: InitConfig) -> None:
    """Open what the init enters its cgroup through while still the host's root in the host's
    namespaces: the kernel checks a cgroup file write against the opener's credentials, and
    after its setup the init no longer sees the host's /sys/fs/cgroup."""
    with kernel.because("/linux/cgroupsPath"):
        cfg.cgroup_fds = [(path, kernel.open(path, os.O_WRONLY)) for _, path in cfg.cgroup_join_files]
        if cfg.cgroup_birth_dir:
            cfg.cgroup_birth_fd = kernel.open(cfg.cgroup_birth_dir, os.O_RDONLY | os.O_DIRECTORY)


def fork_init(kernel, cfg: InitConfig, fork) -> int:
    """Fork the init, straight into its cgroup2 directory when there is one to be born in."""
    fd, cfg.cgroup_birth_fd = cfg.cgroup_birth_fd, -1
    if fd < 0:
        return fork()
    try:
        with kernel.because("/linux/cgroupsPath"):
            pid = kernel.fork_into_cgroup(fd, cfg.cgroup_birth_dir)
        cfg.born_in_cgroup = True
    except PyruncError as e:
        # clone3 missing (ENOSYS) or the placement refused: the runtime moves the init.
        kernel.note(f"the init is forked, and moved into {cfg.cgroup_birth_dir} by the runtime: {e}")
        pid = fork()
    kernel.close(fd)
    return pid


def write_time_offsets(kernel, offsets) -> None:
    clocks = {"monotonic": "monotonic", "boottime": "boottime"}
    with kernel.because("/linux/timeOffsets"):
        text = "".join(f"{clocks[name]} {o.secs or 0} {o.nanosecs or 0}\n" for name, o in offsets.items())
        kernel.write_file("/proc/self/timens_offsets", text)


# -- init -------------------------------------------------------------------------------------

def init(kernel, cfg: InitConfig, chan) -> None:
    """Set the container up and hand over to C, which waits for `start` and execs."""
    spec = cfg.spec
    proc = spec.process
    flt = cfg.seccomp  # compiled by the runtime before it forked
    kernel.setsid()
    # Device nodes and mount points get exactly the modes the config asks for; the caller's
    # umask comes back for the process unless the config sets one.
    cfg.caller_umask = kernel.umask(0)
    attributes.apply_process_attributes(kernel, spec)
    attributes.apply_lsm_labels(kernel, spec)
    setup_rootfs(kernel, cfg, chan)
    enter_cgroup(kernel, cfg, chan)
    # Before any seccomp filter is loaded: profiles (Docker's, runtime-tools') refuse close_range.
    kernel.mark_cloexec_from(3 + cfg.preserve_fds)
    identity(kernel, cfg, chan)
    with kernel.because("/process/args"):
        path = kernel.find_executable(proc.args[0], proc.env)
    if flt and proc.no_new_privileges:  # as late as possible (runtime/seccomp.py)
        flt.install(kernel, chan)
    if not chan.send("ready"):
        # The runtime is gone (killed during create): no `start` will come for this init,
        # which would otherwise wait on exec.fifo for good.
        os._exit(1)
    with kernel.because("/process/args"):
        kernel.exec_when_started(cfg.fifo_fd, path, list(proc.args), process.exec_environment(proc))


def enter_cgroup(kernel, cfg: InitConfig, chan) -> None:
    """Into the container's cgroup (join_cgroups, if the create hooks did not need it earlier),
    then the cgroup namespace, while CAP_SYS_ADMIN is still held."""
    join_cgroups(kernel, cfg, chan)
    if "cgroup" in cfg.ns.new:
        with kernel.because("/linux/namespaces"):
            kernel.unshare(cext.CLONE_NEWCGROUP)  # the container's cgroup becomes its root


def join_cgroups(kernel, cfg: InitConfig, chan) -> None:
    """The init enters its v1 hierarchies by itself (place_in_cgroup) as late as it can: after
    the Python-heavy setup, whose memory stays charged to the runtime's cgroup, so a small
    memory limit is the process's alone. The runtime does what is left. Done once."""
    if cfg.cgroup_joined:
        return
    cfg.cgroup_joined = True
    with kernel.because("/linux/cgroupsPath"):
        for path, fd in cfg.cgroup_fds:
            kernel.write_fd(fd, "0", path)  # "0": this thread, i.e. the whole init
            kernel.close(fd)
    cfg.cgroup_fds = []
    if chan is not None and cfg.cgroup_rest_to_join(cfg.born_in_cgroup):
        chan.send("cgroup")
        if chan.recv()[0] != "joined":
            raise PyruncError("the runtime did not place the container in its cgroup")


def setup_rootfs(kernel, cfg: InitConfig, chan=None) -> None:
    spec = cfg.spec
    own_mounts = cfg.ns.has("mount")
    if own_mounts:
        rootfs.prepare_propagation(kernel, spec)
        rootfs.unshare_parent_mount(kernel, cfg.rootfs)
        rootfs.bind_rootfs_to_itself(kernel, cfg.rootfs)
    root = Root(kernel, cfg.rootfs)
    rootfs.apply_mounts(kernel, spec, root, cfg.bundle, (cfg.cgroup_dirs, cfg.cgroup_v2_dir), cfg.idmap_fds)
    if devices.needs_dev_setup(spec):
        devices.create_devices(kernel, root, spec, in_user_ns=cfg.ns.has("user"))
        devices.create_links(kernel, root)
    root.close()
    set_names(kernel, cfg)
    if "network" in cfg.ns.new:
        with kernel.because("/linux/namespaces"):
            kernel.link_up("lo")
    attributes.apply_sysctls(kernel, spec)
    if chan is not None and cfg.has_create_hooks:
        # prestart, createRuntime and createContainer run now, from the runtime: after the
        # mounts, before pivot_root. Hooks find the container's cgroups from the init's pid
        # (GPU and network plugins do, as with runc): the init is in them by then.
        join_cgroups(kernel, cfg, chan)
        chan.send("hooks")
        if chan.recv()[0] != "go":
            raise PyruncError("the runtime stopped the container during its create hooks")
    if not own_mounts:
        # The host's mount namespace: no pivot_root and no change to / or its propagation,
        # only chroot. The mounts made under the rootfs go away at delete.
        rootfs.chroot_into(kernel, cfg.rootfs)
    else:
        rootfs.pivot(kernel, cfg.rootfs, cfg.no_pivot)
    root = Root(kernel, "/")
    if spec.process.terminal:
        from runtime import console

        console.setup_terminal(kernel, root, spec.process, cfg.console_fd)
    with kernel.because("/process/cwd"):
        # A missing working directory is made (as runc does; images often name one they lack),
        # inside the root and before the root may turn read-only.
        kernel.close(root.ensure(spec.process.cwd, "dir").fd)
    rootfs.mask_paths(kernel, root, spec)
    rootfs.readonly_paths(kernel, root, spec)
    root.close()
    if own_mounts:
        if spec.root.readonly:
            rootfs.make_root_readonly(kernel)
        rootfs.apply_rootfs_propagation(kernel, spec)


def set_names(kernel, cfg: InitConfig) -> None:
    if cfg.spec.hostname is not None:
        with kernel.because("/hostname"):
            kernel.sethostname(cfg.spec.hostname)
    if cfg.spec.domainname is not None:
        with kernel.because("/domainname"):
            kernel.setdomainname(cfg.spec.domainname)


def identity(kernel, cfg: InitConfig, chan=None) -> None:
    proc = cfg.spec.process
    if not cfg.no_new_keyring:
        kernel.join_session_keyring(f"_ses.{cfg.id}")  # runc's name: tools look for it
    if cfg.seccomp is not None and not proc.no_new_privileges:
        # Without no_new_privs loading a filter needs CAP_SYS_ADMIN: before the capabilities
        # go. After the keyring: profiles commonly refuse keyctl.
        cfg.seccomp.install(kernel, chan)
    process.apply_rlimits(kernel, proc)
    process.set_identity(kernel, proc)
    umask = proc.user.umask if proc.user and proc.user.umask is not None else cfg.caller_umask
    with kernel.because("/process/user/umask"):
        kernel.umask(umask)
    with kernel.because("/process/cwd"):
        process.enter_cwd(kernel, proc.cwd)  # resolved in the root, no magic links (CVE-2024-21626)


# -- the forked processes' main functions ----------------------------------------------------

def preload(cfg: InitConfig) -> None:
    """Import now what the init uses after pivot_root: from then on the host's Python library
    is out of reach, and a lazy import would fail."""
    import errno  # noqa: F401 - kernel.errno_name
    import fcntl  # noqa: F401

    if any("tmpcopyup" in m.options for m in cfg.spec.mounts):
        from runtime import copyup  # noqa: F401
    if cfg.idmap_fds:
        from runtime import idmap  # noqa: F401

    if "network" in cfg.ns.new:
        from runtime import netlink_lite  # noqa: F401
    if cfg.spec.process.terminal:
        from runtime import console  # noqa: F401


def run_stage1(cfg: InitConfig, chan, tracing: bool) -> None:
    """Body of the stage-1 child; never returns."""
    kernel = _kernel("stage-1", chan, tracing)
    try:
        preload(cfg)
        pid = stage1(kernel, cfg, chan)
        if pid == 0:
            run_init(cfg, chan, tracing)
        chan.send("init", f"{pid} {int(cfg.born_in_cgroup)}")
        os._exit(0)
    except BaseException as e:  # noqa: BLE001 - everything must reach the runtime as a message
        _die(chan, error_text(e, kernel))


def run_init(cfg: InitConfig, chan, tracing: bool) -> None:
    kernel = _kernel("init", chan, tracing)
    try:
        init(kernel, cfg, chan)
    except BaseException as e:  # noqa: BLE001
        _die(chan, error_text(e, kernel))
    os._exit(127)


def _kernel(proc: str, chan, tracing: bool):
    from runtime.kernel import RealKernel

    tracer = None
    if tracing:
        from runtime import fastjson

        def tracer(entry):
            try:
                chan.send("trace", fastjson.dumps(entry))
            except OSError:
                pass  # after `ready` the runtime may be gone: the trace is not worth dying for
    return RealKernel(proc, tracer)


def _die(chan, message: str) -> None:
    try:
        chan.send("error", message)
    finally:
        os._exit(1)
