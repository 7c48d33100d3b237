#!/usr/bin/env bash
# Installs the Debian packages tunnelsim needs, and only those missing.
# Usage: scripts/deps.sh [--check]   (--check lists what is missing and exits 1 if any)
set -euo pipefail

PACKAGES=(
  build-essential cmake ninja-build pkg-config clang llvm libclang-rt-14-dev
  libsodium-dev libb2-dev libfyaml-dev libsqlite3-dev
  afl++ tshark wireguard-go wireguard-tools iproute2 iputils-ping python3
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ "${1:-}" = "--check" ]; then
  if [ ${#missing[@]} -eq 0 ]; then echo "deps: all ${#PACKAGES[@]} packages present"; exit 0; fi
  echo "deps: missing: ${missing[*]}"; exit 1
fi

if [ ${#missing[@]} -eq 0 ]; then
  echo "deps: all ${#PACKAGES[@]} packages present"
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null; then SUDO="sudo"; else
    echo "deps: need root or sudo to install: ${missing[*]}" >&2; exit 1
  fi
fi
echo "deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
# tshark asks whether non-root users may capture; answer no without a prompt.
echo "wireshark-common wireshark-common/install-setuid boolean false" | $SUDO debconf-set-selections
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
echo "deps: done"
