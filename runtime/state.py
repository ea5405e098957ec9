"""The state store: one directory per container under the runtime root.

Layout of `<root>/<id>/`:
  state.json   the container's record, replaced atomically (temp file + rename)
  state.copy.json  the same record again: `delete --force` falls back on it if state.json
               is damaged, so that a container never outlives its record
  exec.fifo    exists from create until start; the init blocks reading it
The directory itself is the lock: commands on one id take flock() on its fd, so concurrent
create/start/kill/delete of one container serialize.
"""

import fcntl
import os
import time

from runtime import fastjson
from runtime.errors import Exists, NotExist, PyruncError, StateDamaged, StateMissing

DEFAULT_ROOT = "/run/pyrunc"
STATE_FILE = "state.json"
STATE_COPY = "state.copy.json"
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
        self.locked = False

    def lock(self, blocking: bool = True) -> bool:
        try:
            fcntl.flock(self.fd, fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB))
        except BlockingIOError:
            return False
        self.locked = True
        return True

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1
            self.locked = False

    def file(self, name: str) -> str:
        return os.path.join(self.path, name)

    # -- the record -------------------------------------------------------------------------
    def read(self) -> dict:
        """The record; NotExist while a create has not written it yet, StateDamaged when it
        cannot be read or is not a record (the message names the file and the problem)."""
        path = self.file(STATE_FILE)
        try:
            with open(path, "rb") as f:
                data = f.read()
        except FileNotFoundError:
            return self._read_missing()
        except OSError as e:
            raise StateDamaged(self.id, path, f"cannot read it: {e.strerror}") from None
        return parse_record(self.id, path, data)

    def _read_missing(self) -> dict:
        """No state.json: a create between mkdir and its first write (it holds the lock), a
        delete that just removed it, or the trace of a create that died before writing it."""
        if self.fd < 0 or not self._lockable():
            raise NotExist()
        if os.fstat(self.fd).st_nlink == 0:
            raise NotExist()  # removed by a delete meanwhile
        try:
            with open(self.file(STATE_FILE), "rb") as f:
                data = f.read()  # written by a create that finished meanwhile
        except FileNotFoundError:
            raise StateMissing(self.id, self.file(STATE_FILE)) from None
        except OSError as e:
            raise StateDamaged(self.id, self.file(STATE_FILE), f"cannot read it: {e.strerror}") from None
        return parse_record(self.id, self.file(STATE_FILE), data)

    def _lockable(self) -> bool:
        """True when no other command holds the directory's lock (ours counts as free)."""
        if self.locked:
            return True
        if not self.lock(blocking=False):
            return False
        fcntl.flock(self.fd, fcntl.LOCK_UN)
        self.locked = False
        return True

    def salvage(self) -> dict | None:
        """For `delete --force` of a container whose state.json is damaged: the copy that
        write() keeps beside it, when that one is still a valid record."""
        path = self.file(STATE_COPY)
        try:
            with open(path, "rb") as f:
                return parse_record(self.id, path, f.read())
        except (OSError, PyruncError):
            return None

    def write(self, record: dict, copy: bool = True) -> None:
        """Replace state.json atomically, and its copy (what `delete --force` falls back on
        when state.json is damaged: a container must never outlive its record). `create`'s
        provisional records go without the copy: each file costs a rename, ~0.15 ms on the
        ext4 /run of the development machine, and they are replaced within milliseconds."""
        data = fastjson.dumps(record).encode()
        for name in (STATE_COPY, STATE_FILE) if copy else (STATE_FILE,):
            tmp = self.file(f".{name}.tmp")
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
            try:
                os.write(fd, data)
            finally:
                os.close(fd)
            os.rename(tmp, self.file(name))

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
        """The directory and all in it (a damaged one may hold directories too)."""
        _remove_tree(self.path)
        self.close()


# What the operations read from a record, by type: a record that differs is damaged.
_FIELD_TYPES = {
    "ociVersion": str, "bundle": str, "rootfs": str, "created": str, "owner": str,
    "annotations": dict, "hooks": dict, "process": dict, "namespaces": dict,
    "host_mounts": bool, "creating": bool, "net_devices": list, "pids": list,
}


def parse_record(cid: str, path: str, data: bytes) -> dict:
    """The record in ``data`` (the bytes of ``path``), checked field by field."""
    if not data.strip():
        raise StateDamaged(cid, path, "it is empty")
    try:
        record = fastjson.loads(data)
    except ValueError as e:  # UnicodeDecodeError is one too
        raise StateDamaged(cid, path, f"not JSON ({e})") from None
    if not isinstance(record, dict):
        raise StateDamaged(cid, path, "not a JSON object")
    problem = record_problem(record)
    if problem:
        raise StateDamaged(cid, path, problem)
    return record


def record_problem(record: dict) -> str | None:
    """What makes ``record`` unusable by the operations, or None."""
    if type(record.get("id")) is not str:
        return '"id" is missing or not a string'
    pid = record.get("pid")
    if type(pid) is not int or pid < 0:
        return '"pid" is missing or not a process id'
    start = record.get("init_start_time")
    if start is not None and type(start) is not int:
        return '"init_start_time" is not a number'
    cgroup = record.get("cgroup")
    if cgroup is not None and not isinstance(cgroup, dict):
        return '"cgroup" is not an object'
    for name, kind in _FIELD_TYPES.items():
        if name in record and record[name] is not None and type(record[name]) is not kind:
            return f'"{name}" is not {"an" if kind in (dict, int) else "a"} {_TYPE_NAMES[kind]}'
    for entry in record.get("pids") or ():
        if (type(entry) is not list or len(entry) != 2 or type(entry[0]) is not int
                or (entry[1] is not None and type(entry[1]) is not int)):
            return '"pids" holds an entry that is not [pid, start time]'
    if record.get("creating") and "pids" not in record:
        return '"pids" is missing in a record of a create'
    return None


_TYPE_NAMES = {str: "string", dict: "object", bool: "boolean", list: "array", int: "integer"}


def _remove_tree(path: str) -> None:
    """Remove ``path`` and everything under it, never following a symbolic link."""
    for entry in os.scandir(path):
        if entry.is_dir(follow_symlinks=False):
            _remove_tree(entry.path)
        else:
            os.unlink(entry.path)
    os.rmdir(path)


class StateStore:
    def __init__(self, root: str = DEFAULT_ROOT):
        self.root = os.path.abspath(root)

    def create(self, cid: str) -> ContainerDir:
        """Make the container's directory, locked; Exists if the id is taken."""
        check_id(cid)
        try:
            os.makedirs(self.root, mode=0o711, exist_ok=True)
        except OSError as e:
            raise self._root_error(e) from None
        try:
            os.mkdir(os.path.join(self.root, cid), 0o711)
        except FileExistsError:
            raise Exists() from None
        except OSError as e:
            raise self._root_error(e) from None
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

    def _root_error(self, e: OSError) -> PyruncError:
        return PyruncError(f"state directory (--root) {self.root}: {e.strerror or e}")

    def ids(self) -> list[str]:
        try:
            names = os.listdir(self.root)
        except FileNotFoundError:
            return []
        except OSError as e:
            raise self._root_error(e) from None
        return sorted(n for n in names if os.path.isdir(os.path.join(self.root, n)))
