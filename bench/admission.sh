#!/usr/bin/env bash
# Overload benchmark (issue 4): a provider that serves ~CAPACITY answers/s (bench/profiles/capacity.yaml)
# is offered 3x that, open loop, with a 2 s deadline per request, through Sluice with admission on
# (adaptive concurrency, bounded deadline-aware queue) and off (no limit), side by side in one run.
# Also an unloaded run (half capacity) for the baseline p99, and the gateway's heap during overload.
#
#   bench/admission.sh                        # ~6 min
#   DURATION=5 REPS=1 bench/admission.sh      # a smoke run
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

DURATION="$(secs "${DURATION:-30}")"
REPS="${REPS:-3}"
CAPACITY="${CAPACITY:-200}"
DEADLINE="${DEADLINE:-2s}"
PORT_ON=9105
PORT_OFF=9106
PORT_TUNED=9109
TARGETS="${TARGETS:-on tuned off}"
port_of() { case "$1" in on) echo $PORT_ON ;; off) echo $PORT_OFF ;; tuned) echo $PORT_TUNED ;; esac; }

bench_init "${OUT:-$BENCH_DIR/results/admission-$(date +%Y%m%d-%H%M%S)}"
write_meta admission "duration_s=$DURATION" "reps=$REPS" "capacity_rps=$CAPACITY" "deadline=$DEADLINE"
start_sim "$BENCH_DIR/profiles/capacity.yaml"
start_sluice_config on "$BENCH_DIR/sluice-admission.yaml" "$PORT_ON"
ON_PID=$LAST_PID
start_sluice_config off "$BENCH_DIR/sluice-noadmission.yaml" "$PORT_OFF"
OFF_PID=$LAST_PID
start_sluice_config tuned "$BENCH_DIR/sluice-admission-tuned.yaml" "$PORT_TUNED"

heap_sampler() {   # heap_sampler PORT FILE: peak heap used and max, from /metrics, every 0.5 s until killed
  local port="$1" file="$2"
  while true; do
    curl -fsS --max-time 1 "http://127.0.0.1:$port/metrics" 2>/dev/null | python3 -c '
import sys
used = mx = 0.0
for line in sys.stdin:
    if line.startswith("jvm_memory_used_bytes{") and "area=\"heap\"" in line:
        used += float(line.rsplit(" ", 1)[1])
    if line.startswith("jvm_memory_max_bytes{") and "area=\"heap\"" in line:
        v = float(line.rsplit(" ", 1)[1]); mx += v if v > 0 else 0
print(int(used), int(mx))' >>"$file" 2>/dev/null || true
    sleep 0.5
  done
}

half=$((CAPACITY / 2))
over=$((CAPACITY * 3))
for t in $TARGETS; do
  port=$(port_of "$t")
  log "warm-up $t at $half/s"
  gen --target "http://127.0.0.1:$port" --model cap --rate "$half" --duration 10s --header "X-Request-Timeout: $DEADLINE" \
    >/dev/null 2>&1 || true
done
for rep in $(seq 1 "$REPS"); do
  for t in $TARGETS; do
    port=$(port_of "$t")
    name="unloaded-$t-rep$rep"
    gen --target "http://127.0.0.1:$port" --model cap --rate "$half" --duration "${DURATION}s" --warmup 3s \
      --header "X-Request-Timeout: $DEADLINE" --label "$t" --json "$OUT/$name.json" >"$OUT/logs/$name.txt" 2>&1 \
      || log "warning: $name failed"
    name="overload-$t-rep$rep"
    log "$name: ${DURATION}s at $over/s (3x capacity)"
    heap_sampler "$port" "$OUT/heap-$name.txt" &
    sampler=$!
    gen --target "http://127.0.0.1:$port" --model cap --rate "$over" --duration "${DURATION}s" --warmup 3s \
      --header "X-Request-Timeout: $DEADLINE" --label "$t" --json "$OUT/$name.json" >"$OUT/logs/$name.txt" 2>&1 \
      || log "warning: $name failed"
    kill "$sampler" 2>/dev/null || true
    wait "$sampler" 2>/dev/null || true
    # the gateway's own view of the run (its request log), without the load generator's share of the core
    curl -fsS "http://127.0.0.1:$port/admin/stats?window=$((DURATION + 4))s" >"$OUT/gwstats-$name.json" 2>/dev/null || true
    python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print("    %s: goodput %.0f/s, p99 ok %.0f ms, refusals p99 %.1f ms, errors %s" % (sys.argv[2], d["throughput_rps"], d["latency_ms"]["p99"], d["failed_latency_ms"]["p99"], d["errors"]))' \
      "$OUT/$name.json" "$t" >&2 || true
    # let the provider drain before the next run
    sleep 5
  done
done
python3 "$BENCH_DIR/summarize_admission.py" "$OUT" "$CAPACITY" | tee "$OUT/summary.md"
