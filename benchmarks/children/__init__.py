"""The programs the scenarios start as separate processes: ``python -m benchmarks.children.NAME ARGS``.

Each takes its arguments with argparse and prints one line of JSON on stdout (the team machine
prints "ready" first, then waits for a line on stdin). Each arms ``watchdog.arm_watchdog`` first
thing in ``main``, so a child that hangs dumps its threads and exits instead of stalling the run.
Where a child times its own imports, those imports are its module-level imports, timed where
they stand. This file imports nothing: a child pays for what it imports itself.
"""
