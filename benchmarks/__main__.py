"""``python -m benchmarks``: see the package docstring."""

import sys

from benchmarks.cli import main

sys.exit(main())
