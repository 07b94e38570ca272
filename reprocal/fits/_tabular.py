"""Tables for notebooks: constituent lists, diffs and audits as astropy ``Table`` objects (and
pandas ``DataFrame`` objects, when pandas is installed).

astropy is imported here, when a table is made; pandas only by :func:`to_pandas`, which says
how to install it when it is missing (it is not a dependency of reprocal).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from reprocal.core._constituent import Constituent
from reprocal.errors import ComponentUnavailable


def rows_table(rows: Sequence[Mapping[str, Any]], *, names: Sequence[str] | None = None) -> Any:
    """An astropy ``Table`` of ``rows`` (dicts with the same keys; ``None`` becomes ``''`` in a
    text column and a masked value in a numeric one)."""
    from astropy.table import MaskedColumn, Table

    columns = list(names or (rows[0].keys() if rows else ()))
    table = Table()
    for name in columns:
        values = [r.get(name) for r in rows]
        present = [v for v in values if v is not None]
        if present and all(isinstance(v, bool) for v in present):
            table[name] = MaskedColumn([bool(v) for v in values], mask=[v is None for v in values])
        elif present and all(isinstance(v, int) and not isinstance(v, bool) for v in present):
            table[name] = MaskedColumn([v if v is not None else 0 for v in values],
                                       mask=[v is None for v in values], dtype="int64")
        else:
            table[name] = [
                "" if v is None else (" ".join(map(str, v)) if isinstance(v, list) else str(v))
                for v in values]
    return table


COLUMNS = ("file", "scope", "typeid", "issue", "valdate", "evaldate", "subdate", "category",
           "fsize")
"""The columns of a constituent table, in order."""


def constituent_rows(constituents: Iterable[Constituent]) -> list[dict[str, Any]]:
    """One dict per constituent: the CALINDEX attributes a notebook user sorts and filters by."""
    return [{"file": c.filename, "scope": c.scope, "typeid": c.typeid, "issue": c.issue,
             "valdate": c.valdate.text, "evaldate": c.evaldate.text if c.evaldate else None,
             "subdate": c.subdate.text, "category": c.category, "fsize": c.fsize}
            for c in constituents]


def constituent_table(constituents: Iterable[Constituent], **extra: Sequence[Any]) -> Any:
    """A constituent list as a ``Table``, with ``extra`` columns (one value per constituent)."""
    rows = constituent_rows(constituents)
    for name, values in extra.items():
        for row, value in zip(rows, values, strict=True):
            row[name] = value
    return rows_table(rows, names=[*COLUMNS, *extra])


def to_pandas(table: Any) -> Any:
    """``table`` as a pandas ``DataFrame``; pandas is optional."""
    try:
        import pandas  # noqa: F401
    except ImportError:
        raise ComponentUnavailable("to_pandas() needs pandas, which reprocal does not install",
                                   hint="pip install pandas, or use to_table()") from None
    return table.to_pandas()


__all__ = ["COLUMNS", "constituent_rows", "constituent_table", "rows_table", "to_pandas"]
