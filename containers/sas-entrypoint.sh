#!/bin/sh
# Initialise SAS, keeping the calibration environment the image (or `docker run -e`) gives.
set -e
keep_ccfpath="${SAS_CCFPATH-}"; keep_ccf="${SAS_CCF-}"; keep_odf="${SAS_ODF-}"
if [ -n "${HEADAS:-}" ] && [ -f "${HEADAS}/headas-init.sh" ]; then
    . "${HEADAS}/headas-init.sh"
fi
. "${SAS_DIR:-/opt/sas/current}/setsas.sh" >/dev/null
[ -n "$keep_ccfpath" ] && export SAS_CCFPATH="$keep_ccfpath"
[ -n "$keep_ccf" ] && export SAS_CCF="$keep_ccf"
[ -n "$keep_odf" ] && export SAS_ODF="$keep_odf"
exec "$@"
