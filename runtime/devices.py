"""/dev inside the container: device nodes, the standard symlinks, /dev/ptmx."""

import os
import stat

import cext
from runtime.errors import PyruncError
from runtime.paths import Root, clean, parent_path

# (path, major, minor): what every container gets unless the config lists the same path.
DEFAULT_DEVICES = [
    ("/dev/null", 1, 3), ("/dev/zero", 1, 5), ("/dev/full", 1, 7),
    ("/dev/random", 1, 8), ("/dev/urandom", 1, 9), ("/dev/tty", 5, 0),
]
_TYPES = {"c": stat.S_IFCHR, "u": stat.S_IFCHR, "b": stat.S_IFBLK, "p": stat.S_IFIFO}
_LINKS = [("/proc/self/fd", "fd"), ("/proc/self/fd/0", "stdin"), ("/proc/self/fd/1", "stdout"),
          ("/proc/self/fd/2", "stderr")]


class DeviceNode:
    def __init__(self, path, kind, major, minor, mode, uid, gid, field):
        self.path, self.kind, self.major, self.minor = clean(path), kind, major, minor
        self.mode, self.uid, self.gid, self.field = mode, uid, gid, field


def wanted_devices(spec) -> list[DeviceNode]:
    configured = [
        DeviceNode(d.path, d.type, d.major or 0, d.minor or 0,
                   0o666 if d.file_mode is None else d.file_mode, d.uid or 0, d.gid or 0,
                   f"/linux/devices/{i}")
        for i, d in enumerate(spec.linux.devices if spec.linux else [])
    ]
    taken = {d.path for d in configured}
    defaults = [DeviceNode(p, "c", ma, mi, 0o666, 0, 0, None)
                for p, ma, mi in DEFAULT_DEVICES if p not in taken]
    return defaults + configured


def needs_dev_setup(spec) -> bool:
    """False when the config bind-mounts a whole /dev: then it is the caller's."""
    return not any(clean(m.destination) == "/dev" and ("bind" in m.options or "rbind" in m.options)
                   for m in spec.mounts)


def create_devices(kernel, root: Root, spec, in_user_ns: bool) -> None:
    for dev in wanted_devices(spec):
        with kernel.because(dev.field):
            if in_user_ns and dev.kind != "p":
                bind_host_device(kernel, root, dev)
            else:
                make_node(kernel, root, dev)


def make_node(kernel, root: Root, dev: DeviceNode) -> None:
    parent = root.ensure(parent_path(dev.path), "dir")
    name = os.path.basename(dev.path)
    display = root.display(dev.path)
    try:
        existing = kernel.node_at(parent.fd, name)
        if existing is not None:
            # runtime-spec: a file already there that is not this device is an error. One that
            # is stays as it is: it may be a bind mount of a host node, never to be chowned.
            if existing != (_TYPES[dev.kind], os.makedev(dev.major, dev.minor)):
                raise PyruncError(f"{display} exists and is not the {dev.kind} device "
                                  f"{dev.major}:{dev.minor}")
            return
        mode = _TYPES[dev.kind] | (dev.mode & 0o7777)
        kernel.mknodat(parent.fd, name, mode, os.makedev(dev.major, dev.minor), display)
        if dev.uid or dev.gid:
            # By name under the parent's fd, not following links: only the node just made.
            kernel.chown_at(parent.fd, name, dev.uid, dev.gid, display)
    finally:
        kernel.close(parent.fd)


def bind_host_device(kernel, root: Root, dev: DeviceNode) -> None:
    """mknod is not allowed in a user namespace: bind a host node of the same device onto an
    empty file (the host's node at the same path, else one of /dev with the same numbers)."""
    source = host_node(dev)
    target = root.ensure(dev.path, "file", 0o000)
    try:
        kernel.mount(source, target, None, cext.MS_BIND)
    finally:
        kernel.close(target.fd)


def host_node(dev: DeviceNode) -> str:
    want = (_TYPES[dev.kind], os.makedev(dev.major, dev.minor))
    candidates = [dev.path] + [os.path.join("/dev", n) for n in sorted(os.listdir("/dev"))]
    for path in candidates:
        try:
            st = os.stat(path)
        except OSError:
            continue
        if (stat.S_IFMT(st.st_mode), st.st_rdev) == want:
            return path
    raise PyruncError(f"no host device {dev.major}:{dev.minor} to bind at {dev.path} in a user namespace "
                      "(mknod is not allowed there)")


def create_links(kernel, root: Root) -> None:
    """/dev/fd, /dev/std{in,out,err}, and /dev/ptmx -> pts/ptmx (the container's own devpts)."""
    dev = root.ensure("/dev", "dir")
    try:
        for target, name in _LINKS + [("pts/ptmx", "ptmx")]:
            display = root.display("/dev/" + name)
            if kernel.exists_at(dev.fd, name):
                if name != "ptmx":
                    continue
                kernel.unlinkat(dev.fd, name, display)
            kernel.symlinkat(target, dev.fd, name, display)
    finally:
        kernel.close(dev.fd)
