#!/usr/bin/env bash
# CGRateS v0.10.4 (cgr-engine): the real rating engine of the rating tests. Built once into the cache from the
# source archive in ../shared/third_party (the Go module proxy serves its dependencies, not CGRateS itself);
# later runs only check the binary. An engine already installed can be named with CGR_ENGINE.
set -euo pipefail
cd "$(dirname "$0")/../.."

CACHE="${TOLLGATE_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/tollgate}"
VERSION="0.10.4"
BIN="$CACHE/cgrates-$VERSION/bin/cgr-engine"
ARCHIVE="../shared/third_party/cgrates-$VERSION.tar.gz"

if [[ -n "${CGR_ENGINE:-}" ]]; then
  if "$CGR_ENGINE" -version 2>/dev/null | grep -q "v$VERSION"; then
    echo "setup: cgr-engine $VERSION from CGR_ENGINE=$CGR_ENGINE"
    exit 0
  fi
  echo "setup: CGR_ENGINE=$CGR_ENGINE is not CGRateS v$VERSION; building from source" >&2
fi

if [[ -x "$BIN" ]] && "$BIN" -version 2>/dev/null | grep -q "v$VERSION"; then
  echo "setup: cgr-engine $VERSION present"
  exit 0
fi

if ! command -v go >/dev/null 2>&1; then
  if [[ -x /usr/local/go/bin/go ]]; then
    PATH="/usr/local/go/bin:$PATH"
  else
    echo "setup: building cgr-engine needs Go (https://go.dev/dl/); none found on PATH" >&2
    exit 1
  fi
fi

mkdir -p "$CACHE/cgrates-$VERSION/bin"
SRC="$CACHE/cgrates-$VERSION/src"
started=$(date +%s)
if [[ -f "$ARCHIVE" ]]; then
  echo "setup: unpacking CGRateS $VERSION from $ARCHIVE"
  rm -rf "$SRC" && mkdir -p "$SRC"
  tar xzf "$ARCHIVE" -C "$SRC" --strip-components=1
  echo "setup: building cgr-engine $VERSION (about 75 s on a cold Go cache)"
  (cd "$SRC" && go build -o "$BIN.tmp" ./cmd/cgr-engine)
else
  echo "setup: $ARCHIVE not found; go install github.com/cgrates/cgrates/cmd/cgr-engine@v$VERSION"
  GOBIN="$CACHE/cgrates-$VERSION/gobin" go install "github.com/cgrates/cgrates/cmd/cgr-engine@v$VERSION"
  mv "$CACHE/cgrates-$VERSION/gobin/cgr-engine" "$BIN.tmp"
fi
mv "$BIN.tmp" "$BIN"
echo "setup: cgr-engine $("$BIN" -version) built in $(( $(date +%s) - started )) s"
