"""`create`: everything of config.json but running process.args."""

import os

from runtime import faults, log, state
from runtime.errors import PyruncError
from runtime.sync import Channel

PR_SET_CHILD_SUBREAPER = 36


class CreateOptions:
    def __init__(self, bundle: str | None = None, pid_file: str | None = None,
                 console_socket: str | None = None, console_fd: int = -1, no_pivot: bool = False,
                 no_new_keyring: bool = False, preserve_fds: int = 0):
        self.bundle = os.path.abspath(bundle or os.getcwd())
        self.pid_file = pid_file
        self.console_socket = console_socket
        self.console_fd = console_fd
        self.no_pivot = no_pivot
        self.no_new_keyring = no_new_keyring
        self.preserve_fds = preserve_fds


def load_spec(bundle: str):
    from oci_spec import ConfigError, load_bundle_config

    try:
        spec = load_bundle_config(bundle)
    except ConfigError as e:
        raise PyruncError(str(e)) from None
    check_supported(spec)
    return spec


def check_supported(spec) -> None:
    """What a valid config may still ask for that this runtime cannot do."""
    if spec.process is None:
        raise PyruncError("config.json: /process: a process is required to create a container")
    kinds = {ns.type for ns in spec.linux.namespaces} if spec.linux else set()
    if "mount" not in kinds and spec.root.readonly:
        raise PyruncError("config.json: /root/readonly: a read-only root needs a mount namespace "
                          "(it would remount the host's file system)")
    if spec.hostname and "uts" not in kinds:
        raise PyruncError("config.json: /hostname: setting the hostname needs a uts namespace")
    if spec.raw.get("linux", {}).get("intelRdt") is not None:
        # config-linux.md: without a mounted resctrl the runtime must fail; with one, pyrunc
        # still cannot place the container (no Intel RDT support yet), which is no better.
        raise PyruncError("config.json: /linux/intelRdt: Intel RDT (resctrl) is not supported by "
                          "pyrunc" + ("" if _resctrl_mounted() else
                                      ", and no resctrl file system is mounted on this host"))
    if spec.linux.sysctl:
        from runtime.attributes import check_sysctls
        from runtime.namespaces import NamespacePlan

        check_sysctls(spec, NamespacePlan(spec.linux.namespaces))


def _resctrl_mounted() -> bool:
    with open("/proc/self/mountinfo", "rb") as f:
        return any(b" - resctrl " in line for line in f)


def create(store: state.StateStore, cid: str, opts: CreateOptions, spec=None) -> dict:
    """`spec`: the bundle's config as load_spec gave it, if the caller has it already."""
    if spec is None:
        spec = load_spec(opts.bundle)
    if spec.process.terminal and opts.console_socket is None and opts.console_fd < 0:
        raise PyruncError("config.json: /process/terminal: a terminal needs --console-socket")
    for warning in spec.warnings:
        log.current.warning(f"config.json: {warning.pointer}: {warning.message}")
    cdir = store.create(cid)
    faults.point("create: state directory made")
    started: list[int] = []  # stage-1 and init, once forked
    moved: list[tuple[str, str]] = []  # netDevices moved into the container
    cgroup = None
    try:
        from runtime.cgroups import manager_for

        cgroup = manager_for(spec.linux, cid)
        # Recorded before it exists: a create killed while making it leaves a trail to clean.
        provisional = Provisional(cdir, spec, cid, opts.bundle, cgroup)
        provisional.save()
        faults.point("create: provisional state written")
        cgroup.create(spec.linux.resources)
        provisional.record["cgroup"] = cgroup.to_record()  # now with the directories it made
        provisional.save()
        faults.point("create: cgroup made")
        record = _create_in(cdir, spec, cid, opts, started, moved, cgroup, provisional)
        faults.point("create: state written")
        if opts.pid_file:
            write_pid_file(opts.pid_file, record["pid"])
            faults.point("create: pid file written")
        return record
    except BaseException:
        if moved:
            from runtime import netdevices

            # The user's devices would die with a virtual container netns: give them back.
            netdevices.move_back(moved, f"/proc/{started[-1]}/ns/net")
        _undo(cdir, started)
        if cgroup is not None:
            _destroy_cgroup(cgroup)
        if not any(ns.type == "mount" for ns in spec.linux.namespaces):
            from runtime.rootfs import unmount_under

            unmount_under(_rootfs_path(spec, opts.bundle))
        if spec.hooks is not None and spec.hooks.poststop:
            # The lifecycle goes on at "destroy" (runtime-spec, step 12): poststop runs.
            from runtime.ops.delete import run_poststop_hooks

            run_poststop_hooks({"ociVersion": spec.oci_version, "id": cid, "pid": 0,
                                "bundle": opts.bundle, "annotations": spec.annotations,
                                "hooks": spec.raw["hooks"]})
        raise
    finally:
        cdir.close()


