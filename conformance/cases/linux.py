"""Linux cases (config-linux.md): filesystems, namespaces, devices, network devices,
sysctl, seccomp, propagation, masked and read-only paths."""

from __future__ import annotations

import array
import contextlib
import json
import os
import socket
import subprocess
import threading

from ..model import case
from ..runner import CaseContext
from .util import check_refused, parse_mountinfo, top_mount

NS_FILE = {
    "pid": "pid",
    "network": "net",
    "mount": "mnt",
    "ipc": "ipc",
    "uts": "uts",
    "user": "user",
    "cgroup": "cgroup",
    "time": "time",
}
USER_MAP = [{"containerID": 0, "hostID": 100000, "size": 65536}]


def _host_ns(kind: str) -> str:
    return os.readlink(f"/proc/self/ns/{NS_FILE[kind]}")


def _namespaces(kinds):
    def edit(cfg):
        cfg["linux"]["namespaces"] = [{"type": k} for k in kinds]
        if "uts" not in kinds:
            cfg.pop("hostname", None)
        if "user" in kinds:
            cfg["linux"]["uidMappings"] = USER_MAP
            cfg["linux"]["gidMappings"] = USER_MAP

    return edit


@case(
    *(f"linux.namespaces.new-{k}" for k in ("pid", "network", "mount", "ipc", "uts", "cgroup")),
    "linux.filesystems.proc",
    "linux.filesystems.sys",
    "linux.filesystems.devpts",
    "linux.filesystems.shm",
    "linux.masked-paths.file",
    "linux.masked-paths.dir",
    "linux.readonly-paths",
    "linux.rootfs-propagation",
)
def namespaces_and_paths(t: CaseContext) -> None:
    kinds = ("pid", "network", "mount", "ipc", "uts", "cgroup")

    def edit(cfg):
        _namespaces(kinds)(cfg)
        cfg["linux"]["rootfsPropagation"] = "private"
        cfg["linux"]["readonlyPaths"].append("/rodir")

    found = t.inspect(
        [
            "ns",
            "mountinfo",
            "file:/proc/kcore",
            "ls:/sys/firmware",
            "write:/proc/sys/kernel/hostname",
            "mkfile:/rodir",
        ],
        edit,
        {"/rodir/keep": ""},
    )
    for k in kinds:
        got = found["ns"][NS_FILE[k]]
        t.check(
            f"linux.namespaces.new-{k}",
            got and got != _host_ns(k),
            f"a {k} namespace other than {_host_ns(k)}",
            got,
        )
    mounts = parse_mountinfo(found["mountinfo"])
    for rid, point, fs in (
        ("proc", "/proc", "proc"),
        ("sys", "/sys", "sysfs"),
        ("devpts", "/dev/pts", "devpts"),
        ("shm", "/dev/shm", "tmpfs"),
    ):
        m = top_mount(mounts, point)
        t.eq(f"linux.filesystems.{rid}", m.fstype if m else None, fs)
    kcore = found["file:/proc/kcore"]
    t.check(
        "linux.masked-paths.file",
        kcore.get("data") == "" or not kcore.get("ok"),
        "/proc/kcore empty or unreadable",
        kcore,
    )
    t.eq("linux.masked-paths.dir", found["ls:/sys/firmware"], [])
    w1, w2 = found["write:/proc/sys/kernel/hostname"], found["mkfile:/rodir"]
    t.check(
        "linux.readonly-paths",
        w1.get("errno") == "EROFS" and w2.get("errno") == "EROFS",
        "EROFS writing /proc/sys/kernel/hostname and creating a file in /rodir",
        f"{w1} {w2}",
    )
    root = top_mount(mounts, "/")
    t.check(
        "linux.rootfs-propagation",
        root is not None and not {"shared", "master"} & root.tokens,
        "/ neither shared nor slave",
        root.line if root else "no / mount",
    )


@case("linux.namespaces.new-user", "linux.userns.mappings", "linux.userns.no-chown")
def user_namespace(t: CaseContext) -> None:
    kinds = ("pid", "mount", "uts", "ipc", "network", "user")  # sysfs needs its own netns
    found = t.inspect(["ns", "file:/proc/self/uid_map", "file:/proc/self/gid_map"], _namespaces(kinds))
    got = found["ns"]["user"]
    t.check("linux.namespaces.new-user", got != _host_ns("user"), "a new user namespace", got)
    maps = [found[f"file:/proc/self/{m}_map"].get("data", "").split() for m in ("uid", "gid")]
    t.eq("linux.userns.mappings", maps, [["0", "100000", "65536"]] * 2)
    owner = os.stat(t.bundles[-1] / "rootfs" / "checker").st_uid
    t.eq("linux.userns.no-chown", owner, 0)


