"""Process, user, hostname and miscellaneous in-container cases (config.md and
runtime-linux.md), each read by the checker inside the container."""

from __future__ import annotations

from ..model import case
from ..runner import CaseContext
from .util import cap_mask, check_refused

CAPS = {
    "bounding": ["CAP_CHOWN", "CAP_KILL", "CAP_NET_BIND_SERVICE", "CAP_SETPCAP", "CAP_SYS_CHROOT"],
    # for uid 0 the kernel makes effective equal permitted at exec, and ambient is always
    # part of both: the sets are chosen so that no runtime can honour them differently
    "permitted": ["CAP_CHOWN", "CAP_KILL", "CAP_NET_BIND_SERVICE", "CAP_SETPCAP"],
    "effective": ["CAP_CHOWN", "CAP_KILL", "CAP_NET_BIND_SERVICE", "CAP_SETPCAP"],
    "inheritable": ["CAP_KILL", "CAP_NET_BIND_SERVICE"],
    "ambient": ["CAP_NET_BIND_SERVICE"],
}
STATUS_FIELD = {
    "bounding": "CapBnd",
    "permitted": "CapPrm",
    "effective": "CapEff",
    "inheritable": "CapInh",
    "ambient": "CapAmb",
}
ENV = ["PATH=/bin", "CONFORMANCE=yes", "EMPTY="]


@case(*(f"config.process.caps-{s}" for s in CAPS))
def capabilities(t: CaseContext) -> None:
    def edit(cfg):
        cfg["process"]["capabilities"] = {k: list(v) for k, v in CAPS.items()}

    status = t.inspect(["status"], edit)["status"]
    for s, names in CAPS.items():
        got = int(status.get(STATUS_FIELD[s], "0"), 16)
        t.check(
            f"config.process.caps-{s}",
            got == cap_mask(names),
            f"{STATUS_FIELD[s]} {cap_mask(names):016x} ({' '.join(names)})",
            f"{got:016x}",
        )


@case("config.process.caps-unknown-no-fail")
def unknown_capability(t: CaseContext) -> None:
    def edit(cfg):
        cfg["process"]["capabilities"]["bounding"].append("CAP_CONFORMANCE_UNKNOWN")

    found = t.inspect(["status"], edit)
    t.check("config.process.caps-unknown-no-fail", "status" in found, "the container runs", "ran")


@case("config.process.rlimits-getrlimit", "config.process.rlimits-soft", "config.process.rlimits-hard")
def rlimits(t: CaseContext) -> None:
    want = {"RLIMIT_NOFILE": (200, 300), "RLIMIT_CORE": (1234, 5678), "RLIMIT_NPROC": (500, 600)}

    def edit(cfg):
        cfg["process"]["rlimits"] = [{"type": k, "soft": s, "hard": h} for k, (s, h) in want.items()]

    got = t.inspect(["rlimits"], edit)["rlimits"]
    t.check(
        "config.process.rlimits-getrlimit",
        all(got.get(k) for k in want),
        f"getrlimit works for {list(want)}",
        got,
    )
    for which, i in (("soft", 0), ("hard", 1)):
        obs = {k: (got.get(k) or {}).get(which) for k in want}
        exp = {k: v[i] for k, v in want.items()}
        t.eq(f"config.process.rlimits-{which}", obs, exp)


@case("config.user.uid", "config.user.gid", "config.user.additional-gids", "config.user.umask")
def user(t: CaseContext) -> None:
    def edit(cfg):
        cfg["process"]["user"] = {"uid": 1000, "gid": 1000, "additionalGids": [2000, 3000], "umask": 0o027}

    found = t.inspect(["ids", "umask"], edit)
    ids = found["ids"]
    t.eq("config.user.uid", (ids["uid"], ids["euid"]), (1000, 1000))
    t.eq("config.user.gid", (ids["gid"], ids["egid"]), (1000, 1000))
    t.eq("config.user.additional-gids", sorted(set(ids["groups"]) - {1000}), [2000, 3000])
    t.eq("config.user.umask", oct(found["umask"]), oct(0o027))


