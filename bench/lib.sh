# Shared by core.sh and streams10k.sh (sourced, not run): builds the jar, starts the processes
# under test pinned to their cores, runs the load generator, and stops exactly what it started.
#
# Core layout on a 2-core machine (see README.md): the proxy under test (nginx's one worker, or
# Sluice's one event loop) gets CORE_PROXY to itself; the simulator and the load generator share
# CORE_LOAD. "direct" runs have no proxy, so CORE_PROXY idles then.

BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$BENCH_DIR/.." && pwd)"
JAR="$ROOT/target/sluice.jar"

SIM_PORT="${SIM_PORT:-9100}"
NGINX_PORT="${NGINX_PORT:-9101}"
SLUICE_PORT="${SLUICE_PORT:-9102}"
CORE_LOAD="${CORE_LOAD:-0}"
CORE_PROXY="${CORE_PROXY:-1}"
CORE_SIM="${CORE_SIM:-$CORE_LOAD}"   # the simulator's core; by default it shares the load core
CORE_GEN="${CORE_GEN:-$CORE_LOAD}"   # the load generator's core
JAVA_DEFAULTS="-XX:+UseG1GC -XX:MaxGCPauseMillis=20 -Xmx1g -XX:+ExitOnOutOfMemoryError"   # the launcher's (../sluice)
SLUICE_JAVA_OPTS="${SLUICE_JAVA_OPTS:-$JAVA_DEFAULTS}"
SIM_JAVA_OPTS="${SIM_JAVA_OPTS:-$JAVA_DEFAULTS}"
# I/O transports: SLUICE_TRANSPORT (unset: the gateway's own default, auto = epoll) and SIM_TRANSPORT
# [auto] take auto, epoll, io_uring or nio; both are recorded in meta.json
# The generator is a fresh JVM for every run and shares its core with the simulator: C1 alone
# compiles it in a fraction of the CPU that C2 takes, so its warm-up does not steal the
# simulator's time; one core needs no parallel collector.
GEN_JAVA_OPTS="${GEN_JAVA_OPTS:--XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Xmx1g -XX:+ExitOnOutOfMemoryError}"

GEN_NICE="${GEN_NICE:--10}"
STARTED_PIDS=()
RUN_TMP=""
PINNING=1

log() { echo "[$(date +%H:%M:%S)] $*" >&2; }
die() { log "error: $*"; exit 2; }

# seconds from "20", "20s"; other forms are passed through to the generator untouched
secs() { local v="${1%s}"; echo "$v"; }

bench_init() {   # $1: results directory
  OUT="$1"
  mkdir -p "$OUT/logs"
  RUN_TMP="$(mktemp -d /tmp/sluice-bench.XXXXXX)"
  chmod 755 "$RUN_TMP"   # nginx workers run as nobody and must reach their temp paths
  trap bench_cleanup EXIT
  trap 'exit 130' INT TERM
  ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
  local cores; cores="$(nproc)"
  if ! command -v taskset >/dev/null || [ "$cores" -lt 2 ]; then
    PINNING=0
    log "warning: $cores core(s) or no taskset: processes are NOT pinned; results are less comparable"
  fi
  command -v curl >/dev/null || die "curl is needed (apt-get install -y curl)"
  build_jar
}

build_jar() {
  if [ ! -f "$JAR" ] || [ -n "$(find "$ROOT/src/main" "$ROOT/pom.xml" -newer "$JAR" -print -quit 2>/dev/null)" ]; then
    log "building $JAR"
    (cd "$ROOT" && mvn -B -q -DskipTests package) >&2 || die "build failed"
  fi
}

