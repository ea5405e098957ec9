"""Hook cases: order, timing, namespaces, path resolution, stdin state and failures
(runtime.md Lifecycle, config.md Hooks).  Every hook appends a line to a log directory
bind-mounted into the container at its host path, so hooks in either namespace can write it."""

from __future__ import annotations

import os

from ..catalogue.config import CONTAINER_NS_HOOKS, RUNTIME_NS_HOOKS
from ..model import case
from ..runner import CaseContext

SCRIPT = """#!/bin/sh
state=$(cat)
status=$(echo "$state" | sed -n 's/.*"status" *: *"\\([a-z]*\\)".*/\\1/p')
id=$(echo "$state" | sed -n 's/.*"id" *: *"\\([^"]*\\)".*/\\1/p')
echo "$1 status=$status id=$id net=$(readlink /proc/self/ns/net) uts=$(readlink /proc/self/ns/uts) \
pid=$(readlink /proc/self/ns/pid) mnt=$(readlink /proc/self/ns/mnt)" >> {log}
"""


class HookSetup:
    def __init__(self, t: CaseContext):
        self.logdir = t.host_dir("hooklog")
        self.log = self.logdir / "log"
        self.host_script = self.logdir / "host-hook.sh"
        self.host_script.write_text(SCRIPT.format(log=self.log))
        self.host_script.chmod(0o755)
        self.rootfs_files = {"/conf-hook.sh": SCRIPT.format(log=self.log)}

    def hook(self, name: str, kind: str) -> dict:
        path = "/conf-hook.sh" if kind == "startContainer" else str(self.host_script)
        return {"path": path, "args": [path, name]}

    def mount(self) -> dict:
        return {
            "destination": str(self.logdir),
            "type": "bind",
            "source": str(self.logdir),
            "options": ["rbind"],
        }

    def lines(self) -> list[dict]:
        out = []
        try:
            text = self.log.read_text()
        except FileNotFoundError:
            return out
        for line in text.splitlines():
            name, *fields = line.split()
            entry = {"name": name}
            entry.update(f.split("=", 1) for f in fields if "=" in f)
            out.append(entry)
        return out

    def names(self) -> list[str]:
        return [e["name"] for e in self.lines()]


def _ns(pid: int | str) -> dict:
    return {k: os.readlink(f"/proc/{pid}/ns/{k}") for k in ("net", "uts", "pid", "mnt")}


@case(
    "config.hooks.order",
    "config.hooks.state-on-stdin",
    "config.hooks.prestart-before-createruntime",
    "config.hooks.createcontainer-after-createruntime",
    "config.hooks.create-phase",
    "config.hooks.startcontainer-before-program",
    "config.hooks.poststart-before-start-returns",
    "config.hooks.poststop-before-delete-returns",
    *(f"config.hooks.{h}-namespace" for h in RUNTIME_NS_HOOKS + CONTAINER_NS_HOOKS),
    "config.hooks.createcontainer-path-runtime-ns",
    "config.hooks.startcontainer-path-container-ns",
    *(
        f"runtime.lifecycle.{h}-invoked"
        for h in ("prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop")
    ),
)
def hooks_lifecycle(t: CaseContext) -> None:
    h = HookSetup(t)
    cfg = t.config(["/bin/sh", "-c", f"echo program >> {h.log}"])
    cfg["mounts"].append(h.mount())
    cfg["hooks"] = {
        "prestart": [h.hook("prestart-1", "prestart"), h.hook("prestart-2", "prestart")],
        "createRuntime": [h.hook("createRuntime", "createRuntime")],
        "createContainer": [h.hook("createContainer", "createContainer")],
        "startContainer": [h.hook("startContainer", "startContainer")],
        "poststart": [h.hook("poststart", "poststart")],
        "poststop": [h.hook("poststop", "poststop")],
    }
    bundle = t.bundle(cfg, h.rootfs_files)
    cid = t.new_id()
    t.must(t.create(bundle, cid), "create")
    after_create = h.names()
    cont_ns = _ns(t.state(cid)["pid"])
    t.must(t.rt("start", cid), "start")
    after_start = h.names()
    t.wait_status(cid, "stopped")
    t.must(t.rt("delete", cid), "delete")
    entries = {e["name"]: e for e in h.lines()}
    names = h.names()
    create_phase = ["prestart-1", "prestart-2", "createRuntime", "createContainer"]
    t.eq("config.hooks.create-phase", after_create, create_phase)
    t.eq("config.hooks.order", [n for n in names if n.startswith("prestart")], ["prestart-1", "prestart-2"])
    t.check(
        "config.hooks.prestart-before-createruntime",
        _before(names, "prestart-2", "createRuntime"),
        "prestart before createRuntime",
        names,
    )
    t.check(
        "config.hooks.createcontainer-after-createruntime",
        _before(names, "createRuntime", "createContainer"),
        "createRuntime before createContainer",
        names,
    )
    t.check(
        "config.hooks.startcontainer-before-program",
        _before(names, "startContainer", "program"),
        "startContainer logged before the program",
        names,
    )
    t.check(
        "config.hooks.poststart-before-start-returns",
        "poststart" in after_start and _before(after_start, "startContainer", "poststart"),
        "poststart logged when start returned",
        after_start,
    )
    t.check(
        "config.hooks.poststop-before-delete-returns",
        "poststop" in names,
        "poststop logged when delete returned",
        names,
    )
    ids = {e.get("id") for n, e in entries.items() if n != "program"}
    t.check(
        "config.hooks.state-on-stdin",
        ids == {cid} and all(e.get("status") for n, e in entries.items() if n != "program"),
        f"every hook read id {cid} and a status",
        {n: (e.get("id"), e.get("status")) for n, e in entries.items()},
    )
    mine = _ns("self")
    for kind in RUNTIME_NS_HOOKS:
        e = entries.get("prestart-1" if kind == "prestart" else kind, {})
        got = {k: e.get(k) for k in ("net", "uts", "pid")}
        t.eq(f"config.hooks.{kind}-namespace", got, {k: mine[k] for k in got})
    for kind in CONTAINER_NS_HOOKS:
        e = entries.get(kind, {})
        got = {k: e.get(k) for k in ("net", "uts", "mnt")}
        t.eq(f"config.hooks.{kind}-namespace", got, {k: cont_ns[k] for k in got})
    t.check(
        "config.hooks.createcontainer-path-runtime-ns",
        "createContainer" in names,
        "the host-only createContainer hook ran",
        names,
    )
    t.check(
        "config.hooks.startcontainer-path-container-ns",
        "startContainer" in names,
        "the rootfs-only startContainer hook ran",
        names,
    )
    for kind in ("prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"):
        t.check(
            f"runtime.lifecycle.{kind}-invoked",
            any(n.startswith(kind) for n in names),
            f"{kind} hook logged",
            names,
        )


