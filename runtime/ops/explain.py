"""`explain`: the ordered plan of `create` for a bundle, printed without changing the host.

The plan is made by the code that sets a container up (runtime.container_init), run against
the recording kernel (runtime.kernel_fake): stage-1 and the init record their steps instead of
doing them, and a fake channel plays the runtime's side of the handshake (`mapped`, `go`,
`joined`), adding the runtime's own steps where the real handshake would do them. Host facts
that change the plan (cgroup version and placement, time namespaces) are printed as notes.

Nothing here creates a file, a cgroup, a namespace or a mount: the cgroup manager is only
*placed* (manager_for reads /proc/self/mountinfo and /proc/self/cgroup), the seccomp profile is
compiled without the on-disk cache, and the id-mapped mount trees are not prepared.
"""

import os

CID = "<id>"
ROOTFS = "<rootfs>"


class _Channel:
    """The runtime's end of the handshake, answered at once. `runtime` records its steps."""

    REPLIES = {"userns": "mapped", "hooks": "go", "cgroup": "joined"}

    def __init__(self, runtime, spec, cgroup):
        self.runtime, self.spec, self.cgroup = runtime, spec, cgroup
        self.cfg = None  # the InitConfig, once made
        self.sent: list[tuple[str, str]] = []
        self._reply = ""

    def send(self, kind: str, payload: str = "") -> bool:
        """True, as runtime.sync.Channel.send while the runtime is there."""
        self.sent.append((kind, payload))
        self._reply = self.REPLIES.get(kind, "")
        rt = self.runtime
        if kind == "userns":
            from runtime.namespaces import write_id_maps

            write_id_maps(rt, "<stage-1 pid>", self.spec.linux)
        elif kind == "hooks":
            with rt.because("/hooks"):
                rt.note("runs the prestart, createRuntime and createContainer hooks")
        elif kind == "cgroup":
            with rt.because("/linux/cgroupsPath"):
                rt.note(f"moves the init into its cgroup: {', '.join(self.rest_dirs())}")
        elif kind == "seccomp":
            with rt.because("/linux/seccomp/listenerPath"):
                rt.note("takes the init's seccomp listener and sends it to the agent")
        elif kind == "ready":
            rt.note("the init is ready; create returns (start opens exec.fifo)")
        return True

    def rest_dirs(self) -> list[str]:
        """The container's cgroup directories the init did not enter by itself."""
        cfg = self.cfg
        joined = {name for name, _ in cfg.cgroup_join_files}
        born = cfg.cgroup_birth_dir if cfg.born_in_cgroup else None
        return [d for name, d in sorted(self.cgroup.paths().items()) if name not in joined and d != born]

    def recv(self) -> tuple[str, str]:
        return (self._reply, "")


def _kernel(proc: str, files: dict, umask: int):
    from runtime.kernel_fake import RecordingKernel

    class ExplainKernel(RecordingKernel):
        def child(self, proc: str):
            k = ExplainKernel(proc, self.files, self.steps)
            return k

        def umask(self, mask: int) -> int:
            super().umask(mask)
            return umask  # the caller's, as create would find it

        def exec_when_started(self, start_fd, path, argv, env):
            # container_init.init() calls this outside any `because`: the field is args'.
            with self.because("/process/args"):
                super().exec_when_started(start_fd, path, argv, env)

    return ExplainKernel(proc, files)


def _cgroup_dirs(cgroup) -> list[str]:
    return [d for _, d in sorted(cgroup.paths().items())]


