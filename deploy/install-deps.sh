#!/usr/bin/env bash
# Installs the Debian 12 packages Augur needs to build and test. Idempotent and quiet:
# packages already present are skipped, so a second run costs no network at all.
# Usage: deploy/install-deps.sh [--reference]   (--reference adds R and scipy, used only to
# regenerate tests/data/ reference values and by bench/compare_*.sh; CI does not need them)
set -euo pipefail

pkgs=(build-essential cmake ninja-build pkg-config ccache
      prometheus-cpp-dev libboost-math-dev libeigen3-dev libcpp-httplib-dev nlohmann-json3-dev
      libbenchmark-dev libgtest-dev libgmock-dev libsqlite3-dev libyaml-cpp-dev zlib1g-dev
      libhwy-dev
      # real servers the integration tests start on 127.0.0.1 (never as system services)
      prometheus haproxy socat wrk
      # clang's libFuzzer for the fuzz targets (-DAUGUR_FUZZ=ON)
      clang libclang-rt-14-dev)
if [[ "${1:-}" == "--reference" ]]; then
  pkgs+=(r-base-core r-cran-jsonlite python3-scipy python3-numpy)
fi

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  SUDO=""; [[ $(id -u) -ne 0 ]] && SUDO="sudo"
  echo "install-deps: installing ${missing[*]}" >&2
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