@case("linux.namespaces.new-time")
def time_namespace(t: CaseContext) -> None:
    found = t.inspect(["ns"], _namespaces(("pid", "mount", "time")))
    got = found["ns"]["time"]
    t.check("linux.namespaces.new-time", got != _host_ns("time"), "a new time namespace", got)


@case("linux.namespaces.inherit", "linux.namespaces.path")
def namespace_join(t: CaseContext) -> None:
    holder = subprocess.Popen(["unshare", "--net", "sleep", "30"], start_new_session=True)
    try:
        path = f"/proc/{holder.pid}/ns/net"
        for _ in range(100):
            if os.readlink(path) != _host_ns("network"):
                break
            threading.Event().wait(0.02)
        target = os.readlink(path)

        def edit(cfg):
            cfg["linux"]["namespaces"] = [{"type": "mount"}, {"type": "network", "path": path}]
            cfg.pop("hostname")

        found = t.inspect(["ns"], edit)
        t.eq("linux.namespaces.path", found["ns"]["net"], target)
        t.eq("linux.namespaces.inherit", found["ns"]["uts"], _host_ns("uts"))
    finally:
        holder.kill()
        holder.wait()


@case("linux.namespaces.path-wrong-type")
def namespace_wrong_type(t):
    def edit(cfg):
        cfg["linux"]["namespaces"] = [{"type": "mount"}, {"type": "network", "path": "/proc/self/ns/uts"}]

    check_refused(t, "linux.namespaces.path-wrong-type", edit, "a uts namespace path for network")


@case("linux.namespaces.duplicate")
def namespace_duplicate(t):
    def edit(cfg):
        cfg["linux"]["namespaces"] += [{"type": "pid"}]

    check_refused(t, "linux.namespaces.duplicate", edit, "two pid namespaces")


DEFAULT_DEVICES = {
    "null": (1, 3),
    "zero": (1, 5),
    "full": (1, 7),
    "random": (1, 8),
    "urandom": (1, 9),
    "tty": (5, 0),
}


@case(
    "linux.devices.created",
    "linux.devices.attributes",
    *(f"linux.devices.default-{d}" for d in (*DEFAULT_DEVICES, "ptmx")),
)
def devices(t: CaseContext) -> None:
    def edit(cfg):
        cfg["linux"]["devices"] = [
            {
                "path": "/dev/conf-null",
                "type": "c",
                "major": 1,
                "minor": 3,
                "fileMode": 0o640,
                "uid": 1000,
                "gid": 2000,
            }
        ]

    probes = ["stat:/dev/conf-null", "stat:/dev/ptmx", *(f"stat:/dev/{d}" for d in DEFAULT_DEVICES)]
    found = t.inspect(probes, edit)
    st = found["stat:/dev/conf-null"]
    t.eq("linux.devices.created", (st.get("type"), st.get("major"), st.get("minor")), ("char", 1, 3))
    t.eq("linux.devices.attributes", (st.get("mode"), st.get("uid"), st.get("gid")), (0o640, 1000, 2000))
    for name, (major, minor) in DEFAULT_DEVICES.items():
        st = found[f"stat:/dev/{name}"]
        t.eq(
            f"linux.devices.default-{name}",
            (st.get("type"), st.get("major"), st.get("minor")),
            ("char", major, minor),
        )
    st = found["stat:/dev/ptmx"]
    t.check(
        "linux.devices.default-ptmx",
        st.get("link") in ("pts/ptmx", "/dev/pts/ptmx") or (st.get("type"), st.get("major")) == ("char", 5),
        "/dev/ptmx -> pts/ptmx or char 5:2",
        st,
    )


@case("linux.devices.conflict")
def device_conflict(t: CaseContext) -> None:
    def edit(cfg):
        cfg["linux"]["devices"] = [{"path": "/conf/dev1", "type": "c", "major": 1, "minor": 3}]

    cfg = t.config(["/bin/true"])
    edit(cfg)
    bundle = t.bundle(cfg, {"/conf/dev1": "a regular file\n"})
    call = t.create(bundle, t.new_id())
    t.check("linux.devices.conflict", not call.ok, "create fails", f"exit {call.rc}")


