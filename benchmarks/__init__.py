"""Benchmark of xl_fastmoss against the fake FastMoss server with latency, beside naive code.

    python -m benchmarks [--latency 0.2] [--quick] [--output BENCHMARKS.md] [--only SCENARIO ...] [--list]

Every scenario of the performance issue runs twice in the same run: through xl_fastmoss, and
through the code a user would write first with ``requests`` (pages one after the other, no
cache, one fetch per worksheet cell). Times are wall clock; "RT" (round trips) is a time
divided by the server's latency. Call counts are what the fake server received.

The figures are a report, not a test: ``tests/test_performance_counts.py`` asserts the exact
call counts and the deduplication, which do not depend on the machine.

Layout: ``cli`` parses the command line and runs the scenarios; ``harness`` holds the ``Bench``
a scenario runs in; ``scenarios/`` holds one module per scenario and the registry in report
order; ``children/`` holds the programs the scenarios start as separate processes. This file
imports nothing, so a child process that imports a piece of the package pays for that piece only.
"""
