"""linux.seccomp: compile the profile with libseccomp, load it in the container init.

A filter goes through three steps:

* `compile_filter(config["linux"]["seccomp"])` checks the profile (errors name the field as a
  JSON pointer) and compiles it with libseccomp into classic BPF bytes. It runs wherever the
  host's libraries are reachable: in the runtime before the fork, or in the init before
  pivot_root.
* `Filter.load()` installs those bytes in the calling process with one seccomp(2) call (no
  libseccomp at that point) and returns the notify listener fd when the profile uses
  SCMP_ACT_NOTIFY. `Filter.install(kernel, chan)` is the same as a traced kernel step, and
  tells the runtime the listener's fd number (`seccomp <fd>` on the channel).
* For SCMP_ACT_NOTIFY the runtime takes a copy of the init's listener (`pidfd_getfd`) and sends
  it with the container process state to `listenerPath` (`forward_listener`,
  `send_to_listener`).

When to load (as runc): with `process.noNewPrivileges` the filter goes in as late as possible,
after the descriptors are marked close-on-exec and before `ready`, so that the profile needs to
allow only what still follows: write(2) (the channel's `seccomp` and `ready` messages, the trace
lines with --debug), then, in C, rt_sigaction(2), rt_sigprocmask(2), read(2) on the exec fifo and
execve(2). Without noNewPrivileges loading a filter needs CAP_SYS_ADMIN, so it must go in before
the identity step drops the capabilities: the profile then also has to allow the identity
syscalls (prlimit64, prctl, capset, setgroups, setresgid, setresuid, umask, chdir, stat/access
for the executable lookup, close_range).

The loaded program is libseccomp's own output, so the filter is the one seccomp_load(3) would
install; the flags are passed to seccomp(2) directly, which also makes every
SECCOMP_FILTER_FLAG_* the kernel has usable, whatever the libseccomp version knows.
"""

import os

import cext
from runtime.errors import PyruncError

POINTER = "/linux/seccomp"
EPERM = 1
_U64 = 2**64 - 1

# Action name -> SCMP_ACT_* value; ERRNO and TRACE take errnoRet in their low 16 bits.
ACTIONS = {
    "SCMP_ACT_KILL": cext.SCMP_ACT_KILL,
    "SCMP_ACT_KILL_PROCESS": cext.SCMP_ACT_KILL_PROCESS,
    "SCMP_ACT_KILL_THREAD": cext.SCMP_ACT_KILL_THREAD,
    "SCMP_ACT_TRAP": cext.SCMP_ACT_TRAP,
    "SCMP_ACT_ERRNO": cext.SCMP_ACT_ERRNO_BASE,
    "SCMP_ACT_TRACE": cext.SCMP_ACT_TRACE_BASE,
    "SCMP_ACT_ALLOW": cext.SCMP_ACT_ALLOW,
    "SCMP_ACT_LOG": cext.SCMP_ACT_LOG,
    "SCMP_ACT_NOTIFY": cext.SCMP_ACT_NOTIFY,
}
ERRNO_ACTIONS = ("SCMP_ACT_ERRNO", "SCMP_ACT_TRACE")

OPERATORS = {
    "SCMP_CMP_NE": cext.SCMP_CMP_NE,
    "SCMP_CMP_LT": cext.SCMP_CMP_LT,
    "SCMP_CMP_LE": cext.SCMP_CMP_LE,
    "SCMP_CMP_EQ": cext.SCMP_CMP_EQ,
    "SCMP_CMP_GE": cext.SCMP_CMP_GE,
    "SCMP_CMP_GT": cext.SCMP_CMP_GT,
    "SCMP_CMP_MASKED_EQ": cext.SCMP_CMP_MASKED_EQ,
}

# The runtime-spec's architecture names (libseccomp 2.6's list) -> libseccomp's own names.
# Those this libseccomp does not know are skipped: such a system cannot run their code anyway.
ARCHS = {f"SCMP_ARCH_{name.upper()}": name for name in (
    "x86", "x86_64", "x32", "arm", "aarch64", "mips", "mips64", "mips64n32", "mipsel",
    "mipsel64", "mipsel64n32", "ppc", "ppc64", "ppc64le", "s390", "s390x", "parisc",
    "parisc64", "riscv64", "loongarch64", "m68k", "sh", "sheb")}

