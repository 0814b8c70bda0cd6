#!/usr/bin/env bash
# Builds OpenSIPS 3.6.8 (with the httpd module, so mi_http works) from ../shared/third_party into the cache, once.
# The guard's MI pusher test talks to this binary; later runs only check that it is there and answers -V.
set -euo pipefail
cd "$(dirname "$0")/../.."

CACHE="${TOLLGATE_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/tollgate}"
VERSION=3.6.8
PREFIX="$CACHE/opensips"
BIN="$PREFIX/sbin/opensips"
ARCHIVE="../shared/third_party/opensips-$VERSION.tar.gz"

if [[ -x "$BIN" ]] && "$BIN" -V 2>/dev/null | grep -q "opensips $VERSION"; then
  echo "setup: OpenSIPS $VERSION present ($BIN)"
  exit 0
fi
if [[ ! -f "$ARCHIVE" ]]; then
  echo "setup: OpenSIPS source $ARCHIVE not found; the guard's OpenSIPS tests will be skipped" >&2
  exit 0
fi
for tool in bison flex make cc; do
  command -v "$tool" >/dev/null || { echo "setup: OpenSIPS build needs $tool" >&2; exit 1; }
done

mkdir -p "$CACHE"
SRC="$CACHE/opensips-$VERSION"
rm -rf "$SRC"
echo "setup: unpacking OpenSIPS $VERSION"
tar xzf "$ARCHIVE" -C "$CACHE"
echo "setup: building OpenSIPS $VERSION (about 3 minutes on 2 cores)"
LOG="$CACHE/opensips-build.log"
(cd "$SRC" && make -j2 all include_modules="httpd" prefix="$PREFIX" >"$LOG" 2>&1 &&
  make install include_modules="httpd" prefix="$PREFIX" >>"$LOG" 2>&1) || {
  echo "setup: OpenSIPS build failed; last lines of $LOG:" >&2
  tail -n 30 "$LOG" >&2
  exit 1
}
rm -rf "$SRC"
"$BIN" -V | head -n 1 | sed 's/^/setup: /'
