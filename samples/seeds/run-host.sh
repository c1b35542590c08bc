#!/bin/sh
# Runs one seed sample's host against the library just built, with the
# Python package from the source tree, in a fresh work directory.
#   run-host.sh PYTHON LIBFAULTLINE SOURCE_DIR WORK_DIR SAMPLE_DIR
set -eu
PY=$1 LIB=$2 SRC=$3 WORK=$4 SAMPLE=$5
rm -rf "$WORK"
mkdir -p "$WORK"
export FAULTLINE_LIBRARY="$LIB"
export PYTHONPATH="$SRC/bindings/python${PYTHONPATH:+:$PYTHONPATH}"
export PYTHONDONTWRITEBYTECODE=1
cd "$WORK"
exec "$PY" "$SAMPLE/host.py" --policy "$SAMPLE/policy" --work "$WORK"
