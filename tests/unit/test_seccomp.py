"""runtime.seccomp and the cext seccomp wrappers: checking and compiling linux.seccomp,
loading it in a forked child (the test process stays unfiltered), the notify listener's way to
an agent, the compiled-filter cache and the features object."""

from __future__ import annotations

import errno
import json
import os
import select
import signal
import socket
import sys
import traceback

import pytest

import cext
from runtime import seccomp
from runtime.seccomp import SeccompError, compile_filter
from runtime.sync import Channel

EXDEV = errno.EXDEV  # an errno no test syscall returns by itself


def rule(names, action="SCMP_ACT_ERRNO", **extra):
    return {"names": list(names), "action": action, **extra}


def profile(*rules, default="SCMP_ACT_ALLOW", **extra):
    return {"defaultAction": default, "syscalls": list(rules), **extra}


def arg(index, value, op, two=None):
    a = {"index": index, "value": value, "op": op}
    if two is not None:
        a["valueTwo"] = two
    return a


def in_filtered_child(flt, body, nnp=True):
    """Fork; the child loads `flt` and runs body() -> str; returns (exit code, that text or
    the child's traceback). A negative exit code is the signal that killed the child."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - child
        code = 0
        try:
            os.close(r)
            if nnp:
                cext.prctl(cext.PR_SET_NO_NEW_PRIVS, 1)
            flt.load()
            text = body()
        except BaseException:
            code, text = 1, traceback.format_exc()
        try:
            os.write(w, text.encode())
        finally:
            os._exit(code)
    os.close(w)
    with os.fdopen(r, "rb") as f:
        text = f.read().decode(errors="replace")
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status), text


def errno_of(fn, *args) -> str:
    try:
        fn(*args)
    except OSError as e:
        return errno.errorcode.get(e.errno, str(e.errno))
    return "ok"


# --------------------------------------------------------------------------- loading


def test_errno_action_blocks_mkdir_with_eperm_and_another_call_with_enosys(tmp_path):
    flt = compile_filter(profile(rule(["mkdir", "mkdirat"]),
                                 rule(["rmdir"], errnoRet=errno.ENOSYS)))
    keep = tmp_path / "keep"
    keep.mkdir()

    def body():
        return " ".join([errno_of(os.mkdir, tmp_path / "new"), errno_of(os.rmdir, keep),
                         errno_of(os.listdir, tmp_path)])

    code, text = in_filtered_child(flt, body)
    assert (code, text) == (0, "EPERM ENOSYS ok")
    assert not (tmp_path / "new").exists() and keep.is_dir()


@pytest.mark.parametrize("ret,expected", [(EXDEV, "EXDEV"), (None, "EPERM")])
def test_default_errno_ret(tmp_path, ret, expected):
    # what the child still does after the load is allowed; mkdir falls to the default action
    names = ["read", "write", "close", "exit", "exit_group", "brk", "mmap", "munmap", "mremap",
             "madvise", "mprotect", "rt_sigaction", "rt_sigprocmask", "rt_sigreturn", "futex",
             "getpid", "gettid", "fstat", "newfstatat", "lseek", "ioctl", "getrandom", "openat",
             "clock_gettime", "sigaltstack"]
    extra = {} if ret is None else {"defaultErrnoRet": ret}
    flt = compile_filter(profile(rule(names, "SCMP_ACT_ALLOW"), default="SCMP_ACT_ERRNO", **extra))
    code, text = in_filtered_child(flt, lambda: errno_of(os.mkdir, tmp_path / "d"))
    assert (code, text) == (0, expected)


def test_trace_action_without_a_tracer_fails_with_enosys(tmp_path):
    flt = compile_filter(profile(rule(["mkdir", "mkdirat"], "SCMP_ACT_TRACE", errnoRet=7)))
    assert in_filtered_child(flt, lambda: errno_of(os.mkdir, tmp_path / "d")) == (0, "ENOSYS")


@pytest.mark.parametrize("action", ["SCMP_ACT_KILL_PROCESS", "SCMP_ACT_KILL", "SCMP_ACT_KILL_THREAD",
                                    "SCMP_ACT_TRAP"])
def test_killing_actions_end_the_child_with_sigsys(tmp_path, action):
    flt = compile_filter(profile(rule(["mkdir", "mkdirat"], action)))
    code, _ = in_filtered_child(flt, lambda: errno_of(os.mkdir, tmp_path / "d"))
    assert code == -signal.SIGSYS
    assert not (tmp_path / "d").exists()


def test_log_action_allows(tmp_path):
    flt = compile_filter(profile(rule(["mkdir", "mkdirat"], "SCMP_ACT_LOG")))
    assert in_filtered_child(flt, lambda: errno_of(os.mkdir, tmp_path / "d")) == (0, "ok")
    assert (tmp_path / "d").is_dir()


def test_load_without_nnp_needs_cap_sys_admin():
    flt = compile_filter(profile(rule(["mkdir"])))

    def body():
        cext.capset(0, 0, 0)  # no CAP_SYS_ADMIN, no no_new_privs
        try:
            flt.load_or_explain()
        except OSError as e:
            return f"{errno.errorcode[e.errno]}: {e.strerror}"
        return "loaded"

    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - child
        try:
            os.write(w, body().encode())
        finally:
            os._exit(0)
    os.close(w)
    with os.fdopen(r, "rb") as f:
        text = f.read().decode()
    os.waitpid(pid, 0)
    assert text == "EACCES: loading a filter needs noNewPrivileges or CAP_SYS_ADMIN"


# --------------------------------------------------------------------------- argument operators

# close(2) of descriptors that are not open: an allowed call fails with EBADF, a blocked one
# with EXDEV.
OPERATOR_CASES = [
    ("SCMP_CMP_EQ", 0x1022, None, [0x1022], [0x1027]),
    ("SCMP_CMP_NE", 0x1022, None, [0x1027, 0x1000], [0x1022]),
    ("SCMP_CMP_LT", 0x1020, None, [0x101F, 0x1000], [0x1020, 0x1021]),
    ("SCMP_CMP_LE", 0x1020, None, [0x1020, 0x101F], [0x1021]),
    ("SCMP_CMP_GT", 0x1700, None, [0x1701, 0x1777], [0x1700]),
    ("SCMP_CMP_GE", 0x1700, None, [0x1700, 0x1777], [0x16FF]),
    ("SCMP_CMP_MASKED_EQ", 0x700, 0x700, [0x1700, 0x1777], [0x1077, 0x1600]),
]


@pytest.mark.parametrize("op,value,two,blocked,allowed", OPERATOR_CASES, ids=[c[0] for c in OPERATOR_CASES])
def test_argument_operators(op, value, two, blocked, allowed):
    flt = compile_filter(profile(rule(["close"], errnoRet=EXDEV, args=[arg(0, value, op, two)])))

    def body():
        return " ".join(errno_of(os.close, fd) for fd in blocked + allowed)

    code, text = in_filtered_child(flt, body)
    assert code == 0, text
    assert text.split() == ["EXDEV"] * len(blocked) + ["EBADF"] * len(allowed)


def test_personality_query_blocked_only_with_eq():
    # personality(0xffffffff) only queries; block exactly that, as Podman's profile allows it
    flt = compile_filter(profile(rule(["personality"], errnoRet=EXDEV,
                                      args=[arg(0, 0xFFFFFFFF, "SCMP_CMP_EQ")])))

    def body():
        return f"{errno_of(cext.personality, 0xFFFFFFFF)} {errno_of(cext.personality, 0)}"

    assert in_filtered_child(flt, body) == (0, "EXDEV ok")


def test_conditions_on_different_arguments_all_have_to_match():
    me = os.getpid()
    flt = compile_filter(profile(rule(["kill"], errnoRet=EXDEV,
                                      args=[arg(0, 0, "SCMP_CMP_GT"), arg(1, 0, "SCMP_CMP_EQ")])))

    def body():
        # kill(pid, 0) checks only; kill(0, 0) is the process group
        return " ".join([errno_of(os.kill, os.getpid(), 0), errno_of(os.kill, me, 0),
                         errno_of(os.kill, 0, 0)])

    assert in_filtered_child(flt, body) == (0, "EXDEV EXDEV ok")


def test_conditions_on_one_argument_are_alternatives():
    flt = compile_filter(profile(rule(["close"], errnoRet=EXDEV,
                                      args=[arg(0, 0x1022, "SCMP_CMP_EQ"), arg(0, 0x1027, "SCMP_CMP_EQ")])))
    code, text = in_filtered_child(flt, lambda: " ".join(errno_of(os.close, fd)
                                                         for fd in (0x1022, 0x1027, 0x1077)))
    assert (code, text) == (0, "EXDEV EXDEV EBADF")


# --------------------------------------------------------------------------- architectures


def test_architectures_add_to_the_native_one(tmp_path):
    native = compile_filter(profile(rule(["mkdir"])))
    family = compile_filter(profile(rule(["mkdir"]), architectures=[
        "SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32", "SCMP_ARCH_AARCH64", "SCMP_ARCH_X86"]))
    assert len(family.bpf) > len(native.bpf)
    assert family.skipped == []
    assert in_filtered_child(family, lambda: errno_of(os.mkdir, tmp_path / "d")) == (0, "EPERM")


def test_architectures_this_libseccomp_lacks_are_skipped():
    flt = compile_filter(profile(architectures=["SCMP_ARCH_X86_64", "SCMP_ARCH_LOONGARCH64"]))
    known = cext.seccomp_arch_resolve_name("loongarch64") != 0
    assert ("SCMP_ARCH_LOONGARCH64" in flt.skipped) is not known


def test_architectures_of_the_other_byte_order_are_skipped(tmp_path):
    big = "SCMP_ARCH_S390X" if sys.byteorder == "little" else "SCMP_ARCH_X86_64"
    for _ in range(2):  # compiled, then from the cache: the same list
        flt = compile_filter(profile(architectures=[big]), cache_dir=str(tmp_path))
        assert flt.skipped == [big]


def test_unknown_syscall_names_are_skipped(tmp_path):
    flt = compile_filter(profile(rule(["no_such_call", "mkdir", "mkdirat", "no_such_call"])))
    assert flt.skipped == ["no_such_call"]
    assert in_filtered_child(flt, lambda: errno_of(os.mkdir, tmp_path / "d")) == (0, "EPERM")


def test_syscalls_of_other_architectures_only_are_accepted():
    # socketcall exists on x86 but not on x86_64: libseccomp takes it (pseudo number)
    flt = compile_filter(profile(rule(["socketcall"]), architectures=["SCMP_ARCH_X86"]))
    assert flt.skipped == []


def test_a_rule_repeating_the_default_action_is_dropped():
    flt = compile_filter(profile(rule(["mkdir"], "SCMP_ACT_ALLOW"), rule(["getcwd"], errnoRet=1),
                                 default="SCMP_ACT_ERRNO"))
    assert isinstance(flt.bpf, bytes)


# --------------------------------------------------------------------------- checks


BAD_PROFILES = [
    ({"defaultAction": "SCMP_ACT_FOO"}, "/linux/seccomp/defaultAction", 'unknown action "SCMP_ACT_FOO"'),
    ({}, "/linux/seccomp/defaultAction", "missing"),
    (profile(rule(["mkdir"]), rule(["rmdir"]), rule(["chdir"]), rule(["mkdir"], "SCMP_ACT_FOO")),
     "/linux/seccomp/syscalls/3/action", 'unknown action "SCMP_ACT_FOO"'),
    (profile(defaultErrnoRet=5), "/linux/seccomp/defaultErrnoRet", "takes no errno"),
    (profile(rule(["mkdir"], "SCMP_ACT_KILL", errnoRet=5)), "/linux/seccomp/syscalls/0/errnoRet",
     "takes no errno"),
    (profile(rule(["mkdir"], errnoRet=-1)), "/linux/seccomp/syscalls/0/errnoRet", "not an errno"),
    (profile(rule(["mkdir"], errnoRet=70000)), "/linux/seccomp/syscalls/0/errnoRet", "not an errno"),
    (profile(architectures=["SCMP_ARCH_X86_64", "x86"]), "/linux/seccomp/architectures/1",
     'unknown architecture "x86"'),
    (profile(flags=["SECCOMP_FILTER_FLAG_NOPE"]), "/linux/seccomp/flags/0", "unknown flag"),
    (profile({"names": [], "action": "SCMP_ACT_ERRNO"}), "/linux/seccomp/syscalls/0/names", "at least one"),
    (profile({"action": "SCMP_ACT_ERRNO"}), "/linux/seccomp/syscalls/0/names", "at least one"),
    (profile(rule(["mkdir", 7])), "/linux/seccomp/syscalls/0/names/1", "syscall name"),
    (profile(rule(["mkdir"], args=[arg(6, 0, "SCMP_CMP_EQ")])), "/linux/seccomp/syscalls/0/args/0/index",
     "0 to 5"),
    (profile(rule(["mkdir"], args=[arg(0, 0, "SCMP_CMP_EQ"), arg(1, 0, "SCMP_CMP_XX")])),
     "/linux/seccomp/syscalls/0/args/1/op", 'unknown operator "SCMP_CMP_XX"'),
    (profile(rule(["mkdir"], args=[arg(0, 2**64, "SCMP_CMP_EQ")])), "/linux/seccomp/syscalls/0/args/0/value",
     "64-bit"),
    (profile(rule(["mkdir"], args=[arg(0, 1, "SCMP_CMP_MASKED_EQ", -1)])),
     "/linux/seccomp/syscalls/0/args/0/valueTwo", "64-bit"),
    (profile(default="SCMP_ACT_NOTIFY", listenerPath="/x"), "/linux/seccomp/defaultAction", "NOTIFY"),
    (profile(rule(["mkdir"], "SCMP_ACT_NOTIFY")), "/linux/seccomp/listenerPath", "required"),
    (profile(rule(["read", "write"], "SCMP_ACT_NOTIFY"), listenerPath="/x"),
     "/linux/seccomp/syscalls/0/names/1", "write"),
    (profile(listenerMetadata="m"), "/linux/seccomp/listenerMetadata", "without listenerPath"),
    ([], "/linux/seccomp", "object"),
]


@pytest.mark.parametrize("bad,pointer,words", BAD_PROFILES, ids=[p for _, p, _ in BAD_PROFILES])
def test_errors_name_the_field(bad, pointer, words):
    with pytest.raises(SeccompError) as info:
        compile_filter(bad)
    assert str(info.value).startswith(pointer + ": "), str(info.value)
    assert words in str(info.value)
    assert info.value.pointer == pointer


def test_error_message_format():
    with pytest.raises(SeccompError) as info:
        compile_filter(profile(rule(["a"]), rule(["b"]), rule(["c"]), rule(["mkdir"], "SCMP_ACT_FOO")))
    assert str(info.value) == '/linux/seccomp/syscalls/3/action: unknown action "SCMP_ACT_FOO"'


def test_errno_ret_zero_is_kept(tmp_path):
    # ERRNO(0): the call "succeeds" without running
    flt = compile_filter(profile(rule(["mkdir", "mkdirat"], errnoRet=0)))
    assert in_filtered_child(flt, lambda: errno_of(os.mkdir, tmp_path / "d")) == (0, "ok")
    assert not (tmp_path / "d").exists()


# --------------------------------------------------------------------------- flags


def test_flags_become_seccomp2_flags():
    names = ["SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW"]
    flt = compile_filter(profile(flags=names))
    assert flt.flags == (cext.SECCOMP_FILTER_FLAG_TSYNC | cext.SECCOMP_FILTER_FLAG_LOG
                         | cext.SECCOMP_FILTER_FLAG_SPEC_ALLOW)
    assert not flt.notify
    assert in_filtered_child(flt, lambda: "loaded") == (0, "loaded")


def test_notify_adds_a_listener_and_tsync_esrch():
    flt = compile_filter(profile(rule(["mkdir"], "SCMP_ACT_NOTIFY"), listenerPath="/x",
                                 flags=["SECCOMP_FILTER_FLAG_TSYNC"]))
    assert flt.notify
    assert flt.flags & cext.SECCOMP_FILTER_FLAG_NEW_LISTENER
    assert flt.flags & cext.SECCOMP_FILTER_FLAG_TSYNC_ESRCH
    assert "NEW_LISTENER" in repr(flt)


@pytest.mark.skipif(not seccomp.flag_supported("SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"),
                    reason="kernel without SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV (5.19)")
def test_wait_killable_recv_only_with_a_listener():
    name = "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"
    plain = compile_filter(profile(flags=[name]))
    assert not plain.flags & cext.SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV
    notify = compile_filter(profile(rule(["mkdir"], "SCMP_ACT_NOTIFY"), listenerPath="/x", flags=[name]))
    assert notify.flags & cext.SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV

    def body():
        fd = notify.load()
        return "listener" if fd > 0 else "none"

    assert in_filtered_child(plain, lambda: "loaded") == (0, "loaded")
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - child
        cext.prctl(cext.PR_SET_NO_NEW_PRIVS, 1)
        os.write(w, body().encode())
        os._exit(0)
    os.close(w)
    with os.fdopen(r, "rb") as f:
        assert f.read() == b"listener"
    os.waitpid(pid, 0)


# --------------------------------------------------------------------------- SCMP_ACT_NOTIFY


def test_notify_listener_reaches_the_agent_with_the_process_state(tmp_path):
    """The init's side (Filter.install: load, `seccomp <fd>` on the channel) and the runtime's
    (forward_listener: pidfd_getfd, then the state and fd to listenerPath), with a toy agent."""
    from runtime.kernel import RealKernel

    path = str(tmp_path / "agent.sock")
    agent = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    agent.bind(path)
    agent.listen(1)
    agent.settimeout(10)
    flt = compile_filter(profile(rule(["mkdir", "mkdirat"], "SCMP_ACT_NOTIFY"), listenerPath=path,
                                 listenerMetadata="meta data"))
    ours, theirs = Channel.pair()
    target = tmp_path / "d"
    pid = os.fork()
    if pid == 0:  # pragma: no cover - child: the container init
        code = 1
        try:
            ours.close()
            cext.prctl(cext.PR_SET_NO_NEW_PRIVS, 1)
            fd = flt.install(RealKernel("init"), theirs)
            theirs.recv()  # the runtime has its copy now
            os.close(fd)
            theirs.send("result", errno_of(os.mkdir, target))  # waits for the agent
            code = 0
        finally:
            os._exit(code)
    theirs.close()
    conn = None
    try:
        kind, payload = ours.recv()
        assert kind == "seccomp" and int(payload) > 2
        state = {"ociVersion": "1.2.0", "id": "c1", "status": "creating", "pid": pid, "bundle": "/b"}
        seccomp.forward_listener(flt, pid, int(payload), state)
        conn, _ = agent.accept()
        listener, data = cext.recv_fd(conn.fileno(), 65536)
        conn.settimeout(5)
        while chunk := conn.recv(65536):
            data += chunk
        doc = json.loads(data)
        assert doc == {"ociVersion": "1.3.0", "fds": ["seccompFd"], "pid": pid, "metadata": "meta data",
                       "state": state}
        ours.send("go")
        # the child's mkdir is now a pending notification on the agent's listener ...
        assert select.select([listener], [], [], 10)[0] == [listener]
        # ... and fails with ENOSYS once the last listener is gone
        os.close(listener)
        assert ours.recv() == ("result", "ENOSYS")
    finally:
        if conn is not None:
            conn.close()
        agent.close()
        ours.close()
        _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert not target.exists()


def test_send_to_listener_that_is_not_there_names_the_field(tmp_path):
    r, w = os.pipe()
    try:
        with pytest.raises(SeccompError) as info:
            seccomp.send_to_listener(str(tmp_path / "nobody.sock"), r, "{}")
    finally:
        os.close(r)
        os.close(w)
    assert str(info.value).startswith("/linux/seccomp/listenerPath: cannot send")


def test_process_state_json():
    text = seccomp.process_state({"id": "x"}, 42)
    assert json.loads(text) == {"ociVersion": "1.3.0", "fds": ["seccompFd"], "pid": 42, "state": {"id": "x"}}
    assert json.loads(seccomp.process_state({}, 1, "m", "1.0.2"))["metadata"] == "m"


# --------------------------------------------------------------------------- libseccomp's own load


def test_cext_libseccomp_load_and_notify_fd():
    def body():
        ctx = cext.seccomp_init(cext.SCMP_ACT_ALLOW)
        assert cext.seccomp_arch_add(ctx, cext.seccomp_arch_native()) is False
        cext.seccomp_rule_add(ctx, cext.SCMP_ACT_NOTIFY, cext.seccomp_syscall_resolve_name("mkdir"))
        cext.seccomp_attr_set(ctx, cext.SCMP_FLTATR_CTL_NNP, 1)
        cext.seccomp_load(ctx)
        fd = cext.seccomp_notify_fd(ctx)
        cext.seccomp_release(ctx)
        return f"{fd > 2}"

    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - child
        try:
            os.write(w, body().encode())
        except BaseException:
            os.write(w, traceback.format_exc().encode())
        finally:
            os._exit(0)
    os.close(w)
    with os.fdopen(r, "rb") as f:
        text = f.read().decode()
    os.waitpid(pid, 0)
    assert text == "True"


def test_cext_errors():
    assert cext.seccomp_syscall_resolve_name("no_such_call") == cext.SCMP_NR_ERROR
    assert cext.seccomp_arch_resolve_name("vax") == 0
    with pytest.raises(OSError) as info:
        cext.seccomp_set_mode_filter(0, b"1234567")  # not whole instructions
    assert info.value.errno == errno.EINVAL
    assert cext.seccomp_version() >= (2, 5, 0)
    assert cext.seccomp_action_available(cext.SCMP_ACT_ALLOW)
    assert os.path.exists(cext.seccomp_library())


# --------------------------------------------------------------------------- the init's steps


def _init_steps(nnp: bool):
    from oci_spec.model import Spec
    from runtime import container_init
    from runtime.kernel_fake import RecordingKernel
    from runtime.ops.spec_cmd import default_config

    config = default_config()
    config["process"]["terminal"] = False
    config["process"]["noNewPrivileges"] = nnp
    config["linux"]["seccomp"] = profile(rule(["mkdir"]))
    cfg = container_init.InitConfig(Spec.from_dict(config), "c1", "/b", "/b/rootfs", "/run/x/exec.fifo")
    cfg.seccomp = seccomp.compile_filter(config["linux"]["seccomp"])  # as create does, before the fork
    k = RecordingKernel()

    class Chan:
        def send(self, kind, payload=""):
            return True  # the runtime is there (runtime.sync.Channel.send)

        def recv(self):
            return "joined", ""  # the runtime's answer to `cgroup`

    container_init.init(k, cfg, Chan())
    return k.names(), [s for s in k.steps if s.name == "seccomp"]


def test_init_loads_last_with_no_new_privileges():
    names, loads = _init_steps(nnp=True)
    assert len(loads) == 1 and loads[0].field == "/linux/seccomp"
    assert names.index("seccomp") > names.index("close_range")
    assert names.index("seccomp") < names.index("execve")


def test_init_loads_before_the_identity_without_no_new_privileges():
    names, loads = _init_steps(nnp=False)
    assert len(loads) == 1
    assert names.index("seccomp") < names.index("capset")
    assert names.index("seccomp") > names.index("pivot_root")
    # profiles commonly refuse keyctl: the session keyring comes first
    assert names.index("seccomp") > names.index("keyctl")


# --------------------------------------------------------------------------- cache


def test_cache_gives_the_same_program(tmp_path):
    cache = tmp_path / "cache"
    p = profile(rule(["mkdir"]), architectures=["SCMP_ARCH_X86_64", "SCMP_ARCH_X86"])
    first = compile_filter(p, cache_dir=str(cache))
    files = os.listdir(cache)
    assert len(files) == 1 and len(files[0]) == 64
    assert os.stat(cache).st_mode & 0o777 == 0o700
    assert os.stat(cache / files[0]).st_mode & 0o777 == 0o600
    assert compile_filter(p, cache_dir=str(cache)).bpf == first.bpf == compile_filter(p).bpf
    # what the cache holds is what is loaded
    (cache / files[0]).write_bytes(compile_filter(profile(rule(["rmdir"]))).bpf)
    assert compile_filter(p, cache_dir=str(cache)).bpf != first.bpf


def test_cache_ignores_bad_files_and_open_directories(tmp_path):
    cache = tmp_path / "cache"
    p = profile(rule(["mkdir"]))
    good = compile_filter(p, cache_dir=str(cache)).bpf
    (name,) = os.listdir(cache)
    (cache / name).write_bytes(b"123")  # not whole instructions
    assert compile_filter(p, cache_dir=str(cache)).bpf == good
    os.chmod(cache, 0o777)  # others could write: neither read nor written
    (cache / name).write_bytes(compile_filter(profile(rule(["rmdir"]))).bpf)
    assert compile_filter(p, cache_dir=str(cache)).bpf == good
    assert compile_filter(profile(rule(["chdir"])), cache_dir=str(cache))
    assert os.listdir(cache) == [name]


def test_checks_run_even_with_a_cached_program(tmp_path):
    p = profile(rule(["mkdir"]))
    compile_filter(p, cache_dir=str(tmp_path))
    p["defaultErrnoRet"] = 5
    with pytest.raises(SeccompError):
        compile_filter(p, cache_dir=str(tmp_path))


# --------------------------------------------------------------------------- features


def test_features():
    f = seccomp.features()
    assert f["enabled"] is True
    assert f["actions"] == sorted(["SCMP_ACT_KILL", "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_KILL_THREAD",
                                   "SCMP_ACT_TRAP", "SCMP_ACT_ERRNO", "SCMP_ACT_TRACE", "SCMP_ACT_ALLOW",
                                   "SCMP_ACT_LOG", "SCMP_ACT_NOTIFY"])
    assert f["operators"] == ["SCMP_CMP_EQ", "SCMP_CMP_GE", "SCMP_CMP_GT", "SCMP_CMP_LE", "SCMP_CMP_LT",
                              "SCMP_CMP_MASKED_EQ", "SCMP_CMP_NE"]
    assert {"SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32", "SCMP_ARCH_AARCH64",
            "SCMP_ARCH_ARM"} <= set(f["archs"])
    assert f["archs"] == sorted(f["archs"])
    assert f["knownFlags"] == ["SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG",
                               "SECCOMP_FILTER_FLAG_SPEC_ALLOW", "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"]
    assert set(f["supportedFlags"]) <= set(f["knownFlags"])
    assert "SECCOMP_FILTER_FLAG_LOG" in f["supportedFlags"]  # every kernel since 4.14


def test_features_document_uses_it():
    import oci_spec
    from runtime import features

    doc = features.features_document()
    assert doc["linux"]["seccomp"] == seccomp.features()
    assert oci_spec.validate_features(doc) == []


def test_every_recognised_name_compiles():
    f = seccomp.features()
    for action in f["actions"]:
        extra = {"listenerPath": "/x"} if action == "SCMP_ACT_NOTIFY" else {}
        compile_filter(profile(rule(["mkdir"], action), **extra))
    for op in f["operators"]:
        compile_filter(profile(rule(["umask"], args=[arg(0, 1, op, 1)])))
    compile_filter(profile(architectures=f["archs"]))
    compile_filter(profile(rule(["mkdir"], "SCMP_ACT_NOTIFY"), listenerPath="/x", flags=f["supportedFlags"]))
