# lib.sh - shell helpers shared by bench/run and bench/smoke.sh (sourced).
# Needs PY (a python3) for free_port.

# A loopback TCP port that was free a moment ago.
free_port() {
  "$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# start_allotd ALLOTD DATA_DIR ALLOT_LOAD LOG
# Starts allotd on a free loopback port and waits until it answers
# Health/Check. Sets ALLOTD_PID and ALLOTD_PORT. allotd refuses a port that
# is taken (SO_REUSEPORT is off), so a lost race just means another try.
# ALLOTD_WRAP, when set, is a command allotd runs under (valgrind ...; it
# keeps allotd's PID), and ALLOTD_WAIT the seconds to wait (default 15).
start_allotd() {
  local bin=$1 data=$2 load=$3 log=$4 try
  for try in 1 2 3 4 5; do
    ALLOTD_PORT=$(free_port)
    # shellcheck disable=SC2086 # ALLOTD_WRAP is words on purpose
    ${ALLOTD_WRAP:-} "$bin" --listen "127.0.0.1:$ALLOTD_PORT" --data "$data" >>"$log" 2>&1 &
    ALLOTD_PID=$!
    if "$load" --target "127.0.0.1:$ALLOTD_PORT" --wait-only --wait "${ALLOTD_WAIT:-15}" \
      >/dev/null 2>&1 &&
      kill -0 "$ALLOTD_PID" 2>/dev/null; then
      return 0
    fi
    kill -TERM "$ALLOTD_PID" 2>/dev/null || true
    wait "$ALLOTD_PID" 2>/dev/null || true
    ALLOTD_PID=""
  done
  echo "bench: allotd did not start; see $log" >&2
  return 1
}

# Stops the allotd we started (SIGTERM: it finishes in-flight calls).
stop_allotd() {
  if [ -n "${ALLOTD_PID:-}" ]; then
    kill -TERM "$ALLOTD_PID" 2>/dev/null || true
    wait "$ALLOTD_PID" 2>/dev/null || true
    ALLOTD_PID=""
  fi
}

# rss_json PID: the process's resident memory, as a JSON object (KiB).
rss_json() {
  awk '/^(VmRSS|VmHWM|RssAnon|RssFile):/ { k = $1; sub(":", "", k); printf "%s\"%s_kb\": %s", sep, k, $2; sep = ", " }
       BEGIN { printf "{" } END { print "}" }' "/proc/$1/status"
}
