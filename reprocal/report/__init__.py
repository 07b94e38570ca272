"""Reports and figures: timelines of calibration types, calview-like column plots, release
notes, the paper's methods paragraph, and self-contained HTML pages for audits, diffs and
bundles.

May import :mod:`reprocal.audit` and everything below it; matplotlib is imported only where a
figure is drawn (:mod:`reprocal.report._figure`).
"""

from typing import TYPE_CHECKING

from reprocal._lazy import exports

_EXPORTS = {
    "Issue": "reprocal.report._timeline",
    "Mark": "reprocal.report._timeline",
    "Timeline": "reprocal.report._timeline",
    "TypeTimeline": "reprocal.report._timeline",
    "build_timeline": "reprocal.report._timeline",
    "parse_type": "reprocal.report._timeline",
    "text_lines": "reprocal.report._timeline",
}

__getattr__, __dir__ = exports(__name__, _EXPORTS)

if TYPE_CHECKING:
    from reprocal.report._timeline import (
        Issue,
        Mark,
        Timeline,
        TypeTimeline,
        build_timeline,
        parse_type,
        text_lines,
    )

__all__ = ["Issue", "Mark", "Timeline", "TypeTimeline", "build_timeline", "parse_type",
           "text_lines"]
