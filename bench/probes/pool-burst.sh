#!/usr/bin/env bash
# What idle upstream connections cost each request: CPU per request of a warm Sluice at saturation
# (wrk, 64 connections, 10 s, one event loop), before a burst of N concurrent requests held 3 s by
# the simulator (PoolBurst.java), twice after it, and once more 70 s later when the idle
# connections the burst left have closed. docs/operations.md, "The upstream pool after a burst".
#
#   bench/probes/pool-burst.sh [results dir]      N=3000 by default
set -euo pipefail
source "$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/lib.sh"
SAT_CONNECTIONS=64
bench_init "${1:-$ROOT/bench/results/pool-burst-$(date +%Y%m%d-%H%M%S)}"
build_jar
start_sim "$BENCH_DIR/profiles/fast.yaml"
start_sluice
printf '{"model":"instant","messages":[{"role":"user","content":"Say something about time."}]}' >"$RUN_TMP/sat-body.json"
upstream() { ss -tnp state established "( dport = :$SIM_PORT )" | grep -c "pid=$SLUICE_PID," || true; }
measure() {
  local c0 c1
  c0=$(cpu_ticks "$SLUICE_PID")
  wrk_run "$SLUICE_PORT" 10 x "$RUN_TMP/d.json" >/dev/null
  c1=$(cpu_ticks "$SLUICE_PID")
  add_cpu_per_request "$RUN_TMP/d.json" "$1" "$c0" "$c1"   # the suites' own ticks-to-µs, into the JSON
  echo "$1: $(upstream) upstream connections, $(python3 -c 'import json, sys; d = json.load(open(sys.argv[1]))
print("%d requests, %s µs CPU per request" % (d["requests"], d.get("proxy_cpu_us_per_request", "?")))' \
    "$RUN_TMP/d.json")" | tee -a "$OUT/summary.txt"
}
wrk_run "$SLUICE_PORT" 30 x "$RUN_TMP/d.json" >/dev/null   # warm-up
measure "before the burst"
pin "$CORE_LOAD" java "$BENCH_DIR/probes/PoolBurst.java" "http://127.0.0.1:$SLUICE_PORT" "${N:-3000}"
measure "after the burst"
measure "after the burst, again"
sleep 50
measure "70 s after the burst"
