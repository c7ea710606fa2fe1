"""Kept so ``python benchmarks/run.py ...`` still works; the benchmark is ``python -m benchmarks``."""

import sys
from pathlib import Path

if __name__ == "__main__":
    # Run as a file, this folder is sys.path[0]; the repository must be, so `benchmarks` imports
    # as a package and none of its modules (tables, report ...) shadows a top-level one.
    sys.path[0] = str(Path(__file__).resolve().parent.parent)
    from benchmarks.cli import main

    sys.exit(main())
