"""`python -m workshop`: the same command as `workshop` (for a checkout without the console script)."""

import sys

from .cli import main

if __name__ == "__main__":  # importing it (pkgutil.walk_packages does) runs nothing
    sys.exit(main())
