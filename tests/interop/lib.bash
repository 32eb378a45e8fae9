# tests/interop/lib.bash - shared set-up for the QEMU interoperability tests.
# Sourced by the tests/interop/*.sh scripts (its .bash name keeps it out of
# the glob that registers tests).
# Exits 77 (ctest's "skipped") when QEMU's tools are missing.
set -euo pipefail
: "${COWPOKE:?COWPOKE must point at the cowpoke binary}"
for tool in qemu-img qemu-io; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "SKIP: $tool not installed (apt-get install qemu-utils)"
    exit 77
  fi
done
WORK=$(mktemp -d "${TMPDIR:-/tmp}/cowpoke-interop.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
cd "$WORK"
fail() { echo "FAIL: $*" >&2; exit 1; }
# qemu-io without its timing lines, quiet on success.
qio() { qemu-io "$@" | grep -v -e '^wrote' -e '^read' -e '^discard' -e 'ops/sec' || true; }
# A seeded generator (64-bit LCG) that runs in the current shell: `rnd N`
# sets r to a number in [0, N). Bash's RANDOM reseeds in subshells, so it
# would make these tests non-deterministic.
R=${SEED:-20261123}
rnd() { R=$(( (R * 6364136223846793005 + 1442695040888963407) & 0x7fffffffffffffff )); r=$(( (R >> 20) % $1 )); }
# pat: a pattern byte in hex, 0x10..0xff.
pat() { rnd 240; printf -v p '0x%02x' $((r + 16)); }