def plan(bundle: str):
    """(steps, rootfs): the runtime.kernel_fake.Step list of `create` for `bundle`."""
    from runtime import container_init
    from runtime.cgroups import manager_for
    from runtime.errors import PyruncError
    from runtime.ops.create import _rootfs_path, load_spec

    bundle = os.path.abspath(bundle)
    spec = load_spec(bundle)
    rootfs = _rootfs_path(spec, bundle)
    # Bind sources are looked up on the host (a read); everything else counts as a directory.
    files = {}
    for m in spec.mounts:
        if m.type == "bind" or "bind" in m.options or "rbind" in m.options:
            src = m.source if os.path.isabs(m.source or "") else os.path.join(bundle, m.source or "")
            files[src] = "dir" if os.path.isdir(src) else ("file" if os.path.exists(src) else None)
    umask = os.umask(0o022)
    os.umask(umask)
    rt = _kernel("runtime", files, umask)
    steps = rt.steps
    for w in spec.warnings:
        with rt.because(w.pointer):
            rt.note(f"warning: {w.message}")
    cgroup = manager_for(spec.linux, CID)
    with rt.because("/linux/cgroupsPath"):
        rt.note(f"host: cgroup v{cgroup.version}; creates {', '.join(_cgroup_dirs(cgroup))}")
    if spec.linux.resources:
        with rt.because("/linux/resources"):
            rt.note("writes the resource limits into the container's cgroup")
    cfg = container_init.InitConfig(spec, CID, bundle, rootfs, f"/run/pyrunc/{CID}/exec.fifo")
    container_init.place_in_cgroup(cfg, cgroup)
    has_time = os.path.exists("/proc/self/ns/time")
    with rt.because("/linux/namespaces" if "time" in cfg.ns.new else None):
        fails = ", and the config asks for one: create fails" if "time" in cfg.ns.new else ""
        rt.note(f"host: time namespaces {'supported' if has_time else 'not supported' + fails}")
    if spec.linux.seccomp is not None:
        from runtime import seccomp

        try:
            cfg.seccomp = seccomp.compile_filter(spec.linux.seccomp)  # no cache: nothing written
        except seccomp.SeccompError as e:
            raise PyruncError(f"config.json: {e}") from None
        with rt.because("/linux/seccomp"):
            rt.note("compiles the seccomp filter (loaded by the init)")
    idmapped = [i for i, m in enumerate(spec.mounts)
                if m.uid_mappings or "idmap" in m.options or "ridmap" in m.options]
    for i in idmapped:
        with rt.because(f"/mounts/{i}"):
            rt.note("prepares an id-mapped copy of the source (open_tree + mount_setattr)")
        cfg.idmap_fds[i] = 1000 + i
    rt.note("forks stage-1")
    chan = _Channel(rt, spec, cgroup)
    chan.cfg = cfg
    stage1 = rt.child("stage-1")
    try:
        container_init.stage1(stage1, cfg, chan, fork=lambda: 0)
        container_init.init(stage1.child("init"), cfg, chan)
    except (PyruncError, OSError) as e:
        rt.note(f"create would stop here: {e}")
    if spec.linux.net_devices:
        with rt.because("/linux/netDevices"):
            rt.note("moves the net devices into the container's network namespace (once init exists)")
    return steps, rootfs


def _shown(value, rootfs: str):
    if isinstance(value, str):
        if value == rootfs or value.startswith(rootfs + "/"):
            return ROOTFS + value[len(rootfs):]
        return value
    if isinstance(value, (list, tuple)):
        return [_shown(v, rootfs) for v in value]
    return value


def explain(bundle: str, fmt: str = "text") -> str:
    """The plan as text (one step a line) or as one JSON document (a list of steps)."""
    from runtime.errors import UsageError

    if fmt not in ("text", "json"):
        raise UsageError(f"invalid format option {fmt!r}: use text or json")
    steps, rootfs = plan(bundle)
    rows = [{"proc": s.proc, "step": s.name, "args": _shown(list(s.args), rootfs), "field": s.field}
            for s in steps]
    if fmt == "json":
        import json

        return json.dumps(rows, indent=1, default=str)
    lines = [f"{'runtime':<8}# rootfs: {ROOTFS} = {rootfs}"]
    for r in rows:
        where = f"   <- {r['field']}" if r["field"] else ""
        if r["step"] == "note":
            lines.append(f"{r['proc']:<8}# {r['args'][0]}{where}")
        else:
            lines.append(f"{r['proc']:<8}{r['step']}({', '.join(map(repr, r['args']))}){where}")
    return "\n".join(lines)
