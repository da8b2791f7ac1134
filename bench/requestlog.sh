#!/usr/bin/env bash
# Request-log benchmarks (see README.md, "Request log"):
#  (a) throughput: the real RequestLog writer into an SQLite file, fed at fixed rates for a while;
#      reports records written per second, records dropped and the buffer's size over time.
#  (b) export: a gateway over an SQLite log seeded with EXPORT_ROWS rows; one
#      GET /admin/requests/export streamed by curl, while the gateway's RSS and heap are sampled.
#
# Settings (environment):
#   RATES="5000 10000"   offered records per second, one run each
#   SECONDS_PER_RATE=30  measured seconds per rate (after 3 s of unmeasured warm-up)
#   BATCH=100 BUFFER=20000  store.batch_size and store.buffer (the defaults)
#   EXPORT_ROWS=1000000  rows seeded for the export
#   PARTS="throughput export"  which parts to run
#   SLUICE_PORT=9102     the gateway's port for the export
#   SLUICE_JAVA_OPTS     JVM options of the gateway (default: the launcher's, -Xmx1g)
# Results: bench/results/requestlog-YYYYMMDD-HHMMSS/ (throughput.txt, export.txt, export-samples.csv,
# meta.json, logs/). Nothing is pinned: the writer is one thread, and the gateway's export one worker.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

RATES="${RATES:-5000 10000}"
SECONDS_PER_RATE="${SECONDS_PER_RATE:-30}"
BATCH="${BATCH:-100}"
BUFFER="${BUFFER:-20000}"
EXPORT_ROWS="${EXPORT_ROWS:-1000000}"
PARTS="${PARTS:-throughput export}"
OUT="${OUT:-$ROOT/bench/results/requestlog-$(date +%Y%m%d-%H%M%S)}"

bench_init "$OUT"
PINNING=0   # one writer thread and one export worker: nothing to separate
write_meta requestlog "rates=$RATES" "seconds_per_rate=$SECONDS_PER_RATE" "batch=$BATCH" "buffer=$BUFFER" \
  "export_rows=$EXPORT_ROWS" "parts=$PARTS"

log "compiling the benchmark (test classes) and resolving its classpath"
(cd "$ROOT" && mvn -B -q test-compile dependency:build-classpath -Dmdep.includeScope=test \
  -Dmdep.outputFile="$RUN_TMP/cp.txt") >&2 || die "build failed"
CP="$ROOT/target/test-classes:$ROOT/target/classes:$(cat "$RUN_TMP/cp.txt")"
BENCH_JAVA_OPTS="${BENCH_JAVA_OPTS:--XX:+UseG1GC -Xmx1g}"
bench_main() {
  # shellcheck disable=SC2086
  java $BENCH_JAVA_OPTS -cp "$CP" dev.sluice.bench.RequestLogBench "$@"
}

if [[ " $PARTS " == *" throughput "* ]]; then
  for rate in $RATES; do
    dir="$RUN_TMP/throughput-$rate"
    log "throughput: $rate records/s for ${SECONDS_PER_RATE}s (+3 s warm-up) into $dir/sluice.db"
    bench_main throughput "$dir" "$rate" "$SECONDS_PER_RATE" "$BATCH" "$BUFFER" | tee -a "$OUT/throughput.txt"
    rm -rf "$dir"
  done
fi

rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }
heap_bytes() {   # the gateway's own heap figure, from /metrics
  curl -fsS --max-time 2 "http://127.0.0.1:$SLUICE_PORT/metrics" 2>/dev/null \
    | awk '/^jvm_memory_used_bytes\{area="heap"/ {s += $NF} END {printf "%.0f", s}'
}

if [[ " $PARTS " == *" export "* ]]; then
  data="$RUN_TMP/export-data"
  log "export: seeding $EXPORT_ROWS rows into $data/sluice.db"
  bench_main seed "$data" "$EXPORT_ROWS" | tee "$OUT/export.txt"
  cat >"$RUN_TMP/export.yaml" <<'YAML'
providers:
  sim: { type: sim, seed: 7 }
models:
  demo:
    deployments:
      - { id: sim-a, provider: sim, model: sim-fast }
YAML
  port_in_use "$SLUICE_PORT" && die "port $SLUICE_PORT is taken (set SLUICE_PORT)"
  # shellcheck disable=SC2086
  start_bg sluice 0 env -u SLUICE_ADMIN_KEY java $SLUICE_JAVA_OPTS -jar "$JAR" serve --config "$RUN_TMP/export.yaml" \
    --port "$SLUICE_PORT" --event-loops 1 --data-dir "$data"
  SLUICE_PID=$LAST_PID
  wait_http "http://127.0.0.1:$SLUICE_PORT/health" sluice "$SLUICE_PID"
  # env execs java, so the pid is the JVM's
  log "sluice up on :$SLUICE_PORT (pid $SLUICE_PID); warming the export path with 10,000 rows"
  curl -fsS -o /dev/null "http://127.0.0.1:$SLUICE_PORT/admin/requests/export?since=$(( $(date +%s%3N) - 600000 ))"
  curl -fsS -o /dev/null "http://127.0.0.1:$SLUICE_PORT/admin/requests?limit=1000"
  sleep 2
  rss_before=$(rss_kb "$SLUICE_PID")
  heap_before=$(heap_bytes)
  echo "t_s,rss_kb,heap_bytes" >"$OUT/export-samples.csv"
  echo "0,$rss_before,$heap_before" >>"$OUT/export-samples.csv"
  log "exporting $EXPORT_ROWS rows (RSS before: $((rss_before / 1024)) MiB)"
  start=$(date +%s.%N)
  curl -fsS "http://127.0.0.1:$SLUICE_PORT/admin/requests/export" | wc -lc >"$RUN_TMP/count.txt" &
  CURL_PID=$!
  peak_rss=$rss_before
  peak_heap=$heap_before
  while kill -0 "$CURL_PID" 2>/dev/null; do
    sleep 0.5
    r=$(rss_kb "$SLUICE_PID"); h=$(heap_bytes)
    t=$(awk -v s="$start" -v n="$(date +%s.%N)" 'BEGIN {printf "%.1f", n - s}')
    echo "$t,$r,$h" >>"$OUT/export-samples.csv"
    [ "$r" -gt "$peak_rss" ] && peak_rss=$r
    [ -n "$h" ] && [ "$h" -gt "$peak_heap" ] && peak_heap=$h
  done
  wait "$CURL_PID" || die "the export failed"
  end=$(date +%s.%N)
  read -r lines bytes <"$RUN_TMP/count.txt"
  rss_after=$(rss_kb "$SLUICE_PID")
  secs=$(awk -v s="$start" -v e="$end" 'BEGIN {printf "%.1f", e - s}')
  {
    echo "export rows=$lines bytes=$bytes seconds=$secs rows_per_s=$(awk -v l="$lines" -v s="$secs" 'BEGIN {printf "%.0f", l / s}')"
    echo "rss_before_mib=$((rss_before / 1024)) rss_peak_mib=$((peak_rss / 1024)) rss_after_mib=$((rss_after / 1024))"
    echo "heap_before_mib=$((heap_before / 1048576)) heap_peak_sampled_mib=$((peak_heap / 1048576))"
    echo "samples=$(($(wc -l <"$OUT/export-samples.csv") - 1)) (every 0.5 s, in export-samples.csv)"
  } | tee -a "$OUT/export.txt"
  [ "$lines" = "$EXPORT_ROWS" ] || log "warning: $lines rows exported, $EXPORT_ROWS expected"
fi
log "results in $OUT"
