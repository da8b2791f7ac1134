#!/usr/bin/env bash
# Resilience benchmarks (issue 3), each side by side in one run against one simulator:
#   tail      two heavy-tailed deployments (5% of first tokens 10x slower): p99 and upstream calls
#             per request without hedging (model tail-plain) and with hedging at the observed p95
#             (model tail-hedge), interleaved REPS times
#   outage    two deployments; after PHASE seconds one starts failing every call: success rate and
#             upstream calls per request while the outage lasts (breakers + fail-over + retry budget)
#   overhead  saturation (wrk) of the full gateway vs. the same gateway with resilience reduced to
#             the core (one attempt, no breaker, no quota), interleaved REPS times
#
#   bench/resilience.sh                       # ~10 min
#   DURATION=5 REPS=1 bench/resilience.sh     # a smoke run
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

DURATION="$(secs "${DURATION:-30}")"
REPS="${REPS:-3}"
RATE="${RATE:-100}"
PHASE="$(secs "${PHASE:-15}")"
OUTAGE_RATE="${OUTAGE_RATE:-200}"
SAT_DURATION="$(secs "${SAT_DURATION:-10}")"
SAT_CONNECTIONS="${SAT_CONNECTIONS:-64}"
PORT_FULL=9103
PORT_PLAIN=9104

bench_init "${OUT:-$BENCH_DIR/results/resilience-$(date +%Y%m%d-%H%M%S)}"
write_meta resilience "duration_s=$DURATION" "reps=$REPS" "rate=$RATE" "phase_s=$PHASE" "outage_rate=$OUTAGE_RATE"
start_sim "$BENCH_DIR/profiles/resilience.yaml"
start_sluice_config full "$BENCH_DIR/sluice-resilience.yaml" "$PORT_FULL"
start_sluice_config plain "$BENCH_DIR/sluice-plain.yaml" "$PORT_PLAIN"
FULL="http://127.0.0.1:$PORT_FULL"

# ---- tail latency: hedging off vs on ---------------------------------------------------------
log "tail: warm-up (the hedge delay needs observed latencies)"
for m in tail-plain tail-hedge; do
  gen --target "$FULL" --model "$m" --rate "$RATE" --duration 15s --label "$m" >/dev/null 2>&1 || true
done
for rep in $(seq 1 "$REPS"); do
  for m in tail-plain tail-hedge; do
    case "$m" in tail-plain) ups="tail-a tail-b" ;; *) ups="tail-c tail-d" ;; esac
    # shellcheck disable=SC2086
    before=$(sim_count $ups)
    name="tail-$m-rep$rep"
    gen --target "$FULL" --model "$m" --rate "$RATE" --duration "${DURATION}s" --label "$m" \
      --json "$OUT/$name.json" >"$OUT/logs/$name.txt" 2>&1 || log "warning: $name failed"
    # shellcheck disable=SC2086
    after=$(sim_count $ups)
    python3 - "$OUT/$name.json" "$((after - before))" <<'PY'
import json, sys
p, calls = sys.argv[1], int(sys.argv[2])
d = json.load(open(p)); d["upstream_calls"] = calls
d["upstream_calls_per_request"] = calls / max(1, d["counts"]["sent"])
json.dump(d, open(p, "w"), indent=2)
print("    %s: p50 %.1f ms, p99 %.1f ms, success %.4f, upstream calls/request %.3f" % (
    d.get("label"), d["latency_ms"]["p50"], d["latency_ms"]["p99"], d["success_rate"], d["upstream_calls_per_request"]))
PY
  done
done

# ---- outage: one of two deployments fails every call from mid-run ---------------------------
log "outage: ${PHASE}s healthy, then up-a fails every call for $((PHASE * 2))s, at $OUTAGE_RATE/s"
gen --target "$FULL" --model outage --rate "$OUTAGE_RATE" --duration "${PHASE}s" --label outage-before \
  --json "$OUT/outage-before.json" >"$OUT/logs/outage-before.txt" 2>&1 || log "warning: outage-before failed"
curl -fsS -X POST "http://127.0.0.1:$SIM_PORT/sim/models/up-a" -d '{"error_rate":1,"error_statuses":[503]}' >/dev/null
before=$(sim_count up-a up-b)
gen --target "$FULL" --model outage --rate "$OUTAGE_RATE" --duration "$((PHASE * 2))s" --label outage-during \
  --header "X-Request-Timeout: 5s" --json "$OUT/outage-during.json" >"$OUT/logs/outage-during.txt" 2>&1 \
  || log "warning: outage-during failed"
after=$(sim_count up-a up-b)
curl -fsS -X POST "http://127.0.0.1:$SIM_PORT/sim/models/up-a" -d '{"error_rate":0}' >/dev/null
python3 - "$OUT/outage-during.json" "$((after - before))" <<'PY'
import json, sys
p, calls = sys.argv[1], int(sys.argv[2])
d = json.load(open(p)); d["upstream_calls"] = calls
d["upstream_calls_per_request"] = calls / max(1, d["counts"]["sent"])
json.dump(d, open(p, "w"), indent=2)
print("    during the outage: success %.5f, upstream calls/request %.3f, p99 %.1f ms" % (
    d["success_rate"], d["upstream_calls_per_request"], d["latency_ms"]["p99"]))
PY

# ---- overhead: full gateway vs the core, saturation -------------------------------------------
saturate overhead plain "$PORT_PLAIN" full "$PORT_FULL"

python3 "$BENCH_DIR/summarize_resilience.py" "$OUT" | tee "$OUT/summary.md"
