"""Idmapped bind mounts (`idmap`/`ridmap` options, mounts[].uidMappings/gidMappings).

The runtime, still the host's root before it forks, makes a detached copy of each source
(open_tree OPEN_TREE_CLONE) and gives it the mapping of a user namespace made just for it
(mount_setattr MOUNT_ATTR_IDMAP): that needs CAP_SYS_ADMIN over the source's filesystem,
which a container in its own user namespace lacks. The init inherits the detached tree's fd
and attaches it at the destination (move_mount).
"""

import _signal as signal  # not `signal`: its enums cost ~3 ms to import
import os

import cext
from runtime import procfs
from runtime.errors import PyruncError
from runtime.namespaces import id_map_text


def needs_idmap(m) -> bool:
    return bool(m.uid_mappings or "idmap" in m.options or "ridmap" in m.options)


def prepare(spec, bundle: str) -> dict[int, int]:
    """mount index -> fd of an idmapped detached tree, for every idmap mount."""
    trees: dict[int, int] = {}
    try:
        for index, m in enumerate(spec.mounts):
            if needs_idmap(m):
                trees[index] = _idmapped_tree(m, index, bundle)
    except BaseException:
        for fd in trees.values():
            os.close(fd)
        raise
    return trees


def _idmapped_tree(m, index: int, bundle: str) -> int:
    field = f"config.json: /mounts/{index}"
    if not (m.uid_mappings and m.gid_mappings):
        raise PyruncError(f"{field}: an idmap mount needs both uidMappings and gidMappings")
    # rbind copies the submounts; only ridmap idmaps them too (idmap: the top mount alone).
    clone_all = cext.AT_RECURSIVE if "rbind" in m.options or "ridmap" in m.options else 0
    map_all = cext.AT_RECURSIVE if "ridmap" in m.options else 0
    source = m.source if os.path.isabs(m.source or "") else os.path.join(bundle, m.source or "")
    userns = user_namespace_fd(m.uid_mappings, m.gid_mappings)
    try:
        tree = cext.open_tree(cext.AT_FDCWD, source, cext.OPEN_TREE_CLONE | clone_all)
        try:
            cext.mount_setattr(tree, "", cext.AT_EMPTY_PATH | map_all, cext.MOUNT_ATTR_IDMAP, 0, 0, userns)
        except OSError as e:
            os.close(tree)
            raise PyruncError(f"{field}: cannot idmap {source}: {os.strerror(e.errno)}") from None
        return tree
    except OSError as e:
        raise PyruncError(f"{field}: cannot clone {source}: {os.strerror(e.errno)}") from None
    finally:
        os.close(userns)


def attach(kernel, tree: int, target) -> None:
    """In the init: the prepared tree goes to its place in the container."""
    kernel.move_mount_to(tree, target)
    kernel.close(tree)


def user_namespace_fd(uid_mappings, gid_mappings) -> int:
    """An fd of a new user namespace with these maps, held by nobody once we return."""
    ready_r, ready_w = os.pipe2(os.O_CLOEXEC)
    pid = os.fork()
    if pid == 0:
        try:
            cext.unshare(cext.CLONE_NEWUSER)
            os.write(ready_w, b"1")
            signal.pause()
        finally:
            os._exit(0)
    try:
        os.close(ready_w)
        if os.read(ready_r, 1) != b"1":
            raise PyruncError("could not create a user namespace for an idmap mount")
        for name, maps in (("uid_map", uid_mappings), ("gid_map", gid_mappings)):
            procfs.write_proc_file(f"/proc/{pid}/{name}", id_map_text(maps))
        return os.open(f"/proc/{pid}/ns/user", os.O_RDONLY | os.O_CLOEXEC)
    finally:
        os.close(ready_r)
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
