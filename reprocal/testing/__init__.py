"""Synthetic CCF repositories: seeded, realistic constituent files for the tests, the demo and
the benchmarks.

Imported only by them (the layers contract forbids the library from importing it).
"""

from reprocal.testing._extras import (
    caldb_tarball,
    matrix_bytes,
    response_names,
    write_caldb,
    write_responses,
    write_spectrum,
)
from reprocal.testing._synthetic import (
    SyntheticRepo,
    corrupt,
    generate,
    replay,
    touch_all,
    truncate,
    write_table_constituent,
)

__all__ = [
    "SyntheticRepo", "caldb_tarball", "corrupt", "generate", "matrix_bytes", "replay",
    "response_names", "touch_all", "truncate", "write_caldb", "write_responses", "write_spectrum",
    "write_table_constituent",
]
