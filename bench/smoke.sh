#!/usr/bin/env bash
# bench_smoke (ctest -L bench): runs every benchmark tool and scenario for a
# moment against a real allotd on 200 members, and checks that every
# scenario made calls and none failed. It measures nothing: never assert
# speed here, CI machines are noisy.
#
# usage: smoke.sh ALLOTD ALLOT_GEN ALLOT_LOAD ALLOT_COMMIT PYTHON3 [callgrind|no-callgrind]
set -euo pipefail
ALLOTD=$1 GEN=$2 LOAD=$3 COMMIT=$4 PY=$5 CALLGRIND=${6:-callgrind}
source "$(dirname "$0")/lib.sh"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/allot-bench-smoke.XXXXXX")
cleanup() {
  stop_allotd
  rm -rf "$tmp"
}
trap cleanup EXIT

"$GEN" --data "$tmp/data" --members 200 --batch 64
"$COMMIT" -d "$tmp" -n 20 -j "$tmp/commit.json"
"$COMMIT" -d "$tmp" -n 5 -k 3 >/dev/null
start_allotd "$ALLOTD" "$tmp/data" "$LOAD" "$tmp/allotd.log"
"$LOAD" --target "127.0.0.1:$ALLOTD_PORT" --members 200 --scenarios all --inflight 1,4 \
  --warmup 0.1 --duration 0.3 --server-pid "$ALLOTD_PID" --json "$tmp/load.json" --label smoke
stop_allotd

# bench/instructions on the same tools (not for a sanitizer build)
if [ "$CALLGRIND" = callgrind ]; then
  ALLOT_GEN=$GEN ALLOT_LOAD=$LOAD bash "$(dirname "$0")/instructions" --allotd "$ALLOTD" \
    --members 200 --scenarios floor,preview-1 --duration 1 --out "$tmp" >/dev/null
fi

"$PY" - "$tmp/load.json" "$tmp/commit.json" "$CALLGRIND" "$tmp/instructions.json" <<'EOF'
import json, sys
load = json.load(open(sys.argv[1]))
commit = json.load(open(sys.argv[2]))
want = {"floor", "preview-1", "allotments", "price-1", "price-10", "retry"}
bad = []
seen = set()
for r in load["results"]:
    key = (r["scenario"], r["inflight"])
    seen.add(key)
    if r["calls"] <= 0:
        bad.append(f"{key}: no calls")
    if r["errors"] != 0:
        bad.append(f"{key}: {r['errors']} errors, first: {r['first_error']}")
    if r["scenario"] == "retry" and r["replayed"] != r["calls"]:
        bad.append(f"{key}: {r['calls'] - r['replayed']} retries were priced again, not replayed")
for s in want:
    for level in (1, 4):
        if (s, level) not in seen:
            bad.append(f"({s!r}, {level}): missing from the JSON")
if commit["commits"] != 20 or commit["p50_us"] <= 0:
    bad.append(f"allot-commit: unexpected {commit}")
# instructions: every call counted, and a priced preview runs our code
# (engine, store, LMDB) where the health check runs almost only gRPC's
instr_note = "bench/instructions not run (sanitizer build)"
if sys.argv[3] == "callgrind":
    instr = json.load(open(sys.argv[4]))["scenarios"]
    fl, pv = instr["floor"], instr["preview-1"]
    if fl["calls"] <= 0 or pv["calls"] <= 0 or fl["per_call"]["gRPC"] <= 0:
        bad.append(f"instructions: unexpected {instr}")
    elif not (pv["per_call"]["allotd"] > 5 * fl["per_call"]["allotd"] and
              pv["per_call"]["LMDB"] > 0 and fl["per_call"]["LMDB"] == 0):
        bad.append(f"instructions: preview-1 {pv['per_call']} against floor {fl['per_call']}")
    instr_note = f"instructions a preview: {pv['per_call']['total']}"
if bad:
    print("bench_smoke FAILED:\n  " + "\n  ".join(bad))
    sys.exit(1)
print(f"bench_smoke ok: {len(load['results'])} runs, every scenario answered without error; "
      + instr_note)
EOF
