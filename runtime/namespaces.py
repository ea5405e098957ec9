"""Namespaces: which to create, which to join, and the uid/gid maps of a new user namespace."""

import cext

CLONE_FLAGS = {
    "pid": cext.CLONE_NEWPID,
    "network": cext.CLONE_NEWNET,
    "mount": cext.CLONE_NEWNS,
    "ipc": cext.CLONE_NEWIPC,
    "uts": cext.CLONE_NEWUTS,
    "user": cext.CLONE_NEWUSER,
    "cgroup": cext.CLONE_NEWCGROUP,
    "time": cext.CLONE_NEWTIME,
}
# /proc/<pid>/ns/<name> for each spec type (exec and `state` use these later).
PROC_NAMES = {"pid": "pid", "network": "net", "mount": "mnt", "ipc": "ipc", "uts": "uts",
              "user": "user", "cgroup": "cgroup", "time": "time"}


class NamespacePlan:
    """The namespaces of a config split into those created new and those joined by path."""

    def __init__(self, namespaces):
        self.new: list[str] = []
        self.join: list[tuple[int, str, str]] = []  # (index in config, type, path)
        for i, ns in enumerate(namespaces):
            if ns.path:
                self.join.append((i, ns.type, ns.path))
            else:
                self.new.append(ns.type)
        # The user namespace comes first: the others are then owned by it.
        self.join.sort(key=lambda j: j[1] != "user")

    def has(self, kind: str) -> bool:
        return kind in self.new or any(t == kind for _, t, _ in self.join)

    def new_flags(self, exclude: tuple[str, ...] = ()) -> int:
        flags = 0
        for kind in self.new:
            if kind not in exclude:
                flags |= CLONE_FLAGS[kind]
        return flags


def join_all(kernel, plan: NamespacePlan) -> None:
    """setns() into every namespace given by path; all are opened before the first join,
    because joining a mount namespace changes what later paths mean."""
    import os

    fds = []
    for index, kind, path in plan.join:
        with kernel.because(f"/linux/namespaces/{index}/path"):
            fds.append((index, kind, path, kernel.open(path, os.O_RDONLY)))
    for index, kind, path, fd in fds:
        with kernel.because(f"/linux/namespaces/{index}/path"):
            kernel.setns(fd, CLONE_FLAGS[kind], path)
        kernel.close(fd)


def id_map_text(mappings) -> str:
    return "".join(f"{m.container_id} {m.host_id} {m.size}\n" for m in mappings)


def write_id_maps(kernel, pid: int, linux) -> None:
    """Runs in the runtime: maps the child's new user namespace (it cannot map itself)."""
    with kernel.because("/linux/uidMappings"):
        kernel.write_file(f"/proc/{pid}/uid_map", id_map_text(linux.uid_mappings))
    with kernel.because("/linux/gidMappings"):
        kernel.write_file(f"/proc/{pid}/gid_map", id_map_text(linux.gid_mappings))
