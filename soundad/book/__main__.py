"""``python -m soundad.book``: see :mod:`soundad.book.cli`."""

import sys

from soundad.book.cli import run

sys.exit(run())