FLAGS = {
    "SECCOMP_FILTER_FLAG_TSYNC": cext.SECCOMP_FILTER_FLAG_TSYNC,
    "SECCOMP_FILTER_FLAG_LOG": cext.SECCOMP_FILTER_FLAG_LOG,
    "SECCOMP_FILTER_FLAG_SPEC_ALLOW": cext.SECCOMP_FILTER_FLAG_SPEC_ALLOW,
    "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV": cext.SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV,
}
# What the kernel needs alongside a flag for it to be accepted at all.
_FLAG_COMPANIONS = {"SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV": cext.SECCOMP_FILTER_FLAG_NEW_LISTENER}
_FLAG_NAMES = [(v, n) for n, v in FLAGS.items()] + [
    (cext.SECCOMP_FILTER_FLAG_NEW_LISTENER, "SECCOMP_FILTER_FLAG_NEW_LISTENER"),
    (cext.SECCOMP_FILTER_FLAG_TSYNC_ESRCH, "SECCOMP_FILTER_FLAG_TSYNC_ESRCH")]

# Syscalls the init makes after a late load, before the listener has reached the agent: a
# NOTIFY on them would wait for an agent that never gets the listener.
_NOT_NOTIFIABLE = ("write",)


class SeccompError(PyruncError):
    """A profile the runtime cannot apply; the message starts with the field's JSON pointer."""

    def __init__(self, pointer: str, message: str):
        super().__init__(f"{pointer}: {message}")
        self.pointer = pointer


class Filter:
    """A compiled profile: the BPF program and how to load it.

    `bpf`: the program (struct sock_filter[], 8 bytes an instruction); `flags`: the
    SECCOMP_FILTER_FLAG_* bits for seccomp(2); `notify`: the profile uses SCMP_ACT_NOTIFY (the
    load then returns a listener fd); `listener_path`, `listener_metadata`: from the profile;
    `skipped`: syscall and architecture names left out: those this libseccomp does not know
    (runc skips unknown syscalls too) and architectures of the other byte order, which
    libseccomp cannot put in one filter with the native one and this host cannot run.
    """

    __slots__ = ("bpf", "flags", "notify", "listener_path", "listener_metadata", "skipped")

    def __init__(self, bpf: bytes, flags: int, notify: bool, listener_path: str | None = None,
                 listener_metadata: str | None = None, skipped: list[str] | None = None):
        self.bpf = bpf
        self.flags = flags
        self.notify = notify
        self.listener_path = listener_path
        self.listener_metadata = listener_metadata
        self.skipped = skipped or []

    def __repr__(self) -> str:
        return (f"<seccomp Filter {len(self.bpf) // 8} instructions, flags {flag_text(self.flags)}"
                f"{', notify' if self.notify else ''}>")

    def load(self) -> int | None:
        """Install the filter in this process (one seccomp(2) call). Returns the listener fd
        (close-on-exec) when the profile uses SCMP_ACT_NOTIFY, else None. Needs no_new_privs
        or CAP_SYS_ADMIN (else EACCES)."""
        fd = cext.seccomp_set_mode_filter(self.flags, self.bpf)
        return fd if self.notify else None

    def install(self, kernel, chan=None) -> int | None:
        """`load()` as a kernel step of the container init, attributed to /linux/seccomp.

        With a listener, sends `seccomp <fd>` on `chan` so that the runtime can take a copy
        (`forward_listener`); the init keeps its own until execve closes it."""
        with kernel.because(POINTER):
            for name in self.skipped:
                kernel.note(f"seccomp: {name} left out of the filter (see runtime.seccomp.Filter)")
            shown = ("SECCOMP_SET_MODE_FILTER", flag_text(self.flags), f"<{len(self.bpf) // 8} instructions>")
            fd = kernel.seccomp_load(self, shown)
        if self.notify and chan is not None:
            chan.send("seccomp", str(fd))
        return fd if self.notify else None

    def load_or_explain(self) -> int:
        try:
            return self.load() or 0
        except OSError as e:
            if e.errno == 13:  # EACCES
                raise OSError(e.errno, "loading a filter needs noNewPrivileges or CAP_SYS_ADMIN") from None
            raise


