#!/usr/bin/env bash
# The core comparison: direct to the simulator vs. nginx vs. Sluice, in one run, against the same
# simulator process. For each rate and for non-stream and stream, the three targets are measured
# interleaved (direct, nginx, sluice, direct, nginx, sluice, ...) so that drift on the machine
# hits all three alike; then a saturation run per target (wrk, closed loop) gives requests/s.
# Writes JSON per run and summary.md under bench/results/core-<time>/ (or $OUT).
#
#   bench/core.sh                          # the full run: ~20 min
#   DURATION=3 REPS=1 WARMUP=1 bench/core.sh   # a smoke run
#
# Environment (defaults in brackets):
#   DURATION [20]     measured seconds per run       WARMUP [5]   unmeasured lead-in per run, seconds
#   PREWARM [30]      seconds of the warm-up pass over every target and mode before measuring
#   REPS [3]          repetitions of each A-B-C      RATES ["200 1000"]  requests/s of the fixed-rate runs
#   MODES ["nonstream stream"]                        TARGETS ["direct nginx sluice"]
#                     sluice_epoll, sluice_io_uring, sluice_nio: Sluice on that transport, on its own port
#                     floor_netty, floor_vertx, floor_vertx_strict: bench/probes/ProxyFloor.java, a proxy
#                     without Sluice's logic (plain Netty; plain Vert.x; Vert.x in strict thread mode)
#   SAT_DURATION [10] seconds per saturation run     SAT_CONNECTIONS [64]  wrk connections
#   SAT_WARMUP [30]   unrecorded seconds of wrk per target before the first measured run
#   RATES=" " MODES=" "  saturation only (~5 min with REPS=6)
#   SATURATION [1]    0: fixed-rate runs only, no saturation runs
#   SAT_TOOL [auto]   wrk, or java (the generator at SAT_RATE [20000]/s) when wrk is missing
#   CORE_LOAD [0] CORE_PROXY [1]  cores (see README)  SIM_PORT/NGINX_PORT/SLUICE_PORT [9100/9101/9102]
#   GEN_NICE [0]      the generator's nice; 0 here, unlike the other suites (see below)
set -euo pipefail
# The generator runs at nice 0 here, not at lib.sh's -10: at 1,000 new streams/s the simulator on
# the same core needs its fair share, and a generator ahead of it starved it (direct to the
# simulator took 3.9 s per stream at the median, the comparison meant nothing). The lateness this
# costs the generator is reported per run, and direct pays it like every other target.
GEN_NICE="${GEN_NICE:-0}"
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

DURATION="$(secs "${DURATION:-20}")"
WARMUP="$(secs "${WARMUP:-5}")"
PREWARM="$(secs "${PREWARM:-30}")"
REPS="${REPS:-3}"
RATES="${RATES:-200 1000}"
MODES="${MODES:-nonstream stream}"
TARGETS="${TARGETS:-direct nginx sluice}"
SAT_DURATION="$(secs "${SAT_DURATION:-10}")"
SAT_WARMUP="$(secs "${SAT_WARMUP:-30}")"
SAT_CONNECTIONS="${SAT_CONNECTIONS:-64}"
SAT_TOOL="${SAT_TOOL:-auto}"
SAT_RATE="${SAT_RATE:-20000}"
SATURATION="${SATURATION:-1}"
MODEL="${MODEL:-fast}"
SAT_MODEL="${SAT_MODEL:-instant}"

if [ "$SAT_TOOL" = auto ]; then
  if command -v wrk >/dev/null; then SAT_TOOL=wrk; else SAT_TOOL=java; fi
fi
if [ "$SAT_TOOL" = java ]; then
  log "wrk not used: saturation runs use the Java generator at $SAT_RATE/s over $SAT_CONNECTIONS connections"
fi

