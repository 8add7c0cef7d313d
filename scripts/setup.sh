#!/usr/bin/env bash
# Installs every build, test and peer-tool dependency of mailfsck from Debian packages.
# Safe to run repeatedly; skips apt when everything is already present.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config git libbenchmark-dev
  libboost-dev libboost-iostreams-dev
  nlohmann-json3-dev catch2
  libpff-dev libbfio-dev pff-tools pst-utils
  clang-14 libclang-rt-14-dev
  libssl-dev zlib1g-dev libdeflate-dev python3 python3-vobject python3-icalendar xz-utils bzip2 gzip time clang-tidy-14 cppcheck
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  sudo_cmd=""
  [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  $sudo_cmd apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