def flag_text(flags: int) -> str:
    names = [name for bit, name in _FLAG_NAMES if flags & bit]
    return "|".join(names) or "0"


# -- compile ------------------------------------------------------------------------------------

def compile_filter(seccomp: dict, pointer: str = POINTER, cache_dir: str | None = None) -> Filter:
    """Check and compile a `linux.seccomp` object (the config's JSON as a dict).

    Raises SeccompError naming the field, e.g.
    `/linux/seccomp/syscalls/3/action: unknown action "SCMP_ACT_FOO"`.
    Syscall names libseccomp does not know are left out (listed in `Filter.skipped`).

    With `cache_dir`, the BPF program is kept there under a SHA-256 of the profile and of the
    libseccomp in use, and taken from there next time: compiling a Podman-sized profile for
    three architectures costs ~13 ms, reading it back ~0.1 ms. The checks always run. The
    directory is created 0700 and used only if it belongs to this user and nobody else can
    write to it; any failure of the cache just compiles."""
    if not isinstance(seccomp, dict):
        raise SeccompError(pointer, "must be an object")
    default = _action(seccomp, "defaultAction", "defaultErrnoRet", pointer)
    if default == cext.SCMP_ACT_NOTIFY:
        raise SeccompError(f"{pointer}/defaultAction", "SCMP_ACT_NOTIFY cannot be the default action")
    skipped: list[str] = []
    arches = _arches(seccomp.get("architectures"), f"{pointer}/architectures", skipped)
    rules = _rules(seccomp.get("syscalls"), f"{pointer}/syscalls", skipped)
    notify = any(action == cext.SCMP_ACT_NOTIFY for _, _, action, _ in rules)
    listener_path = _opt_str(seccomp, "listenerPath", pointer)
    metadata = _opt_str(seccomp, "listenerMetadata", pointer)
    if metadata is not None and listener_path is None:
        raise SeccompError(f"{pointer}/listenerMetadata", "set without listenerPath")
    if notify and not listener_path:
        raise SeccompError(f"{pointer}/listenerPath",
                           "required when a rule uses SCMP_ACT_NOTIFY (no agent would get the listener)")
    flags = _flags(seccomp.get("flags"), f"{pointer}/flags", notify)
    key = _cache_key(seccomp) if cache_dir else ""
    bpf = _cache_get(cache_dir, key) if cache_dir else None
    if bpf is None:
        bpf = _compile(default, arches, rules, pointer)
        if cache_dir:
            _cache_put(cache_dir, key, bpf)
    return Filter(bpf, flags, notify, listener_path, metadata, skipped)


def _compile(default: int, arches: list[tuple[str, str, int]], rules: list, pointer: str) -> bytes:
    ctx = cext.seccomp_init(default)
    try:
        # The runtime sets no_new_privs itself, as process.noNewPrivileges says.
        cext.seccomp_attr_set(ctx, cext.SCMP_FLTATR_CTL_NNP, 0)
        for where, _, token in arches:
            try:
                cext.seccomp_arch_add(ctx, token)
            except OSError as e:
                raise SeccompError(where, f"seccomp_arch_add: {e.strerror}") from None
        for where, nr, action, conditions in rules:
            if action == default:
                continue  # libseccomp refuses a rule that repeats the default action
            try:
                for group in conditions:
                    cext.seccomp_rule_add(ctx, action, nr, group)
            except OSError as e:
                raise SeccompError(where, f"seccomp_rule_add: {e.strerror}") from None
        return cext.seccomp_export_bpf(ctx)
    except OSError as e:
        raise SeccompError(pointer, f"cannot compile the filter: {e.strerror}") from None
    finally:
        cext.seccomp_release(ctx)


