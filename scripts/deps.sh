#!/usr/bin/env bash
# Installs the Debian packages tunnelsim needs, and only those missing, then fetches
# the source of lwIP (Debian's source package `lwip`) into third_party/lwip/ unless it
# is there already. lwIP's code is never committed; CMake builds it from that folder.
# Usage: scripts/deps.sh [--check]   (--check lists what is missing and exits 1 if any)
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
LWIP_DIR="$ROOT/third_party/lwip"
LWIP_STAMP="$LWIP_DIR/.tunnelsim-source"

PACKAGES=(
  build-essential cmake ninja-build pkg-config clang llvm libclang-rt-14-dev dpkg-dev
  libsodium-dev libb2-dev libfyaml-dev libsqlite3-dev
  afl++ tshark wireguard-go wireguard-tools iproute2 iputils-ping python3
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

lwip_present() { [ -f "$LWIP_STAMP" ] && [ -f "$LWIP_DIR/src/core/tcp.c" ]; }

if [ "${1:-}" = "--check" ]; then
  lwip_present || missing+=("lwIP source (third_party/lwip)")
  if [ ${#missing[@]} -eq 0 ]; then echo "deps: all ${#PACKAGES[@]} packages present, lwIP source present"; exit 0; fi
  echo "deps: missing: ${missing[*]}"; exit 1
fi

SUDO=""
need_root() {
  if [ "$(id -u)" -ne 0 ] && [ -z "$SUDO" ]; then
    if command -v sudo >/dev/null; then SUDO="sudo"; else
      echo "deps: need root or sudo to $1" >&2; exit 1
    fi
  fi
}

if [ ${#missing[@]} -eq 0 ]; then
  echo "deps: all ${#PACKAGES[@]} packages present"
else
  need_root "install: ${missing[*]}"
  echo "deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  # tshark asks whether non-root users may capture; answer no without a prompt.
  echo "wireshark-common wireshark-common/install-setuid boolean false" | $SUDO debconf-set-selections
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
  echo "deps: done"
fi

# ---- lwIP's source: Debian's source package, fetched once ----------------------------

# True when some configured apt source is of type deb-src (one-line or deb822 format).
have_deb_src() {
  local f
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [ -f "$f" ] && grep -Eq '^[[:space:]]*deb-src[[:space:]]' "$f" && return 0
  done
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] && grep -Eiq '^[[:space:]]*Types:.*deb-src' "$f" && return 0
  done
  return 1
}

# The mirror the system already uses for its Debian suite, else deb.debian.org.
debian_mirror() {
  local f uri
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    uri=$(awk -v s="$1" 'BEGIN{RS=""}
      $0 ~ ("Suites:[^\n]*[[:space:]]" s "([[:space:]]|$)") {
        if (match($0, /URIs:[[:space:]]*[^[:space:]]+/)) { u=substr($0, RSTART, RLENGTH); sub(/URIs:[[:space:]]*/, "", u); print u; exit } }' "$f")
    [ -n "$uri" ] && { echo "$uri"; return; }
  done
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [ -f "$f" ] || continue
    # deb [options] URI SUITE COMPONENTS...
    uri=$(awk -v s="$1" '$1 == "deb" { for (i = 2; i < NF; i++) if ($i ~ /:\/\//) { if ($(i + 1) == s) { print $i; exit } break } }' "$f")
    [ -n "$uri" ] && { echo "$uri"; return; }
  done
  echo "http://deb.debian.org/debian"
}

fetch_lwip() {
  if lwip_present; then
    echo "deps: lwIP source present ($(head -1 "$LWIP_STAMP"))"
    return
  fi
  local t0=$SECONDS
  if ! apt-cache showsrc lwip 2>/dev/null | grep -q '^Package: lwip'; then
    if ! have_deb_src; then
      local codename="" id=""
      [ -r /etc/os-release ] && { . /etc/os-release; codename="${VERSION_CODENAME:-}"; id="${ID:-}"; }
      if [ "$id" != "debian" ] || [ -z "$codename" ]; then
        echo "deps: lwIP is built from Debian's source package 'lwip', but apt has no deb-src entry" >&2
        echo "deps: and this is not Debian ($id); add a deb-src line for your distribution and run scripts/deps.sh again" >&2
        exit 1
      fi
      need_root "add a deb-src entry for $codename"
      local mirror keyring=/usr/share/keyrings/debian-archive-keyring.gpg
      mirror=$(debian_mirror "$codename")
      local list=/etc/apt/sources.list.d/tunnelsim-deb-src.sources
      echo "deps: apt has no deb-src entry; adding $list (deb-src $mirror $codename main) to fetch lwIP's source"
      {
        echo "# Added by tunnelsim's scripts/deps.sh: source packages (lwIP is built from source)."
        echo "Types: deb-src"
        echo "URIs: $mirror"
        echo "Suites: $codename"
        echo "Components: main"
        [ -f "$keyring" ] && echo "Signed-By: $keyring"
      } | $SUDO tee "$list" >/dev/null
    fi
    need_root "update apt's package lists"
    echo "deps: updating apt's package lists for source packages"
    $SUDO apt-get update -qq
  fi
  mkdir -p "$ROOT/third_party"
  local tmp
  tmp=$(mktemp -d "$ROOT/third_party/.lwip-fetch.XXXXXX")
  echo "deps: fetching lwIP's source with apt-get source lwip into third_party/lwip/"
  if ! (cd "$tmp" && apt-get source -qq lwip >"$tmp/log" 2>&1); then
    cat "$tmp/log" >&2
    rm -rf "$tmp"
    echo "deps: apt-get source lwip failed; check the deb-src entries in /etc/apt/ and the network" >&2
    exit 1
  fi
  local dsc src
  dsc=$(ls "$tmp"/lwip_*.dsc | head -1)
  src=$(find "$tmp" -mindepth 1 -maxdepth 1 -type d -name 'lwip-*' | head -1)
  if [ -z "$src" ] || [ ! -f "$src/src/core/tcp.c" ]; then
    cat "$tmp/log" >&2
    rm -rf "$tmp"
    echo "deps: apt-get source lwip gave no src/core/tcp.c; the package layout changed" >&2
    exit 1
  fi
  rm -rf "$LWIP_DIR"
  mv "$src" "$LWIP_DIR"
  echo "$(basename "$dsc" .dsc | sed 's/_/ /'), apt-get source lwip on $(date -u +%Y-%m-%d)" >"$LWIP_STAMP"
  rm -rf "$tmp"
  echo "deps: lwIP source ready: $(head -1 "$LWIP_STAMP") in $((SECONDS - t0)) s"
}

# One fetch at a time (two builds may start at once).
mkdir -p "$ROOT/third_party"
exec 9>"$ROOT/third_party/.lwip.lock"
flock 9
fetch_lwip
