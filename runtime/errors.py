"""Errors the runtime reports to its caller.

Engines match some of these texts (podman, containerd and CRI-O look for runc's wording),
so the messages of NotExist, NotRunning and Exists must stay as they are.
"""


class PyruncError(Exception):
    """A failure reported to the user as one line, exit status 1."""

    exit_code = 1


class NotExist(PyruncError):
    def __init__(self, msg: str = "container does not exist"):
        super().__init__(msg)


class NotRunning(PyruncError):
    def __init__(self, msg: str = "container not running"):
        super().__init__(msg)


class Exists(PyruncError):
    def __init__(self, msg: str = "container with given ID already exists"):
        super().__init__(msg)


class StateMissing(NotExist):
    """The container's directory is there but its state.json is not (a create that died
    before writing it): still "does not exist" for engines, the message says why."""

    def __init__(self, cid: str, path: str):
        super().__init__(f"container does not exist: {path} is missing (a create of {cid} that did not "
                         f"finish?); `delete --force {cid}` removes what is left")


class StateDamaged(PyruncError):
    """The container's state file cannot be read or is not a record."""

    def __init__(self, cid: str, path: str, problem: str):
        super().__init__(f"container {cid}: state file {path} is damaged: {problem}; "
                         f"`delete --force {cid}` removes the container")
        self.path = path


class UsageError(PyruncError):
    """Bad command line: the message names the flag or argument."""


class SetupError(PyruncError):
    """A kernel step of the container setup failed.

    The message names the step, the config field behind it (a JSON pointer) and the errno.
    """

    def __init__(self, step: str, field: str | None, cause: BaseException):
        reason = cause.strerror if isinstance(cause, OSError) and cause.strerror else str(cause)
        super().__init__(f"{field + ': ' if field else ''}{step}: {reason}")
        self.step = step
        self.field = field
        self.cause = cause
