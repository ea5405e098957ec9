"""Thin Python wrappers over the pyrunc C shim (``cext._native``, cffi API mode).

Every function raises ``OSError(errno, "<call>(<args>): <strerror>")`` on failure,
e.g. ``OSError(2, "mount('proc', '/x/proc', 'proc', 0x6, None): No such file or
directory")`` (the matching subclass, here FileNotFoundError, as ``OSError``
picks it from the errno). Paths are ``str``, ``bytes`` or path-like; a path
with a NUL byte raises ValueError, as in ``os``.

File descriptors returned here are close-on-exec, like the ones ``os`` returns
(PEP 446): ``openat2``, ``open_tree``, ``pidfd_open``, ``recv_fd``. Use
``os.set_inheritable`` to hand one on.

Integer constants (``CLONE_NEW*``, ``MS_*``, ``MNT_*``, ``RESOLVE_*``,
``OPEN_TREE_*``, ``MOVE_MOUNT_*``, ``MOUNT_ATTR_*``, ``AT_*``, ``PR_*``,
``CLOSE_RANGE_*``, ``IOPRIO_*``, ``SCHED_*``, ``PER_*`` ...) are module
attributes, with the values of the headers the shim was compiled against.

Functions:
    unshare(flags)                              setns(fd, nstype=0)
    mount(source, target, fstype, flags=0, data=None)
    umount2(target, flags=0)                    pivot_root(new_root, put_old)
    sethostname(name)                           setdomainname(name)
    capget(pid=0) -> (effective, permitted, inheritable)
    capset(effective, permitted, inheritable)   cap_last_cap() -> int
    drop_bounding(cap)   ambient_raise(cap)     ambient_clear_all()
    prctl(option, arg2=0, arg3=0, arg4=0, arg5=0) -> int
    personality(persona) -> int                 setrlimit(resource, soft, hard)
    keyctl_join_session_keyring(name) -> int    keyctl_setperm(key, perm)
    close_range(first, last, flags=0)
    pidfd_open(pid, flags=0) -> fd              pidfd_send_signal(pidfd, sig, flags=0)
    fork_into_cgroup(cgroup_fd) -> pid (0 in the child)
    openat2(dirfd, path, flags, mode=0, resolve=0) -> fd
    open_tree(dirfd, path, flags) -> fd
    move_mount(from_dirfd, from_path, to_dirfd, to_path, flags)
    mount_setattr(dirfd, path, flags, attr_set=0, attr_clr=0, propagation=0,
                  userns_fd=-1)
    ioprio_set(which, who, ioprio)              ioprio_get(which, who) -> int
    set_mempolicy(mode, nodes=())
    sched_setattr(pid, policy, flags=0, nice=0, priority=0, runtime=0,
                  deadline=0, period=0)
    exec_when_started(start_fd, path, argv, envp)
    send_fd(sock_fd, fd, data=b"")              recv_fd(sock_fd, maxdata=4096) -> (fd, data)
    pidfd_getfd(pidfd, fd, flags=0) -> fd

seccomp (libseccomp to compile, seccomp(2) to load; SCMP_*/SECCOMP_* constants):
    seccomp_init(def_action) -> ctx             seccomp_release(ctx)
    seccomp_arch_add(ctx, token) -> bool        seccomp_arch_native() -> token
    seccomp_arch_resolve_name(name) -> token|0  seccomp_syscall_resolve_name(name) -> nr
    seccomp_rule_add(ctx, action, nr, args=())  seccomp_attr_set(ctx, attr, value)
    seccomp_load(ctx)                           seccomp_notify_fd(ctx) -> fd
    seccomp_export_bpf(ctx) -> bytes            seccomp_set_mode_filter(flags, prog) -> fd|0
    seccomp_api_get() -> int                    seccomp_version() -> (major, minor, micro)
    seccomp_flags_supported(flags) -> bool      seccomp_action_available(action) -> bool
    seccomp_library() -> path of the libseccomp loaded

Keep this module cheap to import: only ``os`` and the compiled module.
"""

import os as _os

from ._native import ffi as _ffi
from ._native import lib as _lib

# Export the constants: every upper-case name of the compiled lib is one
# (see CONSTANTS in cext/build.py); PYRUNC_* are internal.
for _name in dir(_lib):
    if _name.isupper() and not _name.startswith("PYRUNC_"):
        globals()[_name] = getattr(_lib, _name)
