"""``python -m hjepa_trainer``: same as ``hjepa-train``."""

import sys

from .cli import main

sys.exit(main())
