#!/usr/bin/env bash
# A/B of two builds of Sluice, paired and simultaneous: both gateways share the proxy core and are
# loaded at the same time (one wrk each, closed loop), so a noisy neighbour, a frequency change or
# a busy host slows both alike. Each round gives each build's CPU time per request (user + system,
# all of its threads but the JIT compilers, from /proc) and their ratio; the median of the rounds is
# the answer. Each gateway is warmed alone first, so that the rounds measure compiled code.
# Saturation runs one target after another differ by 10-25% from run to run on these shared
# machines; the paired ratio here moved by about 1-3% (see docs/benchmarks.md, "Paired A/B").
#
#   B_JAR=/path/to/other/sluice.jar bench/ab.sh          # this tree's build (A) against another (B)
#   A_JAR=x.jar B_JAR=x.jar ROUNDS=6 bench/ab.sh         # A/A: what the method itself shows (~1.00)
#   A_CONFIG=bench/sluice-seeing-off.yaml B_CONFIG=bench/sluice-seeing-on.yaml bench/ab.sh   # what seeing costs
#
#   A_JAR [this tree's target/sluice.jar]   B_JAR [A_JAR]   A_CONFIG [sluice-bench.yaml]   B_CONFIG [A_CONFIG]
#   (B_JAR or B_CONFIG must be set)   ROUNDS [12]   ROUND_SECONDS [10]
#   WARM_SECONDS [60] each gateway alone first, then WARM_ROUNDS [3] rounds together, not counted
#   CONNECTIONS [32] per gateway   MODEL [instant]   STREAM [0] 1: every request a stream (SSE)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ROUNDS="${ROUNDS:-12}"
ROUND_SECONDS="$(secs "${ROUND_SECONDS:-10}")"
WARM_SECONDS="$(secs "${WARM_SECONDS:-60}")"
WARM_ROUNDS="${WARM_ROUNDS:-3}"
CONNECTIONS="${CONNECTIONS:-32}"
MODEL="${MODEL:-instant}"
STREAM="${STREAM:-0}"
PORT_A=9121
PORT_B=9122
command -v wrk >/dev/null || die "wrk is needed (apt-get install -y wrk)"
[ -n "${B_JAR:-}${B_CONFIG:-}" ] || die "set B_JAR (another build) or B_CONFIG (another configuration) to compare"

bench_init "${OUT:-$BENCH_DIR/results/ab-$(date +%Y%m%d-%H%M%S)}"
A_JAR="${A_JAR:-$JAR}"
B_JAR="${B_JAR:-$A_JAR}"
A_CONFIG="${A_CONFIG:-$BENCH_DIR/sluice-bench.yaml}"
B_CONFIG="${B_CONFIG:-$A_CONFIG}"
[ -f "$A_JAR" ] || die "A_JAR $A_JAR is not a file"
[ -f "$B_JAR" ] || die "B_JAR $B_JAR is not a file"
write_meta ab "a_jar=$A_JAR" "b_jar=$B_JAR" "a_config=$A_CONFIG" "b_config=$B_CONFIG" "a_sha256=$(sha256sum "$A_JAR" | cut -c1-16)" \
  "b_sha256=$(sha256sum "$B_JAR" | cut -c1-16)" "rounds=$ROUNDS" "round_seconds=$ROUND_SECONDS" \
  "warm_seconds=$WARM_SECONDS" "warm_rounds=$WARM_ROUNDS" "connections=$CONNECTIONS" "model=$MODEL" "stream=$STREAM"
start_sim "$BENCH_DIR/profiles/fast.yaml"
JAR="$A_JAR" start_sluice_config ab-a "$A_CONFIG" "$PORT_A"
PID_A=$LAST_PID
JAR="$B_JAR" start_sluice_config ab-b "$B_CONFIG" "$PORT_B"
PID_B=$LAST_PID

