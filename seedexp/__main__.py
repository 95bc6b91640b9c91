"""``python -m seedexp``: the same as the ``seedexp`` command."""

import sys

from .cli import main

sys.exit(main())