bench_init "${OUT:-$BENCH_DIR/results/core-$(date +%Y%m%d-%H%M%S)}"
write_meta core "duration_s=$DURATION" "warmup_s=$WARMUP" "prewarm_s=$PREWARM" "reps=$REPS" "rates=$RATES" "modes=$MODES" \
  "targets=$TARGETS" "model=$MODEL" "sat_tool=$SAT_TOOL" "sat_duration_s=$SAT_DURATION" \
  "sat_connections=$SAT_CONNECTIONS" "sat_warmup_s=$SAT_WARMUP" "sat_model=$SAT_MODEL" "saturation=$SATURATION"
log "results in $OUT"

start_sim "$BENCH_DIR/profiles/fast.yaml"
for t in $TARGETS; do
  case "$t" in
    nginx) start_nginx ;;
    sluice) start_sluice ;;
    # one Sluice per named transport, side by side in the same run (an A/B of transports)
    sluice_*) SLUICE_TRANSPORT="${t#sluice_}" start_sluice_config "$t" "${SLUICE_CONFIG:-$BENCH_DIR/sluice-bench.yaml}" \
      "$(transport_port "$t")" ;;
    # a proxy without Sluice's logic (bench/probes/ProxyFloor.java): what the stack alone costs
    floor_*) start_floor "${t#floor_}" ;;
  esac
done

mode_args() { [ "$1" = stream ] && echo "--stream --sim-timestamps" || true; }

body="$RUN_TMP/sat-body.json"
printf '{"model":"%s","messages":[{"role":"user","content":"Say something about time."}]}' "$SAT_MODEL" >"$body"
sat_warmup() {   # one long unrecorded wrk run per target: the JIT compiles the non-stream path
  for t in $TARGETS; do
    log "warm-up: $t at saturation for ${SAT_WARMUP}s (wrk)"
    WRK_BODY_FILE="$body" WRK_JSON_OUT="$RUN_TMP/discard.json" WRK_LABEL="$t" \
      pin "$CORE_LOAD" wrk -t1 -c"$SAT_CONNECTIONS" -d"${SAT_WARMUP}s" -s "$BENCH_DIR/wrk-post.lua" \
      "$(target_url "$t")/v1/chat/completions" >/dev/null 2>&1 || true
  done
}

# Warm-up before anything is measured, so that no target meets a measured run with code the JIT
# has not compiled yet. At 200 requests/s the JIT needs minutes: in a probe, Sluice's median over
# nginx's fell from +0.62 to +0.06 ms over six 10 s runs, and a minute after start the JIT still
# compiled 1-44 methods a second. So first a saturation run per target (the non-stream path at full speed), then a pass
# over every target and mode at the highest fixed rate (the stream path too).
SAT_WARMED=0
if [ "$SAT_TOOL" = wrk ] && [ -n "${RATES// /}" ] && [ -n "${MODES// /}" ]; then
  sat_warmup
  SAT_WARMED=1
fi
# The pass starts at the lowest rate: a cold path met at the top rate fell behind, and while it did,
# Sluice's upstream pool grew to thousands of connections that then slowed every later request (see
# docs/operations.md, "The upstream pool after a burst").
max_rate=0
min_rate=
for r in $RATES; do
  max_rate=$(awk -v a="$r" -v b="$max_rate" 'BEGIN { print (a > b) ? a : b }')
  min_rate=$(awk -v a="$r" -v b="${min_rate:-$r}" 'BEGIN { print (a < b) ? a : b }')
done
mkdir -p "$OUT/warmup"
for mode in $MODES; do
  for t in $TARGETS; do
    for rate in $(echo "$min_rate $max_rate" | tr ' ' '\n' | uniq); do
      log "warm-up: $t $mode at $rate/s for ${PREWARM}s"
      # shellcheck disable=SC2046
      gen --target "$(target_url "$t")" --model "$MODEL" --rate "$rate" --duration "${PREWARM}s" $(mode_args "$mode") \
        --label "$t" --json "$OUT/warmup/$mode-$t-r$rate.json" >"$OUT/logs/warmup-$mode-$t-r$rate.txt" 2>&1 \
        || log "warning: warm-up of $t ($mode, $rate/s) failed; see $OUT/logs/warmup-$mode-$t-r$rate.txt"
    done
  done
done