class Provisional:
    """The state record of a container still being created.

    pyrunc may be killed at any step of `create` (an engine's timeout, the OOM killer). What it
    made so far must stay findable, so `delete --force` can undo it: the record names the
    cgroup, the rootfs and every process forked, and is saved again as each one appears. It
    is `creating` while one of those processes lives, `stopped` after (runtime.state).
    """

    def __init__(self, cdir: state.ContainerDir, spec, cid: str, bundle: str, cgroup):
        self.cdir = cdir
        self.record = {
            "ociVersion": spec.oci_version,
            "id": cid,
            "creating": True,
            "pid": 0,
            "pids": [],  # [pid, start time] of stage-1 and init
            "bundle": bundle,
            "rootfs": _rootfs_path(spec, bundle),
            "created": state.rfc3339_now(),
            "owner": "",
            "annotations": spec.annotations,
            "hooks": spec.raw.get("hooks") or {},
            "host_mounts": not any(ns.type == "mount" for ns in spec.linux.namespaces),
            "cgroup": cgroup.to_record(),
        }

    def save(self) -> None:
        self.cdir.write(self.record, copy=False)

    def add_process(self, pid: int) -> None:
        self.record["pid"] = pid
        self.record["pids"].append([pid, state.process_start_time(pid)])
        self.save()


def _destroy_cgroup(cgroup) -> None:
    try:
        cgroup.destroy()
    except PyruncError as e:
        log.current.warning(f"removing the cgroup of a failed create: {e}")


