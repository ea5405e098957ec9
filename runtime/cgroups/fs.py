"""What both drivers share: the host's cgroup layout, placement, and file access with errors
that name the config field, the file and the errno.

Imports stay light (os, errno, time): `delete` and `kill --all` load this module.
"""

import errno
import os
import time

from runtime.errors import PyruncError

# -- errors -----------------------------------------------------------------------------------

def errno_text(e: OSError) -> str:
    name = errno.errorcode.get(e.errno or 0, "")
    reason = e.strerror or os.strerror(e.errno or 0)
    return f"{reason} ({name})" if name else reason


def fail(field: str | None, what: str, e: OSError | None = None) -> PyruncError:
    text = f"{field}: {what}" if field else what
    return PyruncError(f"{text}: {errno_text(e)}" if e is not None else text)


# -- files ------------------------------------------------------------------------------------

def write(directory: str, name: str, value, field: str | None = None) -> None:
    """Write one value to an existing interface file (never creates it)."""
    text = value if isinstance(value, str) else str(value)
    try:
        fd = os.open(os.path.join(directory, name), os.O_WRONLY | os.O_CLOEXEC)
    except OSError as e:
        raise fail(field, f"write {name}={text}", e) from None
    try:
        os.write(fd, text.encode())
    except OSError as e:
        raise fail(field, f"write {name}={text}", e) from None
    finally:
        os.close(fd)


def read(directory: str, name: str) -> str:
    with open(os.path.join(directory, name)) as f:
        return f.read()


def read_or(directory: str, name: str, default: str = "") -> str:
    try:
        return read(directory, name)
    except OSError:
        return default


def read_int(directory: str, name: str, default: int = 0) -> int:
    """An integer file; "max" and unreadable files give `default`."""
    text = read_or(directory, name).strip()
    try:
        return int(text)
    except ValueError:
        return default


def read_keyed(directory: str, name: str) -> dict[str, int]:
    """A flat keyed file ("key value" lines: memory.stat, cpu.stat, memory.events, ...)."""
    out = {}
    for line in read_or(directory, name).splitlines():
        key, _, value = line.partition(" ")
        try:
            out[key] = int(value)
        except ValueError:
            continue
    return out


def exists(directory: str, name: str) -> bool:
    return os.path.exists(os.path.join(directory, name))


def mkdir_cgroup(path: str) -> None:
    """One mkdir in a cgroup filesystem (tests replace this to fill in the interface files
    that the kernel would make)."""
    os.mkdir(path, 0o755)


def rmdir_cgroup(path: str, timeout: float = 2.0) -> None:
    """rmdir, retried while the kernel still counts exiting tasks (EBUSY)."""
    delay = 0.001
    deadline = time.monotonic() + timeout
    while True:
        try:
            os.rmdir(path)
            return
        except FileNotFoundError:
            return
        except OSError as e:
            if e.errno != errno.EBUSY or time.monotonic() >= deadline:
                raise
        time.sleep(delay)
        delay = min(delay * 2, 0.05)


def subtree_dirs(top: str) -> list[str]:
    """`top` and every cgroup below it, parents before children."""
    out = [top]
    i = 0
    while i < len(out):
        try:
            with os.scandir(out[i]) as it:
                out.extend(e.path for e in it if e.is_dir(follow_symlinks=False))
        except OSError:
            pass
        i += 1
    return out


def procs(directory: str, recursive: bool = True) -> list[int]:
    pids: list[int] = []
    for d in subtree_dirs(directory) if recursive else [directory]:
        for line in read_or(d, "cgroup.procs").split():
            if line.isdigit():
                pids.append(int(line))
    return pids


# -- the host's layout ------------------------------------------------------------------------

class Hierarchy:
    """One mounted hierarchy: a v1 controller set, or the v2 (unified) one."""

    __slots__ = ("name", "mountpoint", "mount_root", "controllers", "v2")

    def __init__(self, name: str, mountpoint: str, controllers: frozenset, mount_root: str = "/",
                 v2: bool = False):
        self.name = name
        self.mountpoint = mountpoint
        self.mount_root = mount_root
        self.controllers = controllers
        self.v2 = v2

    def __repr__(self) -> str:
        return f"Hierarchy({self.name!r}, {self.mountpoint!r}, {sorted(self.controllers)})"


