#!/usr/bin/env bash
# What the io_uring reset cure costs: saturation (wrk, one core) of three Sluices side by side,
# interleaved with nginx in every repetition: io_uring with one-shot POLLIN (what `sluice` runs),
# io_uring with Netty's default multishot POLLIN (which misses some client resets, see
# docs/operations.md), and epoll. Prints each one's CPU per request and its share of nginx's.
#
#   bench/probes/uring-polls.sh          # ~6 min with REPS=6
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
REPS="${REPS:-6}"
SAT_DURATION="$(secs "${SAT_DURATION:-10}")"
SAT_CONNECTIONS="${SAT_CONNECTIONS:-64}"
command -v wrk >/dev/null || die "wrk is needed (apt-get install -y wrk)"

bench_init "${OUT:-$BENCH_DIR/results/uring-polls-$(date +%Y%m%d-%H%M%S)}"
write_meta uring-polls "reps=$REPS" "sat_tool=wrk" "sat_model=instant" "sat_duration_s=$SAT_DURATION" \
  "sat_connections=$SAT_CONNECTIONS"
start_sim "$BENCH_DIR/profiles/fast.yaml"
start_nginx
SLUICE_TRANSPORT=io_uring start_sluice_config oneshot "$BENCH_DIR/sluice-bench.yaml" 9104
SLUICE_JAVA_OPTS="$SLUICE_JAVA_OPTS -Dio.netty.iouring.pollAddMultishotEnabled=true" SLUICE_TRANSPORT=io_uring \
  start_sluice_config multishot "$BENCH_DIR/sluice-bench.yaml" 9103
SLUICE_TRANSPORT=epoll start_sluice_config epoll "$BENCH_DIR/sluice-bench.yaml" 9105

saturate sat nginx 9101 oneshot 9104 multishot 9103 epoll 9105
# the table of every gateway against nginx is summarize.py's; only the pair below is this probe's own
python3 "$BENCH_DIR/summarize.py" "$OUT" | tee "$OUT/summary.md"
python3 - "$OUT" <<'PY' | tee -a "$OUT/summary.md"
import glob, json, os, statistics as st, sys
d = sys.argv[1]
def cpu(name):
    return [json.load(open(p)).get("proxy_cpu_us_per_request")
            for p in sorted(glob.glob(os.path.join(d, "sat-%s-rep*.json" % name)))]
pairs = [100 * (o / m - 1) for o, m in zip(cpu("oneshot"), cpu("multishot")) if o and m]
if pairs:
    print("one-shot over multishot CPU, per repetition: " + ", ".join("%+.1f%%" % x for x in pairs)
          + "; median %+.1f%%" % st.median(pairs))
PY
log "done: $OUT/summary.md"
