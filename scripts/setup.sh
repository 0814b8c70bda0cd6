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
# The kernel caps every socket's receive buffer at net.core.rmem_max (often 208 KiB, here 4 MiB); the collector asks
# for HEP_UDP_RECV_BUFFER (default 32 MiB) so a burst waits in the kernel instead of being dropped. Raise the cap to
# that default, for now (sysctl -w) and for later boots (/etc/sysctl.d), never lower it.
RMEM_WANTED=33554432
rmem_now=$(cat /proc/sys/net/core/rmem_max 2>/dev/null || echo 0)
if ((rmem_now >= RMEM_WANTED)); then
  echo "setup: net.core.rmem_max is $rmem_now (HEP_UDP_RECV_BUFFER's default $RMEM_WANTED fits)"
else
  SUDO=""
  if [[ $(id -u) -ne 0 ]]; then SUDO="sudo -n"; fi
  if $SUDO sysctl -q -w net.core.rmem_max=$RMEM_WANTED >/dev/null 2>&1; then
    echo "setup: raised net.core.rmem_max from $rmem_now to $RMEM_WANTED (the collector's UDP receive buffer)"
    if printf 'net.core.rmem_max = %s\n' "$RMEM_WANTED" | $SUDO tee /etc/sysctl.d/60-tollgate-hep.conf >/dev/null 2>&1; then
      echo "setup: kept for later boots in /etc/sysctl.d/60-tollgate-hep.conf"
    else
      echo "setup: could not write /etc/sysctl.d/60-tollgate-hep.conf; the raised value lasts until reboot"
    fi
  else
    echo "setup: net.core.rmem_max is $rmem_now, below HEP_UDP_RECV_BUFFER's default $RMEM_WANTED, and not raised (no permission:"
    echo "setup:   run 'sysctl -w net.core.rmem_max=$RMEM_WANTED' as root); UDP bursts may be dropped by the kernel"
  fi
fi
# Test peers that no registry serves as a package (CGRateS, OpenSIPS, Alertmanager, promtool): each script in
# scripts/setup.d builds one into the cache once and only checks on later runs.
for peer in scripts/setup.d/*.sh; do
  [[ -e "$peer" ]] || continue
  bash "$peer"
done
echo "setup: done"
