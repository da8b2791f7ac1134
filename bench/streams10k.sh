#!/usr/bin/env bash
# Many slow streams held open through Sluice at once (default 10,000 streams of one token a
# second for 60 s, all opened within RAMP seconds): did every stream finish cleanly, and how much
# memory did the gateway need for them? Samples the gateway's RSS (ps -o rss), open descriptors
# and in-flight count (/ready) every second. Writes gen-*.json, samples.csv and summary.md under
# bench/results/streams10k-<time>/ (or $OUT).
#
#   bench/streams10k.sh                                # the full run: ~2 minutes
#   N=500 RAMP=2 STREAM_SECONDS=10 bench/streams10k.sh # a smoke run
#
# Environment (defaults in brackets):
#   N [10000]            concurrent streams          RAMP [10]   seconds over which they are opened
#   STREAM_SECONDS [60]  length of each stream       TOKENS_PER_SECOND [1]
#   PREWARM [5]          seconds of short streams through Sluice before the slow ones (0: none)
#   GEN_PROCS [auto]     generator processes; enough that none needs more descriptors than allowed
#   FORCE [unset]        run even when the gateway's descriptor limit is too low for N (see below)
#   UPSTREAM_HTTP2 [1]   the gateway reaches the simulator over HTTP/2 (streams share a few
#                        connections); 0 for HTTP/1.1, one upstream socket per stream
#   CORE_LOAD [0] CORE_PROXY [1], SIM_PORT [9100], SLUICE_PORT [9102]
#
# Over HTTP/1.1 every stream costs the gateway two sockets (client side and upstream side), so it
# needs about 2*N + 400 open descriptors; over HTTP/2 upstream, about N + 400. The hard limit
# (ulimit -Hn) caps that per process and only a privileged user can raise it. The script checks
# before it starts.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

N="${N:-10000}"
RAMP="$(secs "${RAMP:-10}")"
STREAM_SECONDS="$(secs "${STREAM_SECONDS:-60}")"
TOKENS_PER_SECOND="${TOKENS_PER_SECOND:-1}"
PREWARM="$(secs "${PREWARM:-5}")"

hard="$(ulimit -Hn)"
[ "$hard" = unlimited ] && hard=1048576
UPSTREAM_HTTP2="${UPSTREAM_HTTP2:-1}"
per_stream=2; [ "$UPSTREAM_HTTP2" = 1 ] && per_stream=1
need=$((per_stream * N + 400))   # ~330 descriptors are open in an idle gateway (jars, epoll, ...)
if [ "$need" -gt "$hard" ]; then
  fits=$(((hard - 400) / per_stream))
  log "the gateway needs ~$need open descriptors for $N streams ($per_stream socket(s) each) but the hard limit"
  log "here is $hard per process (ulimit -Hn; raising it needs privileges this user lacks)."
  log "At most ~$fits streams fit: run with N=$fits, raise the hard limit, or set FORCE=1 to try anyway."
  [ -n "${FORCE:-}" ] || exit 3
fi
per_proc=$((hard - 500))
procs_needed=$(((N + per_proc - 1) / per_proc))
GEN_PROCS="${GEN_PROCS:-$procs_needed}"
[ "$GEN_PROCS" -lt "$procs_needed" ] && GEN_PROCS=$procs_needed

bench_init "${OUT:-$BENCH_DIR/results/streams10k-$(date +%Y%m%d-%H%M%S)}"
log "results in $OUT; descriptor limit $hard per process, $GEN_PROCS generator process(es)"

# the profile's slow model, stretched to the length asked for
profile="$RUN_TMP/streams.yaml"
sed -n '1,/^models:/p' "$BENCH_DIR/profiles/fast.yaml" >"$profile"
cat >>"$profile" <<YAML
  slow:
    first_token: 1s
    tokens_per_second: $TOKENS_PER_SECOND
    output_tokens: $(awk -v s="$STREAM_SECONDS" -v t="$TOKENS_PER_SECOND" 'BEGIN { printf "%d", s * t }')
