"""The container's filesystem: mounts from config.json, then pivot_root into the rootfs."""

import errno
import os
import stat

import cext
from runtime import mountopts, procfs
from runtime.errors import PyruncError
from runtime.paths import Root, clean, parent_path

MS = cext


def prepare_propagation(kernel, spec) -> None:
    """Keep the container's mounts from propagating back to the host: `/` becomes a slave
    (or what rootfsPropagation asks for), and the rootfs a mount point of its own."""
    prop = spec.linux.rootfs_propagation if spec.linux else None
    flags = mountopts.parse([prop]).propagation[0] if prop else MS.MS_SLAVE | MS.MS_REC
    if flags & MS.MS_UNBINDABLE:
        # An unbindable / could not be bind-mounted for the rootfs: that comes after pivot_root.
        flags = MS.MS_SLAVE | MS.MS_REC
    with kernel.because("/linux/rootfsPropagation" if prop else None):
        kernel.mount(None, "/", None, flags)


def unshare_parent_mount(kernel, rootfs: str) -> None:
    """pivot_root refuses a new root whose parent mount is shared. A slave is enough, and still
    receives what the host mounts below the rootfs (rootfsPropagation slave)."""
    best = ("", False)
    with open("/proc/self/mountinfo") as f:
        for line in f:
            fields = line.split()
            point = fields[4]
            inside = rootfs == point or rootfs.startswith(point.rstrip("/") + "/")
            if inside and len(point) >= len(best[0]):
                best = (point, any(o.startswith("shared:") for o in fields[6:fields.index("-")]))
    if best[1]:
        with kernel.because("/linux/rootfsPropagation"):
            kernel.mount(None, best[0], None, MS.MS_SLAVE)


def bind_rootfs_to_itself(kernel, rootfs: str) -> None:
    # pivot_root needs new_root to be a mount point. Its propagation stays what `/` got, so a
    # slave rootfs still receives what the host mounts below it.
    with kernel.because("/root/path"):
        kernel.mount(rootfs, rootfs, None, MS.MS_BIND | MS.MS_REC)


def apply_mounts(kernel, spec, root: Root, bundle: str, cgroup_dirs=(), idmap_fds=None) -> None:
    """cgroup_dirs: (hierarchy, host dir) pairs of the container's v1 cgroups, looked up before
    the cgroup namespace was made (inside it, /proc/self/cgroup shows only `/`).
    idmap_fds: mount index -> user namespace fd, made by the runtime (runtime.idmap.prepare)."""
    for index, m in enumerate(spec.mounts):
        with kernel.because(f"/mounts/{index}"):
            mount_one(kernel, m, root, bundle, cgroup_dirs, index, idmap_fds or {},
                      spec.linux.mount_label if spec.linux else None)


_LABELLED = ("tmpfs", "devpts", "mqueue", "shm")


def with_label(data: str | None, fstype: str | None, mount_label: str | None) -> str | None:
    """linux.mountLabel as the SELinux context= of file systems that take one."""
    if not mount_label or fstype not in _LABELLED:
        return data
    from runtime.attributes import selinux_enabled

    if not selinux_enabled():
        return data
    label = f'context="{mount_label}"'
    return f"{data},{label}" if data else label


def mount_one(kernel, m, root: Root, bundle: str, cgroup_dirs=(), index: int = 0, idmap_fds=None,
              mount_label: str | None = None) -> None:
    opts = mountopts.parse(m.options)
    mtype = m.type or ("bind" if opts.bind else None)
    if clean(m.destination) == "/proc" and mtype != "proc" and not is_procfs(m.source, bundle):
        raise PyruncError(f"{m.source or mtype!r} cannot be mounted on /proc: only procfs may be")
    if mtype == "proc":
        refuse_symlink(kernel, root, m.destination, "procfs")
    if mtype == "cgroup":
        return mount_cgroup(kernel, m, root, opts, cgroup_dirs)
    if opts.bind or mtype == "bind":
        return mount_bind(kernel, m, root, bundle, opts, index, idmap_fds or {})
    target = root.ensure(m.destination, "dir")
    if mtype != "proc":
        guard_procfs(kernel, target)
    below = kernel.open(str(target), os.O_RDONLY | os.O_DIRECTORY) if opts.tmpcopyup else None
    try:
        data = with_label(opts.data_text, mtype, mount_label)
        kernel.mount(m.source or mtype, target, mtype, opts.flags, data)
    finally:
        kernel.close(target.fd)
    if below is not None:
        copy_up(kernel, root, m.destination, below)
    finish_mount(kernel, m, root, opts)


