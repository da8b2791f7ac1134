#!/usr/bin/env bash
# A burst the gateway falls behind on, and the 20 s after it: a Sluice warmed with 30 s of short
# requests at saturation (wrk), then 30 s of 1,000 new streams a second on model `fast` (the
# stream path is still cold, so the gateway falls behind and its upstream pool grows), then 20 s
# more at the same rate. docs/operations.md, "The upstream pool after a burst".
#
#   bench/probes/stream-burst.sh [results dir]     SLUICE_CONFIG=... to try other pool settings
set -euo pipefail
source "$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/lib.sh"
SAT_CONNECTIONS=64
GEN_NICE=0
bench_init "${1:-$ROOT/bench/results/stream-burst-$(date +%Y%m%d-%H%M%S)}"
build_jar
start_sim "$BENCH_DIR/profiles/fast.yaml"
start_sluice
printf '{"model":"instant","messages":[{"role":"user","content":"Say something about time."}]}' >"$RUN_TMP/sat-body.json"
upstream() { ss -tn state established "( dport = :$SIM_PORT )" | grep -c 127.0.0.1 || true; }
wrk_run "$SLUICE_PORT" 30 x "$RUN_TMP/d.json" | grep Requests/sec
echo "upstream connections after wrk: $(upstream)" | tee -a "$OUT/summary.txt"
for phase in first:30s next:20s; do
  gen --target "$(target_url sluice)" --model fast --rate 1000 --duration "${phase#*:}" --stream --sim-timestamps \
    --label "${phase%:*}" --json "$OUT/${phase%:*}.json" >"$OUT/${phase%:*}.txt" 2>&1 || true
  { echo "${phase%:*} ${phase#*:}:"; grep -E "requests:|first token|per-chunk|generator lateness" "$OUT/${phase%:*}.txt"
    echo "upstream connections after it: $(upstream)"; } | tee -a "$OUT/summary.txt"
done
