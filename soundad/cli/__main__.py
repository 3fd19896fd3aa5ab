"""``python -m soundad.cli``: the same as the ``soundad`` console script."""

import sys

from soundad.cli import main

sys.exit(main())
