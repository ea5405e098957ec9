"""The container setup plan, run against the recording kernel (no root, no host changes)."""


from oci_spec.model import Spec
from runtime import container_init
from runtime.kernel_fake import RecordingKernel
from runtime.ops.spec_cmd import default_config


def make_cfg(edit=None):
    config = default_config()
    config["process"]["terminal"] = False
    if edit:
        edit(config)
    spec = Spec.from_dict(config)
    return container_init.InitConfig(spec, "c1", "/b", "/b/rootfs", "/run/pyrunc/c1/exec.fifo")


def steps_of(kernel, name):
    return [s for s in kernel.steps if s.name == name]


class FakeChannel:
    def __init__(self, replies=()):
        self.sent, self.replies = [], list(replies)

    def send(self, kind, payload=""):
        self.sent.append((kind, payload))
        return True  # the runtime is there (runtime.sync.Channel.send)

    def recv(self):
        return self.replies.pop(0)


def test_rootfs_plan_order_and_fields():
    k = RecordingKernel()
    container_init.setup_rootfs(k, make_cfg())
    names = k.names()
    # propagation is cut before any mount, and pivot_root comes after every config mount
    assert k.steps[0].name == "mount" and k.steps[0].args[1] == "/" and "MS_SLAVE" in k.steps[0].args[3]
    pivot = names.index("pivot_root")
    config_mounts = [s for s in k.steps if s.field and s.field.startswith("/mounts/") and s.name == "mount"]
    assert [s.field for s in config_mounts][:3] == ["/mounts/0", "/mounts/1", "/mounts/2"]
    assert all(k.steps.index(s) < pivot for s in config_mounts)
    proc = next(s for s in config_mounts if s.field == "/mounts/0")
    assert proc.args[1] == "/b/rootfs/proc" and proc.args[2] == "proc"
    assert ("hostname", "pyrunc") == (steps_of(k, "sethostname")[0].field.strip("/"),
                                      steps_of(k, "sethostname")[0].args[0])
    # masked and read-only paths are applied after pivot_root, on the container's /proc
    masked = [s for s in k.steps if s.field and s.field.startswith("/linux/maskedPaths/")]
    assert masked and all(k.steps.index(s) > pivot for s in masked)
    # root.readonly: a read-only remount of / near the end
    ro = [s for s in k.steps if s.field == "/root/readonly"]
    assert ro and "MS_RDONLY" in ro[0].args[3] and k.steps.index(ro[0]) > pivot


def test_default_devices_and_links_created_in_rootfs():
    k = RecordingKernel()
    container_init.setup_rootfs(k, make_cfg())
    nodes = {s.args[0]: s.args[2] for s in steps_of(k, "mknod")}
    assert nodes["/b/rootfs/dev/null"] == "1:3"
    assert nodes["/b/rootfs/dev/tty"] == "5:0"
    links = {s.args[1]: s.args[0] for s in steps_of(k, "symlink")}
    assert links["/b/rootfs/dev/ptmx"] == "pts/ptmx"
    assert links["/b/rootfs/dev/fd"] == "/proc/self/fd"


def test_no_pivot_uses_move_and_chroot():
    cfg = make_cfg()
    cfg.no_pivot = True
    k = RecordingKernel()
    container_init.setup_rootfs(k, cfg)
    assert "pivot_root" not in k.names()
    assert "chroot" in k.names()
    assert any("MS_MOVE" in s.args[3] for s in steps_of(k, "mount"))


def test_identity_caps_user_and_order():
    def edit(c):
        c["process"]["user"] = {"uid": 1000, "gid": 1000, "additionalGids": [2000], "umask": 0o027}
        c["process"]["capabilities"]["inheritable"] = ["CAP_KILL"]
    k = RecordingKernel()
    container_init.identity(k, make_cfg(edit))
    names = k.names()
    drops = [s.args[1] for s in k.steps if s.args[:1] == ("PR_CAPBSET_DROP",)]
    assert "CAP_SYS_ADMIN" in drops and "CAP_KILL" not in drops
    # bounding drops need CAP_SETPCAP: they come before the uid change
    last_drop = max(i for i, s in enumerate(k.steps) if s.args[:1] == ("PR_CAPBSET_DROP",))
    assert last_drop < names.index("setresuid")
    assert steps_of(k, "setgroups")[0].args == ([2000],)
    assert names.index("setresgid") < names.index("setresuid") < names.index("capset")
    eff, perm, inh = steps_of(k, "capset")[0].args
    assert int(eff, 16) == (1 << 29) | (1 << 5) | (1 << 10) == int(perm, 16)
    assert int(inh, 16) == 1 << 5
    ambient = [s.args[1] for s in k.steps if s.args[:1] == ("PR_CAP_AMBIENT_RAISE",)]
    assert ambient == ["CAP_KILL"]  # only the one both permitted and inheritable
    assert ("PR_SET_NO_NEW_PRIVS", 1) in [s.args for s in steps_of(k, "prctl")]
    assert steps_of(k, "umask")[-1].args == ("0o27",)
    assert steps_of(k, "fchdir")[-1].args == ("/",)  # resolved in the root (CVE-2024-21626)
    assert steps_of(k, "setrlimit")[0].args == ("RLIMIT_NOFILE", 1024, 1024)