for rate in $RATES; do
  for mode in $MODES; do
    for rep in $(seq 1 "$REPS"); do
      for t in $TARGETS; do
        name="core-$mode-r$rate-$t-rep$rep"
        log "$name: ${DURATION}s at $rate/s (+${WARMUP}s warm-up)"
        # shellcheck disable=SC2046
        if ! gen --target "$(target_url "$t")" --model "$MODEL" --rate "$rate" --duration "${DURATION}s" \
            --warmup "${WARMUP}s" $(mode_args "$mode") --label "$t" --json "$OUT/$name.json" \
            >"$OUT/logs/$name.txt" 2>&1; then
          log "warning: $name failed; see $OUT/logs/$name.txt"
        fi
        grep -E "^(success rate|latency|per-chunk)" "$OUT/logs/$name.txt" | sed 's/^/    /' >&2 || true
      done
    done
  done
done

# Saturation: as many non-stream requests as each target serves, on its one core.
SAT_REPS="$REPS"
[ "$SATURATION" = 1 ] || SAT_REPS=0
if [ "$SAT_TOOL" = wrk ] && [ "$SAT_REPS" -gt 0 ] && [ "$SAT_WARMED" = 0 ]; then
  # run alone (RATES=" " MODES=" "), the suite would otherwise meet Sluice's first measured run
  # with code the JIT has not compiled yet (its CPU per request was ten times the warm figure)
  sat_warmup
fi
for rep in $(seq 1 "$SAT_REPS"); do
  for t in $TARGETS; do
    name="sat-$t-rep$rep"
    url="$(target_url "$t")/v1/chat/completions"
    log "$name: ${SAT_DURATION}s, $SAT_CONNECTIONS connections ($SAT_TOOL)"
    if [ "$SAT_TOOL" = wrk ]; then
      # a short unrecorded run first: the JIT of a Java target sees this load for the first time
      WRK_BODY_FILE="$body" WRK_JSON_OUT="$RUN_TMP/discard.json" WRK_LABEL="$t" \
        pin "$CORE_LOAD" wrk -t1 -c"$SAT_CONNECTIONS" -d2s -s "$BENCH_DIR/wrk-post.lua" "$url" >/dev/null 2>&1 || true
    fi
    # the proxy's own CPU around the measured run: per request, a second estimate of its cost that
    # time spent off its core does not move (direct has no proxy)
    pids=""
    # (wrk only: the Java generator's run includes its warm-up, which its request count does not)
    if [ "$t" != direct ] && [ "$SAT_TOOL" = wrk ]; then port="${url#http://127.0.0.1:}"; pids="$(pids_on_port "${port%%/*}")"; fi
    # shellcheck disable=SC2086
    cpu0="$(cpu_ticks $pids)"   # -1 without pids
    if [ "$SAT_TOOL" = wrk ]; then
      WRK_BODY_FILE="$body" WRK_JSON_OUT="$OUT/$name.json" WRK_LABEL="$t" \
        pin "$CORE_LOAD" wrk -t1 -c"$SAT_CONNECTIONS" -d"${SAT_DURATION}s" --latency -s "$BENCH_DIR/wrk-post.lua" "$url" \
        >"$OUT/logs/$name.txt" 2>&1 || log "warning: $name failed; see $OUT/logs/$name.txt"
    else
      gen --target "$url" --model "$SAT_MODEL" --rate "$SAT_RATE" --duration "${SAT_DURATION}s" --warmup 2s \
        --connections "$SAT_CONNECTIONS" --timeout 30s --label "$t" --json "$OUT/$name.json" \
        >"$OUT/logs/$name.txt" 2>&1 || log "warning: $name failed; see $OUT/logs/$name.txt"
    fi
    # shellcheck disable=SC2086
    cpu1="$(cpu_ticks $pids)"   # -1 without pids
    add_cpu_per_request "$OUT/$name.json" "$t" "$cpu0" "$cpu1"
  done
done

python3 "$BENCH_DIR/summarize.py" "$OUT" | tee "$OUT/summary.md"
log "done: $OUT/summary.md"
