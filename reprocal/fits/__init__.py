"""FITS and SAS files: constituent headers, CALINDEX tables (CIFs, event lists, master
indexes), FITS CHECKSUM/DATASUM, ODF summaries, and stamping products with their calibration.

May import :mod:`reprocal.core` and :mod:`reprocal.fs`; astropy is imported here only, and only
where a function needs it.
"""

from typing import TYPE_CHECKING

from reprocal._lazy import exports

_EXPORTS = {
    "CalIndex": "reprocal.fits._calindex",
    "FitsCheck": "reprocal.fits._checksum",
    "ObsSpec": "reprocal.fits._odf",
    "OdfObservation": "reprocal.fits._odf",
    "Stamp": "reprocal.fits._stamp",
    "check_files": "reprocal.fits._checksum",
    "check_fits": "reprocal.fits._checksum",
    "find_summary": "reprocal.fits._odf",
    "is_fits": "reprocal.fits._stamp",
    "observation_date": "reprocal.fits._odf",
    "read_calindex": "reprocal.fits._calindex",
    "read_constituent": "reprocal.fits._headers",
    "read_obs_list": "reprocal.fits._odf",
    "read_primary_header": "reprocal.fits._headers",
    "read_stamp": "reprocal.fits._stamp",
    "read_summary": "reprocal.fits._odf",
    "rows_digest": "reprocal.fits._calindex",
    "stamp_file": "reprocal.fits._stamp",
    "write_cif": "reprocal.fits._calindex",
    "write_master_index": "reprocal.fits._calindex",
}

__getattr__, __dir__ = exports(__name__, _EXPORTS)

if TYPE_CHECKING:
    from reprocal.fits._calindex import CalIndex, read_calindex, rows_digest, write_cif, write_master_index
    from reprocal.fits._checksum import FitsCheck, check_files, check_fits
    from reprocal.fits._headers import read_constituent, read_primary_header
    from reprocal.fits._odf import (
        ObsSpec,
        OdfObservation,
        find_summary,
        observation_date,
        read_obs_list,
        read_summary,
    )
    from reprocal.fits._stamp import Stamp, is_fits, read_stamp, stamp_file

__all__ = [
    "CalIndex", "FitsCheck", "ObsSpec", "OdfObservation", "Stamp", "check_files", "check_fits",
    "find_summary", "is_fits", "observation_date", "read_calindex", "read_constituent",
    "read_obs_list", "read_primary_header", "read_stamp", "read_summary", "rows_digest",
    "stamp_file", "write_cif", "write_master_index",
]
