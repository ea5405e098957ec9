"""Cases on the ``features`` document (features.md)."""

from __future__ import annotations

import json

from ..model import case
from ..runner import CaseContext
from . import schema
from .hooks import run_with_hooks

KNOWN_TOP = {
    "ociVersionMin",
    "ociVersionMax",
    "hooks",
    "mountOptions",
    "linux",
    "annotations",
    "potentiallyUnsafeConfigAnnotations",
}
NOT_ON_TMPFS = {"bind", "rbind", "idmap", "ridmap", "remount"}
FS_DATA = {"size", "mode", "uid", "gid", "nr_inodes", "newinstance", "ptmxmode"}
IDS = (
    "features.schema",
    "features.ociversion-min",
    "features.ociversion-max",
    "features.ociversion-order",
    "features.no-unknown-properties",
    "features.hooks-supported",
    "features.mount-options-recognized",
    "features.mount-options-no-fs-data",
)


def _version(v: str) -> tuple:
    core = v.split("-")[0].split("+")[0]
    return tuple(int(x) for x in core.split(".") if x.isdigit())


@case(*IDS)
def features_document(t: CaseContext) -> None:
    call = t.rt("features")
    if not call.ok:
        for rid in IDS:
            t.skip(rid, f"no features command ({call.brief()[:80]})")
        return
    try:
        doc = json.loads(call.out)
    except ValueError:
        t.check("features.schema", False, "a JSON document", call.out[:200])
        return
    problems = schema.validate("features", doc)
    t.check("features.schema", not problems, "a valid features document", problems)
    t.check(
        "features.no-unknown-properties",
        set(doc) <= KNOWN_TOP,
        f"keys within {sorted(KNOWN_TOP)}",
        sorted(set(doc) - KNOWN_TOP),
    )
    lo, hi = doc.get("ociVersionMin", ""), doc.get("ociVersionMax", "")
    t.check("features.ociversion-order", _version(hi) >= _version(lo), "max >= min", f"{lo}..{hi}")
    for rid, version in (("features.ociversion-min", lo), ("features.ociversion-max", hi)):
        if t.wants(rid):
            cfg = t.config(["/bin/true"])
            cfg["ociVersion"] = version
            call = t.run(t.bundle(cfg), t.new_id())
            t.check(rid, call.ok, f"a config with ociVersion {version} runs", call.brief())
    opts = doc.get("mountOptions") or []
    bad = [o for o in opts if "=" in o or o in FS_DATA]
    t.check("features.mount-options-no-fs-data", not bad, "no filesystem data options", bad)
    if t.wants("features.mount-options-recognized"):
        cfg = t.config(["/bin/true"])
        usable = [o for o in opts if o not in NOT_ON_TMPFS]
        cfg["mounts"] += [
            {"destination": f"/f/{o}", "type": "tmpfs", "source": "tmpfs", "options": [o]} for o in usable
        ]
        call = t.run(t.bundle(cfg), t.new_id())
        t.check(
            "features.mount-options-recognized",
            call.ok,
            f"tmpfs mounts with {len(usable)} options",
            call.brief(),
        )
    hooks = doc.get("hooks") or []
    if t.wants("features.hooks-supported"):
        names = run_with_hooks(t, hooks)
        t.check("features.hooks-supported", set(hooks) <= set(names), f"hooks {hooks} run", names)