# -- the compiled-filter cache -------------------------------------------------------------

_CACHE_FORMAT = b"pyrunc-seccomp-bpf-1"
_CACHE_MAX_FILES = 256


def _cache_key(seccomp: dict) -> str:
    from runtime import fastjson

    try:
        from _sha256 import sha256
    except ImportError:  # pragma: no cover - Python builds without the module
        from hashlib import sha256
    lib = cext.seccomp_library()
    st = os.stat(lib)
    ident = (f"{cext.seccomp_version()} {lib} {st.st_ino} {st.st_size} {st.st_mtime_ns} "
             f"{cext.seccomp_arch_native()}")
    h = sha256(_CACHE_FORMAT)
    h.update(ident.encode())
    h.update(b"\0")
    h.update(fastjson.dumps(seccomp).encode())
    return h.hexdigest()


def _cache_dir_ok(path: str, create: bool) -> bool:
    import stat

    try:
        st = os.lstat(path)
    except FileNotFoundError:
        if not create:
            return False
        try:
            os.makedirs(path, 0o700, exist_ok=True)
            st = os.lstat(path)
        except OSError:
            return False
    except OSError:
        return False
    return stat.S_ISDIR(st.st_mode) and st.st_uid == os.geteuid() and not st.st_mode & 0o022