def _create_in(cdir: state.ContainerDir, spec, cid: str, opts: CreateOptions, started: list[int],
               moved: list, cgroup, provisional: Provisional) -> dict:
    import cext
    from runtime.container_init import InitConfig, place_in_cgroup, run_stage1

    fifo = cdir.file(state.EXEC_FIFO)
    os.mkfifo(fifo, 0o600)
    faults.point("create: exec fifo made")
    console_fd = opts.console_fd
    if opts.console_socket and spec.process.terminal:
        console_fd = connect_console_socket(opts.console_socket)
    cfg = InitConfig(spec, cid, opts.bundle, _rootfs_path(spec, opts.bundle), fifo, opts.no_pivot,
                     opts.no_new_keyring, opts.preserve_fds, console_fd)
    place_in_cgroup(cfg, cgroup)
    if spec.linux.seccomp is not None:
        cfg.seccomp = compile_seccomp(spec.linux.seccomp)
    if any(m.uid_mappings or "idmap" in m.options or "ridmap" in m.options for m in spec.mounts):
        from runtime import idmap

        cfg.idmap_fds = idmap.prepare(spec, opts.bundle)
    # The init is stage-1's child; as a subreaper we inherit it when stage-1 exits, and can
    # reap it if create fails (this host's PID 1 is slow to reap orphans).
    cext.prctl(PR_SET_CHILD_SUBREAPER, 1)
    ours, theirs = Channel.pair()
    tracing = log.current.tracing
    stage1_pid = os.fork()
    if stage1_pid == 0:
        ours.close()
        # The lock lives on the directory's open file description, which the fork shares:
        # a child keeping it would hold the container's lock until exec.
        cdir.close()
        run_stage1(cfg, theirs, tracing)
    theirs.close()
    started.append(stage1_pid)
    provisional.add_process(stage1_pid)
    faults.point("create: stage-1 forked")
    try:
        init_pid = handshake(ours, spec, started, moved, cid, opts.bundle, cgroup, provisional)
    finally:
        ours.close()
        if console_fd >= 0 and console_fd != opts.console_fd:
            os.close(console_fd)
        for fd in cfg.idmap_fds.values():
            os.close(fd)
        if log.current.steps:
            log.current.debug(log.current.step_summary())
    _reap(stage1_pid)
    record = {
        "ociVersion": spec.oci_version,
        "id": cid,
        "pid": init_pid,
        "init_start_time": state.process_start_time(init_pid),
        "bundle": opts.bundle,
        "rootfs": cfg.rootfs,
        "created": state.rfc3339_now(),
        "owner": "",
        "annotations": spec.annotations,
        "hooks": spec.raw.get("hooks") or {},
        "process": spec.raw.get("process") or {},  # exec's defaults
        "host_mounts": not cfg.ns.has("mount"),  # mounts to undo at delete
        "cgroup": cgroup.to_record(),
        "net_devices": moved,
        "namespaces": {ns.type: ns.path or f"/proc/{init_pid}/ns/{_proc_ns(ns.type)}"
                       for ns in spec.linux.namespaces},
    }
    if spec.linux.seccomp is not None:
        # exec's processes get the same filter (compiled again from here, a cache hit).
        from runtime import fastjson

        with open(cdir.file("seccomp.json"), "w") as f:
            f.write(fastjson.dumps(spec.linux.seccomp))
    cdir.write(record)
    return record


SECCOMP_CACHE = "/run/pyrunc-seccomp"  # compiled filters by content hash (outside any --root)


def compile_seccomp(profile: dict):
    from runtime import seccomp

    try:
        return seccomp.compile_filter(profile, cache_dir=SECCOMP_CACHE)
    except seccomp.SeccompError as e:
        raise PyruncError(f"config.json: {e}") from None


def _rootfs_path(spec, bundle: str) -> str:
    path = spec.root.path if os.path.isabs(spec.root.path) else os.path.join(bundle, spec.root.path)
    return os.path.realpath(path)


def _proc_ns(kind: str) -> str:
    from runtime.namespaces import PROC_NAMES

    return PROC_NAMES[kind]


def handshake(chan: Channel, spec, started: list[int], moved: list, cid: str, bundle: str, cgroup,
              provisional: Provisional) -> int:
    """Serve stage-1 and init until init is ready; returns init's pid.

    stage-1's `init <pid>` and the init's `ready` race each other on the pipe: wait for both."""
    from runtime.kernel import RealKernel

    init_pid = 0
    ready = False
    hooks_due = False
    cgroup_due = False
    born_in_cgroup = False  # stage-1 cloned the init into its cgroup2 directory
    listener_fd = None
    while not (ready and init_pid):
        if listener_fd is not None and init_pid:
            forward_seccomp_listener(spec, init_pid, listener_fd, cid, bundle)
            listener_fd = None
        if cgroup_due and init_pid:
            cgroup.join_rest(init_pid, born_in_cgroup)  # what the init could not do itself
            faults.point("create: init joined its cgroup")
            cgroup_due = False
            chan.send("joined")
        if hooks_due and init_pid:
            run_create_hooks(spec, init_pid, cid, bundle)
            faults.point("create: create hooks run")
            hooks_due = False
            chan.send("go")
        kind, payload = chan.recv()
        if kind == "hooks":
            hooks_due = True
        elif kind == "cgroup":
            cgroup_due = True
        elif kind == "seccomp":
            listener_fd = int(payload)
        elif kind == "trace":
            log_trace(payload)
        elif kind == "userns":
            from runtime.namespaces import write_id_maps

            write_id_maps(RealKernel("runtime", _tracer()), int(payload), spec.linux)
            faults.point("create: id maps written")
            chan.send("mapped")
        elif kind == "init":
            pid_text, born = payload.split()
            init_pid, born_in_cgroup = int(pid_text), born == "1"
            started.append(init_pid)
            provisional.add_process(init_pid)
            faults.point("create: init forked")
            if spec.linux.net_devices:
                # Before the create hooks, so that they see the devices in place.
                from runtime import netdevices

                moved.extend(netdevices.move_in(spec.linux.net_devices, init_pid))
                faults.point("create: net devices moved")
        elif kind == "ready":
            ready = True
            faults.point("create: init ready")
        elif kind == "error":
            raise PyruncError(payload)
        elif kind == "eof":
            raise PyruncError("the container init exited before it was ready")
    if listener_fd is not None:
        forward_seccomp_listener(spec, init_pid, listener_fd, cid, bundle)
    return init_pid


