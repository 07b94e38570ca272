"""``python -m reprocal``: the CLI."""

from _reprocal_cli import main

raise SystemExit(main())
