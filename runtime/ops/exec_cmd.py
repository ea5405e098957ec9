"""`exec`: run another process in a running container.

    pyrunc exec
      └─ middle:  non-dumpable, enters the container's namespaces (runtime.nsenter)
         └─ process: PID n of the container's pid namespace; rlimits, user, capabilities,
                     cwd, then execve. A close-on-exec pipe tells the runtime whether the
                     execve happened (no byte) or failed (the error's text).
"""

import os

from runtime import faults, state
from runtime.errors import PyruncError
from runtime.sync import Channel

PR_SET_DUMPABLE = 4
EXEC_FAILED = 255  # runc's status when the process could not be started


class ExecOptions:
    def __init__(self, process_file=None, args=(), tty=False, console_socket=None, cwd=None, env=(),
                 user=None, additional_gids=(), caps=(), no_new_privs=False, detach=False,
                 pid_file=None, preserve_fds=0, ignore_paused=False, cgroup=(), apparmor=None,
                 process_label=None):
        self.process_file = process_file
        self.args = list(args)
        self.tty = tty
        self.console_socket = console_socket
        self.cwd = cwd
        self.env = list(env)
        self.user = user
        self.additional_gids = list(additional_gids)
        self.caps = list(caps)
        self.no_new_privs = no_new_privs
        self.detach = detach
        self.pid_file = pid_file
        self.preserve_fds = preserve_fds
        self.ignore_paused = ignore_paused
        self.cgroup = list(cgroup)  # runc's --cgroup: sub-cgroups to join
        self.apparmor = apparmor
        self.process_label = process_label


def build_process(record: dict, opts: ExecOptions):
    """The process to run: --process FILE as given, else the container's own process
    changed by the command line, as runc does."""
    from oci_spec import ConfigError, load_process

    try:
        if opts.process_file:
            return load_process(opts.process_file)
        base = dict(record.get("process") or {})
        if not opts.args:
            raise PyruncError("exec: no command given (args or --process)")
        base["args"] = opts.args
        base["terminal"] = opts.tty
        base.pop("consoleSize", None)
        if opts.cwd:
            base["cwd"] = opts.cwd
        base["env"] = merge_env(base.get("env") or [], opts.env)
        if opts.user:
            uid, _, gid = opts.user.partition(":")
            base["user"] = {"uid": int(uid), "gid": int(gid or 0)}
        if opts.additional_gids:
            gids = [int(g) for g in opts.additional_gids]
            base.setdefault("user", {"uid": 0, "gid": 0})["additionalGids"] = gids
        if opts.caps and base.get("capabilities"):
            caps = base["capabilities"] = {k: list(v) for k, v in base["capabilities"].items()}
            for kind in ("bounding", "effective", "permitted", "ambient"):
                caps.setdefault(kind, [])
                caps[kind] += [c for c in opts.caps if c not in caps[kind]]
        if opts.no_new_privs:
            base["noNewPrivileges"] = True
        if opts.apparmor:
            base["apparmorProfile"] = opts.apparmor
        if opts.process_label:
            base["selinuxLabel"] = opts.process_label
        return load_process(base)
    except ConfigError as e:
        raise PyruncError(str(e)) from None
    except ValueError as e:
        raise PyruncError(f"exec: invalid --user or --additional-gids: {e}") from None


def merge_env(env: list[str], extra: list[str]) -> list[str]:
    out = {e.partition("=")[0]: e for e in env}
    for e in extra:
        out[e.partition("=")[0]] = e
    return list(out.values())


def exec_process(store: state.StateStore, cid: str, opts: ExecOptions) -> int:
    cdir = store.open(cid)
    try:
        record = cdir.read()
        status = cdir.status(record)
        seccomp_file = cdir.file("seccomp.json")
    finally:
        cdir.close()
    if status == "stopped":
        raise PyruncError("cannot exec in a stopped container")
    if status == "paused" and not opts.ignore_paused:
        raise PyruncError("cannot exec in a paused container (use --ignore-paused to override)")
    process = build_process(record, opts)
    if process.terminal and not opts.console_socket and opts.detach:
        raise PyruncError("cannot allocate a tty when detaching without --console-socket")
    return spawn(record, process, opts, container_filter(seccomp_file))