class Layout:
    """version 2: `unified` is the hierarchy at root. version 1: `v1` are the mounted v1
    hierarchies and `unified` the hybrid cgroup2 mount (root/unified) if there is one."""

    def __init__(self, root: str, version: int, v1: list[Hierarchy], unified: Hierarchy | None):
        self.root = root
        self.version = version
        self.v1 = v1
        self.unified = unified

    def hierarchy_of(self, controller: str) -> Hierarchy | None:
        for h in self.v1:
            if controller in h.controllers:
                return h
        return None


def _unescape(field: str) -> str:
    # mountinfo escapes space, tab, newline and backslash as \ooo
    if "\\" not in field:
        return field
    out, i = [], 0
    while i < len(field):
        if field[i] == "\\" and i + 3 < len(field) and field[i + 1:i + 4].isdigit():
            out.append(chr(int(field[i + 1:i + 4], 8)))
            i += 4
        else:
            out.append(field[i])
            i += 1
    return "".join(out)


def mounts(mountinfo: str = "/proc/self/mountinfo") -> list[tuple[str, str, str, str]]:
    """(mount point, mount root, fs type, super options) of each cgroup/cgroup2 mount."""
    found = []
    with open(mountinfo) as f:
        for line in f:
            fields = line.split()
            sep = fields.index("-")
            fstype = fields[sep + 1]
            if fstype in ("cgroup", "cgroup2"):
                found.append((_unescape(fields[4]), _unescape(fields[3]), fstype, fields[sep + 3]))
    return found


_NOT_CONTROLLERS = frozenset(("rw", "ro", "noprefix", "clone_children", "xattr", "nsdelegate",
                              "memory_recursiveprot", "memory_localevents", "memory_hugetlb_accounting",
                              "favordynmods", "cpuset_v2_mode"))


def detect(root: str = "/sys/fs/cgroup", mountinfo: str = "/proc/self/mountinfo") -> Layout:
    """What `root` is: a cgroup2 mount (v2), or a directory of v1 mounts (v1, maybe hybrid).

    A `root` that is no mount point at all (a test's fake tree) is read from its contents: a
    cgroup.controllers file at root makes it v2, else every subdirectory holding cgroup.procs is a
    v1 hierarchy named after its directory ("systemd" is name=systemd, "unified" the hybrid v2)."""
    root = os.path.abspath(root).rstrip("/") or "/"
    v1: list[Hierarchy] = []
    unified = None
    seen_root = False
    for mountpoint, mount_root, fstype, opts in mounts(mountinfo):
        if mountpoint == root:
            seen_root = True
            if fstype == "cgroup2":
                return Layout(root, 2, [], Hierarchy("", root, frozenset(), mount_root, v2=True))
        elif os.path.dirname(mountpoint) == root:
            name = os.path.basename(mountpoint)
            if fstype == "cgroup2":
                unified = Hierarchy(name, mountpoint, frozenset(), mount_root, v2=True)
            else:
                ctrls = frozenset(o for o in opts.split(",") if o not in _NOT_CONTROLLERS
                                  and not o.startswith("release_agent="))
                v1.append(Hierarchy(name, mountpoint, ctrls, mount_root))
    if v1 or unified or seen_root:
        return Layout(root, 1, sorted(v1, key=lambda h: h.name), unified)
    return _detect_fake(root)


def _detect_fake(root: str) -> Layout:
    if not os.path.isdir(root):
        raise PyruncError(f"cgroup root {root} does not exist")
    if os.path.exists(os.path.join(root, "cgroup.controllers")):
        return Layout(root, 2, [], Hierarchy("", root, frozenset(), "/", v2=True))
    v1, unified = [], None
    for name in sorted(os.listdir(root)):
        path = os.path.join(root, name)
        if not os.path.exists(os.path.join(path, "cgroup.procs")):
            continue
        if os.path.exists(os.path.join(path, "cgroup.controllers")):
            unified = Hierarchy(name, path, frozenset(), "/", v2=True)
        elif name == "systemd":
            v1.append(Hierarchy(name, path, frozenset(("name=systemd",))))
        else:
            v1.append(Hierarchy(name, path, frozenset(name.split(","))))
    return Layout(root, 1, v1, unified)


