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
#   B_JAVA_OPTS="-XX:+UseG1GC -XX:MaxGCPauseMillis=20 -Xmx1g -XX:MaxTenuringThreshold=1" bench/ab.sh   # two JVM settings
#
#   A_JAR [this tree's target/sluice.jar]   B_JAR [A_JAR]   A_CONFIG [sluice-bench.yaml]   B_CONFIG [A_CONFIG]
#   A_JAVA_OPTS [SLUICE_JAVA_OPTS: the launcher's]   B_JAVA_OPTS [A_JAVA_OPTS]
#   (B_JAR, B_CONFIG or B_JAVA_OPTS must be set)   ROUNDS [12]   ROUND_SECONDS [10]
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
[ -n "${B_JAR:-}${B_CONFIG:-}${B_JAVA_OPTS:-}" ] ||
  die "set B_JAR (another build), B_CONFIG (another configuration) or B_JAVA_OPTS (other JVM options) to compare"

bench_init "${OUT:-$BENCH_DIR/results/ab-$(date +%Y%m%d-%H%M%S)}"
A_JAR="${A_JAR:-$JAR}"
B_JAR="${B_JAR:-$A_JAR}"
A_CONFIG="${A_CONFIG:-$BENCH_DIR/sluice-bench.yaml}"
B_CONFIG="${B_CONFIG:-$A_CONFIG}"
A_JAVA_OPTS="${A_JAVA_OPTS:-$SLUICE_JAVA_OPTS}"
B_JAVA_OPTS="${B_JAVA_OPTS:-$A_JAVA_OPTS}"
[ -f "$A_JAR" ] || die "A_JAR $A_JAR is not a file"
[ -f "$B_JAR" ] || die "B_JAR $B_JAR is not a file"
write_meta ab "a_jar=$A_JAR" "b_jar=$B_JAR" "a_config=$A_CONFIG" "b_config=$B_CONFIG" "a_sha256=$(sha256sum "$A_JAR" | cut -c1-16)" \
  "b_sha256=$(sha256sum "$B_JAR" | cut -c1-16)" "rounds=$ROUNDS" "round_seconds=$ROUND_SECONDS" \
  "a_java_opts=$A_JAVA_OPTS" "b_java_opts=$B_JAVA_OPTS" "warm_seconds=$WARM_SECONDS" "warm_rounds=$WARM_ROUNDS" "connections=$CONNECTIONS" "model=$MODEL" "stream=$STREAM"
start_sim "$BENCH_DIR/profiles/fast.yaml"
JAR="$A_JAR" SLUICE_JAVA_OPTS="$A_JAVA_OPTS" start_sluice_config ab-a "$A_CONFIG" "$PORT_A"
PID_A=$LAST_PID
JAR="$B_JAR" SLUICE_JAVA_OPTS="$B_JAVA_OPTS" start_sluice_config ab-b "$B_CONFIG" "$PORT_B"
PID_B=$LAST_PID

SAT_CONNECTIONS="$CONNECTIONS"   # wrk_run's connections and body (lib.sh)
STREAM_FIELD=""
[ "$STREAM" = 1 ] && STREAM_FIELD=',"stream":true'
printf '{"model":"%s","messages":[{"role":"user","content":"Say something about time."}]%s}' "$MODEL" "$STREAM_FIELD" \
  >"$RUN_TMP/sat-body.json"
both() {   # both PREFIX N: loads the two gateways at once for ROUND_SECONDS; wrk's figures into PREFIX-a/-b.json
  # which generator starts first alternates with N, so neither build always gets the head start
  # (a plain `wait` would also wait for the servers, which are this shell's jobs too)
  local x=a px="$PORT_A" y=b py="$PORT_B" first
  if [ $(($2 % 2)) = 0 ]; then x=b px="$PORT_B" y=a py="$PORT_A"; fi
  wrk_run "$px" "$ROUND_SECONDS" "$x" "$1-$x.json" >/dev/null & first=$!
  wrk_run "$py" "$ROUND_SECONDS" "$y" "$1-$y.json" >/dev/null
  wait "$first"
}

for port in "$PORT_A" "$PORT_B"; do   # the JIT compiles each gateway's hot path before anything counts
  log "warming :$port for ${WARM_SECONDS}s"
  wrk_run "$port" "$WARM_SECONDS" warm "$RUN_TMP/warm.json" >/dev/null
done
for r in $(seq 1 "$WARM_ROUNDS"); do   # and then together, as the rounds will load them
  log "warming both together (${ROUND_SECONDS}s, not counted)"
  both "$RUN_TMP/warm" "$r"
done
for r in $(seq 1 "$ROUNDS"); do
  thread_ticks "$OUT/round$r-a-before.json" "$PID_A"
  thread_ticks "$OUT/round$r-b-before.json" "$PID_B"
  both "$OUT/round$r" "$r"
  thread_ticks "$OUT/round$r-a-after.json" "$PID_A"
  thread_ticks "$OUT/round$r-b-after.json" "$PID_B"
  log "round $r of $ROUNDS done"
done

python3 - "$OUT" "$ROUNDS" <<'PY' | tee "$OUT/summary.md"
import json, os, statistics, sys
d, rounds = sys.argv[1], int(sys.argv[2])
def cpu_us(r, side):
    # every thread's CPU over the round but the JIT compilers': their work is warm-up, not a request's
    t = lambda when: json.load(open(os.path.join(d, "round%d-%s-%s.json" % (r, side, when))))
    before, after = t("before"), t("after")
    ticks = sum(v - before.get(k, 0) for k, v in after.items() if not k.startswith(("C1 Compiler", "C2 Compiler")))
    return ticks * 1e6 / os.sysconf("SC_CLK_TCK")
rows = []
for r in range(1, rounds + 1):
    a = json.load(open(os.path.join(d, "round%d-a.json" % r)))
    b = json.load(open(os.path.join(d, "round%d-b.json" % r)))
    if not a["requests"] or not b["requests"] or a["errors"]["status"] or b["errors"]["status"]:
        print("round %d: a side had no answers or errors; left out" % r)
        continue
    ca, cb = cpu_us(r, "a") / a["requests"], cpu_us(r, "b") / b["requests"]
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
