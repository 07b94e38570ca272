"""Reports and figures: timelines of calibration types, calview-like column plots, release
notes, the paper's methods paragraph, and self-contained HTML pages for audits, diffs and
bundles.

May import :mod:`reprocal.audit` and everything below it; matplotlib is imported only where a
figure is drawn (:mod:`reprocal.report._figure`).
"""

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