def _cache_get(cache_dir: str, key: str) -> bytes | None:
    import stat

    if not _cache_dir_ok(cache_dir, create=False):
        return None
    try:
        fd = os.open(os.path.join(cache_dir, key), os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or st.st_uid != os.geteuid() or st.st_mode & 0o022:
            return None
        if not 0 < st.st_size <= 0xFFFF * 8 or st.st_size % 8:
            return None
        data = os.pread(fd, st.st_size, 0)
        return data if len(data) == st.st_size else None
    except OSError:
        return None
    finally:
        os.close(fd)


def _cache_put(cache_dir: str, key: str, bpf: bytes) -> None:
    if not _cache_dir_ok(cache_dir, create=True):
        return
    tmp = os.path.join(cache_dir, f".{key}.{os.getpid()}")
    try:
        if len(os.listdir(cache_dir)) >= _CACHE_MAX_FILES:
            return
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
        try:
            os.write(fd, bpf)
        finally:
            os.close(fd)
        os.rename(tmp, os.path.join(cache_dir, key))
    except OSError:
        try:
            os.unlink(tmp)
        except OSError:
            pass


def _action(obj: dict, key: str, errno_key: str, pointer: str) -> int:
    name = obj.get(key)
    if not isinstance(name, str):
        raise SeccompError(f"{pointer}/{key}", "missing" if name is None else "must be a string")
    value = ACTIONS.get(name)
    if value is None:
        raise SeccompError(f"{pointer}/{key}", f'unknown action "{name}"')
    ret = obj.get(errno_key)
    if name in ERRNO_ACTIONS:
        if ret is None:
            ret = EPERM
        elif type(ret) is not int or not 0 <= ret <= 0xFFFF:
            raise SeccompError(f"{pointer}/{errno_key}", f"{ret!r} is not an errno (0 to 65535)")
        return value | ret
    if ret is not None:
        raise SeccompError(f"{pointer}/{errno_key}",
                           f"the action {name} takes no errno (only SCMP_ACT_ERRNO and SCMP_ACT_TRACE do)")
    return value


def _list(value, pointer: str) -> list:
    if value is None:
        return []
    if not isinstance(value, list):
        raise SeccompError(pointer, "must be an array")
    return value


def _opt_str(obj: dict, key: str, pointer: str) -> str | None:
    value = obj.get(key)
    if value is not None and not isinstance(value, str):
        raise SeccompError(f"{pointer}/{key}", "must be a string")
    return value


def _arches(names, pointer: str, skipped: list[str]) -> list[tuple[str, str, int]]:
    """-> [(pointer, name, libseccomp token), ...], each architecture once. Left out (into
    `skipped`): names this libseccomp does not know, and architectures of the other byte order
    (libseccomp refuses them next to the native one with EDOM; this host cannot run them)."""
    names = _list(names, pointer)
    arches: list[tuple[str, str, int]] = []
    probe = cext.seccomp_init(cext.SCMP_ACT_ALLOW) if names else None
    try:
        for i, name in enumerate(names):
            if not isinstance(name, str) or name not in ARCHS:
                raise SeccompError(f"{pointer}/{i}", f"unknown architecture {_quote(name)}")
            token = cext.seccomp_arch_resolve_name(ARCHS[name])
            if token == 0:
                skipped.append(name)
                continue
            if any(token == t for _, _, t in arches):
                continue
            try:
                cext.seccomp_arch_add(probe, token)
            except OSError as e:
                if e.errno != 33:  # EDOM
                    raise SeccompError(f"{pointer}/{i}", f"seccomp_arch_add: {e.strerror}") from None
                skipped.append(name)
                continue
            arches.append((f"{pointer}/{i}", name, token))
    finally:
        if probe is not None:
            cext.seccomp_release(probe)
    return arches


def _flags(names, pointer: str, notify: bool) -> int:
    flags = cext.SECCOMP_FILTER_FLAG_NEW_LISTENER if notify else 0
    for i, name in enumerate(_list(names, pointer)):
        if not isinstance(name, str) or name not in FLAGS:
            raise SeccompError(f"{pointer}/{i}", f"unknown flag {_quote(name)}")
        if not flag_supported(name):
            raise SeccompError(f"{pointer}/{i}", f"{name} is not supported by this kernel")
        if name == "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV" and not notify:
            continue  # it qualifies notifications only; the kernel refuses it without a listener
        flags |= FLAGS[name]
    if flags & cext.SECCOMP_FILTER_FLAG_TSYNC and notify:
        # TSYNC and a listener both want the return value: ESRCH reports a failed sync instead.
        flags |= cext.SECCOMP_FILTER_FLAG_TSYNC_ESRCH
    return flags


def _rules(syscalls, pointer: str, skipped: list[str]) -> list[tuple[str, int, int, list[list[tuple]]]]:
    """-> [(pointer, syscall number, action, [conditions of one seccomp rule, ...]), ...]"""
    rules = []
    for i, rule in enumerate(_list(syscalls, pointer)):
        here = f"{pointer}/{i}"
        if not isinstance(rule, dict):
            raise SeccompError(here, "must be an object")
        action = _action(rule, "action", "errnoRet", here)
        conditions = _conditions(rule.get("args"), f"{here}/args")
        names = _list(rule.get("names"), f"{here}/names")
        if not names:
            raise SeccompError(f"{here}/names", "must name at least one syscall")
        for j, name in enumerate(names):
            if not isinstance(name, str) or not name:
                raise SeccompError(f"{here}/names/{j}", "must be a syscall name")
            if action == cext.SCMP_ACT_NOTIFY and name in _NOT_NOTIFIABLE:
                raise SeccompError(f"{here}/names/{j}", f"SCMP_ACT_NOTIFY cannot be used for {name}: the "
                                   "container init makes that call after loading the filter")
            nr = cext.seccomp_syscall_resolve_name(name)
            if nr == cext.SCMP_NR_ERROR:
                if name not in skipped:
                    skipped.append(name)
                continue
            rules.append((f"{here}/names/{j}", nr, action, conditions))
    return rules


def _conditions(args, pointer: str) -> list[list[tuple]]:
    """The rules one syscall entry becomes: all conditions in one rule (AND), unless an argument
    is compared more than once, then one rule each (OR), as runc and Docker's profiles mean."""
    conds = []
    for k, arg in enumerate(_list(args, pointer)):
        here = f"{pointer}/{k}"
        if not isinstance(arg, dict):
            raise SeccompError(here, "must be an object")
        index = arg.get("index")
        if type(index) is not int or not 0 <= index <= 5:
            raise SeccompError(f"{here}/index", f"{index!r} is not a syscall argument index (0 to 5)")
        op = arg.get("op")
        if not isinstance(op, str) or op not in OPERATORS:
            raise SeccompError(f"{here}/op", f"unknown operator {_quote(op)}")
        value = arg.get("value")
        two = arg.get("valueTwo", 0)
        for key, v in (("value", value), ("valueTwo", two)):
            if type(v) is not int or not 0 <= v <= _U64:
                raise SeccompError(f"{here}/{key}", f"{v!r} is not a 64-bit unsigned value")
        conds.append((index, OPERATORS[op], value, two))
    if not conds:
        return [[]]
    indexes = [c[0] for c in conds]
    if len(set(indexes)) < len(indexes):
        return [[c] for c in conds]
    return [conds]


def _quote(value) -> str:
    return f'"{value}"' if isinstance(value, str) else repr(value)


# -- the notify listener --------------------------------------------------------------------

def process_state(state: dict, pid: int, metadata: str | None = None, oci_version: str | None = None) -> str:
    """The container process state (runtime-spec config-linux.md) as JSON: `state` is the
    container's state object (ociVersion, id, status, pid, bundle, annotations)."""
    from runtime import fastjson
    from runtime.features import OCI_VERSION_MAX

    doc = {"ociVersion": oci_version or OCI_VERSION_MAX, "fds": ["seccompFd"], "pid": pid}
    if metadata:
        doc["metadata"] = metadata
    doc["state"] = state
    return fastjson.dumps(doc)


def send_to_listener(path: str, notify_fd: int, state_json: str) -> None:
    """One connection to the agent's AF_UNIX stream socket at `path`: the state JSON as the
    payload, the listener fd as SCM_RIGHTS in the first sendmsg; then closed."""
    import socket

    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM | socket.SOCK_CLOEXEC)
    try:
        sock.connect(path)
        cext.send_fd(sock.fileno(), notify_fd, state_json.encode())
    except OSError as e:
        raise SeccompError(f"{POINTER}/listenerPath",
                           f"cannot send the seccomp listener to {path}: {e.strerror}") from None
    finally:
        sock.close()


