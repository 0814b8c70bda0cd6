#!/usr/bin/env bash
# promtool (Prometheus' rule checker and rule unit-test runner) for the alert-rule tests in test/dashboards/.
# No registry ships it as a package; its Go module builds with `go install` (the version is pinned: older module
# versions carry `replace` directives in go.mod and refuse `go install`). Built once into the cache, then only checked.
set -euo pipefail

PROMTOOL_VERSION="v0.316.0"
CACHE_DIR="${TOLLGATE_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/tollgate}"
PREFIX="$CACHE_DIR/promtool-$PROMTOOL_VERSION"
BIN="$PREFIX/bin/promtool"

if [[ -x "$BIN" ]] && "$BIN" --version >/dev/null 2>&1; then
  echo "setup: promtool $PROMTOOL_VERSION present ($BIN)"
  exit 0
fi
if ! command -v go >/dev/null 2>&1; then
  echo "setup: promtool needs Go (https://go.dev/dl/) to build github.com/prometheus/prometheus/cmd/promtool" >&2
  exit 1
fi
echo "setup: building promtool $PROMTOOL_VERSION with go install (a few minutes the first time)"
mkdir -p "$PREFIX/bin"
# GOBIN puts the binary straight into the cache; GOFLAGS keeps a user's -mod=vendor etc. out of the build.
GOBIN="$PREFIX/bin" GOFLAGS="" go install "github.com/prometheus/prometheus/cmd/promtool@$PROMTOOL_VERSION"
# go install stamps no version into --version; the module version is in the build info.
go version -m "$BIN" | awk '$1 == "mod" { print "setup: built " $2 " " $3 }'
echo "setup: promtool ready ($BIN)"