def refuse_symlink(kernel, root: Root, destination: str, what: str) -> None:
    """The destination itself may not be a symlink in the image: procfs must land on the
    image's own /proc, where the masked and read-only paths are applied (CVE-2019-19921)."""
    path = clean(destination)
    if path == "/":
        return
    parent = root.ensure(parent_path(path), "dir")
    try:
        found = kernel.node_at(parent.fd, os.path.basename(path))
    finally:
        kernel.close(parent.fd)
    if found is not None and stat.S_ISLNK(found[0]):
        raise PyruncError(f"{root.display(path)} is a symlink: {what} is not mounted through one")


def guard_procfs(kernel, target) -> None:
    """A volume over procfs, reached through a symlink or not, would hide its masked paths
    (CVE-2019-16884)."""
    procfs.check_not_procfs_root(kernel, target)


def copy_up(kernel, root: Root, destination: str, below: int) -> None:
    """tmpcopyup: what the new tmpfs hides is copied into it, through the fd that still sees it."""
    path = root.open(destination)
    try:
        mounted = kernel.open(str(path), os.O_RDONLY | os.O_DIRECTORY)
    finally:
        kernel.close(path.fd)
    try:
        kernel.copy_tree(below, mounted, root.display(destination))
    finally:
        kernel.close(mounted)
        kernel.close(below)


def is_procfs(source: str | None, bundle: str) -> bool:
    """Whether a bind source is a procfs mount (a volume over /proc must not hide procfs's
    masked and read-only paths: CVE-2019-16884)."""
    if not source:
        return False
    path = os.path.realpath(source if os.path.isabs(source) else os.path.join(bundle, source))
    with open("/proc/self/mountinfo") as f:
        for line in f:
            fields = line.split()
            if fields[4] == path and fields[fields.index("-") + 1] == "proc":
                return True
    return False


def mount_bind(kernel, m, root: Root, bundle: str, opts, index: int, idmap_fds: dict) -> None:
    source = m.source if os.path.isabs(m.source or "") else os.path.join(bundle, m.source or "")
    kind = kernel.kind_of(source)
    if kind is None:
        raise PyruncError(f"bind mount source {source!r} does not exist")
    target = root.ensure(m.destination, kind)
    rec = MS.MS_REC if opts.recursive_bind else 0
    try:
        guard_procfs(kernel, target)
        if index in idmap_fds:
            from runtime import idmap

            idmap.attach(kernel, idmap_fds[index], target)
        else:
            kernel.mount(source, target, None, MS.MS_BIND | rec)
    finally:
        kernel.close(target.fd)
    # A bind mount takes no other flags in the same call: they need a remount.
    if opts.flags & ~(MS.MS_REC | MS.MS_REMOUNT):
        remount(kernel, root, m.destination, opts.flags | MS.MS_BIND)
    finish_mount(kernel, m, root, opts)


def remount(kernel, root: Root, destination: str, flags: int) -> None:
    target = root.open(destination)
    try:
        try:
            kernel.mount(None, target, None, flags | MS.MS_REMOUNT)
        except PyruncError as e:
            # In a user namespace the source's nosuid/nodev/noexec are locked: keep them.
            lockable = MS.MS_NOSUID | MS.MS_NODEV | MS.MS_NOEXEC | MS.MS_RDONLY
            locked = kernel.mount_flags(target) & lockable
            if getattr(getattr(e, "cause", None), "errno", None) != errno.EPERM or not locked:
                raise
            kernel.mount(None, target, None, flags | MS.MS_REMOUNT | (locked & ~MS.MS_RDONLY))
    finally:
        kernel.close(target.fd)


def finish_mount(kernel, m, root: Root, opts) -> None:
    if not (opts.propagation or opts.attr_set or opts.attr_clr):
        return
    target = root.open(m.destination)
    try:
        for flags in opts.propagation:
            kernel.mount(None, target, None, flags)
        if opts.attr_set or opts.attr_clr:
            kernel.mount_setattr(target, opts.attr_set, opts.attr_clr)
    finally:
        kernel.close(target.fd)


def mount_cgroup(kernel, m, root: Root, opts, cgroup_dirs) -> None:
    """The container's own cgroups, bind-mounted: on v2 its directory; on v1 (and hybrid) a
    tmpfs with one bind per mounted hierarchy. Binds show the container only its subtree even
    though its cgroup namespace comes later (after it joins its cgroup)."""
    v1_dirs, v2_dir = cgroup_dirs if cgroup_dirs else ((), None)
    target = root.ensure(m.destination, "dir")
    try:
        guard_procfs(kernel, target)
        if v2_dir:
            kernel.mount(v2_dir, target, None, MS.MS_BIND | MS.MS_REC)
        else:
            kernel.mount("tmpfs", target, "tmpfs", opts.flags & ~MS.MS_RDONLY, "mode=755")
    finally:
        kernel.close(target.fd)
    if v2_dir:
        if opts.flags & ~MS.MS_REC:
            remount(kernel, root, m.destination, opts.flags | MS.MS_BIND)
        return
    for name, host_path in v1_dirs:
        sub = root.ensure(f"{m.destination}/{name}", "dir")
        try:
            kernel.mount(host_path, sub, None, MS.MS_BIND | MS.MS_REC)
        finally:
            kernel.close(sub.fd)
        if opts.flags & MS.MS_RDONLY:
            remount(kernel, root, f"{m.destination}/{name}", MS.MS_BIND | opts.flags)
    if opts.flags & MS.MS_RDONLY:
        remount(kernel, root, m.destination, opts.flags)