@case(
    "config.process.cwd",
    "config.process.env",
    "config.process.args",
    "config.process.console-size-ignored",
    "config.process.no-new-privileges",
    "config.process.oom-score-adj",
    "config.hostname",
    "config.domainname",
    "runtime-linux.fds.stdio-only",
    "config.process.cpu-affinity-unset",
    "config.annotations.unknown-ignored",
    "config.extensibility.unknown-property",
    *(f"runtime-linux.devlinks.{n}" for n in ("fd", "stdin", "stdout", "stderr")),
)
def process_basics(t: CaseContext) -> None:
    def edit(cfg):
        p = cfg["process"]
        p.update(
            cwd="/tmp",
            env=list(ENV),
            noNewPrivileges=True,
            oomScoreAdj=123,
            consoleSize={"height": 25, "width": 80},
        )
        p["args"] = [
            "/checker",
            "cwd",
            "env",
            "status",
            "uname",
            "fds",
            "file:/proc/self/oom_score_adj",
            "file:/proc/self/cmdline",
            *(f"stat:/dev/{n}" for n in ("fd", "stdin", "stdout", "stderr")),
        ]
        cfg["hostname"], cfg["domainname"] = "conf-host", "conf-domain"
        cfg["annotations"] = {"org.example.conformance.unknown": "x"}
        cfg["conformanceUnknownProperty"] = {"nested": [1, 2]}

    found = t.inspect([], edit)
    t.eq("config.process.cwd", found["cwd"], "/tmp")
    # runtimes commonly add HOME when the config does not set it; nothing else may appear
    env = sorted(e for e in found["env"] if not e.startswith("HOME="))
    t.eq("config.process.env", env, sorted(ENV))
    args = found["file:/proc/self/cmdline"].get("data", "")
    t.check("config.process.args", args.startswith("/checker"), "argv[0] /checker", args[:60])
    t.check("config.process.console-size-ignored", True, "", "container ran")
    t.check("config.annotations.unknown-ignored", True, "", "container ran")
    t.check("config.extensibility.unknown-property", True, "", "container ran")
    t.eq("config.process.no-new-privileges", found["status"].get("NoNewPrivs"), "1")
    t.eq(
        "config.process.oom-score-adj", found["file:/proc/self/oom_score_adj"].get("data", "").strip(), "123"
    )
    t.eq("config.hostname", found["uname"]["nodename"], "conf-host")
    t.eq("config.domainname", found["uname"]["domainname"], "conf-domain")
    t.eq("runtime-linux.fds.stdio-only", sorted(found["fds"]), ["0", "1", "2"])
    mine = _status_field("Cpus_allowed_list")
    t.eq("config.process.cpu-affinity-unset", found["status"].get("Cpus_allowed_list"), mine)
    for name, target in (
        ("fd", "/proc/self/fd"),
        ("stdin", "/proc/self/fd/0"),
        ("stdout", "/proc/self/fd/1"),
        ("stderr", "/proc/self/fd/2"),
    ):
        st = found[f"stat:/dev/{name}"]
        t.eq(f"runtime-linux.devlinks.{name}", (st.get("type"), st.get("link")), ("symlink", target))


def _status_field(name: str) -> str:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(name + ":"):
                return line.split(":", 1)[1].strip()
    return ""


@case("config.process.oom-score-adj-unset")
def oom_unset(t: CaseContext) -> None:
    found = t.inspect(["file:/proc/self/oom_score_adj"])
    mine = open("/proc/self/oom_score_adj").read().strip()
    t.eq(
        "config.process.oom-score-adj-unset",
        found["file:/proc/self/oom_score_adj"].get("data", "").strip(),
        mine,
    )


def _set(path: str, value):
    def edit(cfg):
        node = cfg
        keys = path.split(".")
        for k in keys[:-1]:
            node = node.setdefault(k, {})
        node[keys[-1]] = value

    return edit


@case("config.process.rlimits-invalid")
def rlimit_invalid(t):
    check_refused(
        t,
        "config.process.rlimits-invalid",
        _set("process.rlimits", [{"type": "RLIMIT_CONFORMANCE", "soft": 1, "hard": 1}]),
        "an unknown rlimit type",
    )


@case("config.process.rlimits-duplicate")
def rlimit_duplicate(t):
    check_refused(
        t,
        "config.process.rlimits-duplicate",
        _set(
            "process.rlimits",
            [
                {"type": "RLIMIT_NOFILE", "soft": 100, "hard": 100},
                {"type": "RLIMIT_NOFILE", "soft": 200, "hard": 200},
            ],
        ),
        "duplicate rlimits",
    )


@case("config.process.cwd-absolute")
def cwd_relative(t):
    check_refused(t, "config.process.cwd-absolute", _set("process.cwd", "tmp"), "a relative cwd")


@case("config.ociversion.invalid")
def ociversion_invalid(t):
    check_refused(t, "config.ociversion.invalid", _set("ociVersion", "one.two"), "ociVersion 'one.two'")


@case("config.valid-values.unsupported")
def unknown_namespace(t):
    def edit(cfg):
        cfg["linux"]["namespaces"].append({"type": "conformance"})

    check_refused(t, "config.valid-values.unsupported", edit, "namespace type 'conformance'")


@case("config.mounts.idmap-pairs")
def idmap_pairs(t):
    def edit(cfg):
        cfg["mounts"].append(
            {
                "destination": "/mnt",
                "type": "bind",
                "source": "/tmp",
                "options": ["rbind", "idmap"],
                "uidMappings": [{"containerID": 0, "hostID": 1000, "size": 1}],
            }
        )

    check_refused(t, "config.mounts.idmap-pairs", edit, "uidMappings without gidMappings")


@case("config.root.path-exists")
def root_missing(t):
    check_refused(t, "config.root.path-exists", _set("root.path", "no-such-rootfs"), "a missing root.path")


@case("config.root.path-relative", "config.root.readonly-default")
def root_relative(t):
    found = t.inspect(["mkfile:/", "stat:/checker"])
    t.check(
        "config.root.path-relative",
        found["stat:/checker"].get("ok"),
        "/checker of bundle/rootfs",
        found["stat:/checker"],
    )
    t.check(
        "config.root.readonly-default",
        found["mkfile:/"].get("ok"),
        "a file can be made in /",
        found["mkfile:/"],
    )


@case("config.root.readonly")
def root_readonly(t):
    found = t.inspect(["mkfile:/"], _set("root.readonly", True))
    t.eq("config.root.readonly", found["mkfile:/"].get("errno"), "EROFS")


@case("linux.personality")
def personality(t):
    found = t.inspect(["personality"], _set("linux.personality", {"domain": "LINUX32"}))
    t.eq("linux.personality", found["personality"] & 0xFF, 8)
