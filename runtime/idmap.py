"""Idmapped bind mounts (`idmap`/`ridmap` options, mounts[].uidMappings/gidMappings).

A detached copy of the source (open_tree) gets the mapping of a user namespace made just for
it (mount_setattr MOUNT_ATTR_IDMAP), then is attached at the destination (move_mount).
"""

import os
import signal

import cext
from runtime.errors import PyruncError
from runtime.namespaces import id_map_text


def mount_idmapped(kernel, m, source: str, target, recursive: bool) -> None:
    if not (m.uid_mappings and m.gid_mappings):
        raise PyruncError("an idmap mount needs both uidMappings and gidMappings")
    userns = user_namespace_fd(m.uid_mappings, m.gid_mappings)
    try:
        flags = cext.OPEN_TREE_CLONE | (cext.AT_RECURSIVE if recursive else 0)
        tree = kernel.open_tree(source, flags)
        try:
            rec = cext.AT_RECURSIVE if recursive else 0
            kernel.mount_setattr_fd(tree, rec, cext.MOUNT_ATTR_IDMAP, userns)
            kernel.move_mount_to(tree, target)
        finally:
            kernel.close(tree)
    finally:
        os.close(userns)


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
            with open(f"/proc/{pid}/{name}", "w") as f:
                f.write(id_map_text(maps))
        return os.open(f"/proc/{pid}/ns/user", os.O_RDONLY | os.O_CLOEXEC)
    finally:
        os.close(ready_r)
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
