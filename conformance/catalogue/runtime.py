"""Requirements of runtime.md (state, lifecycle, errors, operations) and runtime-linux.md."""

from ..model import spec_section

R = spec_section("runtime.md")
RL = spec_section("runtime-linux.md")
_HOOKS = ("prestart", "createRuntime", "createContainer", "startContainer", "poststart")

REQUIREMENTS = [
    R(
        "runtime.scope.same-container",
        "Scope of a Container",
        "MUST",
        "Whoever created a container can run every operation (state, start, kill, delete) on it.",
    ),
    R("runtime.state.id", "State", "MUST", "The state's id is the container's id as given to create."),
    R(
        "runtime.state.id-unique",
        "State",
        "MUST",
        "Container ids are unique on the host: a second container with an id in use is refused.",
    ),
    R(
        "runtime.state.status",
        "State",
        "MUST",
        "status is created after create, running after start, stopped once the process exited.",
    ),
    R(
        "runtime.state.pid",
        "State",
        "MUST",
        "In the created and running states, pid is the container process's id as seen on the host.",
    ),
    R("runtime.state.bundle", "State", "MUST", "bundle is the absolute path of the bundle directory."),
    R("runtime.state.annotations", "State", "MAY", "annotations of config.json are listed in the state."),
    R(
        "runtime.state.schema",
        "State",
        "MUST",
        "The state document validates against schema/state-schema.json.",
    ),
    R(
        "runtime.lifecycle.create-env",
        "Lifecycle",
        "MUST",
        "create builds the environment from config.json (namespaces, mounts, cgroup) before returning.",
    ),
    R(
        "runtime.lifecycle.create-error",
        "Lifecycle",
        "MUST",
        "If the environment cannot be built, create reports an error.",
    ),
    R(
        "runtime.lifecycle.no-program-at-create",
        "Lifecycle",
        "MUST",
        "The user program does not run during create.",
    ),
    R(
        "runtime.lifecycle.config-frozen",
        "Lifecycle",
        "MUST",
        "Editing config.json after create has no effect on the container.",
    ),
    R("runtime.lifecycle.runs-program", "Lifecycle", "MUST", "start runs the user program given by process."),
    R(
        "runtime.lifecycle.destroy",
        "Lifecycle",
        "MUST",
        "Deleting undoes what create did (no container state, no cgroup, no process left).",
    ),
    *[
        R(f"runtime.lifecycle.{h}-invoked", "Lifecycle", "MUST", f"The {h} hooks are run.")
        for h in _HOOKS + ("poststop",)
    ],
    *[
        R(
            f"runtime.lifecycle.{h}-failure",
            "Lifecycle",
            "MUST",
            f"A failing {h} hook makes the operation report an error and the container is stopped.",
        )
        for h in _HOOKS
    ],
    R(
        "runtime.lifecycle.poststop-failure",
        "Lifecycle",
        "MUST",
        "A failing poststop hook only logs a warning: delete still succeeds and later hooks run.",
    ),
    R(
        "runtime.errors.no-side-effect",
        "Errors",
        "MUST",
        "A failed operation leaves the environment as it was (no state, cgroup or mount left).",
    ),
    R(
        "runtime.warnings.continue",
        "Warnings",
        "MUST",
        "Logging a warning does not change the outcome of the operation.",
    ),
    R(
        "runtime.ops.supported",
        "Operations",
        "MUST",
        "The runtime supports the state, create, start, kill and delete operations.",
    ),
    R("runtime.state-op.no-id", "Query State", "MUST", "state without a container id is an error."),
    R("runtime.state-op.missing", "Query State", "MUST", "state of an unknown container is an error."),
    R(
        "runtime.state-op.returns-state",
        "Query State",
        "MUST",
        "state prints the container's state document.",
    ),
    R("runtime.create.no-args", "Create", "MUST", "create without a container id is an error."),
    R(
        "runtime.create.duplicate-id",
        "Create",
        "MUST",
        "create with an id already in use fails and leaves the existing container untouched.",
    ),
    R(
        "runtime.create.invalid-id",
        "Create",
        "MUST",
        "create with an invalid id (a path such as ../x) fails and creates nothing.",
    ),
    R("runtime.create.new-container", "Create", "MUST", "create makes a new container in state created."),
    R(
        "runtime.create.applies-config",
        "Create",
        "MUST",
        "Properties other than process are applied at create (mounts, cgroup visible for the created pid).",
    ),
    R("runtime.create.process-deferred", "Create", "MUST", "process.args is not executed before start."),
    R(
        "runtime.create.apply-failure",
        "Create",
        "MUST",
        "A property that cannot be applied (bind mount of a missing source) fails create, no container.",
    ),
    R("runtime.start.no-id", "Start", "MUST", "start without a container id is an error."),
    R(
        "runtime.start.not-created",
        "Start",
        "MUST",
        "start of a running or stopped container is an error and does not affect it.",
    ),
    R("runtime.start.runs-process", "Start", "MUST", "start runs the program of process."),
    R("runtime.start.no-process", "Start", "MUST", "start of a container whose config has no process fails."),
    R("runtime.kill.no-id", "Kill", "MUST", "kill without a container id is an error."),
    R("runtime.kill.not-running", "Kill", "MUST", "kill of a stopped container is an error."),
    R(
        "runtime.kill.sends-signal",
        "Kill",
        "MUST",
        "kill delivers the given signal to the container process.",
    ),
    R("runtime.kill.created", "Kill", "MUST", "kill is accepted for a created container and stops it."),
    R("runtime.delete.no-id", "Delete", "MUST", "delete without a container id is an error."),
    R(
        "runtime.delete.not-stopped",
        "Delete",
        "MUST",
        "delete (without force) of a running container fails and the container keeps running.",
    ),
    R(
        "runtime.delete.removes-resources",
        "Delete",
        "MUST",
        "delete removes the container's state and cgroup.",
    ),
    R(
        "runtime.delete.keeps-foreign",
        "Delete",
        "MUST",
        "delete leaves alone what the container did not create (a bind-mounted host directory).",
    ),
    RL(
        "runtime-linux.fds.stdio-only",
        "File descriptors",
        "SHOULD",
        "By default the process gets only stdin, stdout and stderr as open descriptors.",
    ),
    *[
        RL(
            f"runtime-linux.devlinks.{name}",
            "Dev symbolic links",
            "MUST",
            f"/dev/{name} is a symlink to {target}.",
        )
        for name, target in (
            ("fd", "/proc/self/fd"),
            ("stdin", "/proc/self/fd/0"),
            ("stdout", "/proc/self/fd/1"),
            ("stderr", "/proc/self/fd/2"),
        )
    ],
]
