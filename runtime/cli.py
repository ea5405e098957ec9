"""pyrunc's command line: runc's, flag for flag. This module only parses arguments and calls
one operation of runtime/ops; it imports an operation only when that command runs, so that the
hot commands (state, start, kill, delete) load nothing they do not use."""

import os
import sys

from runtime import log
from runtime.errors import PyruncError, UsageError

VERSION = "0.1.0"
SPEC_VERSION = "1.3.0"

# flag spec: names -> (dest, kind) where kind is "bool", "str", "int" or "list" (repeatable)
GLOBAL_FLAGS = {
    "root": ("root", "str"), "log": ("log", "str"), "log-format": ("log_format", "str"),
    "debug": ("debug", "bool"), "systemd-cgroup": ("systemd_cgroup", "bool"),
    "criu": ("criu", "str"), "rootless": ("rootless", "str"),
    "version": ("version", "bool"), "v": ("version", "bool"),
    "help": ("help", "bool"), "h": ("help", "bool"),
}
_CREATE = {
    "bundle": ("bundle", "str"), "b": ("bundle", "str"), "pid-file": ("pid_file", "str"),
    "console-socket": ("console_socket", "str"), "no-pivot": ("no_pivot", "bool"),
    "no-new-keyring": ("no_new_keyring", "bool"), "preserve-fds": ("preserve_fds", "int"),
}
COMMANDS = {
    # name: (flags, positional names, help)
    "spec": ({"bundle": ("bundle", "str"), "b": ("bundle", "str"), "rootless": ("rootless", "bool")},
             [], "create a new specification file"),
    "create": (_CREATE, ["container-id"], "create a container"),
    "run": ({**_CREATE, "detach": ("detach", "bool"), "d": ("detach", "bool"), "keep": ("keep", "bool")},
            ["container-id"], "create and run a container"),
    "start": ({}, ["container-id"], "executes the user defined process in a created container"),
    "state": ({}, ["container-id"], "output the state of a container"),
    "kill": ({"all": ("all", "bool"), "a": ("all", "bool")}, ["container-id", "[signal]"],
             "kill sends the specified signal (default: SIGTERM) to the container's init process"),
    "delete": ({"force": ("force", "bool"), "f": ("force", "bool")}, ["container-id"],
               "delete any resources held by the container often used with detached container"),
    "features": ({}, [], "show the enabled features"),
    "explain": ({"bundle": ("bundle", "str"), "b": ("bundle", "str"), "format": ("format", "str")},
                [], "print the steps create would take, without taking them"),
    "pause": ({}, ["container-id"], "pause suspends all processes inside the container"),
    "resume": ({}, ["container-id"], "resumes all processes that have been previously paused"),
    "update": ("cgroup_cmds.UPDATE_FLAGS", ["container-id"], "update container resource constraints"),
    "events": ("cgroup_cmds.EVENTS_FLAGS", ["container-id"], "display container events such as OOM "
               "notifications, cpu, memory, and IO usage statistics"),
    "ps": ("cgroup_cmds.PS_FLAGS", ["container-id"], "ps displays the processes running inside a container"),
    "exec": ({
        "process": ("process", "str"), "p": ("process", "str"), "tty": ("tty", "bool"), "t": ("tty", "bool"),
        "console-socket": ("console_socket", "str"), "cwd": ("cwd", "str"),
        "env": ("env", "list"), "e": ("env", "list"), "user": ("user", "str"), "u": ("user", "str"),
        "additional-gids": ("additional_gids", "list"), "g": ("additional_gids", "list"),
        "cap": ("cap", "list"), "c": ("cap", "list"), "no-new-privs": ("no_new_privs", "bool"),
        "detach": ("detach", "bool"), "d": ("detach", "bool"), "pid-file": ("pid_file", "str"),
        "preserve-fds": ("preserve_fds", "int"), "apparmor": ("apparmor", "str"),
        "process-label": ("process_label", "str"), "cgroup": ("cgroup", "list"),
        "ignore-paused": ("ignore_paused", "bool"),
    }, ["container-id", "[command]"], "execute new process inside the container"),
    "list": ({"format": ("format", "str"), "f": ("format", "str"), "quiet": ("quiet", "bool"),
              "q": ("quiet", "bool")}, [], "lists containers started by pyrunc with the given root"),
}
_TRUE = {"true", "1", "t", "yes"}
_FALSE = {"false", "0", "f", "no"}