def _before(names: list[str], a: str, b: str) -> bool:
    return a in names and b in names and names.index(a) < names.index(b)


def _failing_hook(t: CaseContext, kind: str) -> None:
    rid = f"runtime.lifecycle.{kind}-failure"
    cfg = t.config(["/bin/sleep", "30"])
    cfg["hooks"] = {kind: [{"path": "/bin/false", "args": ["false"]}]}
    bundle = t.bundle(cfg)
    cid = t.new_id()
    created = t.create(bundle, cid)
    if kind in ("prestart", "createRuntime", "createContainer"):
        status = t.status(cid)
        t.check(
            rid,
            not created.ok and status in (None, "stopped"),
            "create fails and no live container remains",
            f"create exit {created.rc}, status {status}",
        )
        return
    t.must(created, "create")
    started = t.rt("start", cid)
    status = t.wait_status(cid, "stopped", timeout=5)
    t.check(
        rid,
        not started.ok and status in (None, "stopped"),
        "start fails and the container is stopped",
        f"start exit {started.rc}, status {status}",
    )


def _hook_failure_case(kind: str):
    def run(t: CaseContext) -> None:
        _failing_hook(t, kind)

    run.__name__ = f"hook_failure_{kind.lower()}"
    return case(f"runtime.lifecycle.{kind}-failure")(run)


for _kind in ("prestart", "createRuntime", "createContainer", "startContainer", "poststart"):
    _hook_failure_case(_kind)


@case("runtime.lifecycle.poststop-failure", "runtime.warnings.continue")
def poststop_failure(t: CaseContext) -> None:
    h = HookSetup(t)
    cfg = t.config(["/bin/true"])
    cfg["hooks"] = {"poststop": [{"path": "/bin/false", "args": ["false"]}, h.hook("poststop-2", "poststop")]}
    bundle = t.bundle(cfg)
    cid = t.new_id()
    t.must(t.create(bundle, cid), "create")
    t.must(t.rt("start", cid), "start")
    t.wait_status(cid, "stopped")
    deleted = t.rt("delete", cid)
    gone = not t.rt("state", cid).ok
    ok = deleted.ok and gone and "poststop-2" in h.names()
    detail = f"delete exit {deleted.rc}, state gone {gone}, hooks {h.names()}"
    t.check("runtime.lifecycle.poststop-failure", ok, "delete succeeds and the next hook runs", detail)
    t.check("runtime.warnings.continue", ok, "delete succeeds despite the warning", detail)


def run_with_hooks(t: CaseContext, kinds: list[str]) -> list[str]:
    """Create, start and delete a container with one logging hook of each kind."""
    h = HookSetup(t)
    cfg = t.config(["/bin/true"])
    cfg["mounts"].append(h.mount())
    cfg["hooks"] = {k: [h.hook(k, k)] for k in kinds}
    bundle = t.bundle(cfg, h.rootfs_files)
    cid = t.new_id()
    t.must(t.create(bundle, cid), "create")
    t.must(t.rt("start", cid), "start")
    t.wait_status(cid, "stopped")
    t.must(t.rt("delete", cid), "delete")
    return h.names()
