#!/usr/bin/env bash
# Builds heplify-server (HOMER's collector, the capture anchor of bench/heplify-side-by-side.ts and
# bench/collector.bench.ts --heplify) from its own source into the tollgate cache dir. Idempotent: a binary already
# built from the same commit is kept. `go install` of it is refused by the Go module proxy (its module path does not
# match), so it is cloned and built; its Go dependencies come from the module proxy; it links LuaJIT.
#
#   bench/support/build-heplify.sh [<source dir or git URL>] [<git ref>]
#
# Default source: https://github.com/sipcapture/heplify-server.git at its default branch. Prints the binary's path.
set -euo pipefail

src="${1:-https://github.com/sipcapture/heplify-server.git}"
ref="${2:-}"
cache="${TOLLGATE_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/tollgate}"
out="$cache/heplify-server"
go_bin="$(command -v go || true)"
[ -z "$go_bin" ] && [ -x /usr/local/go/bin/go ] && go_bin=/usr/local/go/bin/go
if [ -z "$go_bin" ]; then
  echo "build-heplify: no Go toolchain on PATH (install Go >= 1.21)" >&2
  exit 1
fi

if ! pkg-config --exists luajit 2>/dev/null && [ ! -e /usr/include/luajit-2.1/lua.h ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    apt-get install -y libluajit-5.1-dev >&2 || { apt-get update >&2 && apt-get install -y libluajit-5.1-dev >&2; }
  else
    echo "build-heplify: LuaJIT headers missing; install libluajit-5.1-dev (Debian/Ubuntu) first" >&2
    exit 1
  fi
fi

mkdir -p "$cache"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
git clone --quiet "$src" "$work/src" >&2
if [ -n "$ref" ]; then git -C "$work/src" checkout --quiet "$ref" >&2; fi
commit="$(git -C "$work/src" rev-parse HEAD)"

if [ -x "$out" ] && [ "$(cat "$out.commit" 2>/dev/null || true)" = "$commit" ]; then
  echo "$out"
  exit 0
fi

(cd "$work/src" && CGO_ENABLED=1 "$go_bin" build -o "$work/heplify-server" ./cmd/heplify-server) >&2
mv "$work/heplify-server" "$out"
echo "$commit" > "$out.commit"
echo "$out"