def pivot(kernel, rootfs: str, no_pivot: bool) -> None:
    with kernel.because("/root/path"):
        if no_pivot:
            kernel.chdir(rootfs)
            kernel.mount(rootfs, "/", None, MS.MS_MOVE)
            kernel.chroot(".")
            kernel.chdir("/")
            return
        old_root = kernel.open("/", os.O_DIRECTORY | os.O_RDONLY)
        kernel.chdir(rootfs)
        # pivot_root(".", ".") stacks the old root on top of the new one; detaching it then
        # leaves the rootfs as `/` without needing a writable directory for the old root.
        kernel.pivot_root(".", ".")
        kernel.fchdir(old_root, "old /")
        kernel.mount(None, ".", None, MS.MS_SLAVE | MS.MS_REC)
        kernel.umount2(".", MS.MNT_DETACH)
        kernel.close(old_root)
        kernel.chdir("/")


def chroot_into(kernel, rootfs: str) -> None:
    with kernel.because("/root/path"):
        kernel.chroot(rootfs)
        kernel.chdir("/")


def unmount_under(path: str) -> None:
    """Detach every mount at or below `path`, deepest first: what a container without a mount
    namespace of its own mounted in the host's (delete, or a failed create)."""
    import cext

    prefix = path.rstrip("/") + "/"
    points = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            point = line.split()[4].replace("\\040", " ")
            if point == path or point.startswith(prefix):
                points.append(point)
    for point in sorted(points, key=len, reverse=True):
        try:
            cext.umount2(point, MS.MNT_DETACH)
        except OSError:
            pass


def make_root_readonly(kernel) -> None:
    with kernel.because("/root/readonly"):
        kernel.mount(None, "/", None, MS.MS_BIND | MS.MS_REMOUNT | MS.MS_RDONLY)


def apply_rootfs_propagation(kernel, spec) -> None:
    prop = spec.linux.rootfs_propagation if spec.linux else None
    if prop:
        with kernel.because("/linux/rootfsPropagation"):
            kernel.mount(None, "/", None, mountopts.parse([prop]).propagation[0])


def has_procfs(spec) -> bool:
    return any(m.type == "proc" and clean(m.destination) == "/proc" for m in spec.mounts)


def lookup_protected(kernel, root: Root, spec, path: str):
    """A masked or read-only path, which under /proc must be procfs's own file (not one of
    the image's, nor a mount over it)."""
    target = root.lookup(path)
    if target is not None and clean(path).startswith("/proc/") and has_procfs(spec):
        try:
            procfs.check_on_procfs(kernel, target)
        except BaseException:
            kernel.close(target.fd)
            raise
    return target


def mask_paths(kernel, root: Root, spec) -> None:
    """maskedPaths: files hidden under the container's /dev/null (checked to be the null device:
    CVE-2025-31133), directories under an empty read-only tmpfs."""
    null = None
    try:
        for index, path in enumerate(spec.linux.masked_paths if spec.linux else []):
            with kernel.because(f"/linux/maskedPaths/{index}"):
                target = lookup_protected(kernel, root, spec, path)
                if target is None:
                    continue
                try:
                    if kernel.kind_of(target) == "dir":
                        kernel.mount("tmpfs", target, "tmpfs", MS.MS_RDONLY, None)
                    else:
                        null = null or open_null_device(kernel, root)
                        kernel.mount(str(null), target, None, MS.MS_BIND)
                finally:
                    kernel.close(target.fd)
    finally:
        if null is not None:
            kernel.close(null.fd)


def open_null_device(kernel, root: Root):
    null = root.open("/dev/null")
    try:
        procfs.check_null_device(kernel, null)
    except BaseException:
        kernel.close(null.fd)
        raise
    return null


def readonly_paths(kernel, root: Root, spec) -> None:
    for index, path in enumerate(spec.linux.readonly_paths if spec.linux else []):
        with kernel.because(f"/linux/readonlyPaths/{index}"):
            target = lookup_protected(kernel, root, spec, path)
            if target is None:
                continue
            try:
                kernel.mount(str(target), target, None, MS.MS_BIND | MS.MS_REC)
            finally:
                kernel.close(target.fd)
            remount(kernel, root, path, MS.MS_BIND | MS.MS_RDONLY | MS.MS_NOSUID | MS.MS_NODEV | MS.MS_NOEXEC)

