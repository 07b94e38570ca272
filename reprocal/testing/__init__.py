"""Synthetic CCF repositories: seeded, realistic constituent files for the tests, the demo and
the benchmarks.

Imported only by them (the layers contract forbids the library from importing it).
"""

from reprocal.testing._synthetic import (
    SyntheticRepo,
    corrupt,
    generate,
    replay,
    touch_all,
    truncate,
    write_table_constituent,
)

__all__ = ["SyntheticRepo", "corrupt", "generate", "replay", "touch_all", "truncate",
           "write_table_constituent"]
