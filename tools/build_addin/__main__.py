"""``python -m tools.build_addin [--output-dir DIR]``; the command itself is in :mod:`.command`."""

import sys

from .command import main

if __name__ == "__main__":
    sys.exit(main())
