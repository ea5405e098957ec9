"""The state store: one directory per container under the runtime root.

Layout of `<root>/<id>/`:
  state.json   the container's record, replaced atomically (temp file + rename)
  exec.fifo    exists from create until start; the init blocks reading it
The directory itself is the lock: commands on one id take flock() on its fd, so concurrent
create/start/kill/delete of one container serialize.
"""

import fcntl
import os
import time

from runtime import fastjson
from runtime.errors import Exists, NotExist, PyruncError

DEFAULT_ROOT = "/run/pyrunc"
STATE_FILE = "state.json"
EXEC_FIFO = "exec.fifo"
_ID_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_+-.")
MAX_ID_LEN = 1024


def check_id(cid: str) -> None:
    if not cid:
        raise PyruncError("container id cannot be empty")
    if len(cid) > MAX_ID_LEN:
        raise PyruncError(f"invalid container id: longer than {MAX_ID_LEN} characters")
    if cid in (".", "..") or not _ID_CHARS.issuperset(cid):
        raise PyruncError(f"invalid container id {cid!r}: use letters, digits and _ + - . only")


def rfc3339_now() -> str:
    ns = time.time_ns()
    secs, frac = divmod(ns, 1_000_000_000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(secs)) + f".{frac:09d}Z"


def process_start_time(pid: int) -> int | None:
    """The start time (clock ticks after boot) of a live process, None if gone or a zombie.

    Comparing it with the recorded one tells our init from a process that reused its pid.
    """
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read()
    except OSError:
        return None
    fields = stat[stat.rindex(b")") + 2 :].split()
    if fields[0] in (b"Z", b"X"):
        return None
    return int(fields[19])


class ContainerDir:
    """An open container directory; holds its lock while in use."""

    def __init__(self, root: str, cid: str, fd: int):
        self.id = cid
        self.path = os.path.join(root, cid)
        self.fd = fd

    def lock(self, blocking: bool = True) -> bool:
        try:
            fcntl.flock(self.fd, fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB))
        except BlockingIOError:
            return False
        return True

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1

    def file(self, name: str) -> str:
        return os.path.join(self.path, name)

    # -- the record -------------------------------------------------------------------------
    def read(self) -> dict:
        try:
            with open(self.file(STATE_FILE), "rb") as f:
                data = f.read()
        except FileNotFoundError:
            raise NotExist() from None
        try:
            record = fastjson.loads(data)
        except ValueError as e:
            raise PyruncError(f"container {self.id}: state.json is damaged ({e})") from None
        if not isinstance(record, dict) or not isinstance(record.get("pid"), int):
            raise PyruncError(f"container {self.id}: state.json is damaged (no pid)")
        return record

    def write(self, record: dict) -> None:
        tmp = self.file(f".{STATE_FILE}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
        try:
            os.write(fd, fastjson.dumps(record).encode())
        finally:
            os.close(fd)
        os.rename(tmp, self.file(STATE_FILE))

    def status(self, record: dict) -> str:
        """created, running, paused or stopped, from the live process (not from the record);
        creating while a `create` is under way or was killed midway (runtime.ops.create)."""
        if record.get("creating"):
            alive = any(started is not None and process_start_time(pid) == started
                        for pid, started in record["pids"])
            return "creating" if alive else "stopped"
        if process_start_time(record["pid"]) != record.get("init_start_time"):
            return "stopped"
        if record.get("cgroup"):
            from runtime.cgroups import is_paused

            if is_paused(record["cgroup"]):
                return "paused"
        if os.path.exists(self.file(EXEC_FIFO)):
            return "created"
        return "running"

    def remove(self) -> None:
        for name in os.listdir(self.path):
            os.unlink(self.file(name))
        os.rmdir(self.path)
        self.close()


class StateStore:
    def __init__(self, root: str = DEFAULT_ROOT):
        self.root = os.path.abspath(root)

    def create(self, cid: str) -> ContainerDir:
        """Make the container's directory, locked; Exists if the id is taken."""
        check_id(cid)
        os.makedirs(self.root, mode=0o711, exist_ok=True)
        try:
            os.mkdir(os.path.join(self.root, cid), 0o711)
        except FileExistsError:
            raise Exists() from None
        cdir = self.open(cid)
        cdir.lock()
        return cdir

    def open(self, cid: str) -> ContainerDir:
        check_id(cid)
        try:
            fd = os.open(os.path.join(self.root, cid), os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        except (FileNotFoundError, NotADirectoryError):
            raise NotExist() from None
        return ContainerDir(self.root, cid, fd)

    def ids(self) -> list[str]:
        try:
            names = os.listdir(self.root)
        except FileNotFoundError:
            return []
        return sorted(n for n in names if os.path.isdir(os.path.join(self.root, n)))