del _name

_U32 = 0xFFFFFFFF
_U64 = 0xFFFFFFFFFFFFFFFF
_NULL = _ffi.NULL
_fsencode = _os.fsencode
_fsdecode = _os.fsdecode
_strerror = _os.strerror


# ---------------------------------------------------------------- helpers


def _path(p):
    """str/bytes/path-like -> bytes for a ``const char *`` argument."""
    b = _fsencode(p)
    if b"\0" in b:
        raise ValueError("embedded null byte")
    return b


def _opt(p):
    return _NULL if p is None else _path(p)


def _r(p):
    """How a path-ish argument appears in an error message."""
    if p is None:
        return "None"
    try:
        return repr(_fsdecode(p))
    except TypeError:
        return repr(p)


def _fail(call, args, errno=None, extra=None):
    """Raise the OSError for a failed call; reads ffi.errno unless given."""
    if errno is None:
        errno = _ffi.errno
    msg = f"{call}({args}): {_strerror(errno)}"
    if extra:
        msg = f"{msg}: {extra}"
    raise OSError(errno, msg)


# ------------------------------------------------------------- namespaces


def unshare(flags):
    """unshare(2): move this process into new namespaces (CLONE_NEW* flags)."""
    if _lib.pyrunc_unshare(flags) < 0:
        _fail("unshare", hex(flags))


def setns(fd, nstype=0):
    """setns(2): join the namespace (or, for a pidfd, namespaces) behind fd."""
    if _lib.pyrunc_setns(fd, nstype) < 0:
        _fail("setns", f"{fd}, {nstype:#x}")


def sethostname(name):
    """sethostname(2) in the current UTS namespace."""
    b = _fsencode(name)
    if _lib.pyrunc_sethostname(b, len(b)) < 0:
        _fail("sethostname", _r(name))


def setdomainname(name):
    """setdomainname(2) in the current UTS namespace."""
    b = _fsencode(name)
    if _lib.pyrunc_setdomainname(b, len(b)) < 0:
        _fail("setdomainname", _r(name))


# ------------------------------------------------------------------ mounts


def mount(source, target, fstype, flags=0, data=None):
    """mount(2). source, fstype and data may be None."""
    if _lib.pyrunc_mount(_opt(source), _path(target), _opt(fstype), flags, _opt(data)) < 0:
        _fail("mount", f"{_r(source)}, {_r(target)}, {_r(fstype)}, {flags:#x}, {_r(data)}")


def umount2(target, flags=0):
    """umount2(2): MNT_DETACH, MNT_FORCE, MNT_EXPIRE, UMOUNT_NOFOLLOW."""
    if _lib.pyrunc_umount2(_path(target), flags) < 0:
        _fail("umount2", f"{_r(target)}, {flags:#x}")


def pivot_root(new_root, put_old):
    """pivot_root(2); pivot_root('.', '.') stacks the old root on the new one."""
    if _lib.pyrunc_pivot_root(_path(new_root), _path(put_old)) < 0:
        _fail("pivot_root", f"{_r(new_root)}, {_r(put_old)}")


def open_tree(dirfd, path, flags):
    """open_tree(2) -> fd (always OPEN_TREE_CLOEXEC)."""
    fd = _lib.pyrunc_open_tree(dirfd, _path(path), flags | _lib.OPEN_TREE_CLOEXEC)
    if fd < 0:
        _fail("open_tree", f"{dirfd}, {_r(path)}, {flags:#x}")
    return fd


def move_mount(from_dirfd, from_path, to_dirfd, to_path, flags):
    """move_mount(2); pass '' paths with MOVE_MOUNT_F/T_EMPTY_PATH."""
    if _lib.pyrunc_move_mount(from_dirfd, _path(from_path), to_dirfd, _path(to_path), flags) < 0:
        _fail("move_mount", f"{from_dirfd}, {_r(from_path)}, {to_dirfd}, {_r(to_path)}, {flags:#x}")


def mount_setattr(dirfd, path, flags, attr_set=0, attr_clr=0, propagation=0, userns_fd=-1):
    """mount_setattr(2). flags: AT_EMPTY_PATH, AT_RECURSIVE, ...; propagation:
    0 or one of MS_PRIVATE/MS_SLAVE/MS_SHARED/MS_UNBINDABLE; userns_fd with
    MOUNT_ATTR_IDMAP."""
    if _lib.pyrunc_mount_setattr(dirfd, _path(path), flags, attr_set, attr_clr, propagation, userns_fd) < 0:
        _fail(
            "mount_setattr",
            f"{dirfd}, {_r(path)}, {flags:#x}, {attr_set:#x}, {attr_clr:#x}, {propagation:#x}, {userns_fd}",
        )