def own_cgroups(path: str = "/proc/self/cgroup") -> dict[str, str]:
    """controller (or "name=x", or "" for v2) -> this process's cgroup path."""
    mine = {}
    with open(path) as f:
        for line in f:
            _, controllers, cgpath = line.rstrip("\n").split(":", 2)
            if not controllers:
                mine[""] = cgpath
            for c in controllers.split(","):
                if c:
                    mine[c] = cgpath
    return mine


# -- placement --------------------------------------------------------------------------------

def clean_path(path: str) -> str:
    """Normalize a cgroupsPath the way a path inside the hierarchy must look: no `..` escape,
    no doubled slashes. Keeps it absolute or relative."""
    absolute = path.startswith("/")
    parts: list[str] = []
    for part in path.split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if parts:
                parts.pop()
            continue
        parts.append(part)
    joined = "/".join(parts)
    return "/" + joined if absolute else joined


def check_systemd_path(cgroups_path: str | None) -> None:
    parts = (cgroups_path or "").split(":")
    if len(parts) != 3:
        raise PyruncError(f"/linux/cgroupsPath: {cgroups_path!r}: with --systemd-cgroup it must be "
                          "\"slice:prefix:name\"")
    raise PyruncError("--systemd-cgroup: the systemd cgroup driver is not supported: systemd is not "
                      "this host's init (run without --systemd-cgroup to use the cgroupfs driver)")


def host_dir(h: Hierarchy, inner: str, own: dict[str, str], *, v2_parent: bool = False) -> str:
    """The host directory of the cgroup `inner` (cleaned) in hierarchy `h`.

    Absolute: below the hierarchy's mount point. Relative: below this process's own cgroup in
    that hierarchy (v2: below its parent, since a cgroup with processes cannot delegate
    controllers to children)."""
    if inner.startswith("/"):
        return (h.mountpoint.rstrip("/") + inner).rstrip("/") or "/"
    if h.v2:
        mine = own.get("", "/")
    else:
        mine = next((own[c] for c in sorted(h.controllers) if c in own), "/")
    if v2_parent and mine != "/":
        mine = os.path.dirname(mine)
    if h.mount_root != "/" and (mine == h.mount_root or mine.startswith(h.mount_root + "/")):
        mine = mine[len(h.mount_root):] or "/"
    base = h.mountpoint.rstrip("/") + (mine.rstrip("/") if mine != "/" else "")
    return f"{base}/{inner}" if inner else base


def make_dirs(top: str, leaf: str) -> list[str]:
    """mkdir every missing directory from below `top` down to `leaf`; returns those made
    (parents first). On failure removes what it made and raises OSError."""
    missing = []
    d = leaf
    while d != top and len(d) > len(top) and not os.path.isdir(d):
        missing.append(d)
        d = os.path.dirname(d)
    missing.reverse()
    made: list[str] = []
    try:
        for d in missing:
            try:
                mkdir_cgroup(d)
            except FileExistsError:
                continue
            made.append(d)
    except OSError:
        for d in reversed(made):
            try:
                os.rmdir(d)
            except OSError:
                pass
        raise
    return made


def parse_sub_cgroups(entries) -> dict[str, str]:
    """`exec --cgroup` values: "PATH" (every controller) or "CTRL[,CTRL]:PATH" ->
    {controller or "": path below the container's cgroup}."""
    subs: dict[str, str] = {}
    for entry in entries or ():
        ctrls, sep, path = entry.partition(":")
        names = ctrls.split(",") if sep else [""]
        if not sep:
            path = entry
        for name in names:
            if sep and not name:
                raise PyruncError(f"invalid --cgroup argument: {entry} (empty <controller> prefix)")
            if name in subs:
                what = f"controller {name} given twice" if name else f"more than one <path> ({entry})"
                raise PyruncError(f"invalid --cgroup argument(s): {what}")
            subs[name] = path
    return subs


def sub_dir(leaf: str, sub: str) -> str:
    """An existing cgroup below the container's (`exec --cgroup`)."""
    inner = clean_path("/" + sub)
    d = leaf + (inner if inner != "/" else "")
    if not os.path.isdir(d):
        raise PyruncError(f"--cgroup: {sub}: no such sub-cgroup of the container ({d})")
    return d


# -- freezing ---------------------------------------------------------------------------------

def wait_for(check, timeout: float) -> bool:
    delay = 0.0005
    deadline = time.monotonic() + timeout
    while True:
        if check():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(delay)
        delay = min(delay * 2, 0.02)
