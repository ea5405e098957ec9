"""Mount cases: order, relative destinations and every Linux mount option of config.md.

The options are checked together in one container (one mount per option); when that
container fails, each option is retried alone so that one unsupported option does not
hide the others.
"""

from __future__ import annotations

from ..model import case
from ..runner import CaseContext, CaseError
from .util import Mount, parse_mountinfo, top_mount

MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_NOATIME, MS_NODIRATIME, MS_NOSYMFOLLOW = 1024, 2048, 256
STRICT_FLAGS = MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_NOATIME | MS_NODIRATIME | MS_NOSYMFOLLOW
ACCEPTED = ((), ())

# option -> (options given, tokens expected, tokens forbidden) on a fresh tmpfs
TMPFS = {
    "async": (["sync", "async"], (), ("sync",)),
    "atime": (["noatime", "atime"], (), ("noatime",)),
    "defaults": (["defaults"], ("rw",), ("nosuid", "nodev", "noexec")),
    "dev": (["nodev", "dev"], (), ("nodev",)),
    "diratime": (["nodiratime", "diratime"], (), ("nodiratime",)),
    "dirsync": (["dirsync"], ("dirsync",), ()),
    "exec": (["noexec", "exec"], (), ("noexec",)),
    "iversion": (["iversion"], *ACCEPTED),
    "lazytime": (["lazytime"], ("lazytime",), ()),
    "loud": (["loud"], *ACCEPTED),
    "noatime": (["noatime"], ("noatime",), ()),
    "nodev": (["nodev"], ("nodev",), ()),
    "nodiratime": (["nodiratime"], ("nodiratime",), ()),
    "noexec": (["noexec"], ("noexec",), ()),
    "noiversion": (["noiversion"], *ACCEPTED),
    "nolazytime": (["lazytime", "nolazytime"], (), ("lazytime",)),
    "norelatime": (["norelatime"], *ACCEPTED),
    "nostrictatime": (["strictatime", "nostrictatime"], ("relatime",), ()),
    "nosuid": (["nosuid"], ("nosuid",), ()),
    "nosymfollow": (["nosymfollow"], ("nosymfollow",), ()),
    "private": (["private"], (), ("shared", "master")),
    "relatime": (["relatime"], ("relatime",), ("noatime",)),
    "remount": (["remount", "ro"], ("ro",), ()),  # over a first tmpfs, see _mount_for
    "ro": (["ro"], ("ro",), ()),
    "rw": (["ro", "rw"], (), ("ro",)),
    "shared": (["shared"], ("shared",), ()),
    "silent": (["silent"], *ACCEPTED),
    "slave": (["slave"], (), ("shared",)),
    "strictatime": (["strictatime"], (), ("noatime", "relatime")),
    "suid": (["nosuid", "suid"], (), ("nosuid",)),
    "symfollow": (["nosymfollow", "symfollow"], (), ("nosymfollow",)),
    "sync": (["sync"], ("sync",), ()),
    "unbindable": (["unbindable"], ("unbindable",), ()),
}
SOLO = {"remount"}  # meaningless on a fresh mount: tried alone, never spoils the group

# option -> (submount of the recursive bind, tokens expected, tokens forbidden)
RECURSIVE = {
    "ratime": ("strict", (), ("noatime",)),
    "rdev": ("strict", (), ("nodev",)),
    "rdiratime": ("strict", (), ("nodiratime",)),
    "rexec": ("strict", (), ("noexec",)),
    "rnoatime": ("plain", ("noatime",), ()),
    "rnodiratime": ("plain", ("nodiratime",), ()),
    "rnoexec": ("plain", ("noexec",), ()),
    "rnorelatime": ("plain", (), ()),
    "rnostrictatime": ("plain", (), ()),
    "rnosuid": ("plain", ("nosuid",), ()),
    "rnosymfollow": ("plain", ("nosymfollow",), ()),
    "rrelatime": ("strict", ("relatime",), ("noatime",)),
    "rro": ("plain", ("ro",), ()),
    "rrw": ("strict", (), ("ro",)),
    "rshared": ("plain", ("shared",), ()),
    "rslave": ("plain", (), ("shared",)),
    "rprivate": ("plain", (), ("shared", "master")),
    "runbindable": ("plain", ("unbindable",), ()),
    "rstrictatime": ("strict", (), ("noatime", "relatime")),
    "rsuid": ("strict", (), ("nosuid",)),
    "rsymfollow": ("strict", (), ("nosymfollow",)),
}
IDMAP = [{"containerID": 0, "hostID": 1000, "size": 1}]
RID = "config.mounts.option."


def _host_tree(t: CaseContext):
    """A host directory with a file and two tmpfs submounts: ``plain`` (default flags)
    and ``strict`` (ro, nosuid, nodev, noexec, noatime, nodiratime, nosymfollow)."""
    src = t.host_dir("mntsrc")
    (src / "hello").write_text("hello\n")
    t.host_tmpfs(src / "plain")
    t.host_tmpfs(src / "strict", 0, MS_RDONLY | STRICT_FLAGS)
    return src