def forward_seccomp_listener(spec, init_pid: int, fd: int, cid: str, bundle: str) -> None:
    """SCMP_ACT_NOTIFY: the agent at listenerPath gets the init's listener and the state."""
    from runtime import seccomp

    state_doc = {"ociVersion": spec.oci_version, "id": cid, "status": "creating", "pid": init_pid,
                 "bundle": bundle, "annotations": spec.annotations}
    try:
        seccomp.forward_listener(spec.linux.seccomp, init_pid, fd, state_doc)
    except seccomp.SeccompError as e:
        raise PyruncError(str(e)) from None


def run_create_hooks(spec, init_pid: int, cid: str, bundle: str) -> None:
    from runtime import hooks

    record = {"ociVersion": spec.oci_version, "id": cid, "pid": init_pid, "bundle": bundle,
              "annotations": spec.annotations}
    state_json = hooks.hook_state(record, "creating")
    hooks.run_all(spec.hooks, "prestart", state_json)
    hooks.run_all(spec.hooks, "create_runtime", state_json)
    # In the container's namespaces the state names the pid as they see it.
    inside = hooks.hook_state(dict(record, pid=hooks.pid_inside(init_pid)), "creating")
    hooks.run_all(spec.hooks, "create_container", inside, enter_pid=init_pid)


def log_trace(payload: str) -> None:
    from runtime import fastjson

    log.current.trace(fastjson.loads(payload), payload)


def _tracer():
    if not log.current.tracing:
        return None

    def trace(entry):
        from runtime import fastjson

        log.current.trace(entry, fastjson.dumps(entry))
    return trace


def connect_console_socket(path: str) -> int:
    import socket

    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM | socket.SOCK_CLOEXEC)
    try:
        sock.connect(path)
    except OSError as e:
        sock.close()
        raise PyruncError(f"cannot connect to the console socket {path}: {e.strerror}") from None
    return sock.detach()


def write_pid_file(path: str, pid: int) -> None:
    path = os.path.abspath(path)
    tmp = os.path.join(os.path.dirname(path), f".{os.path.basename(path)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o644)
    try:
        os.write(fd, str(pid).encode())
    finally:
        os.close(fd)
    os.rename(tmp, path)


def _reap(pid: int) -> None:
    try:
        os.waitpid(pid, 0)
    except ChildProcessError:
        pass


def _undo(cdir: state.ContainerDir, started: list[int]) -> None:
    """A failed create leaves nothing: processes killed and reaped, the directory gone."""
    for pid in started:
        try:
            os.kill(pid, 9)  # SIGKILL (the `signal` module's enums cost ~3 ms to import)
        except ProcessLookupError:
            pass
    # stage-1 first: once it is gone its child, the init, is ours to reap.
    for pid in started:
        _reap(pid)
    try:
        cdir.remove()
    except OSError:
        pass
