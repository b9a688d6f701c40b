#!/usr/bin/env bash
# Build the one-folder Linux app: packaging/dist/socket-inspector/inspector.
# Usage: packaging/build.sh [extra PyInstaller options]
# Environment: PYTHON (default .venv/bin/python, with the "package" extra installed),
# DIST and WORK (output and scratch folders, default packaging/dist and packaging/build).
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-.venv/bin/python}
DIST=${DIST:-packaging/dist}
WORK=${WORK:-packaging/build}

if ! "$PYTHON" -c "import PyInstaller" 2>/dev/null; then
    echo "build.sh: PyInstaller is missing; install it with: $PYTHON -m pip install -e '.[package]'" >&2
    exit 1
fi

start=$(date +%s)
"$PYTHON" -m PyInstaller --noconfirm --log-level WARN \
    --distpath "$DIST" --workpath "$WORK" "$@" packaging/socket-inspector.spec
echo "build.sh: built $DIST/socket-inspector/inspector in $(( $(date +%s) - start )) s"
