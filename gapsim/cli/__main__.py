"""``python -m gapsim.cli``: the ``gapsim`` command (see :mod:`gapsim.cli`)."""

import sys

from gapsim.cli import main

sys.exit(main())
