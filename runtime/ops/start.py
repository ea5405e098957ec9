"""`start`: release the created init, which then execs process.args."""

import os

from runtime import faults, state
from runtime.errors import PyruncError


def start(store: state.StateStore, cid: str) -> None:
    cdir = store.open(cid)
    try:
        cdir.lock()
        record = cdir.read()
        status = cdir.status(record)
        if status == "stopped":
            raise PyruncError("cannot start a container that has stopped")
        if status != "created":
            raise PyruncError("cannot start an already running container")
        hooks = record.get("hooks") or {}
        faults.point("start: state read")
        if hooks.get("startContainer"):
            run_start_hooks(cdir, record, "start_container")
            faults.point("start: startContainer hooks run")
        release(cdir)
        faults.point("start: init released")
        if hooks.get("poststart"):
            run_start_hooks(cdir, record, "poststart")
    finally:
        cdir.close()


def release(cdir: state.ContainerDir) -> None:
    """One byte into exec.fifo wakes the init blocked reading it; the fifo's removal is what
    tells `state` that the container is running."""
    fifo = cdir.file(state.EXEC_FIFO)
    try:
        fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as e:  # ENXIO: nobody holds the fifo open, the init is gone
        raise PyruncError("cannot start a container that has stopped") from e
    try:
        os.write(fd, b"0")
    finally:
        os.close(fd)
    faults.point("start: fifo written")
    os.unlink(fifo)


def run_start_hooks(cdir: state.ContainerDir, record: dict, kind: str) -> None:
    """startContainer (inside the container, before the process runs) and poststart (after).
    A failure stops the container: runtime-spec 1.3 has start fail, and the engine deletes."""
    from oci_spec.model import Hooks
    from runtime import hooks
    from runtime.ops.delete import kill_and_wait

    inside = kind == "start_container"
    status = "created" if inside else "running"
    shown = dict(record, pid=hooks.pid_inside(record["pid"])) if inside else record
    try:
        hooks.run_all(Hooks.from_dict(record["hooks"]), kind, hooks.hook_state(shown, status),
                      enter_pid=record["pid"] if inside else None)
    except PyruncError:
        from runtime.ops.delete import destroy

        kill_and_wait(record)
        destroy(cdir, record)  # runtime-spec: stop, destroy, poststop, as if deleted
        raise