def parse_flags(args: list[str], table: dict, what: str) -> tuple[dict, list[str]]:
    """Go-style flags (`-x`, `--x`, `--x=v`, `--x v`) up to the first non-flag or `--`."""
    values: dict = {}
    i = 0
    while i < len(args):
        arg = args[i]
        if arg == "--":
            return values, args[i + 1:]
        if not arg.startswith("-") or arg == "-":
            break
        name, eq, value = arg.lstrip("-").partition("=")
        if name not in table:
            raise UsageError(f"flag provided but not defined: -{name} ({what})")
        dest, kind = table[name]
        if kind == "list":
            if not eq:
                i += 1
                if i >= len(args):
                    raise UsageError(f"flag needs an argument: -{name}")
                value = args[i]
            values.setdefault(dest, []).append(value)
        elif kind == "bool":
            if eq and value.lower() not in _TRUE | _FALSE:
                raise UsageError(f"invalid boolean value {value!r} for -{name}")
            values[dest] = not eq or value.lower() in _TRUE
        else:
            if not eq:
                i += 1
                if i >= len(args):
                    raise UsageError(f"flag needs an argument: -{name}")
                value = args[i]
            if kind == "int":
                try:
                    value = int(value)
                except ValueError:
                    raise UsageError(f"invalid value {value!r} for flag -{name}: not a number") from None
            values[dest] = value
        i += 1
    return values, args[i:]


def usage() -> str:
    lines = ["usage: pyrunc [global options] command [command options] [arguments...]", "", "commands:"]
    lines += [f"   {name:<10}{info[2]}" for name, info in COMMANDS.items()]
    lines += ["", "global options: --root DIR, --log FILE, --log-format text|json, --debug,",
              "                --systemd-cgroup, --version"]
    return "\n".join(lines) + "\n"


def run() -> None:
    """The program's entry point: `main`, then exit without the interpreter's teardown.

    A finished command has nothing left to clean up (state is on disk, fds close with the
    process), and tearing down the modules and objects of the interpreter costs a few ms on
    every command an engine runs. The cyclic garbage collector is off for the same reason: a
    command lives for milliseconds and makes no garbage cycles worth a collection."""
    import gc

    gc.disable()
    code = main()
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except (BrokenPipeError, ValueError):
        code = code or 1
    os._exit(code if isinstance(code, int) else 1)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    try:
        gflags, rest = parse_flags(argv, GLOBAL_FLAGS, "global")
    except UsageError as e:
        return fail(e)
    log.configure(gflags.get("log"), gflags.get("log_format", "text"), gflags.get("debug", False),
                  os.environ.get("PYRUNC_TRACE") or None)
    if gflags.get("log_format", "text") not in ("text", "json"):
        return fail(UsageError(f"invalid log format {gflags['log_format']!r}: use text or json"))
    if gflags.get("version"):
        sys.stdout.write(f"pyrunc version {VERSION}\nspec: {SPEC_VERSION}\n")
        return 0
    if gflags.get("help") or not rest or rest[0] in ("help", "h"):
        sys.stdout.write(usage())
        return 0
    command, args = rest[0], rest[1:]
    if command not in COMMANDS:
        return fail(UsageError(f"No help topic for '{command}'"))
    try:
        table = COMMANDS[command][0]
        if isinstance(table, str):  # flags defined by the operation's module, loaded on use
            from runtime.ops import cgroup_cmds

            table = getattr(cgroup_cmds, table.split(".", 1)[1])
        flags, positional = parse_flags(args, table, command)
        if gflags.get("systemd_cgroup"):
            raise PyruncError("--systemd-cgroup is not supported yet: systemd is not this host's init "
                              "and pyrunc has no systemd cgroup driver (use the cgroupfs manager)")
        return dispatch(command, flags, positional, gflags.get("root") or "/run/pyrunc")
    except PyruncError as e:
        return fail(e)
    except KeyboardInterrupt:
        return 130


def fail(err: BaseException) -> int:
    msg = str(err)
    if log.current.to_stderr and log.current.fmt == "text" and os.isatty(2):
        # A person at a terminal: the plain text, one line per error, no logfmt quoting.
        sys.stderr.write(msg + "\n")
        return getattr(err, "exit_code", 1)
    log.current.write_line(log.current.format("error", msg))
    if not log.current.to_stderr:
        sys.stderr.write(msg + "\n")
    return getattr(err, "exit_code", 1)