BODY="$RUN_TMP/body.json"
STREAM_FIELD=""
[ "$STREAM" = 1 ] && STREAM_FIELD=',"stream":true'
printf '{"model":"%s","messages":[{"role":"user","content":"Say something about time."}]%s}' "$MODEL" "$STREAM_FIELD" >"$BODY"
ticks() {   # ticks PID: user + system clock ticks of the process's threads, the JIT compilers' left out
  local t sum=0 comm
  for t in /proc/"$1"/task/*; do
    comm="$(cat "$t/comm" 2>/dev/null)" || continue
    case "$comm" in C1\ Compiler*|C2\ Compiler*) continue ;; esac
    sum=$((sum + $(awk '{print $14 + $15}' "$t/stat" 2>/dev/null || echo 0)))
  done
  echo "$sum"
}
load() {   # load PORT SECONDS OUTFILE: one closed-loop wrk on the load core
  WRK_BODY_FILE="$BODY" pin "$CORE_GEN" wrk -t1 -c"$CONNECTIONS" -d"$2s" -s "$BENCH_DIR/wrk-post.lua" \
    "http://127.0.0.1:$1/v1/chat/completions" | tail -1 >"$3"
}

for port in "$PORT_A" "$PORT_B"; do   # the JIT compiles each gateway's hot path before anything counts
  log "warming :$port for ${WARM_SECONDS}s"
  load "$port" "$WARM_SECONDS" "$RUN_TMP/warm.json"
done

HZ="$(getconf CLK_TCK)"
for r in $(seq 1 "$WARM_ROUNDS"); do   # and then together, as the rounds will load them
  log "warming both together (${ROUND_SECONDS}s, not counted)"
  load "$PORT_A" "$ROUND_SECONDS" "$RUN_TMP/warm-a.json" & first=$!
  load "$PORT_B" "$ROUND_SECONDS" "$RUN_TMP/warm-b.json"
  wait "$first"
done
for r in $(seq 1 "$ROUNDS"); do
  a0=$(ticks "$PID_A"); b0=$(ticks "$PID_B")
  # the order the two generators start in alternates, so neither build always gets the head start
  # (a plain `wait` would also wait for the servers, which are this shell's jobs too)
  if [ $((r % 2)) = 1 ]; then
    load "$PORT_A" "$ROUND_SECONDS" "$OUT/round$r-a.json" & first=$!
    load "$PORT_B" "$ROUND_SECONDS" "$OUT/round$r-b.json"
  else
    load "$PORT_B" "$ROUND_SECONDS" "$OUT/round$r-b.json" & first=$!
    load "$PORT_A" "$ROUND_SECONDS" "$OUT/round$r-a.json"
  fi
  wait "$first"
  a1=$(ticks "$PID_A"); b1=$(ticks "$PID_B")
  echo "{\"round\": $r, \"a_ticks\": $((a1 - a0)), \"b_ticks\": $((b1 - b0)), \"hz\": $HZ}" >"$OUT/round$r-cpu.json"
  log "round $r of $ROUNDS done"
done

python3 - "$OUT" "$ROUNDS" <<'PY' | tee "$OUT/summary.md"
import json, os, statistics, sys
d, rounds = sys.argv[1], int(sys.argv[2])
rows = []
for r in range(1, rounds + 1):
    cpu = json.load(open(os.path.join(d, "round%d-cpu.json" % r)))
    a = json.load(open(os.path.join(d, "round%d-a.json" % r)))
    b = json.load(open(os.path.join(d, "round%d-b.json" % r)))
    if not a["requests"] or not b["requests"] or a["errors"]["status"] or b["errors"]["status"]:
        print("round %d: a side had no answers or errors; left out" % r)
        continue
    us = 1e6 / cpu["hz"]
    ca, cb = cpu["a_ticks"] * us / a["requests"], cpu["b_ticks"] * us / b["requests"]
    rows.append((r, a["throughput_rps"], ca, b["throughput_rps"], cb, cb / ca))
print("# Paired A/B: CPU per request, both builds loaded at once on one core\n")
print("| round | A req/s | A µs/request | B req/s | B µs/request | B / A |")
print("|---|---|---|---|---|---|")
for r, ta, ca, tb, cb, q in rows:
    print("| %d | %.0f | %.1f | %.0f | %.1f | %.3f |" % (r, ta, ca, tb, cb, q))
if rows:
    q = sorted(x[5] for x in rows)
    print("\nB / A, CPU per request: median **%.3f** (min %.3f, max %.3f, %d rounds);"
          " A %.1f µs, B %.1f µs at the median" % (statistics.median(q), q[0], q[-1], len(q),
          statistics.median(x[2] for x in rows), statistics.median(x[4] for x in rows)))
PY