def forward_listener(flt: Filter | dict, init_pid: int, remote_fd: int, state: dict) -> None:
    """The runtime's side of SCMP_ACT_NOTIFY: copy the init's listener (fd number `remote_fd`
    of `init_pid`, from its `seccomp <fd>` message) and send it with the process state to the
    profile's listenerPath. `flt` is the Filter or the linux.seccomp dict."""
    if isinstance(flt, dict):
        path, metadata = flt.get("listenerPath"), flt.get("listenerMetadata")
    else:
        path, metadata = flt.listener_path, flt.listener_metadata
    if not path:
        return
    try:
        pidfd = cext.pidfd_open(init_pid)
        try:
            fd = cext.pidfd_getfd(pidfd, remote_fd)
        finally:
            os.close(pidfd)
    except OSError as e:
        raise SeccompError(f"{POINTER}/listenerPath",
                           f"cannot take the seccomp listener of the container init: {e.strerror}") from None
    try:
        send_to_listener(path, fd, process_state(state, init_pid, metadata))
    finally:
        os.close(fd)


# -- features ---------------------------------------------------------------------------------

def flag_supported(name: str) -> bool:
    """Whether this kernel takes the SECCOMP_FILTER_FLAG_* `name`."""
    try:
        return cext.seccomp_flags_supported(FLAGS[name] | _FLAG_COMPANIONS.get(name, 0))
    except OSError:
        return False


def features() -> dict:
    """linux.seccomp of the features document (features-linux.md)."""
    return {
        "enabled": True,
        "actions": sorted(ACTIONS),
        "operators": sorted(OPERATORS),
        "archs": sorted(n for n, lib_name in ARCHS.items() if cext.seccomp_arch_resolve_name(lib_name)),
        "knownFlags": list(FLAGS),
        "supportedFlags": [name for name in FLAGS if flag_supported(name)],
    }
