"""Test-only fault injection: die by SIGKILL at the Nth step of a command.

The reliability tests set ``PYRUNC_TEST_FAULT_AT=N`` and run a command; the Nth call of
`point` in the runtime process kills that process with SIGKILL, as an OOM killer or an
impatient engine would. Raising N until the command completes kills it once at every step,
and after each kill the test checks that `delete --force` leaves nothing behind.

Without the variable `point` is a no-op (a global lookup and a compare). The label of the
step is written to stderr first, so that a failing test names the step. Only a development
checkout (the source tree with its tests/ beside runtime/) honours the variable: an installed
pyrunc never kills itself because of something in its environment.
"""

import os


def _fault_at() -> int:
    wanted = os.environ.get("PYRUNC_TEST_FAULT_AT")
    if not wanted:
        return 0
    checkout = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    return int(wanted) if os.path.isdir(os.path.join(checkout, "tests", "faults")) else 0


_FAULT_AT = _fault_at()
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