def container_filter(path: str):
    """The container's seccomp filter, which every exec'd process gets too (as with runc)."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except FileNotFoundError:
        return None
    from runtime import fastjson
    from runtime.ops.create import compile_seccomp

    return compile_seccomp(fastjson.loads(data))


def spawn(record: dict, process, opts: ExecOptions, flt=None) -> int:
    import cext
    from runtime.ops.create import PR_SET_CHILD_SUBREAPER, connect_console_socket, write_pid_file

    proxy = None
    console_fd = -1
    if process.terminal:
        if opts.console_socket:
            console_fd = connect_console_socket(opts.console_socket)
        else:
            from runtime.ops.tty_proxy import TtyProxy

            proxy = TtyProxy()
            console_fd = proxy.child_end
    cext.prctl(PR_SET_CHILD_SUBREAPER, 1)  # the process is the middle's child: we inherit it
    cgroup, join_files, birth_fd = _cgroup_placement(record, opts)
    ours, theirs = Channel.pair()
    middle, born = _fork_middle(birth_fd)
    if middle == 0:
        ours.close()
        _middle(record, process, opts, theirs, console_fd, flt, join_files)
    theirs.close()
    faults.point("exec: middle forked")
    if cgroup is not None:
        # The middle joins before it forks the process: no moment outside the container's
        # cgroup. It moves itself where it can (as the container's init does); the runtime
        # does the rest, and the middle waits for this `go`.
        if opts.cgroup:
            cgroup.join(middle, opts.cgroup)
        else:
            cgroup.join_rest(middle, born)
        faults.point("exec: middle joined the cgroup")
    ours.send("go")
    faults.point("exec: middle released")
    if console_fd >= 0:
        os.close(console_fd)
        if proxy is not None:
            proxy.child_end = -1
    try:
        pid = _handshake(ours)
    except PyruncError as e:
        e.exit_code = EXEC_FAILED  # runc's status for a process that could not be started
        raise
    finally:
        ours.close()
        os.waitpid(middle, 0)
    faults.point("exec: process started")
    if opts.pid_file:
        write_pid_file(opts.pid_file, pid)
        faults.point("exec: pid file written")
    if proxy is not None:
        proxy.receive_master()
    if opts.detach:
        return 0
    from runtime.ops.run import wait_for

    return wait_for(pid, proxy)


def _cgroup_placement(record: dict, opts: ExecOptions):
    """(manager or None, the files the middle writes "0" into, an fd of the cgroup2 directory
    to fork it into or -1): see runtime.cgroups.base.Manager's placing methods. A --cgroup
    sub-cgroup is joined by the runtime."""
    if not record.get("cgroup"):
        return None, [], -1
    from runtime.cgroups import manager_from_record

    cgroup = manager_from_record(record["cgroup"])
    if opts.cgroup:
        return cgroup, [], -1
    birth = cgroup.birth_dir()
    birth_fd = -1
    # clone3 bypasses the C library's fork handlers: only a single-threaded caller (the CLI,
    # not a threaded program using runtime.api) may use it.
    if birth and len(os.listdir("/proc/self/task")) == 1:
        try:
            birth_fd = os.open(birth, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        except OSError:
            pass  # the runtime moves the middle instead
    return cgroup, [path for _, path in cgroup.self_join_files()], birth_fd


def _fork_middle(birth_fd: int) -> tuple[int, bool]:
    """(pid, born in the cgroup2 directory of birth_fd); birth_fd is closed here."""
    if birth_fd < 0:
        return os.fork(), False
    import cext

    try:
        return cext.fork_into_cgroup(birth_fd), True
    except OSError:
        return os.fork(), False
    finally:
        os.close(birth_fd)


def _join_self(files: list[str]) -> None:
    """Move this (single-threaded) process into the container's v1 hierarchies."""
    for path in files:
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CLOEXEC)
            try:
                os.write(fd, b"0")
            finally:
                os.close(fd)
        except OSError as e:
            raise PyruncError(f"join {os.path.dirname(path)}: {e.strerror}") from None


