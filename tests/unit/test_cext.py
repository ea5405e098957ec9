"""The C shim against the real kernel.

Everything that changes process state (namespaces, mounts, capabilities, signal
dispositions, exec) runs in a forked child, so the test process is untouched;
mounts are made in the child's own mount namespace and vanish with it.
Needs root (the CI runs as root); tests that need it are skipped otherwise.
"""

import errno
import os
import signal
import socket
import subprocess
import sys
import time
import traceback

import pytest

import cext

needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="needs root")

CAP_NET_BIND_SERVICE = 10
CAP_NET_RAW = 13
ENV = ["PATH=/usr/sbin:/usr/bin:/sbin:/bin"]


def in_child(fn, *args):
    """Run fn(*args) in a forked child; fail with the child's traceback."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - child
        code = 0
        try:
            os.close(r)
            fn(*args)
        except BaseException:
            code = 1
            try:
                os.write(w, traceback.format_exc().encode())
            except BaseException:
                pass
        finally:
            os._exit(code)
    os.close(w)
    with os.fdopen(r, "rb") as f:
        report = f.read().decode(errors="replace")
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0, f"child failed:\n{report}"


def wait_exit(pid, timeout=10.0):
    """waitpid with a deadline -> exit code (negative: killed by signal)."""
    deadline = time.monotonic() + timeout
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status)
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            raise AssertionError(f"child {pid} did not exit in {timeout}s")
        time.sleep(0.01)


def mountinfo_targets():
    with open("/proc/self/mountinfo") as f:
        return {line.split()[4]: line for line in f}


def private_mount_ns():
    cext.unshare(cext.CLONE_NEWNS)
    cext.mount(None, "/", None, cext.MS_REC | cext.MS_PRIVATE)


def status_masks():
    masks = {}
    with open("/proc/self/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            masks[key] = value.strip()
    return masks


# ------------------------------------------------------------------ module


def test_constants():
    assert cext.CLONE_NEWNS == 0x00020000
    assert cext.CLONE_NEWUTS == 0x04000000
    assert cext.CLONE_NEWIPC == 0x08000000
    assert cext.CLONE_NEWUSER == 0x10000000
    assert cext.CLONE_NEWPID == 0x20000000
    assert cext.CLONE_NEWNET == 0x40000000
    assert cext.CLONE_NEWCGROUP == 0x02000000
    assert cext.CLONE_NEWTIME == 0x00000080
    assert (cext.MS_RDONLY, cext.MS_NOSUID, cext.MS_NODEV, cext.MS_NOEXEC) == (1, 2, 4, 8)
    assert (cext.MS_REMOUNT, cext.MS_BIND, cext.MS_MOVE, cext.MS_REC) == (32, 4096, 8192, 16384)
    assert (cext.MS_PRIVATE, cext.MS_SLAVE, cext.MS_SHARED) == (1 << 18, 1 << 19, 1 << 20)
    assert cext.MS_UNBINDABLE == 1 << 17
    assert (cext.MS_RELATIME, cext.MS_STRICTATIME, cext.MS_LAZYTIME) == (1 << 21, 1 << 24, 1 << 25)
    assert (cext.MNT_FORCE, cext.MNT_DETACH, cext.UMOUNT_NOFOLLOW) == (1, 2, 8)
    assert cext.RESOLVE_IN_ROOT == 0x10 and cext.RESOLVE_BENEATH == 0x08
    assert cext.AT_FDCWD == -100 and cext.AT_RECURSIVE == 0x8000
    assert cext.MOUNT_ATTR_RDONLY == 1 and cext.MOUNT_ATTR_IDMAP == 0x00100000
    assert cext.OPEN_TREE_CLONE == 1 and cext.OPEN_TREE_CLOEXEC == os.O_CLOEXEC
    assert cext.PR_SET_NO_NEW_PRIVS == 38 and cext.PR_CAP_AMBIENT == 47
    assert not hasattr(cext, "PYRUNC_STAGE_EOF")


def test_import_is_light():
    # importing cext brings in only the compiled module and cffi's backend
    code = (
        "import sys; before = set(sys.modules); import cext; "
        "print(' '.join(sorted(set(sys.modules) - before)))"
    )
    root = os.path.dirname(os.path.dirname(os.path.abspath(cext.__file__)))
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=root, capture_output=True, text=True, check=True
    ).stdout.split()
    assert set(out) <= {"cext", "cext._native", "cext._native.lib", "_cffi_backend"}, out


def test_oserror_format(tmp_path):
    target = tmp_path / "missing" / "proc"

    def child():
        private_mount_ns()
        with pytest.raises(FileNotFoundError) as info:
            cext.mount("proc", str(target), "proc", 0x6)
        e = info.value
        assert e.errno == errno.ENOENT
        assert e.strerror == (f"mount('proc', '{target}', 'proc', 0x6, None): No such file or directory")
        assert str(e).startswith("[Errno 2] mount('proc', ")
        # bytes and path-like paths are accepted and shown as str
        with pytest.raises(OSError) as info:
            cext.umount2(bytes(target), cext.MNT_DETACH)
        assert info.value.strerror.startswith(f"umount2('{target}', 0x2): ")
        with pytest.raises(OSError) as info:
            cext.setns(987654, cext.CLONE_NEWUTS)
        assert info.value.errno == errno.EBADF
        assert info.value.strerror == "setns(987654, 0x4000000): Bad file descriptor"
        with pytest.raises(ValueError):
            cext.mount(None, "/tmp\0x", None)

    in_child(child)


# -------------------------------------------------------------- namespaces


@needs_root
def test_uts_namespace():
    before = os.uname().nodename

    def child():
        ns = os.open("/proc/self/ns/uts", os.O_RDONLY | os.O_CLOEXEC)
        cext.unshare(cext.CLONE_NEWUTS)
        cext.sethostname("pyrunc-test")
        cext.setdomainname(b"pyrunc.example")
        assert os.uname().nodename == "pyrunc-test"
        with open("/proc/sys/kernel/domainname") as f:
            assert f.read().strip() == "pyrunc.example"
        # and back into the original namespace
        cext.setns(ns, cext.CLONE_NEWUTS)
        assert os.uname().nodename == before

    in_child(child)
    assert os.uname().nodename == before


@needs_root
def test_mount_tmpfs_in_private_namespace(tmp_path):
    point = tmp_path / "mnt"
    point.mkdir()

    def child():
        private_mount_ns()
        cext.mount("tmpfs", point, "tmpfs", cext.MS_NOSUID | cext.MS_NODEV, "size=1m,mode=0700")
        line = mountinfo_targets()[str(point)]
        assert " - tmpfs tmpfs " in line and "nosuid" in line and "nodev" in line
        (point / "file").write_text("x")
        cext.umount2(point, cext.MNT_DETACH)
        assert str(point) not in mountinfo_targets()
        assert not (point / "file").exists()

    in_child(child)
    assert str(point) not in mountinfo_targets()


@needs_root
def test_pivot_root(tmp_path):
    root = tmp_path / "root"
    root.mkdir()

    def child():
        private_mount_ns()
        cext.mount("tmpfs", root, "tmpfs", 0, "size=1m")
        (root / "marker").write_text("new root")
        (root / "old").mkdir()
        cext.pivot_root(root, root / "old")
        os.chdir("/")
        with open("/marker") as f:
            assert f.read() == "new root"
        assert os.path.isdir("/old/proc")  # the old root, stacked under /old
        cext.umount2("/old", cext.MNT_DETACH)
        os.rmdir("/old")
        assert os.listdir("/") == ["marker"]

    in_child(child)


@needs_root
def test_new_mount_api(tmp_path):
    a = tmp_path / "a"
    b = tmp_path / "b"
    a.mkdir()
    b.mkdir()

    def child():
        private_mount_ns()
        cext.mount("tmpfs", a, "tmpfs", 0, "size=1m")
        tree = cext.open_tree(cext.AT_FDCWD, a, cext.OPEN_TREE_CLONE)
        assert not os.get_inheritable(tree)
        cext.move_mount(tree, "", cext.AT_FDCWD, b, cext.MOVE_MOUNT_F_EMPTY_PATH)
        os.close(tree)
        (a / "f").write_text("shared")
        assert (b / "f").read_text() == "shared"
        cext.mount_setattr(cext.AT_FDCWD, b, 0, attr_set=cext.MOUNT_ATTR_RDONLY)
        assert mountinfo_targets()[str(b)].split()[5].split(",")[0] == "ro"
        with pytest.raises(OSError) as info:
            (b / "g").write_text("no")
        assert info.value.errno == errno.EROFS
        (a / "g").write_text("yes")  # the original mount stays writable
        with pytest.raises(OSError) as info:
            cext.mount_setattr(cext.AT_FDCWD, tmp_path / "nope", 0, attr_set=1)
        assert info.value.strerror.startswith("mount_setattr(")

    in_child(child)


# ------------------------------------------------------------------- files


def test_openat2_resolve_in_root(tmp_path):
    root = tmp_path / "root"
    (root / "etc").mkdir(parents=True)
    (root / "etc" / "marker").write_text("inside")
    os.symlink("/etc", root / "abs")  # absolute: must resolve inside root
    os.symlink("../../../../../../etc", root / "up")

    dirfd = os.open(root, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        for name in ("abs/marker", "up/marker", "/etc/marker", "../etc/marker"):
            fd = cext.openat2(dirfd, name, os.O_RDONLY, resolve=cext.RESOLVE_IN_ROOT)
            try:
                assert not os.get_inheritable(fd)
                assert os.read(fd, 100) == b"inside", name
            finally:
                os.close(fd)
        # RESOLVE_BENEATH refuses to leave instead of re-rooting
        with pytest.raises(OSError) as info:
            cext.openat2(dirfd, "abs/marker", os.O_RDONLY, resolve=cext.RESOLVE_BENEATH)
        assert info.value.errno == errno.EXDEV
        assert info.value.strerror.startswith(f"openat2({dirfd}, 'abs/marker', 0x0, 0o0, 0x8): ")
        # creating through openat2, with a mode
        fd = cext.openat2(dirfd, "abs/new", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o640, cext.RESOLVE_IN_ROOT)
        os.close(fd)
        assert (root / "etc" / "new").stat().st_mode & 0o777 == 0o640 & ~_umask()
    finally:
        os.close(dirfd)


def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_close_range():
    def child():
        fds = [200, 201, 202]
        null = os.open("/dev/null", os.O_RDONLY)
        for fd in fds:
            os.dup2(null, fd, inheritable=True)
        cext.close_range(200, 201)
        for fd in (200, 201):
            with pytest.raises(OSError):
                os.fstat(fd)
        cext.close_range(202, -1, cext.CLOSE_RANGE_CLOEXEC)
        assert not os.get_inheritable(202)
        os.fstat(202)

    in_child(child)


# ------------------------------------------------------------ capabilities


def test_cap_last_cap():
    with open("/proc/sys/kernel/cap_last_cap") as f:
        assert cext.cap_last_cap() == int(f.read())


@needs_root
def test_capget_capset_roundtrip():
    def child():
        eff, perm, inh = cext.capget()
        bit = 1 << CAP_NET_RAW
        assert eff & bit and perm & bit
        cext.capset(eff & ~bit, perm & ~bit, inh)
        eff2, perm2, inh2 = cext.capget()
        assert (eff2, perm2, inh2) == (eff & ~bit, perm & ~bit, inh)
        assert int(status_masks()["CapEff"], 16) == eff2
        assert cext.capget(os.getpid()) == (eff2, perm2, inh2)
        # a dropped permitted capability cannot come back
        with pytest.raises(PermissionError) as info:
            cext.capset(eff, perm, inh)
        assert info.value.strerror.startswith(f"capset({eff:#x}, {perm:#x}, {inh:#x}): ")

    in_child(child)


@needs_root
def test_bounding_and_ambient():
    def child():
        assert cext.prctl(cext.PR_CAPBSET_READ, CAP_NET_RAW) == 1
        cext.drop_bounding(CAP_NET_RAW)
        assert cext.prctl(cext.PR_CAPBSET_READ, CAP_NET_RAW) == 0

        cap = CAP_NET_BIND_SERVICE
        eff, perm, inh = cext.capget()
        cext.capset(eff, perm, inh | 1 << cap)
        cext.ambient_raise(cap)
        assert cext.prctl(cext.PR_CAP_AMBIENT, cext.PR_CAP_AMBIENT_IS_SET, cap) == 1
        assert int(status_masks()["CapAmb"], 16) == 1 << cap
        cext.ambient_clear_all()
        assert cext.prctl(cext.PR_CAP_AMBIENT, cext.PR_CAP_AMBIENT_IS_SET, cap) == 0
        # not inheritable -> cannot be ambient
        with pytest.raises(PermissionError):
            cext.ambient_raise(CAP_NET_RAW)

    in_child(child)


# ------------------------------------------------------ process attributes


def test_prctl_and_personality():
    def child():
        assert cext.prctl(cext.PR_GET_NO_NEW_PRIVS) == 0
        cext.prctl(cext.PR_SET_NO_NEW_PRIVS, 1)
        assert cext.prctl(cext.PR_GET_NO_NEW_PRIVS) == 1
        assert status_masks()["NoNewPrivs"] == "1"
        with pytest.raises(OSError) as info:
            cext.prctl(-1)
        assert info.value.errno == errno.EINVAL

        current = cext.personality(0xFFFFFFFF)
        assert cext.personality(cext.PER_LINUX32) == current
        with open("/proc/self/personality") as f:
            assert int(f.read(), 16) == cext.PER_LINUX32

    in_child(child)


@needs_root
def test_session_keyring():
    def child():
        try:
            serial = cext.keyctl_join_session_keyring(None)
        except OSError as e:
            if e.errno in (errno.ENOSYS, errno.EPERM, errno.EACCES):
                return  # keyrings off or filtered on this host
            raise
        assert serial > 0
        cext.keyctl_setperm(serial, 0x3F3F0000)
        named = cext.keyctl_join_session_keyring(f"pyrunc-test-{os.getpid()}")
        assert named > 0 and named != serial
        cext.keyctl_setperm(cext.KEY_SPEC_SESSION_KEYRING, 0x3F3F0000)
        with pytest.raises(OSError):
            cext.keyctl_setperm(0x7FFFFFF0, 0)

    in_child(child)


def test_setrlimit_sets_both_limits_and_reports_errno():
    def child():
        import resource

        nofile = 7  # RLIMIT_NOFILE
        cext.setrlimit(nofile, 100, 200)
        assert resource.getrlimit(resource.RLIMIT_NOFILE) == (100, 200)
        with pytest.raises(OSError) as info:
            cext.setrlimit(nofile, 300, 200)  # soft above hard
        assert info.value.errno == errno.EINVAL
        assert resource.getrlimit(resource.RLIMIT_NOFILE) == (100, 200)
        if resource.getrlimit(resource.RLIMIT_CORE)[1] == resource.RLIM_INFINITY:
            cext.setrlimit(4, 2**64 - 1, 2**64 - 1)  # RLIMIT_CORE: 2**64 - 1 is RLIM_INFINITY
            assert resource.getrlimit(resource.RLIMIT_CORE)[0] == resource.RLIM_INFINITY

    in_child(child)


def test_pidfd():
    pid = os.fork()
    if pid == 0:  # pragma: no cover - child
        time.sleep(30)
        os._exit(0)
    pidfd = cext.pidfd_open(pid)
    try:
        assert not os.get_inheritable(pidfd)
        cext.pidfd_send_signal(pidfd, signal.SIGTERM)
        assert wait_exit(pid) == -signal.SIGTERM
        with pytest.raises(ProcessLookupError):
            cext.pidfd_send_signal(pidfd, 0)
    finally:
        os.close(pidfd)


def _cgroup2_mount() -> str | None:
    for line in open("/proc/self/mountinfo"):
        left, _, right = line.partition(" - ")
        if right.split()[0] == "cgroup2" and os.access(left.split()[4], os.W_OK):
            return left.split()[4]
    return None


@needs_root
def test_fork_into_cgroup_starts_the_child_in_it_and_it_runs_python():
    mount = _cgroup2_mount()
    if mount is None:
        pytest.skip("no writable cgroup2 mount")
    d = os.path.join(mount, f"pyrunc-test-clone3-{os.getpid()}")
    os.mkdir(d)
    fd = os.open(d, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        r, w = os.pipe()
        pid = cext.fork_into_cgroup(fd)
        if pid == 0:  # pragma: no cover - child
            try:
                line = [x for x in open("/proc/self/cgroup").read().splitlines() if x.startswith("0::")][0]
                ok = line.endswith(os.path.basename(d)) and os.getpid() == int(os.readlink("/proc/self"))
                os.write(w, f"{ok} {[str(i) for i in range(3)]}".encode())
            finally:
                os._exit(0)
        os.close(w)
        assert os.read(r, 100).decode() == "True ['0', '1', '2']"
        assert wait_exit(pid) == 0
        os.close(r)
    finally:
        os.close(fd)
        os.rmdir(d)
    with pytest.raises(OSError) as info:
        cext.fork_into_cgroup(9999)  # not an open fd: no child
    assert info.value.errno == errno.EBADF


@needs_root
def test_ioprio_and_sched_setattr():
    def child():
        value = cext.IOPRIO_CLASS_BE << cext.IOPRIO_CLASS_SHIFT | 5
        cext.ioprio_set(cext.IOPRIO_WHO_PROCESS, 0, value)
        assert cext.ioprio_get(cext.IOPRIO_WHO_PROCESS, 0) == value
        cext.sched_setattr(0, cext.SCHED_BATCH, nice=3)
        assert os.sched_getscheduler(0) == os.SCHED_BATCH
        assert os.getpriority(os.PRIO_PROCESS, 0) == 3
        with pytest.raises(OSError) as info:
            cext.sched_setattr(0, 12345)
        assert info.value.errno == errno.EINVAL

    in_child(child)


# ----------------------------------------------------------------- fd pass


def test_send_recv_fd(tmp_path):
    path = tmp_path / "payload"
    path.write_text("hello")
    a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    with a, b:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        try:
            cext.send_fd(a.fileno(), fd, b"/dev/pts/7")
        finally:
            os.close(fd)
        got, data = cext.recv_fd(b.fileno())
        try:
            assert data == b"/dev/pts/7"
            assert not os.get_inheritable(got)
            assert os.fstat(got).st_ino == path.stat().st_ino
            assert os.read(got, 10) == b"hello"
        finally:
            os.close(got)

        # an empty payload travels as one NUL byte
        cext.send_fd(a.fileno(), 0)
        got, data = cext.recv_fd(b.fileno())
        os.close(got)
        assert data == b"\0"

        # a message without a descriptor
        a.send(b"x")
        with pytest.raises(OSError) as info:
            cext.recv_fd(b.fileno())
        assert info.value.errno == errno.EBADMSG
        assert info.value.strerror.startswith(f"recv_fd({b.fileno()}, 4096): ")

        # the peer went away
        a.shutdown(socket.SHUT_WR)
        with pytest.raises(ConnectionResetError):
            cext.recv_fd(b.fileno())

        with pytest.raises(OSError) as info:
            cext.send_fd(-1, 0, b"x")
        assert info.value.errno == errno.EBADF


# -------------------------------------------------------------------- exec


def test_exec_when_started_waits_for_the_byte():
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - child
        try:
            os.close(w)
            cext.exec_when_started(r, "/bin/sh", ["sh", "-c", "exit 7"], ENV)
        finally:
            os._exit(100)
    os.close(r)
    try:
        time.sleep(0.3)
        assert os.waitpid(pid, os.WNOHANG) == (0, 0), "exec'd before the start byte"
        os.write(w, b"\0")
    finally:
        os.close(w)
    assert wait_exit(pid) == 7


def test_exec_when_started_aborts_on_eof():
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - child
        code = 100
        try:
            os.close(w)
            signal.signal(signal.SIGPIPE, signal.SIG_IGN)
            cext.exec_when_started(r, "/bin/sh", ["sh", "-c", "exit 7"], ENV)
        except OSError as e:
            ok = (
                e.errno == errno.ECANCELED
                and e.strerror.startswith(f"exec_when_started({r}, '/bin/sh'): ")
                # the caller's dispositions are back: SIGPIPE ignored again
                and int(status_masks()["SigIgn"], 16) & 1 << (signal.SIGPIPE - 1)
            )
            code = 42 if ok else 43
        finally:
            os._exit(code)
    os.close(r)
    time.sleep(0.1)
    os.close(w)  # no byte: abort
    assert wait_exit(pid) == 42


SH_MASKS = ("/bin/sh", ["sh", "-c", "grep -E '^Sig(Ign|Blk)' /proc/self/status"])
# dash clears its blocked mask at startup, so the mask is read by grep itself
GREP_MASKS = ("/bin/grep", ["grep", "-E", "^Sig(Ign|Blk)", "/proc/self/status"])


def _exec_and_read_masks(use_shim, program):
    """Fork a child with SIGPIPE and SIGXFSZ ignored (as Python has them) and
    SIGUSR1 blocked that execs program, which prints its own signal masks
    -> {"SigIgn": int, "SigBlk": int}."""
    path, argv = program
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - child
        try:
            os.close(r)
            os.dup2(w, 1)
            signal.signal(signal.SIGPIPE, signal.SIG_IGN)
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
            signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGUSR1})
            if use_shim:
                cext.exec_when_started(-1, path, argv, ENV)
            else:
                os.execve(path, argv, dict(e.split("=", 1) for e in ENV))
        finally:
            os._exit(100)
    os.close(w)
    with os.fdopen(r, "rb") as f:
        out = f.read().decode()
    assert wait_exit(pid) == 0, out
    return {k: int(v, 16) for k, v in (line.split(":") for line in out.splitlines())}


PIPE_BIT = 1 << (signal.SIGPIPE - 1)
XFSZ_BIT = 1 << (signal.SIGXFSZ - 1)
USR1_BIT = 1 << (signal.SIGUSR1 - 1)


def test_exec_when_started_resets_ignored_signals():
    # control: a plain execve keeps Python's ignored SIGPIPE and SIGXFSZ
    plain = _exec_and_read_masks(False, SH_MASKS)
    assert plain["SigIgn"] & PIPE_BIT and plain["SigIgn"] & XFSZ_BIT
    # the shim starts the program with default dispositions
    masks = _exec_and_read_masks(True, SH_MASKS)
    assert not masks["SigIgn"] & PIPE_BIT
    assert not masks["SigIgn"] & XFSZ_BIT


def test_exec_when_started_unblocks_signals():
    assert _exec_and_read_masks(False, GREP_MASKS)["SigBlk"] & USR1_BIT  # control
    masks = _exec_and_read_masks(True, GREP_MASKS)
    assert masks["SigBlk"] == 0
    assert masks["SigIgn"] == 0


def test_exec_when_started_failure_names_the_path(tmp_path):
    missing = tmp_path / "no-such-binary"

    def child():
        with pytest.raises(FileNotFoundError) as info:
            cext.exec_when_started(-1, missing, ["x"], [])
        assert info.value.strerror == (f"exec_when_started(-1, '{missing}'): No such file or directory")
        with pytest.raises(ValueError):
            cext.exec_when_started(-1, "/bin/true", [], [])

    in_child(child)
