#!/usr/bin/env bash
# The official ClickHouse JS client's integration suite, for the dev ClickHouse endpoint's conformance test
# (scripts/clickhouse-conformance/run.ts): unpacked from ../shared/third_party/ into the cache and its dev
# dependencies installed, once; later runs only check.
set -euo pipefail
cd "$(dirname "$0")/../.."
node --import tsx scripts/clickhouse-conformance/run.ts --prepare
