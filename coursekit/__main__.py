"""``python -m coursekit``: the same as the ``coursekit`` command."""
import sys

from coursekit.cli import main

if __name__ == "__main__":
    sys.exit(main())