# ------------------------------------------------------------------- files


def openat2(dirfd, path, flags, mode=0, resolve=0):
    """openat2(2) -> fd. flags are os.O_* (O_CLOEXEC is always added);
    resolve is RESOLVE_* (RESOLVE_IN_ROOT keeps symlinks inside dirfd).
    EAGAIN from a racing rename is retried inside."""
    fd = _lib.pyrunc_openat2(dirfd, _path(path), flags | _os.O_CLOEXEC, mode, resolve)
    if fd < 0:
        _fail("openat2", f"{dirfd}, {_r(path)}, {flags:#x}, {mode:#o}, {resolve:#x}")
    return fd


def close_range(first, last, flags=0):
    """close_range(2). last < 0 means 'to the end' (~0U); CLOSE_RANGE_CLOEXEC
    marks instead of closing."""
    ulast = _U32 if last < 0 or last > _U32 else last
    if _lib.pyrunc_close_range(first, ulast, flags) < 0:
        _fail("close_range", f"{first}, {last}, {flags:#x}")


# ------------------------------------------------------------ capabilities


def capget(pid=0):
    """capget(2), v3 ABI -> (effective, permitted, inheritable) as 64-bit ints."""
    out = _ffi.new("uint64_t[3]")
    if _lib.pyrunc_capget(pid, out, out + 1, out + 2) < 0:
        _fail("capget", str(pid))
    return out[0], out[1], out[2]


def capset(effective, permitted, inheritable):
    """capset(2), v3 ABI, for this thread."""
    if _lib.pyrunc_capset(effective & _U64, permitted & _U64, inheritable & _U64) < 0:
        _fail("capset", f"{effective:#x}, {permitted:#x}, {inheritable:#x}")


def cap_last_cap():
    """The highest capability number the kernel knows (read once)."""
    n = _lib.pyrunc_cap_last_cap()
    if n < 0:
        _fail("cap_last_cap", "")
    return n


def drop_bounding(cap):
    """prctl(PR_CAPBSET_DROP, cap)."""
    if _lib.pyrunc_drop_bounding(cap) < 0:
        _fail("drop_bounding", str(cap))


def ambient_raise(cap):
    """prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap): cap must be permitted
    and inheritable."""
    if _lib.pyrunc_ambient_raise(cap) < 0:
        _fail("ambient_raise", str(cap))


def ambient_clear_all():
    """prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL)."""
    if _lib.pyrunc_ambient_clear_all() < 0:
        _fail("ambient_clear_all", "")


# -------------------------------------------------------- process attributes


def prctl(option, arg2=0, arg3=0, arg4=0, arg5=0):
    """prctl(2) with integer arguments -> its (non-negative) result."""
    r = _lib.pyrunc_prctl(option, arg2 & _U64, arg3 & _U64, arg4 & _U64, arg5 & _U64)
    if r < 0:
        _fail("prctl", f"{option}, {arg2}, {arg3}, {arg4}, {arg5}")
    return r


def setrlimit(resource, soft, hard):
    """setrlimit(2); limits are unsigned 64-bit (RLIM_INFINITY is 2**64 - 1)."""
    if _lib.pyrunc_setrlimit(resource, soft & _U64, hard & _U64) < 0:
        _fail("setrlimit", f"{resource}, {soft}, {hard}")


def personality(persona):
    """personality(2) -> the previous persona (0xffffffff only queries)."""
    r = _lib.pyrunc_personality(persona & _U64)
    if r < 0:
        _fail("personality", f"{persona:#x}")
    return r


def keyctl_join_session_keyring(name=None):
    """keyctl(KEYCTL_JOIN_SESSION_KEYRING, name): a new anonymous keyring for
    None -> its serial."""
    r = _lib.pyrunc_keyctl_join_session_keyring(_opt(name))
    if r < 0:
        _fail("keyctl_join_session_keyring", _r(name))
    return r


def keyctl_setperm(key_serial, perm):
    """keyctl(KEYCTL_SETPERM, key, perm)."""
    if _lib.pyrunc_keyctl_setperm(key_serial, perm & _U32) < 0:
        _fail("keyctl_setperm", f"{key_serial}, {perm:#x}")


