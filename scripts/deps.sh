#!/usr/bin/env bash
# Installs the Debian 12 packages allot needs, only when some are missing.
# Idempotent; uses sudo when not root. Sourced or run by scripts/run and scripts/test.
set -euo pipefail

ALLOT_PACKAGES=(
  build-essential cmake pkg-config
  libgrpc-dev protobuf-c-compiler libprotobuf-c-dev liblmdb-dev
  libcmocka-dev protobuf-compiler protobuf-compiler-grpc
  python3 python3-grpcio python3-protobuf
  lmdb-utils openssl
  libjansson-dev libjwt-dev libssl-dev
  gnuplot-nox valgrind
  clang libclang-rt-14-dev
  chromium chromium-driver python3-selenium fonts-dejavu-core
)

missing=()
for p in "${ALLOT_PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if ((${#missing[@]})); then
  echo "allot: installing ${missing[*]}" >&2
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
