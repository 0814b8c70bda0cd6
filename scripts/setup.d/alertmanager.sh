#!/usr/bin/env bash
# Alertmanager for the guard's alert-delivery test (its v2 API, POST /api/v2/alerts). No registry ships it as a
# package. Since v0.32 its ui/web.go embeds ui/app/dist, which the module does not contain, so a plain `go install`
# fails: fetch the module, copy it somewhere writable, give it an empty UI, build ./cmd/alertmanager (API only, no
# web UI). Built once into the cache, then only checked.
set -euo pipefail

AM_VERSION="v0.35.0"
CACHE_DIR="${TOLLGATE_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/tollgate}"
PREFIX="$CACHE_DIR/alertmanager-$AM_VERSION"
BIN="$PREFIX/bin/alertmanager"

if [[ -x "$BIN" ]] && "$BIN" --version >/dev/null 2>&1; then
  echo "setup: alertmanager $AM_VERSION present ($BIN)"
  exit 0
fi
if ! command -v go >/dev/null 2>&1; then
  echo "setup: alertmanager needs Go (https://go.dev/dl/) to build github.com/prometheus/alertmanager" >&2
  exit 1
fi
echo "setup: building alertmanager $AM_VERSION from its Go module (about a minute the first time)"
WORK="$(mktemp -d)"
trap 'chmod -R u+w "$WORK" 2>/dev/null; rm -rf "$WORK"' EXIT
cd "$WORK"
go mod init tollgate-alertmanager-build >/dev/null 2>&1
GOFLAGS="" go get "github.com/prometheus/alertmanager@$AM_VERSION" >/dev/null
SRC="$(GOFLAGS="" go list -m -f '{{.Dir}}' "github.com/prometheus/alertmanager")"
cp -r "$SRC" "$WORK/src"
chmod -R u+w "$WORK/src"
mkdir -p "$WORK/src/ui/app/dist"
echo '<!doctype html><title>alertmanager (API only)</title>' > "$WORK/src/ui/app/dist/index.html"
mkdir -p "$PREFIX/bin"
(cd "$WORK/src" && GOFLAGS="" go build -o "$BIN" ./cmd/alertmanager)
echo "setup: alertmanager $AM_VERSION ready ($BIN; built without version stamping, so --version shows none)"
