"""Hooks: programs the config asks to run at points of the lifecycle, with the state on stdin.

All six kinds run from the runtime process: prestart, createRuntime, poststart and poststop
in the runtime's namespaces; createContainer and startContainer in a child that first
enters the container's namespaces (runtime.nsenter), so that no hook is ever run by a
process the container could have tampered with.
"""

import _signal as signal  # not `signal`: its enums cost ~3 ms to import
import os
import select

from runtime import fastjson
from runtime.errors import PyruncError

# config kind -> (attribute of oci_spec.model.Hooks, JSON name)
KINDS = {
    "prestart": "prestart",
    "create_runtime": "createRuntime",
    "create_container": "createContainer",
    "start_container": "startContainer",
    "poststart": "poststart",
    "poststop": "poststop",
}
_OUTPUT_LIMIT = 4096


def hook_state(record: dict, status: str) -> str:
    doc = {"ociVersion": record["ociVersion"], "id": record["id"], "status": status,
           "pid": record["pid"] if status != "stopped" else 0, "bundle": record["bundle"]}
    if record.get("annotations"):
        doc["annotations"] = record["annotations"]
    return fastjson.dumps(doc)


def pid_inside(pid: int) -> int:
    """The pid as the container's own pid namespace numbers it (1 for its init)."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("NSpid:"):
                    return int(line.split()[-1])
    except OSError:
        pass
    return pid


def run_all(hooks, kind: str, state_json: str, enter_pid: int | None = None) -> None:
    """Run every hook of one kind in order; the first failure raises PyruncError."""
    if hooks is None:
        return
    for index, hook in enumerate(getattr(hooks, kind)):
        run_one(hook, state_json, f"/hooks/{KINDS[kind]}/{index}", enter_pid)


def run_one(hook, state_json: str, field: str, enter_pid: int | None = None) -> None:
    stdin_r, stdin_w = os.pipe2(os.O_CLOEXEC)
    out_r, out_w = os.pipe2(os.O_CLOEXEC)
    pid = os.fork()
    if pid == 0:
        # Our ends must go now: the forked middle process (for namespaces) would keep them
        # open past the exec, and a hook reading its stdin would never see the end.
        os.close(stdin_w)
        os.close(out_r)
        _child(hook, enter_pid, stdin_r, out_w)
    os.close(stdin_r)
    os.close(out_w)
    try:
        _write_all(stdin_w, state_json.encode())
    except BrokenPipeError:
        pass  # a hook need not read its stdin
    finally:
        os.close(stdin_w)
    status, output, timed_out = _wait(pid, out_r, hook.timeout)
    os.close(out_r)
    if timed_out:
        raise PyruncError(f"{field}: hook {hook.path} timed out after {hook.timeout} s and was killed")
    if status != 0:
        what = f"exit status {status}" if status > 0 else f"killed by signal {-status}"
        said = output.decode("utf-8", "replace").strip()
        raise PyruncError(f"{field}: hook {hook.path} failed: {what}" + (f": {said}" if said else ""))


def _child(hook, enter_pid, stdin_r: int, out_w: int) -> None:
    try:
        os.dup2(stdin_r, 0)
        os.dup2(out_w, 1)
        os.dup2(out_w, 2)
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)
        if enter_pid is not None:
            from runtime import nsenter

            nsenter.enter(enter_pid)
            pid = os.fork()  # the pid and time namespaces apply to children only
            if pid:
                _, status = os.waitpid(pid, 0)
                os._exit(os.WEXITSTATUS(status) if os.WIFEXITED(status) else 128 + os.WTERMSIG(status))
        env = dict(item.split("=", 1) for item in hook.env if "=" in item)
        os.execve(hook.path, hook.args or [hook.path], env)
    except BaseException as e:  # noqa: BLE001 - report through the output pipe and exit
        os.write(2, f"cannot run the hook: {e}".encode())
    os._exit(127)


def _write_all(fd: int, data: bytes) -> None:
    while data:
        data = data[os.write(fd, data):]


def _wait(pid: int, out_r: int, timeout: int | None) -> tuple[int, bytes, bool]:
    """Collect the hook's output until it exits or its timeout runs out."""
    import time

    pidfd = os.pidfd_open(pid)
    poller = select.poll()
    poller.register(pidfd, select.POLLIN)
    poller.register(out_r, select.POLLIN)
    deadline = None if timeout is None else time.monotonic() + timeout
    output = b""
    timed_out = False
    try:
        while True:
            wait_ms = None if deadline is None else max(0, int((deadline - time.monotonic()) * 1000))
            events = poller.poll(wait_ms)
            if not events:
                timed_out = True
                signal.pidfd_send_signal(pidfd, signal.SIGKILL)
                break
            if any(fd == out_r for fd, _ in events):
                chunk = os.read(out_r, 65536)
                if chunk:
                    output = (output + chunk)[-_OUTPUT_LIMIT:]
                else:
                    poller.unregister(out_r)
            if any(fd == pidfd for fd, _ in events):
                break
        os.set_blocking(out_r, False)
        try:
            while chunk := os.read(out_r, 65536):
                output = (output + chunk)[-_OUTPUT_LIMIT:]
        except BlockingIOError:
            pass  # something the hook started still holds the pipe
    finally:
        os.close(pidfd)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status), output, timed_out
