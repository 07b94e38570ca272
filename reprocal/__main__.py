"""``python -m reprocal``: the CLI."""

from reprocal.cli import main

raise SystemExit(main())
