#!/bin/sh
# The README's first invoice, against the allotd at $ALLOT_ADDR
# (default 127.0.0.1:50051):
#   load the catalog and the sample plan, enroll member m-1 (anniversary
#   2024-03-15), price three home visits of the member year that began on
#   2025-03-15 (two are free, the third is billed $150.00), and show what is
#   left and when it resets (2026-03-15).
# Safe to run again: every step is idempotent (invoice inv-1 returns its
# stored answer the second time).
#
# allotctl is $ALLOTCTL, else the one on PATH, else the build tree's.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
if [ -z "${ALLOTCTL:-}" ]; then
  if command -v allotctl >/dev/null 2>&1; then
    ALLOTCTL=$(command -v allotctl)
  else
    ALLOTCTL="$here/../build/clients/cli/allotctl"
  fi
fi
export ALLOT_ADDR="${ALLOT_ADDR:-127.0.0.1:50051}"

cd "$here"

# Shows each command as a reader would type it, then runs it.
run() {
  printf '\n$ allotctl %s\n' "$*"
  "$ALLOTCTL" "$@"
}

run service put services.json
run plan put plans/family.json
run member put members/m-1.json
run price inv-1 m-1 HOME_VISIT@2025-04-01 HOME_VISIT@2025-06-01 HOME_VISIT@2025-09-01
run allotments m-1 --as-of 2025-09-02