bench_cleanup() {
  local i pid
  for ((i = ${#STARTED_PIDS[@]} - 1; i >= 0; i--)); do
    pid="${STARTED_PIDS[$i]}"
    kill "$pid" 2>/dev/null || true
  done
  for pid in "${STARTED_PIDS[@]}"; do
    for _ in $(seq 1 50); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.2
    done
    kill -9 "$pid" 2>/dev/null || true
  done
  if [ -n "$RUN_TMP" ] && [ -z "${KEEP_TMP:-}" ]; then
    rm -rf "$RUN_TMP"
  fi
}

pin() {   # pin CORE CMD...: runs CMD on that core (or unpinned when pinning is off)
  local core="$1"; shift
  if [ "$PINNING" = 1 ]; then taskset -c "$core" "$@"; else "$@"; fi
}

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

wait_http() {   # wait_http URL NAME PID
  for _ in $(seq 1 150); do
    curl -fsS -o /dev/null --max-time 1 "$1" 2>/dev/null && return 0
    kill -0 "$3" 2>/dev/null || die "$2 exited while starting; see $OUT/logs/$2.log"
    sleep 0.2
  done
  die "$2 did not answer $1 within 30 s; see $OUT/logs/$2.log"
}

start_bg() {   # start_bg NAME CORE CMD...: sets LAST_PID
  local name="$1" core="$2"; shift 2
  local cmd=("$@")
  if [ "$PINNING" = 1 ]; then cmd=(taskset -c "$core" "$@"); fi
  # started directly (not through a shell function) so that $! is the process itself: taskset
  # execs its command, and the cleanup's kill reaches the server, not a wrapper shell
  "${cmd[@]}" >"$OUT/logs/$name.log" 2>&1 &
  LAST_PID=$!
  STARTED_PIDS+=("$LAST_PID")
}

start_sim() {   # start_sim PROFILE
  port_in_use "$SIM_PORT" && die "port $SIM_PORT is taken (set SIM_PORT)"
  # shellcheck disable=SC2086
  start_bg sim "$CORE_SIM" java $SIM_JAVA_OPTS -jar "$JAR" sim --port "$SIM_PORT" --profile "$1" --event-loops 1 \
    --transport "${SIM_TRANSPORT:-auto}"
  SIM_PID=$LAST_PID
  wait_http "http://127.0.0.1:$SIM_PORT/health" sim "$SIM_PID"
  log "simulator up on :$SIM_PORT (pid $SIM_PID, core $CORE_SIM)"
}

start_nginx() {
  command -v nginx >/dev/null || die "nginx is not installed (apt-get install -y nginx)"
  port_in_use "$NGINX_PORT" && die "port $NGINX_PORT is taken (set NGINX_PORT)"
  local dir="$RUN_TMP/nginx"
  mkdir -p "$dir" && chmod 755 "$dir"
  sed -e "s#__TMP__#$dir#g" -e "s#__PORT__#$NGINX_PORT#g" -e "s#__SIM_PORT__#$SIM_PORT#g" \
    "$BENCH_DIR/nginx.conf" >"$dir/nginx.conf"
  cp "$dir/nginx.conf" "$OUT/logs/nginx.conf"
  start_bg nginx "$CORE_PROXY" nginx -p "$dir" -e "$dir/nginx-error.log" -c "$dir/nginx.conf" -g 'daemon off;'
  NGINX_PID=$LAST_PID
  wait_http "http://127.0.0.1:$NGINX_PORT/health" nginx "$NGINX_PID"
  log "nginx up on :$NGINX_PORT (pid $NGINX_PID, core $CORE_PROXY, 1 worker)"
}

start_sluice() {
  port_in_use "$SLUICE_PORT" && die "port $SLUICE_PORT is taken (set SLUICE_PORT)"
  sed -e "s#127.0.0.1:9100#127.0.0.1:$SIM_PORT#" "${SLUICE_CONFIG:-$BENCH_DIR/sluice-bench.yaml}" >"$RUN_TMP/sluice-bench.yaml"
  # shellcheck disable=SC2086
  start_bg sluice "$CORE_PROXY" java $SLUICE_JAVA_OPTS -jar "$JAR" serve --config "$RUN_TMP/sluice-bench.yaml" \
    --port "$SLUICE_PORT" --event-loops 1 --data-dir "$RUN_TMP/sluice-data" ${SLUICE_TRANSPORT:+--transport "$SLUICE_TRANSPORT"}
  SLUICE_PID=$LAST_PID
  wait_http "http://127.0.0.1:$SLUICE_PORT/health" sluice "$SLUICE_PID"
  log "sluice up on :$SLUICE_PORT (pid $SLUICE_PID, core $CORE_PROXY, 1 event loop)"
}

start_sluice_config() {   # start_sluice_config NAME CONFIG PORT [EXTRA ARGS...]: a Sluice with its own configuration
  local name="$1" config="$2" port="$3"; shift 3
  port_in_use "$port" && die "port $port is taken"
  [ "$config" != "$RUN_TMP/$name.yaml" ] || die "start_sluice_config: $config would be overwritten by its own copy"
  sed -e "s#127.0.0.1:9100#127.0.0.1:$SIM_PORT#" "$config" >"$RUN_TMP/$name.yaml"
  # shellcheck disable=SC2086
  start_bg "$name" "$CORE_PROXY" java $SLUICE_JAVA_OPTS -jar "$JAR" serve --config "$RUN_TMP/$name.yaml" \
    --port "$port" --event-loops 1 --data-dir "$RUN_TMP/$name-data" ${SLUICE_TRANSPORT:+--transport "$SLUICE_TRANSPORT"} "$@"
  wait_http "http://127.0.0.1:$port/health" "$name" "$LAST_PID"
  log "$name up on :$port (pid $LAST_PID, core $CORE_PROXY)"
}

sim_count() {   # sim_count MODEL...: requests the simulator saw for these models, summed
  curl -fsS "http://127.0.0.1:$SIM_PORT/sim/stats" | python3 -c '
import json, sys
d = json.load(sys.stdin)["models"]
print(sum(d.get(m, 0) for m in sys.argv[1:]))' "$@"
}

start_floor() {   # start_floor netty|vertx|vertx_strict: bench/probes/ProxyFloor.java, a proxy without Sluice's logic
  local kind="$1" port
  port="$(floor_port "floor_$kind")"
  port_in_use "$port" && die "port $port is taken"
  # shellcheck disable=SC2086
  start_bg "floor_$kind" "$CORE_PROXY" java $SLUICE_JAVA_OPTS -cp "$JAR" "$BENCH_DIR/probes/ProxyFloor.java" \
    "$kind" "$port" "$SIM_PORT"
  wait_http "http://127.0.0.1:$port/health" "floor_$kind" "$LAST_PID"
  log "floor_$kind up on :$port (pid $LAST_PID, core $CORE_PROXY)"
}

floor_port() {   # floor_port floor_KIND: the port of core.sh's floor proxy of that kind
  case "$1" in
    floor_netty) echo 9132 ;;
    floor_vertx) echo 9142 ;;
    floor_vertx_strict) echo 9152 ;;
    *) die "unknown target '$1' (floor_netty, floor_vertx, floor_vertx_strict)" ;;
  esac
}