YAML
cp "$profile" "$OUT/logs/profile.yaml"

start_sim "$profile"
if [ "$UPSTREAM_HTTP2" = 1 ]; then
  sed -e 's#^\(    max_connections: .*\)$#\1\n    http2: true#' "$BENCH_DIR/sluice-bench.yaml" >"$RUN_TMP/sluice-h2.yaml"
  grep -q "http2: true" "$RUN_TMP/sluice-h2.yaml" || die "could not switch the provider to HTTP/2"
  SLUICE_CONFIG="$RUN_TMP/sluice-h2.yaml"
fi
start_sluice
# warm the gateway's and the simulator's code on short streams first, so that the slow streams
# are not opened by code still being compiled on its one core (the figure here is memory, but
# first-token times are shown too)
if [ "$PREWARM" != 0 ]; then
  log "warm-up: short streams through Sluice for ${PREWARM}s"
  gen --target "http://127.0.0.1:$SLUICE_PORT" --model fast --stream --rate 200 --duration "${PREWARM}s" \
    --label warmup --json "$OUT/logs/warmup.json" >"$OUT/logs/warmup.txt" 2>&1 || log "warning: warm-up failed"
fi
sleep 2
idle_rss="$(ps -o rss= -p "$SLUICE_PID" | tr -d ' ')"
write_meta streams10k "n=$N" "upstream_http2=$UPSTREAM_HTTP2" "ramp_s=$RAMP" "stream_s=$STREAM_SECONDS" "tokens_per_second=$TOKENS_PER_SECOND" \
  "gen_procs=$GEN_PROCS" "fd_hard_limit=$hard" "idle_rss_kb=$idle_rss"

sample() {
  local t0 now fds rss inflight
  t0="$(date +%s.%N)"
  echo "t_s,rss_kb,fds,in_flight"
  while kill -0 "$SLUICE_PID" 2>/dev/null; do
    now="$(date +%s.%N)"
    rss="$(ps -o rss= -p "$SLUICE_PID" | tr -d ' ')"
    fds="$(ls "/proc/$SLUICE_PID/fd" 2>/dev/null | wc -l)"
    inflight="$(curl -s --max-time 1 "http://127.0.0.1:$SLUICE_PORT/ready" \
      | python3 -c 'import json,sys; print(json.load(sys.stdin).get("in_flight",""))' 2>/dev/null || true)"
    echo "$(awk -v a="$now" -v b="$t0" 'BEGIN { printf "%.1f", a - b }'),$rss,$fds,$inflight"
    sleep 1
  done
}
sample >"$OUT/samples.csv" &
STARTED_PIDS+=($!)
SAMPLER_PID=$!

log "opening $N streams over ${RAMP}s through Sluice (each ~${STREAM_SECONDS}s)"
gen_pids=()
for k in $(seq 0 $((GEN_PROCS - 1))); do
  count=$((N / GEN_PROCS + (k < N % GEN_PROCS ? 1 : 0)))
  rate="$(awk -v c="$count" -v r="$RAMP" 'BEGIN { printf "%.9f", c / r }')"
  gen --target "http://127.0.0.1:$SLUICE_PORT" --model slow --stream --rate "$rate" --duration "${RAMP}s" \
    --connections $((count + 16)) --timeout "$((STREAM_SECONDS + 120))s" --label "sluice-gen$k" \
    --json "$OUT/gen-$k.json" >"$OUT/logs/gen-$k.txt" 2>&1 &
  gen_pids+=($!)
  STARTED_PIDS+=($!)
done
failed=0
for p in "${gen_pids[@]}"; do wait "$p" || failed=1; done
[ "$failed" = 0 ] || log "warning: a generator exited non-zero; see $OUT/logs/gen-*.txt"
sleep 1
kill "$SAMPLER_PID" 2>/dev/null || true

python3 "$BENCH_DIR/summarize.py" "$OUT" | tee "$OUT/summary.md"
log "done: $OUT/summary.md"
