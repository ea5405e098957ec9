"""pyrunc as a Python library: the operations of the command line, for programs.

    from runtime.api import Runtime

    rt = Runtime(root="/run/pyrunc")
    rt.create("web", "/srv/bundles/web")        # or config={...}: written to <bundle>/config.json
    rt.start("web")
    print(rt.state("web").status)               # "running"
    rt.kill("web", "KILL")
    rt.delete("web")

Errors are `runtime.errors.PyruncError` and its kinds (`NotExist`, `NotRunning`, `Exists`),
with the same one-line messages the CLI prints. The CLI itself calls these functions.
"""

import os

from runtime import state as state_store
from runtime.errors import Exists, NotExist, NotRunning, PyruncError

__all__ = ["ContainerState", "Exists", "NotExist", "NotRunning", "PyruncError", "Runtime"]


class ContainerState:
    """The runtime-spec state of a container (what `pyrunc state` prints).

    A plain class, not a dataclass: `state`, `start`, `kill` and `delete` go through this
    module, and importing `dataclasses` costs ~14 ms."""

    __slots__ = ("oci_version", "id", "status", "pid", "bundle", "rootfs", "created", "annotations")

    def __init__(self, oci_version: str, id: str, status: str, pid: int, bundle: str,  # noqa: A002
                 rootfs: str = "", created: str = "", annotations: dict | None = None):
        self.oci_version = oci_version
        self.id = id
        self.status = status  # creating, created, running, paused or stopped
        self.pid = pid  # 0 once stopped
        self.bundle = bundle
        self.rootfs = rootfs
        self.created = created
        self.annotations = annotations or {}

    def __repr__(self) -> str:
        return f"ContainerState(id={self.id!r}, status={self.status!r}, pid={self.pid})"

    def __eq__(self, other) -> bool:
        return isinstance(other, ContainerState) and all(
            getattr(self, name) == getattr(other, name) for name in self.__slots__)

    @classmethod
    def from_document(cls, doc: dict) -> "ContainerState":
        return cls(doc["ociVersion"], doc["id"], doc["status"], doc["pid"], doc["bundle"],
                   doc.get("rootfs", ""), doc.get("created", ""), doc.get("annotations") or {})


class Runtime:
    def __init__(self, root: str = state_store.DEFAULT_ROOT):
        self.store = state_store.StateStore(root)

    def create(self, cid: str, bundle: str, *, config: dict | None = None, pid_file: str | None = None,
               console_socket: str | None = None, no_pivot: bool = False, no_new_keyring: bool = False,
               preserve_fds: int = 0) -> ContainerState:
        """Everything of the config but running its process; the process waits for start()."""
        from runtime.ops.create import CreateOptions, create

        if config is not None:
            from runtime import fastjson

            with open(os.path.join(bundle, "config.json"), "w") as f:
                f.write(fastjson.dumps(config, indent=2))
        create(self.store, cid, CreateOptions(bundle=bundle, pid_file=pid_file, console_socket=console_socket,
                                              no_pivot=no_pivot, no_new_keyring=no_new_keyring,
                                              preserve_fds=preserve_fds))
        return self.state(cid)

    def start(self, cid: str) -> None:
        from runtime.ops.start import start

        start(self.store, cid)

    def state(self, cid: str) -> ContainerState:
        return ContainerState.from_document(self.state_document(cid))

    def state_document(self, cid: str) -> dict:
        """The state as the runtime-spec's JSON document (a dict)."""
        from runtime.ops.state_cmd import oci_state

        cdir = self.store.open(cid)
        try:
            return oci_state(cdir, cdir.read())
        finally:
            cdir.close()

    def kill(self, cid: str, signal: str | int = "SIGTERM", all_processes: bool = False) -> None:
        from runtime.ops.kill import kill, parse_signal

        kill(self.store, cid, parse_signal(str(signal)), all_processes)

    def delete(self, cid: str, force: bool = False) -> None:
        from runtime.ops.delete import delete

        delete(self.store, cid, force)

    def list(self) -> "list[ContainerState]":
        from runtime.ops.list_cmd import list_containers

        return [ContainerState.from_document(doc) for doc in list_containers(self.store)]

    def exec(self, cid: str, args: "list[str]", *, env: "list[str]" = (), cwd: str | None = None,
             user: str | None = None, detach: bool = False, pid_file: str | None = None) -> int:
        """Run another process in the container; its exit status (0 at once with detach)."""
        from runtime.ops.exec_cmd import ExecOptions, exec_process

        return exec_process(self.store, cid, ExecOptions(args=args, env=env, cwd=cwd, user=user,
                                                         detach=detach, pid_file=pid_file))