def pidfd_open(pid, flags=0):
    """pidfd_open(2) -> fd (close-on-exec, as the kernel makes them)."""
    fd = _lib.pyrunc_pidfd_open(pid, flags)
    if fd < 0:
        _fail("pidfd_open", f"{pid}, {flags:#x}")
    return fd


def fork_into_cgroup(cgroup_fd):
    """clone3(2) with CLONE_INTO_CGROUP: like os.fork(), but the child starts in the cgroup
    (v2) whose directory ``cgroup_fd`` is open on. -> the child's pid, 0 in the child."""
    pid = _lib.pyrunc_fork_into_cgroup(cgroup_fd)
    if pid < 0:
        _fail("clone3", f"CLONE_INTO_CGROUP, cgroup={cgroup_fd}")
    return pid


def pidfd_send_signal(pidfd, sig, flags=0):
    """pidfd_send_signal(2) without siginfo."""
    if _lib.pyrunc_pidfd_send_signal(pidfd, sig, flags) < 0:
        _fail("pidfd_send_signal", f"{pidfd}, {int(sig)}, {flags:#x}")


def ioprio_set(which, who, ioprio):
    """ioprio_set(2); ioprio = (IOPRIO_CLASS_* << IOPRIO_CLASS_SHIFT) | level."""
    if _lib.pyrunc_ioprio_set(which, who, ioprio) < 0:
        _fail("ioprio_set", f"{which}, {who}, {ioprio:#x}")


