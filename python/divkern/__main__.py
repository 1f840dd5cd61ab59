"""python -m divkern: show the configuration and run every kernel family on synthetic
data, checked against SciPy and timed beside it."""

import sys

from ._demo import main

sys.exit(main())