def test_unknown_capability_is_left_out_not_fatal():
    """runtime-spec: a capability that cannot be mapped is a warning (given at create)."""
    def edit(c):
        c["process"]["capabilities"]["bounding"] = ["CAP_NOPE", "CAP_KILL"]
    k = RecordingKernel()
    container_init.identity(k, make_cfg(edit))
    drops = [s.args[1] for s in k.steps if s.args[:1] == ("PR_CAPBSET_DROP",)]
    assert "CAP_KILL" not in drops and "CAP_CHOWN" in drops


def test_stage1_creates_user_namespace_first_and_waits_for_maps():
    def edit(c):
        c["linux"]["namespaces"].append({"type": "user"})
        c["linux"]["uidMappings"] = [{"containerID": 0, "hostID": 100000, "size": 65536}]
        c["linux"]["gidMappings"] = [{"containerID": 0, "hostID": 100000, "size": 65536}]
    k = RecordingKernel("stage-1")
    chan = FakeChannel([("mapped", "")])
    assert container_init.stage1(k, make_cfg(edit), chan, fork=lambda: 4242) == 4242
    unshares = [s.args[0] for s in steps_of(k, "unshare")]
    assert unshares[0] == "CLONE_NEWUSER"
    assert "CLONE_NEWUSER" not in unshares[1] and "CLONE_NEWPID" in unshares[1]
    assert chan.sent[0][0] == "userns"
    assert [s.name for s in k.steps].index("setresuid") > [s.name for s in k.steps].index("unshare")


def test_stage1_joins_namespaces_by_path_user_first():
    def edit(c):
        c["linux"]["namespaces"] = [{"type": "mount"}, {"type": "network", "path": "/proc/1/ns/net"},
                                    {"type": "user", "path": "/proc/1/ns/user"}]
    k = RecordingKernel("stage-1")
    container_init.stage1(k, make_cfg(edit), FakeChannel(), fork=lambda: 1)
    joined = [s.args[0] for s in steps_of(k, "setns")]
    assert joined == ["/proc/1/ns/user", "/proc/1/ns/net"]
    assert [s.field for s in steps_of(k, "setns")] == ["/linux/namespaces/2/path", "/linux/namespaces/1/path"]
    assert steps_of(k, "unshare")[0].args == ("CLONE_NEWNS",)


def test_bind_mount_of_file_source_creates_a_file_destination():
    def edit(c):
        c["mounts"].append({"destination": "/etc/resolv.conf", "type": "bind", "source": "/etc/resolv.conf",
                            "options": ["rbind", "ro"]})
    k = RecordingKernel(files={"/etc/resolv.conf": "file"})
    container_init.setup_rootfs(k, make_cfg(edit))
    binds = [s for s in steps_of(k, "mount") if s.field == "/mounts/7"]
    assert binds[0].args[0] == "/etc/resolv.conf" and binds[0].args[3] == "MS_BIND|MS_REC"
    assert "MS_RDONLY" in binds[1].args[3] and "MS_REMOUNT" in binds[1].args[3]


def test_a_refused_clone_into_the_cgroup_falls_back_to_fork_and_the_runtime_join():
    """clone3 missing (old kernel, ENOSYS from a seccomp profile) or refused: the init is
    forked as before and the runtime is asked to move it (the `cgroup` message)."""
    import errno

    class NoClone3(RecordingKernel):
        def fork_into_cgroup(self, cgroup_fd, display):
            raise self._error("clone3", ("CLONE_INTO_CGROUP", display), OSError(errno.ENOSYS, "nope"))

    cfg = make_cfg()
    cfg.cgroup_birth_dir = "/sys/fs/cgroup/unified/c1"
    cfg.cgroup_rest_to_join = lambda born: not born
    k = NoClone3()
    forked = []
    pid = container_init.stage1(k, cfg, FakeChannel(), fork=lambda: forked.append(1) or 0)
    assert pid == 0 and forked == [1] and not cfg.born_in_cgroup
    assert any(s.name == "note" and "moved into /sys/fs/cgroup/unified/c1 by the runtime" in s.args[0]
               for s in k.steps)
    chan = FakeChannel([("joined", "")])
    container_init.join_cgroups(k, cfg, chan)
    assert chan.sent == [("cgroup", "")]
    # born in it: nothing is left for the runtime
    cfg2 = make_cfg()
    cfg2.cgroup_birth_dir = "/sys/fs/cgroup/unified/c1"
    cfg2.cgroup_rest_to_join = lambda born: not born
    k2 = RecordingKernel()
    container_init.stage1(k2, cfg2, FakeChannel(), fork=lambda: 1 / 0)  # not called
    assert cfg2.born_in_cgroup
    chan2 = FakeChannel()
    container_init.join_cgroups(k2, cfg2, chan2)
    assert chan2.sent == []
