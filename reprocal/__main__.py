"""``python -m reprocal``: the CLI."""

from .cli import main

raise SystemExit(main())
