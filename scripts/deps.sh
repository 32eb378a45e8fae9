#!/usr/bin/env bash
# scripts/deps.sh - make sure everything cowpoke builds and tests with is
# installed on a Debian machine. As root it installs what is missing with
# apt-get; otherwise it prints the exact apt-get line and exits 1.
# Invariant: prints nothing and exits 0 when everything is present.
set -u
pkgs=(cmake make gcc clang libclang-rt-14-dev libxxhash-dev afl++ qemu-utils)
missing=()
if command -v dpkg-query >/dev/null 2>&1; then
  for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
      missing+=("$p")
  done
else
  # Not Debian: check for the commands and headers instead.
  for c in cmake make gcc clang afl-clang-fast qemu-img qemu-io; do
    command -v "$c" >/dev/null 2>&1 || missing+=("$c")
  done
  [ -e /usr/include/xxhash.h ] || missing+=("xxhash headers")
  if ((${#missing[@]})); then
    echo "cowpoke: missing: ${missing[*]} (install them with your package manager)" >&2
    exit 1
  fi
  exit 0
fi
((${#missing[@]})) || exit 0
if [ "$(id -u)" = 0 ]; then
  echo "cowpoke: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq && apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null ||
    { echo "cowpoke: apt-get install failed" >&2; exit 1; }
else
  echo "cowpoke: missing packages: ${missing[*]}" >&2
  echo "install them with:  sudo apt-get install -y ${missing[*]}" >&2
  exit 1
fi
