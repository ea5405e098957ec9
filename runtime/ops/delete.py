"""`delete`: remove a stopped (or, with --force, any) container and all that create made."""

import _signal as signal  # not `signal`: its enums cost ~4 ms to import
import os
import select

from runtime import faults, state
from runtime.errors import NotExist, PyruncError


def delete(store: state.StateStore, cid: str, force: bool = False) -> None:
    try:
        cdir = store.open(cid)
    except NotExist:
        if force:
            return
        raise
    try:
        cdir.lock()
        try:
            record = cdir.read()
        except PyruncError:
            # No state.json or a damaged one: the copy beside it still names what to undo.
            record = cdir.salvage() if force else None
            if record is None:
                if not force:
                    raise
                cdir.remove()
                return
        faults.point("delete: state read")
        status = cdir.status(record)
        if status not in ("stopped", "created") and not force:
            raise PyruncError(f"cannot delete container {cid} that is not stopped: {status}")
        if status != "stopped":
            if record.get("cgroup"):
                # Everything in the cgroup, and a frozen one thawed so that SIGKILL lands.
                from runtime.cgroups import manager_from_record

                manager_from_record(record["cgroup"]).signal_all(signal.SIGKILL)
                faults.point("delete: cgroup signalled")
            if record.get("creating"):
                # A create killed midway: its stage-1 and init may not be in the cgroup yet.
                for pid, started in record["pids"]:
                    kill_and_wait({"pid": pid, "init_start_time": started})
            else:
                kill_and_wait(record)
            faults.point("delete: init killed")
        destroy(cdir, record)
    finally:
        cdir.close()


def kill_and_wait(record: dict, timeout: float = 10.0) -> None:
    try:
        pidfd = os.pidfd_open(record["pid"])
    except ProcessLookupError:
        return
    try:
        if state.process_start_time(record["pid"]) != record.get("init_start_time"):
            return
        signal.pidfd_send_signal(pidfd, signal.SIGKILL)
        # A pidfd becomes readable when the process exits, whoever its parent is.
        poller = select.poll()
        poller.register(pidfd, select.POLLIN)
        poller.poll(int(timeout * 1000))
    except ProcessLookupError:
        pass
    finally:
        os.close(pidfd)


def destroy(cdir: state.ContainerDir, record: dict) -> None:
    error = None
    if record.get("cgroup"):
        from runtime.cgroups import manager_from_record

        try:
            manager_from_record(record["cgroup"]).destroy()
        except PyruncError as e:
            error = e  # the state goes anyway, as with runc; the error is still reported
        faults.point("delete: cgroup removed")
    if record.get("host_mounts"):
        from runtime.rootfs import unmount_under

        unmount_under(record["rootfs"])
        faults.point("delete: host mounts undone")
    cdir.remove()
    if (record.get("hooks") or {}).get("poststop"):
        run_poststop_hooks(record)
    if error is not None:
        raise error


def run_poststop_hooks(record: dict) -> None:
    """A failing poststop hook is a warning; the rest still run (runtime-spec, step 13)."""
    from oci_spec.model import Hooks
    from runtime import hooks, log

    state_json = hooks.hook_state(record, "stopped")
    for index, hook in enumerate(Hooks.from_dict(record["hooks"]).poststop):
        try:
            hooks.run_one(hook, state_json, f"/hooks/poststop/{index}")
        except PyruncError as e:
            log.current.warning(str(e))
