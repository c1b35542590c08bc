#!/bin/sh
# ctest driver for the Python package: a fresh venv under the build directory
# (Debian's python3, --system-site-packages so it sees python3-cffi,
# python3-pytest, python3-tenacity...), `pip install ./bindings/python`
# with no package index (proves the install needs no network), then pytest.
#   run.sh PYTHON BUILD_DIR SOURCE_DIR [pytest args...]
set -eu
PY=$1 BUILD=$2 SRC=$3
shift 3
VENV=$BUILD/python-venv
export PYTHONDONTWRITEBYTECODE=1
rm -rf "$VENV"
"$PY" -m venv --system-site-packages "$VENV"
FAULTLINE_BUILD_DIR=$BUILD "$VENV/bin/pip" install --quiet --no-index --no-input \
  --disable-pip-version-check "$SRC/bindings/python"
cd "$BUILD"
# The installed package, not the source tree, is what gets imported.
"$VENV/bin/python" -c 'import faultline, sys; sys.stdout.write("faultline %s from %s, libfaultline %s at %s\n" % (faultline.__version__, faultline.__file__, faultline.library_version(), faultline.LIBRARY_PATH))'
exec "$VENV/bin/python" -m pytest -p no:cacheprovider -q "$SRC/tests/python" "$@"