def _handshake(chan: Channel) -> int:
    pid = 0
    while True:
        kind, payload = chan.recv()
        if kind == "pid":
            pid = int(payload)
        elif kind == "error":
            if pid:
                _reap(pid)
            raise PyruncError(payload)
        elif kind == "eof":
            if not pid:
                raise PyruncError("exec: the process could not be started")
            return pid


def _reap(pid: int) -> None:
    try:
        os.waitpid(pid, 0)
    except ChildProcessError:
        pass


def _middle(record: dict, process, opts: ExecOptions, chan: Channel, console_fd: int, flt,
            join_files: list[str]) -> None:
    """In the forked middle process; never returns."""
    import cext
    from runtime import nsenter

    try:
        # Nothing in the container may read this process's memory or reopen its executable
        # (CVE-2019-5736): it is not dumpable from here on.
        cext.prctl(PR_SET_DUMPABLE, 0)
        _join_self(join_files)
        affinity = process.exec_cpu_affinity
        if affinity is not None and affinity.initial:
            from runtime.attributes import parse_cpu_list

            os.sched_setaffinity(0, parse_cpu_list(affinity.initial))
        _preload(process)
        if chan.recv()[0] != "go":
            raise PyruncError("the runtime did not place the process in the container's cgroup")
        nsenter.enter(record["pid"])
        pid = os.fork()
        if pid == 0:
            _process(process, opts, chan, console_fd, flt)
        chan.send("pid", str(pid))
        os._exit(0)
    except BaseException as e:  # noqa: BLE001 - reported to the runtime
        chan.send("error", f"exec: {e}")
        os._exit(1)


def _preload(process) -> None:
    """What the process side imports must be loaded before the container's root is ours."""
    import errno  # noqa: F401
    import fcntl  # noqa: F401

    import runtime.attributes  # noqa: F401 - parse_cpu_list
    import runtime.capabilities  # noqa: F401
    import runtime.kernel  # noqa: F401
    import runtime.process  # noqa: F401

    if process.terminal:
        from runtime import console  # noqa: F401


def _process(process, opts: ExecOptions, chan: Channel, console_fd: int, flt) -> None:
    from runtime import process as steps
    from runtime.kernel import RealKernel

    k = RealKernel("exec")
    try:
        if process.terminal:
            from runtime import console

            os.setsid()  # a new session, so that the pty can become its controlling terminal
            console.attach_terminal(k, process, console_fd)
        steps.apply_rlimits(k, process)
        from runtime.attributes import apply_process_labels

        apply_process_labels(k, process)
        k.mark_cloexec_from(3 + opts.preserve_fds)  # before a filter that may refuse close_range
        if flt is not None and not process.no_new_privileges:
            flt.install(k)  # needs CAP_SYS_ADMIN without no_new_privs: before the caps go
        steps.set_identity(k, process)
        if process.user.umask is not None:
            os.umask(process.user.umask)
        with k.because("/process/cwd"):  # the error names the field and the directory
            steps.enter_cwd(k, process.cwd)  # inside the container's root only (CVE-2024-21626)
        path = steps.find_executable(process.args[0], process.env)
        affinity = process.exec_cpu_affinity
        if affinity is not None and affinity.final:
            from runtime.attributes import parse_cpu_list

            os.sched_setaffinity(0, parse_cpu_list(affinity.final))
        if flt is not None and process.no_new_privileges:
            flt.install(k)
        # The channel is close-on-exec: if execve works the runtime just sees it close.
        k.exec_when_started(-1, path, list(process.args), steps.exec_environment(process))
    except BaseException as e:  # noqa: BLE001
        chan.send("error", str(e))
    os._exit(EXEC_FAILED)
