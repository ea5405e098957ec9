"""`list`: the containers under the root, as a table, as JSON, or ids only."""

import os
import pwd

from runtime import fastjson, state
from runtime.errors import PyruncError
from runtime.ops.state_cmd import oci_state


def list_containers(store: state.StateStore) -> list[dict]:
    items = []
    for cid in store.ids():
        try:
            cdir = store.open(cid)
        except PyruncError:
            continue
        try:
            doc = oci_state(cdir, cdir.read())
            doc["owner"] = _owner(cdir.path)
            items.append(doc)
        except PyruncError:
            continue  # being created, or damaged: `delete --force` handles those
        finally:
            cdir.close()
    return items


def _owner(path: str) -> str:
    uid = os.stat(path).st_uid
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