def _need(positional: list[str], count: int, command: str, names: str) -> None:
    if len(positional) < count:
        raise UsageError(f'"{command}" requires {names}')


def dispatch(command: str, flags: dict, positional: list[str], root: str) -> int:
    from runtime.api import Runtime

    api = Runtime(root)
    store = api.store
    if command == "spec":
        from runtime.ops.spec_cmd import write_spec

        write_spec(flags.get("bundle"), flags.get("rootless", False))
        return 0
    if command == "explain":
        from runtime.ops.explain import explain

        sys.stdout.write(explain(flags.get("bundle") or os.getcwd(), flags.get("format", "text")) + "\n")
        return 0
    if command == "features":
        from runtime.features import features_json

        sys.stdout.write(features_json() + "\n")
        return 0
    if command == "list":
        from runtime.ops.list_cmd import list_containers, render

        fmt = flags.get("format", "table")
        if fmt not in ("table", "json"):
            raise UsageError(f"invalid format option {fmt!r}: use table or json")
        sys.stdout.write(render(list_containers(store), fmt, flags.get("quiet", False)))
        return 0
    _need(positional, 1, command, "a container id")
    cid = positional[0]
    if command == "state":
        from runtime import fastjson

        sys.stdout.write(fastjson.dumps(api.state_document(cid), indent=2) + "\n")
    elif command == "start":
        api.start(cid)
    elif command == "kill":
        api.kill(cid, positional[1] if len(positional) > 1 else "SIGTERM", flags.get("all", False))
    elif command == "delete":
        api.delete(cid, flags.get("force", False))
    elif command in ("create", "run"):
        return create_or_run(command, api, cid, flags)
    elif command in ("pause", "resume", "update", "events", "ps"):
        return cgroup_command(command, store, cid, flags, positional)
    elif command == "exec":
        from runtime.ops.exec_cmd import ExecOptions, exec_process

        return exec_process(store, cid, ExecOptions(
            process_file=flags.get("process"), args=positional[1:], tty=flags.get("tty", False),
            console_socket=flags.get("console_socket"), cwd=flags.get("cwd"), env=flags.get("env", ()),
            user=flags.get("user"), additional_gids=flags.get("additional_gids", ()),
            caps=flags.get("cap", ()), no_new_privs=flags.get("no_new_privs", False),
            detach=flags.get("detach", False), pid_file=flags.get("pid_file"),
            preserve_fds=flags.get("preserve_fds", 0), ignore_paused=flags.get("ignore_paused", False),
            cgroup=flags.get("cgroup", ()), apparmor=flags.get("apparmor"),
            process_label=flags.get("process_label")))
    return 0


def cgroup_command(command: str, store, cid: str, flags: dict, positional: list[str]) -> int:
    from runtime.ops import cgroup_cmds

    if command == "pause":
        cgroup_cmds.pause(store, cid)
    elif command == "resume":
        cgroup_cmds.resume(store, cid)
    elif command == "update":
        cgroup_cmds.update(store, cid, cgroup_cmds.parse_update(flags))
    elif command == "events":
        cgroup_cmds.events(store, cid, flags.get("stats", False),
                           cgroup_cmds.parse_duration(flags.get("interval", "5s")))
    else:
        cgroup_cmds.ps(store, cid, flags.get("format", "table"), positional[1:])
    return 0


def create_or_run(command: str, api, cid: str, flags: dict) -> int:
    bundle = flags.get("bundle") or os.getcwd()
    if command == "create":
        api.create(cid, bundle, pid_file=flags.get("pid_file"), console_socket=flags.get("console_socket"),
                   no_pivot=flags.get("no_pivot", False), no_new_keyring=flags.get("no_new_keyring", False),
                   preserve_fds=flags.get("preserve_fds", 0))
        return 0
    from runtime.ops.create import CreateOptions
    from runtime.ops.run import run

    opts = CreateOptions(
        bundle=bundle, pid_file=flags.get("pid_file"),
        console_socket=flags.get("console_socket"), no_pivot=flags.get("no_pivot", False),
        no_new_keyring=flags.get("no_new_keyring", False), preserve_fds=flags.get("preserve_fds", 0),
    )
    sys.stdout.flush()
    return run(api.store, cid, opts, flags.get("detach", False), flags.get("keep", False))


if __name__ == "__main__":
    os._exit(main())