def _ip(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["ip", *args], capture_output=True, text=True, timeout=10)


@contextlib.contextmanager
def _host_veth(name: str, mtu: int):
    """A veth pair on the host: ``name``, the end a case moves into a container, and its
    peer, which stays on the host.  Yields the peer, or None if the host cannot make one.
    (A veth, not a dummy device: the dummy module may be missing, veth rarely is.)
    Removed afterwards whatever happened: deleting the peer destroys both ends, wherever
    the other one is."""
    peer = f"{name}p"
    if _ip("link", "add", name, "mtu", str(mtu), "type", "veth", "peer", "name", peer).returncode != 0:
        yield None
        return
    try:
        yield peer
    finally:
        for dev in (peer, name):
            if _ip("link", "show", "dev", dev).returncode == 0:
                _ip("link", "del", dev)


@case(
    "linux.netdevices.moved",
    "linux.netdevices.up",
    "linux.netdevices.attributes",
    "linux.netdevices.no-lifecycle",
)
def net_devices(t: CaseContext) -> None:
    name = f"cf{t.tag}"
    with _host_veth(name, 1400) as peer:
        if peer is None:
            for rid in t.case.reqs:
                t.skip(rid, "cannot create a veth pair on this host")
            return

        def edit(cfg):
            cfg["linux"]["netDevices"] = {name: {"name": "conf0"}}

        found = t.inspect(
            ["file:/sys/class/net/conf0/mtu", "file:/sys/class/net/conf0/flags", "ls:/sys/class/net"], edit
        )
        moved = "conf0" in found["ls:/sys/class/net"]
        t.check("linux.netdevices.moved", moved, "conf0 in the container", found["ls:/sys/class/net"])
        flags = found["file:/sys/class/net/conf0/flags"].get("data", "0").strip() or "0"
        t.check("linux.netdevices.up", int(flags, 16) & 1 == 1, "IFF_UP set", flags)
        t.eq(
            "linux.netdevices.attributes",
            found["file:/sys/class/net/conf0/mtu"].get("data", "").strip(),
            "1400",
        )
        # `run` has deleted the container: a device moved back out would be on the host now
        back = [dev for dev in (name, "conf0") if _ip("link", "show", "dev", dev).returncode == 0]
        t.check(
            "linux.netdevices.no-lifecycle",
            moved and not back,
            "the device moved in and not back out to the host",
            f"on the host: {back}" if moved else "the device was never moved in",
        )


@case("linux.netdevices.exists")
def net_device_missing(t):
    def edit(cfg):
        cfg["linux"]["netDevices"] = {f"cfnone{t.tag[:6]}": {}}

    check_refused(t, "linux.netdevices.exists", edit, "a missing network interface")


@case("linux.sysctl")
def sysctl(t: CaseContext) -> None:
    def edit(cfg):
        cfg["linux"]["sysctl"] = {"net.ipv4.ip_forward": "1", "kernel.shmmax": "123456789"}

    found = t.inspect(["file:/proc/sys/net/ipv4/ip_forward", "file:/proc/sys/kernel/shmmax"], edit)
    got = (
        found["file:/proc/sys/net/ipv4/ip_forward"].get("data", "").strip(),
        found["file:/proc/sys/kernel/shmmax"].get("data", "").strip(),
    )
    t.eq("linux.sysctl", got, ("1", "123456789"))


@case("linux.seccomp.errno", "linux.seccomp.filter-mode")
def seccomp_errno(t: CaseContext) -> None:
    def edit(cfg):
        cfg["linux"]["seccomp"] = {
            "defaultAction": "SCMP_ACT_ALLOW",
            "architectures": ["SCMP_ARCH_X86_64"],
            "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 95}],
        }

    call = t.sh("mkdir /tmp/x 2>&1; grep Seccomp: /proc/self/status", edit)
    t.must(call, "container")
    t.check(
        "linux.seccomp.errno", "not supported" in call.out, "mkdir fails with EOPNOTSUPP", call.out.strip()
    )
    t.check("linux.seccomp.filter-mode", "Seccomp:\t2" in call.out, "Seccomp: 2", call.out.strip())