def _mount_for(opt: str, src) -> tuple[dict, str]:
    """The config mount testing ``opt`` and the mount point to inspect."""
    if opt == "remount":  # mount(8) -o remount,ro of an existing mount
        return {
            "destination": "/m/remount",
            "type": "tmpfs",
            "source": "tmpfs",
            "options": TMPFS[opt][0],
        }, "/m/remount"
    if opt in TMPFS:
        dest = f"/m/{opt}"
        return {"destination": dest, "type": "tmpfs", "source": "tmpfs", "options": TMPFS[opt][0]}, dest
    if opt in RECURSIVE:
        dest = f"/r/{opt}"
        return (
            {"destination": dest, "type": "bind", "source": str(src), "options": ["rbind", opt]},
            f"{dest}/{RECURSIVE[opt][0]}",
        )
    if opt in ("bind", "rbind"):
        dest = f"/b/{opt}"
        return ({"destination": dest, "type": "bind", "source": str(src), "options": [opt]}, dest)
    dest = f"/i/{opt}"  # idmap, ridmap
    return (
        {
            "destination": dest,
            "type": "bind",
            "source": str(src),
            "options": ["rbind", opt],
            "uidMappings": IDMAP,
            "gidMappings": IDMAP,
        },
        dest,
    )


def _probes(opt: str, point: str) -> list[str]:
    if opt == "bind":
        return [f"stat:{point}/hello"]
    if opt in ("idmap", "ridmap"):
        return [f"stat:{point}/hello", f"stat:{point}/plain"]
    return []


def _judge(t: CaseContext, opt: str, point: str, found: dict) -> None:
    rid = RID + opt
    mounts = parse_mountinfo(found.get("mountinfo", []))
    if opt == "bind":
        st = found.get(f"stat:{point}/hello", {})
        t.check(rid, st.get("ok", False), f"{point}/hello from the bind source", st)
        return
    if opt == "rbind":
        sub = top_mount(mounts, f"{point}/plain")
        t.check(rid, sub is not None, f"submount {point}/plain", "no such mount")
        return
    if opt in ("idmap", "ridmap"):
        key = f"stat:{point}/{'hello' if opt == 'idmap' else 'plain'}"
        st = found.get(key, {})
        t.check(
            rid, st.get("uid") == 1000, f"{key[5:]} owned by uid 1000 (host 0 mapped)", f"uid {st.get('uid')}"
        )
        return
    want, forbid = TMPFS[opt][1:] if opt in TMPFS else RECURSIVE[opt][1:]
    m = top_mount(mounts, point)
    if m is None:
        t.check(rid, False, f"a mount at {point}", "none")
        return
    missing = [w for w in want if w not in m.tokens]
    extra = [f for f in forbid if f in m.tokens]
    t.check(rid, not missing and not extra, f"{point} with {list(want)} and without {list(forbid)}", m.line)


def _run(t: CaseContext, opts: list[str], src) -> dict:
    def edit(cfg):
        for opt in opts:
            if opt == "remount":
                cfg["mounts"].append({"destination": "/m/remount", "type": "tmpfs", "source": "tmpfs"})
            cfg["mounts"].append(_mount_for(opt, src)[0])

    probes = ["mountinfo"] + [p for o in opts for p in _probes(o, _mount_for(o, src)[1])]
    return t.inspect(probes, edit)


def _option_group(t: CaseContext, opts: list[str]) -> None:
    src = _host_tree(t)
    grouped = [o for o in opts if o not in SOLO and t.wants(RID + o)]
    singles = [o for o in opts if o in SOLO and t.wants(RID + o)]
    try:
        found = _run(t, grouped, src) if grouped else None
    except CaseError:
        found, singles = None, grouped + singles
    if found is not None:
        for opt in grouped:
            _judge(t, opt, _mount_for(opt, src)[1], found)
    for opt in singles:
        try:
            _judge(t, opt, _mount_for(opt, src)[1], _run(t, [opt], src))
        except CaseError as e:
            t.check(RID + opt, False, f"a container with a mount using {opt!r}", e)
    for opt in opts:
        if not t.wants(RID + opt):
            t.skip(RID + opt, "not selected")


_PLAIN = sorted(TMPFS) + ["bind", "rbind"]
_REC = sorted(RECURSIVE) + ["idmap", "ridmap"]


@case(*(RID + o for o in _PLAIN))
def mount_options(t: CaseContext) -> None:
    _option_group(t, _PLAIN)


@case(*(RID + o for o in _REC))
def mount_options_recursive(t: CaseContext) -> None:
    _option_group(t, _REC)


@case("config.mounts.order", "config.mounts.relative-destination", "config.mounts.unknown-option-data")
def mount_order(t: CaseContext) -> None:
    def edit(cfg):
        cfg["mounts"] += [
            {"destination": "/mnt", "type": "tmpfs", "source": "tmpfs", "options": ["size=1m"]},
            {"destination": "/mnt", "type": "tmpfs", "source": "tmpfs", "options": ["size=2m"]},
            {"destination": "reldest", "type": "tmpfs", "source": "tmpfs"},
            {"destination": "/inodes", "type": "tmpfs", "source": "tmpfs", "options": ["nr_inodes=4242"]},
        ]

    found = t.inspect(["mountinfo"], edit)
    mounts = parse_mountinfo(found["mountinfo"])
    _check_top_mount(t, "config.mounts.order", mounts, "/mnt", "size=2048k", "the size=2m tmpfs on top")
    _check_top_mount(t, "config.mounts.relative-destination", mounts, "/reldest", None, "a tmpfs")
    _check_top_mount(t, "config.mounts.unknown-option-data", mounts, "/inodes", "nr_inodes=4242", "a tmpfs")


def _check_top_mount(t: CaseContext, rid: str, mounts: list[Mount], point: str, token: str | None,
                     what: str) -> None:
    """The mount on top at ``point`` exists and, if ``token`` is given, has that option."""
    top = top_mount(mounts, point)
    t.check(
        rid,
        top is not None and (token is None or token in top.tokens),
        f"{what} at {point}" + (f" with {token}" if token else ""),
        top.line if top else "no mount",
    )
