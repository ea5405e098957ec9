"""`list`: the containers under the root, as a table, as JSON, or ids only."""

import os
import pwd

from runtime import fastjson, log, state
from runtime.errors import NotExist, PyruncError, StateMissing
from runtime.ops.state_cmd import oci_state


def list_containers(store: state.StateStore) -> list[dict]:
    """Every container whose record can be read. Like runc, one that cannot is skipped with a
    warning (the others are still listed); one being created or deleted is skipped quietly."""
    items = []
    for cid in store.ids():
        try:
            doc = _document(store, cid)
        except _Vanished:
            continue
        except PyruncError as e:
            log.current.warning(f"list: skipping {cid}: {e}")
            continue
        items.append(doc)
    return items


class _Vanished(Exception):
    """The directory went away, or its record is not written yet: nothing to say."""


def _document(store: state.StateStore, cid: str) -> dict:
    try:
        cdir = store.open(cid)
    except NotExist:
        raise _Vanished() from None
    try:
        try:
            doc = oci_state(cdir, cdir.read())
        except StateMissing:
            raise  # left by a create that died: worth a warning
        except NotExist:
            raise _Vanished() from None
        try:
            doc["owner"] = _owner(cdir.fd)
        except OSError as e:
            raise PyruncError(f"cannot stat its directory: {e.strerror}") from None
        return doc
    finally:
        cdir.close()


def _owner(fd: int) -> str:
    uid = os.fstat(fd).st_uid
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return f"#{uid}"


def render(items: list[dict], fmt: str, quiet: bool) -> str:
    if quiet:
        return "".join(i["id"] + "\n" for i in items)
    if fmt == "json":
        return fastjson.dumps(items) + "\n"
    rows = [("ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER")]
    rows += [(i["id"], str(i["pid"]), i["status"], i["bundle"], i["created"], i["owner"]) for i in items]
    widths = [max(12, max(len(r[c]) for r in rows) + 3) for c in range(len(rows[0]) - 1)]
    return "".join("".join(v.ljust(w) for v, w in zip(r, widths, strict=False)) + r[-1] + "\n" for r in rows)
