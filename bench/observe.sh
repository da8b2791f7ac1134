#!/usr/bin/env bash
# What seeing costs (issue 5): saturation (wrk, closed loop, one core) of Sluice with metrics and
# the SQLite request log on, against the same gateway with both off, interleaved REPS times.
#
#   bench/observe.sh                          # ~5 min: 8 interleaved repetitions, the machine is noisy
#   SAT_DURATION=3 REPS=1 bench/observe.sh    # a smoke run
#   COMPARE_JAR=old/sluice.jar bench/observe.sh   # also "on" from another build, interleaved (A/B a change)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

REPS="${REPS:-8}"
SAT_DURATION="$(secs "${SAT_DURATION:-6}")"
SAT_CONNECTIONS="${SAT_CONNECTIONS:-64}"
PORT_ON=9107
PORT_OFF=9108
PORT_COMPARE=9110
command -v wrk >/dev/null || die "wrk is needed (apt-get install -y wrk)"

bench_init "${OUT:-$BENCH_DIR/results/observe-$(date +%Y%m%d-%H%M%S)}"
write_meta observe "reps=$REPS" "sat_duration_s=$SAT_DURATION" "sat_connections=$SAT_CONNECTIONS" \
  "compare_jar=${COMPARE_JAR:-}"
start_sim "$BENCH_DIR/profiles/fast.yaml"
# the same pair of configurations as `bench/ab.sh`'s seeing comparison; start_sluice_config gives
# each its own port
start_sluice_config observe-on "$BENCH_DIR/sluice-seeing-on.yaml" "$PORT_ON"
start_sluice_config observe-off "$BENCH_DIR/sluice-seeing-off.yaml" "$PORT_OFF"
COMPARE=()
if [ -n "${COMPARE_JAR:-}" ]; then
  [ -f "$COMPARE_JAR" ] || die "COMPARE_JAR $COMPARE_JAR is not a file"
  JAR="$COMPARE_JAR" start_sluice_config observe-compare "$BENCH_DIR/sluice-seeing-on.yaml" "$PORT_COMPARE"
  COMPARE=(compare "$PORT_COMPARE")
fi

saturate observe off "$PORT_OFF" on "$PORT_ON" "${COMPARE[@]}"
curl -fsS "http://127.0.0.1:$PORT_ON/admin/status" >"$OUT/status-on.json" || true
python3 - "$OUT" <<'PY' | tee "$OUT/summary.md"
import glob, json, os, statistics, sys
d = sys.argv[1]
RUNS = {t: [json.load(open(p)) for p in sorted(glob.glob(os.path.join(d, "observe-%s-rep*.json" % t)))]
        for t in ("on", "off", "compare")}
def tp(t):
    return [r["throughput_rps"] for r in RUNS[t]]
on, off, cmp = tp("on"), tp("off"), tp("compare")
print("# What metrics and the request log cost (saturation, one core)\n")
print("| metrics + request log | runs | requests/s (median, min–max) |")
print("|---|---|---|")
for name, v in (("off", off), ("on", on)) + ((("on, COMPARE_JAR's build", cmp),) if cmp else ()):
    print("| %s | %d | %.0f (%.0f–%.0f) |" % (name, len(v), statistics.median(v), min(v), max(v)) if v else "| %s | 0 | - |" % name)
if on and off:
    r = [100 * a / b for a, b in zip(on, off) if b]
    print("\non / off per repetition: " + ", ".join("%.1f%%" % x for x in r) + "; median %.1f%%" % statistics.median(r))
if cmp and off:
    r = [100 * a / b for a, b in zip(cmp, off) if b]
    print("\non (COMPARE_JAR's build) / off per repetition: " + ", ".join("%.1f%%" % x for x in r)
          + "; median %.1f%%" % statistics.median(r))
def cpu(t):
    return [r.get("proxy_cpu_us_per_request") for r in RUNS[t]]
con, coff = [c for c in cpu("on") if c], [c for c in cpu("off") if c]
if con and coff:
    print("\ngateway CPU per request (µs, median, min–max): off %.1f (%.1f–%.1f), on %.1f (%.1f–%.1f);"
          " off / on = %.1f%% (the saturation ratio one core would give if only CPU counted)"
          % (statistics.median(coff), min(coff), max(coff), statistics.median(con), min(con), max(con),
             100 * statistics.median(coff) / statistics.median(con)))
def threads(t):
    runs = [r.get("cpu_us_per_request_by_thread") or {} for r in RUNS[t]]
    names = sorted({k for r in runs for k in r})
    return {k: statistics.median([r.get(k, 0.0) for r in runs]) for k in names} if runs else {}
ton, toff = threads("on"), threads("off")
if ton and toff:
    print("\nCPU per request by thread (µs, median of the repetitions; compiler threads show JIT warm-up still"
          " going on):\n")
    print("| thread | off | on |")
    print("|---|---|---|")
    for k in sorted(set(ton) | set(toff), key=lambda k: -max(ton.get(k, 0), toff.get(k, 0))):
        if max(ton.get(k, 0), toff.get(k, 0)) >= 0.1:
            print("| %s | %.1f | %.1f |" % (k, toff.get(k, 0), ton.get(k, 0)))
try:
    s = json.load(open(os.path.join(d, "status-on.json")))["request_log"]
    print("\nrequest log after the runs: written %s, dropped %s, pending %s" % (s.get("written"), s.get("dropped"), s.get("pending")))
except Exception:
    pass
PY