transport_port() {   # transport_port sluice_TRANSPORT: the port of core.sh's Sluice on that transport
  case "$1" in
    sluice_epoll) echo 9103 ;;
    sluice_io_uring) echo 9104 ;;
    sluice_nio) echo 9105 ;;
    *) die "unknown target '$1' (sluice_epoll, sluice_io_uring, sluice_nio)" ;;
  esac
}

target_url() {
  case "$1" in
    direct) echo "http://127.0.0.1:$SIM_PORT" ;;
    nginx) echo "http://127.0.0.1:$NGINX_PORT" ;;
    sluice) echo "http://127.0.0.1:$SLUICE_PORT" ;;
    sluice_*) echo "http://127.0.0.1:$(transport_port "$1")" ;;
    floor_*) echo "http://127.0.0.1:$(floor_port "$1")" ;;
    *) die "unknown target '$1' (direct, nginx, sluice, sluice_epoll, sluice_io_uring, sluice_nio, floor_netty, floor_vertx, floor_vertx_strict)" ;;
  esac
}

gen() {   # gen ARGS...: the load generator, on the load core, without a progress bar
  # It runs at a higher priority than what it measures (GEN_NICE, default -10; without the right to
  # raise it, nice says so and it runs at 0): sharing a core with the simulator, at nice 0 it sent
  # 1% of requests 3-4 ms late, at -10 about 2 ms late, and its lateness is not the gateway's
  # shellcheck disable=SC2086
  pin "$CORE_GEN" nice -n "$GEN_NICE" java $GEN_JAVA_OPTS -jar "$JAR" bench --no-progress "$@"
}