def set_mempolicy(mode, nodes=()):
    """set_mempolicy(2) for the calling thread; `mode` may carry MPOL_F_* flags, `nodes` is
    an iterable of NUMA node numbers."""
    nodes = list(nodes)
    bits = 8 * _ffi.sizeof("unsigned long")
    words = max(1, (max(nodes) // bits + 1) if nodes else 1)
    mask = _ffi.new("unsigned long[]", words)
    for node in nodes:
        mask[node // bits] |= 1 << (node % bits)
    # maxnode counts bits, and the kernel reads one bit less than it is told.
    maxnode = words * bits + 1 if nodes else 0
    if _lib.pyrunc_set_mempolicy(mode, mask if nodes else _NULL, maxnode) < 0:
        _fail("set_mempolicy", f"{mode:#x}, {nodes}")


def ioprio_get(which, who):
    """ioprio_get(2) -> ioprio."""
    r = _lib.pyrunc_ioprio_get(which, who)
    if r < 0:
        _fail("ioprio_get", f"{which}, {who}")
    return r


def sched_setattr(pid, policy, flags=0, nice=0, priority=0, runtime=0, deadline=0, period=0):
    """sched_setattr(2): SCHED_* policy, SCHED_FLAG_* flags; runtime, deadline
    and period in nanoseconds (SCHED_DEADLINE)."""
    if _lib.pyrunc_sched_setattr(pid, policy, flags, nice, priority, runtime, deadline, period) < 0:
        _fail(
            "sched_setattr",
            f"{pid}, {policy}, {flags:#x}, {nice}, {priority}, {runtime}, {deadline}, {period}",
        )


# ------------------------------------------------------------ fd passing


def send_fd(sock_fd, fd, data=b""):
    """One sendmsg on a unix socket: fd as SCM_RIGHTS, data as the payload
    (an empty payload is sent as one NUL byte)."""
    if _lib.pyrunc_send_fd(sock_fd, fd, data, len(data)) < 0:
        _fail("send_fd", f"{sock_fd}, {fd}, {data!r}")


def recv_fd(sock_fd, maxdata=4096):
    """One recvmsg on a unix socket -> (fd, data); fd is close-on-exec.
    Errors besides the syscall's: ECONNRESET (peer closed), EBADMSG (no fd
    came), EMSGSIZE (control data truncated)."""
    buf = _ffi.new("char[]", maxdata)
    lenp = _ffi.new("size_t *")
    fdp = _ffi.new("int *")
    if _lib.pyrunc_recv_fd(sock_fd, buf, maxdata, lenp, fdp) < 0:
        _fail("recv_fd", f"{sock_fd}, {maxdata}")
    return fdp[0], _ffi.buffer(buf, lenp[0])[:]


# --------------------------------------------------------------------- exec


def _cstrings(items, what):
    keep = []
    for item in items:
        b = _fsencode(item)
        if b"\0" in b:
            raise ValueError(f"embedded null byte in {what}")
        keep.append(_ffi.new("char[]", b))
    keep.append(_NULL)
    return keep, _ffi.new("char *[]", keep)


def exec_when_started(start_fd, path, argv, envp):
    """The container init's last step, all in C once called: reset every
    signal disposition to SIG_DFL and unblock all signals; if start_fd >= 0,
    block in read(start_fd, 1 byte) -- one byte means start, EOF or an error
    means abort: raise OSError(ECANCELED) without exec'ing; then
    execve(path, argv, envp). Returns only by raising; on abort or failure
    the signal dispositions and mask are restored.

    argv and envp ('KEY=value') are lists of str/bytes, converted before the
    call: no Python runs between the start byte and execve. start_fd should
    be close-on-exec."""
    argv = list(argv)
    if not argv:
        raise ValueError("exec_when_started: argv must not be empty")
    cpath = _path(path)
    # keep the char[] buffers alive until the call returns
    argv_keep, argv_c = _cstrings(argv, "argv")
    envp_keep, envp_c = _cstrings(envp, "envp")
    stage = _ffi.new("int *")
    detail = _ffi.new("int *")

    _lib.pyrunc_exec_when_started(start_fd, cpath, argv_c, envp_c, stage, detail)

    errno = _ffi.errno
    del argv_keep, envp_keep
    args = f"{start_fd}, {_r(path)}"
    if stage[0] == _lib.PYRUNC_STAGE_EOF:
        _fail("exec_when_started", args, errno, "start fd closed without a start byte")
    if stage[0] == _lib.PYRUNC_STAGE_READ:
        _fail("exec_when_started", args, errno, f"read(start fd): {_strerror(detail[0])}")
    _fail("exec_when_started", args, errno)


def pidfd_getfd(pidfd, fd, flags=0):
    """pidfd_getfd(2): a copy (close-on-exec) of descriptor `fd` of the process behind
    pidfd; needs ptrace access to it."""
    r = _lib.pyrunc_pidfd_getfd(pidfd, fd, flags)
    if r < 0:
        _fail("pidfd_getfd", f"{pidfd}, {fd}, {flags:#x}")
    return r


# ------------------------------------------------------------------ seccomp
#
# A filter context (``ctx``) is an opaque cdata released by seccomp_release()
# or, failing that, when it is garbage collected.

SCMP_NR_ERROR = -1  # __NR_SCMP_ERROR: seccomp_syscall_resolve_name() of an unknown name


def seccomp_init(def_action):
    """seccomp_init(3) -> a filter context with the native architecture."""
    ctx = _lib.pyrunc_seccomp_init(def_action & _U32)
    if ctx == _NULL:
        _fail("seccomp_init", f"{def_action:#x}")
    return _ffi.gc(ctx, _lib.pyrunc_seccomp_release)


def seccomp_release(ctx):
    """seccomp_release(3), now rather than at garbage collection."""
    _ffi.release(ctx)


def seccomp_arch_add(ctx, arch_token):
    """seccomp_arch_add(3) -> True, or False when the filter has the architecture already."""
    if _lib.pyrunc_seccomp_arch_add(ctx, arch_token & _U32) < 0:
        if _ffi.errno == 17:  # EEXIST
            return False
        _fail("seccomp_arch_add", f"{arch_token:#x}")
    return True


def seccomp_arch_native():
    """The native architecture's token (SCMP_ARCH_* value)."""
    return _lib.pyrunc_seccomp_arch_native()


def seccomp_arch_resolve_name(name):
    """Token of a libseccomp architecture name ("x86_64", "aarch64", ...); 0 if unknown."""
    return _lib.pyrunc_seccomp_arch_resolve_name(_path(name))


def seccomp_syscall_resolve_name(name):
    """Syscall number on the native architecture: negative pseudo numbers for calls only
    other architectures have, SCMP_NR_ERROR (-1) for a name libseccomp does not know."""
    return _lib.pyrunc_seccomp_syscall_resolve_name(_path(name))


def seccomp_rule_add(ctx, action, syscall_nr, args=()):
    """seccomp_rule_add_array(3). args: up to 6 (index, op, datum_a, datum_b) tuples,
    op an SCMP_CMP_* value (all must match: AND)."""
    args = list(args)
    n = len(args)
    arg = _ffi.new("unsigned int[]", [a[0] for a in args] or [0])
    op = _ffi.new("int[]", [a[1] for a in args] or [0])
    da = _ffi.new("uint64_t[]", [a[2] & _U64 for a in args] or [0])
    db = _ffi.new("uint64_t[]", [a[3] & _U64 for a in args] or [0])
    if _lib.pyrunc_seccomp_rule_add(ctx, action & _U32, syscall_nr, n, arg, op, da, db) < 0:
        _fail("seccomp_rule_add", f"{action:#x}, {syscall_nr}, {args}")


def seccomp_attr_set(ctx, attr, value):
    """seccomp_attr_set(3): SCMP_FLTATR_* attribute."""
    if _lib.pyrunc_seccomp_attr_set(ctx, attr, value & _U32) < 0:
        _fail("seccomp_attr_set", f"{attr}, {value:#x}")


def seccomp_load(ctx):
    """seccomp_load(3): install the filter in this process (libseccomp's way)."""
    if _lib.pyrunc_seccomp_load(ctx) < 0:
        _fail("seccomp_load", "")


def seccomp_notify_fd(ctx):
    """seccomp_notify_fd(3): the listener of a loaded filter that uses SCMP_ACT_NOTIFY."""
    fd = _lib.pyrunc_seccomp_notify_fd(ctx)
    if fd < 0:
        _fail("seccomp_notify_fd", "")
    return fd


def seccomp_export_bpf(ctx):
    """seccomp_export_bpf(3) -> the program as bytes (struct sock_filter[], 8 bytes each),
    ready for seccomp_set_mode_filter()."""
    fd = _os.memfd_create("pyrunc-seccomp", _os.MFD_CLOEXEC)
    try:
        if _lib.pyrunc_seccomp_export_bpf(ctx, fd) < 0:
            _fail("seccomp_export_bpf", "")
        size = _os.lseek(fd, 0, _os.SEEK_END)
        return _os.pread(fd, size, 0)
    finally:
        _os.close(fd)


def seccomp_api_get():
    """libseccomp's API level for this kernel (seccomp_api_get(3))."""
    return _lib.pyrunc_seccomp_api_get()


def seccomp_version():
    """The version of the libseccomp loaded -> (major, minor, micro)."""
    out = _ffi.new("unsigned int[3]")
    _lib.pyrunc_seccomp_version(out, out + 1, out + 2)
    return out[0], out[1], out[2]


def seccomp_library():
    """The file the libseccomp in use was loaded from (dladdr), as a str."""
    p = _lib.pyrunc_seccomp_library()
    if p == _NULL:
        _fail("seccomp_library", "")
    return _fsdecode(_ffi.string(p))


def seccomp_set_mode_filter(flags, prog):
    """seccomp(SECCOMP_SET_MODE_FILTER, flags, prog) with a program from
    seccomp_export_bpf() -> the listener fd (close-on-exec) with
    SECCOMP_FILTER_FLAG_NEW_LISTENER, else 0. Needs no_new_privs or CAP_SYS_ADMIN."""
    r = _lib.pyrunc_seccomp_set_mode_filter(flags, prog, len(prog))
    if r < 0:
        _fail("seccomp_set_mode_filter", f"{flags:#x}, <{len(prog) // 8} instructions>")
    return r


def seccomp_flags_supported(flags):
    """Whether this kernel takes the SECCOMP_FILTER_FLAG_* combination (probes with
    seccomp(2) and no program; nothing is loaded)."""
    r = _lib.pyrunc_seccomp_flags_supported(flags)
    if r < 0:
        _fail("seccomp_flags_supported", f"{flags:#x}")
    return bool(r)


def seccomp_action_available(action):
    """seccomp(SECCOMP_GET_ACTION_AVAIL): whether the kernel knows the SCMP_ACT_* action."""
    if _lib.pyrunc_seccomp_action_available(action & _U32) < 0:
        if _ffi.errno == 95:  # EOPNOTSUPP
            return False
        _fail("seccomp_action_available", f"{action:#x}")
    return True


# ------------------------------------------------------------------- file systems


def fstatfs_type(fd):
    """f_type of the file system behind ``fd`` (e.g. 0x9fa0 for procfs): fstatfs(2)."""
    kind = _lib.pyrunc_fstatfs_type(fd)
    if kind < 0:
        _fail("fstatfs", str(fd))
    return kind
