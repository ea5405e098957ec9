"""Test-only fault injection: die by SIGKILL at the Nth step of a command.

The reliability tests set ``PYRUNC_TEST_FAULT_AT=N`` and run a command; the Nth call of
`point` in the runtime process kills that process with SIGKILL, as an OOM killer or an
impatient engine would. Raising N until the command completes kills it once at every step,
and after each kill the test checks that `delete --force` leaves nothing behind.

Without the variable `point` is a no-op (a global lookup and a compare). The label of the
step is written to stderr first, so that a failing test names the step.
"""

import os

_FAULT_AT = int(os.environ.get("PYRUNC_TEST_FAULT_AT") or 0)
_reached = 0


def point(label: str) -> None:
    """A step boundary of a runtime command: the place a SIGKILL may land in tests."""
    if not _FAULT_AT:
        return
    global _reached
    _reached += 1
    if _reached == _FAULT_AT:
        os.write(2, f"pyrunc: test fault: SIGKILL at step {_reached} ({label})\n".encode())
        os.kill(os.getpid(), 9)