wrk_run() {   # wrk_run PORT SECONDS LABEL JSON_OUT: one saturation run of wrk against a gateway
  WRK_BODY_FILE="$RUN_TMP/sat-body.json" WRK_JSON_OUT="$4" WRK_LABEL="$3" \
    pin "$CORE_LOAD" wrk -t1 -c"$SAT_CONNECTIONS" -d"${2}s" -s "$BENCH_DIR/wrk-post.lua" \
    "http://127.0.0.1:$1/v1/chat/completions"
}

pids_on_port() {   # pids_on_port PORT: the processes listening on it (nginx: master and worker)
  ss -Htlnp "sport = :$1" 2>/dev/null | grep -o 'pid=[0-9]*' | cut -d= -f2 | sort -u | tr '\n' ' '
}

cpu_ticks() {   # cpu_ticks PID...: user + system clock ticks those processes have used so far (-1 if none)
  local total=0 any=0 p
  for p in "$@"; do
    if [ -r "/proc/$p/stat" ]; then
      total=$((total + $(awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$p/stat")))
      any=1
    fi
  done
  if [ "$any" = 1 ]; then echo "$total"; else echo -1; fi
}

thread_ticks() {   # thread_ticks FILE PID...: CPU clock ticks per thread name (digits dropped) into FILE, as JSON
  python3 - "$@" <<'PY'
import json, os, re, sys
out, ticks = sys.argv[1], {}
for pid in sys.argv[2:]:
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        continue
    for t in tasks:
        try:
            comm = open(f"/proc/{pid}/task/{t}/comm").read().strip()
            stat = open(f"/proc/{pid}/task/{t}/stat").read()
        except OSError:
            continue
        f = stat[stat.rindex(")") + 2:].split()
        name = re.sub(r"[#-]?\d+$", "", comm).strip() or comm
        ticks[name] = ticks.get(name, 0) + int(f[11]) + int(f[12])
json.dump(ticks, open(out, "w"))
PY
}

add_thread_cpu() {   # add_thread_cpu JSON BEFORE AFTER: per-thread CPU per request (the JIT's share shows warm-up)
  python3 - "$@" <<'PY' || true
import json, os, sys
p, before, after = sys.argv[1:4]
d, a, b = json.load(open(p)), json.load(open(before)), json.load(open(after))
n, tck = d.get("requests"), os.sysconf("SC_CLK_TCK")
if n:
    per = {k: round((v - a.get(k, 0)) * 1e6 / tck / n, 2) for k, v in b.items() if v - a.get(k, 0) > 0}
    d["cpu_us_per_request_by_thread"] = dict(sorted(per.items(), key=lambda kv: -kv[1]))
    d["jit_cpu_us_per_request"] = round(sum(v for k, v in per.items() if "CompilerThre" in k), 2)
    json.dump(d, open(p, "w"))
PY
}

add_cpu_per_request() {   # add_cpu_per_request JSON NAME BEFORE AFTER: records proxy_cpu_us_per_request in a run's JSON
  # BEFORE and AFTER are cpu_ticks around the run (-1 when unknown)
  # CPU per request is what saturation on one core is the inverse of: a second estimate, not
  # moved by time the process spent waiting off its core (it still moves with what neighbours
  # on the host do to caches and clock speed)
  python3 -c '
import json, os, sys
p, name, before, after = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
ticks = -1 if before < 0 or after < 0 else after - before
d = json.load(open(p))
if ticks >= 0 and d.get("requests"):
    d["proxy_cpu_us_per_request"] = round(ticks * 1e6 / os.sysconf("SC_CLK_TCK") / d["requests"], 2)
    json.dump(d, open(p, "w"))
print("    %s: %.0f req/s, %s us CPU per request (JIT: %s)" % (name, d["throughput_rps"], d.get("proxy_cpu_us_per_request", "?"), d.get("jit_cpu_us_per_request", "?")))' \
    "$1" "$2" "$3" "$4" >&2 || true
}

saturate() {   # saturate PREFIX NAME PORT [NAME PORT]...: gateways at saturation, side by side
  # One long unrecorded run each first, so all meet the measured runs with compiled code; then REPS
  # interleaved runs of SAT_DURATION seconds (each after 2 s unrecorded) into $OUT/PREFIX-NAME-repN.json.
  local prefix="$1" names=() ports=() i rep name pids cpu0 cpu1
  shift
  while [ $# -ge 2 ]; do names+=("$1"); ports+=("$2"); shift 2; done
  printf '{"model":"instant","messages":[{"role":"user","content":"Say something about time."}]}' \
    >"$RUN_TMP/sat-body.json"
  for i in "${!names[@]}"; do
    # 30 s: after 15 s at saturation the JIT was still compiling Sluice (C2 threads took 12 us of CPU
    # per request after 24 s, under 2 after 30), and a gateway with more code (the log, the metrics)
    # warms up later, which made it look dearer than it is
    wrk_run "${ports[i]}" "${SAT_WARMUP:-30}" "${names[i]}" "$RUN_TMP/discard.json" >/dev/null 2>&1 || true
  done
  for rep in $(seq 1 "$REPS"); do
    for i in "${!names[@]}"; do
      name="${names[i]}"
      wrk_run "${ports[i]}" 2 "$name" "$RUN_TMP/discard.json" >/dev/null 2>&1 || true
      pids="$(pids_on_port "${ports[i]}")"
      # shellcheck disable=SC2086
      cpu0="$(cpu_ticks $pids)"
      # shellcheck disable=SC2086
      thread_ticks "$RUN_TMP/threads0.json" $pids
      wrk_run "${ports[i]}" "$SAT_DURATION" "$name" "$OUT/$prefix-$name-rep$rep.json" \
        >"$OUT/logs/$prefix-$name-rep$rep.txt" 2>&1 || log "warning: $prefix $name failed"
      sleep 0.5   # work the run left behind (the request log's last chunk) belongs to it
      # shellcheck disable=SC2086
      cpu1="$(cpu_ticks $pids)"
      # shellcheck disable=SC2086
      thread_ticks "$RUN_TMP/threads1.json" $pids
      add_thread_cpu "$OUT/$prefix-$name-rep$rep.json" "$RUN_TMP/threads0.json" "$RUN_TMP/threads1.json"
      add_cpu_per_request "$OUT/$prefix-$name-rep$rep.json" "$name" "$cpu0" "$cpu1"
    done
  done
}

write_meta() {   # write_meta KIND KEY=VALUE...: what a later reader needs to trust the numbers
  local kind="$1"; shift
  local commit dirty=""
  commit="$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)"
  git -C "$ROOT" diff --quiet HEAD -- src pom.xml 2>/dev/null || dirty="+uncommitted changes"
  python3 - "$OUT/meta.json" "$kind" "git_commit=$commit$dirty" "pinning=$PINNING" "core_proxy=$CORE_PROXY" \
    "core_load=$CORE_LOAD" "core_sim=$CORE_SIM" "core_gen=$CORE_GEN" "gen_nice=$(nice -n "$GEN_NICE" nice 2>/dev/null || echo "$GEN_NICE?")" "sluice_java_opts=$SLUICE_JAVA_OPTS" "gen_java_opts=$GEN_JAVA_OPTS" "sluice_transport=${SLUICE_TRANSPORT:-auto}" "sim_transport=${SIM_TRANSPORT:-auto}" "$@" <<'PY'
import json, os, platform, subprocess, sys
path, kind, pairs = sys.argv[1], sys.argv[2], sys.argv[3:]
def run(*cmd):
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=10)
        return (p.stdout + p.stderr).strip().splitlines()[0]
    except Exception:
        return None
meta = {
    "kind": kind,
    "kernel": platform.release(),
    "cores": os.cpu_count(),
    "java": run("java", "-version"),
    "nginx": run("nginx", "-v"),
    "wrk": run("wrk", "--version"),
    "load_average_at_start": os.getloadavg()[0],
}
for p in pairs:
    k, _, v = p.partition("=")
    meta[k] = v
json.dump(meta, open(path, "w"), indent=2)
PY
}
