"""The watchdog every child arms: a child that hangs dumps its threads and exits."""

import faulthandler

#: Seconds a child may run before it dumps its threads and exits.
CHILD_DEADLINE_S = 60


def arm_watchdog(seconds: float = CHILD_DEADLINE_S) -> None:
    """Dump every thread's stack to stderr and exit once ``seconds`` have passed (re-arming replaces)."""
    faulthandler.dump_traceback_later(seconds, exit=True)
