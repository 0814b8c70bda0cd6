#!/usr/bin/env bash
# Installs what a fresh Debian 12 machine of our kind lacks for `npm start` and `npm test`: Debian packages
# (Java for Kafka, Maven to resolve its jars, Python venv for the dev ClickHouse, SIP tools for the capture tests)
# and the npm dependencies. Idempotent: a second run only checks.
set -euo pipefail
cd "$(dirname "$0")/.."

# Java + Maven: the local Kafka; python3-venv: the dev ClickHouse (chdb); Kamailio, sipp, sngrep: the real HEP
# senders and SIP traffic of the integration tests (without them those tests are skipped, not faked).
# tshark: the independent dissector for imports and PCAP exports; chromium: the API's browser tests; sipvicious: real
# scanner traffic for the guard; bison, flex, libmicrohttpd-dev, pkg-config: building OpenSIPS (scripts/setup.d).
APT_PACKAGES=(openjdk-17-jre-headless maven python3-venv
  kamailio kamailio-json-modules kamailio-extra-modules kamailio-utils-modules sip-tester sngrep
  tshark chromium sipvicious bison flex libmicrohttpd-dev pkg-config)

missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if ((${#missing[@]} > 0)); then
  echo "setup: installing Debian packages: ${missing[*]}"
  SUDO=""
  if [[ $(id -u) -ne 0 ]]; then SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
else
  echo "setup: Debian packages present"
fi

node_major=$(node -p 'process.versions.node.split(".")[0]')
if ((node_major < 20)); then
  echo "setup: Node.js 20 or newer is required (found $(node --version))" >&2
  exit 1
fi

if [[ ! -d node_modules ]] || [[ package-lock.json -nt node_modules/.package-lock.json ]]; then
  echo "setup: npm ci"
  npm ci --no-audit --no-fund
else
  echo "setup: node_modules current"
fi
# Test peers that no registry serves as a package (CGRateS, OpenSIPS, Alertmanager, promtool): each script in
# scripts/setup.d builds one into the cache once and only checks on later runs.
for peer in scripts/setup.d/*.sh; do
  [[ -e "$peer" ]] || continue
  bash "$peer"
done
echo "setup: done"
