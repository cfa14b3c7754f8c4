#!/usr/bin/env bash
# Installs the Debian 12 packages job-fetcher needs to build, test and benchmark, then configures
# and builds it. Packages already installed are not asked for again, so on a machine that has them
# this works without network access.
#
#   scripts/setup.sh [PRESET]   PRESET is dev (default), ci or asan (see CMakePresets.json)
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
preset="${1:-dev}"

packages=(
  build-essential cmake ninja-build pkg-config git python3 time zip unzip curl
  libcurl4-openssl-dev libsimdjson-dev libpq-dev libsqlite3-dev libssl-dev
  libcli11-dev libspdlog-dev libfmt-dev nlohmann-json3-dev libtomlplusplus-dev
  libgtest-dev libgmock-dev libbenchmark-dev libcpp-httplib-dev
  postgresql-15 python3-botocore sqlite3 clang libclang-rt-14-dev
)

missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" ||
    missing+=("$package")
done

if ((${#missing[@]} > 0)); then
  echo "setup: installing ${missing[*]}"
  sudo_cmd=()
  [[ "$(id -u)" -eq 0 ]] || sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends \
    "${missing[@]}"
fi

cd "$repo_root"
cmake --preset "$preset" >/dev/null
cmake --build --preset "$preset" -j "$(nproc)"