# syscalls the runtimes and the checker need after the filter is loaded; getcwd is not one
ALLOWED = """accept4 access arch_prctl bind brk capget capset chdir clock_gettime clone clone3 close
close_range connect dup dup2 dup3 epoll_create1 epoll_ctl epoll_pwait epoll_wait execve execveat
exit exit_group faccessat faccessat2 fchdir fchmod fchown fcntl fstat fstatfs futex getdents64
getegid geteuid getgid getgroups getpgrp getpid getppid getrandom getrlimit gettid getuid ioctl
kill lseek lstat madvise mmap mprotect munmap nanosleep newfstatat open openat openat2 pipe pipe2
poll ppoll prctl pread64 prlimit64 read readlink readlinkat rseq rt_sigaction rt_sigprocmask
rt_sigreturn sched_getaffinity sched_yield select set_robust_list set_tid_address setgid setgroups
setuid sigaltstack stat statfs statx tgkill uname wait4 waitid write writev umask personality""".split()


@case("linux.seccomp.default-action")
def seccomp_default(t: CaseContext) -> None:
    def edit(cfg):
        cfg["linux"]["seccomp"] = {
            "defaultAction": "SCMP_ACT_ERRNO",
            "defaultErrnoRet": 1,
            "syscalls": [{"names": ALLOWED, "action": "SCMP_ACT_ALLOW"}],
        }

    found = t.inspect(["cwd", "umask"], edit)
    t.eq("linux.seccomp.default-action", found["cwd"], "")


@case("linux.seccomp.errno-unsupported")
def seccomp_bad_errno(t):
    def edit(cfg):
        cfg["linux"]["seccomp"] = {
            "defaultAction": "SCMP_ACT_ALLOW",
            "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_KILL", "errnoRet": 1}],
        }

    check_refused(t, "linux.seccomp.errno-unsupported", edit, "errnoRet with SCMP_ACT_KILL")


@case("linux.seccomp.listener-failure")
def seccomp_listener_missing(t):
    def edit(cfg):
        cfg["linux"]["seccomp"] = {
            "defaultAction": "SCMP_ACT_ALLOW",
            "listenerPath": f"/run/conformance-none-{t.tag}.sock",
            "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_NOTIFY"}],
        }

    check_refused(t, "linux.seccomp.listener-failure", edit, "an unreachable listenerPath")


@case("linux.seccomp.listener-state", "linux.seccomp.listener-one-per-connection")
def seccomp_listener(t: CaseContext) -> None:
    sock_path = t.host_dir("listener") / "seccomp.sock"
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(str(sock_path))
    server.listen(4)
    server.settimeout(15)
    got: dict = {}

    def serve():
        try:
            conn, _ = server.accept()
        except OSError as e:
            got["error"] = repr(e)
            return
        with conn:
            conn.settimeout(10)
            fds = array.array("i")
            chunks = []
            while True:
                data, anc, _, _ = conn.recvmsg(65536, socket.CMSG_SPACE(16 * fds.itemsize))
                for level, kind, payload in anc:
                    if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
                        fds.frombytes(payload[: len(payload) - len(payload) % fds.itemsize])
                if not data:
                    break
                chunks.append(data)
            got["payload"], got["fds"] = b"".join(chunks), list(fds)
            for fd in fds:
                os.close(fd)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()

    def edit(cfg):
        cfg["linux"]["seccomp"] = {
            "defaultAction": "SCMP_ACT_ALLOW",
            "listenerPath": str(sock_path),
            "listenerMetadata": "conformance",
            "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_NOTIFY"}],
        }

    try:
        call = t.sh("true", edit)
        thread.join(15)
    finally:
        server.close()
    try:
        doc = json.loads(got.get("payload", b"") or b"null")
    except ValueError:
        doc = "not one JSON document: " + got.get("payload", b"")[:200].decode(errors="replace")
    ok = (
        isinstance(doc, dict)
        and got.get("fds")
        and doc.get("metadata") == "conformance"
        and isinstance(doc.get("state"), dict)
    )
    t.check(
        "linux.seccomp.listener-state",
        bool(ok) and call.ok,
        "a state with metadata and a notify fd via SCM_RIGHTS",
        f"{doc!r:.200} fds={got.get('fds')} {got.get('error', '')} run={call.rc}",
    )
    t.check(
        "linux.seccomp.listener-one-per-connection",
        isinstance(doc, dict) and not thread.is_alive(),
        "one JSON document, then the connection is closed",
        f"{doc!r:.120}",
    )
