"""``python -m reprocal.demo``: the end-to-end demo (``make demo``)."""

import sys

from reprocal.demo import main

sys.exit(main())
