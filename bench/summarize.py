#!/usr/bin/env python3
"""Prints a markdown summary of one bench/core.sh or bench/streams10k.sh results directory.

    python3 bench/summarize.py bench/results/core-20250101-120000

Fixed-rate runs: per scenario (stream or not, rate) and target, the median across repetitions of
each figure with its spread (min-max across repetitions), and what each proxy adds over direct
(difference of medians, in ms). Saturation: requests/s per target and as a share of nginx's.
streams10k: streams completed, errors, and the gateway's memory while they were held open.
Standard library only.
"""
import csv
import glob
import json
import os
import re
import statistics
import sys

TARGET_ORDER = ["direct", "nginx", "sluice"]


def load(path):
    with open(path) as f:
        return json.load(f)


def get(doc, dotted):
    cur = doc
    for part in dotted.split("."):
        if not isinstance(cur, dict) or part not in cur:
            return None
        cur = cur[part]
    return cur


def values(runs, dotted):
    return [v for v in (get(r, dotted) for r in runs) if isinstance(v, (int, float))]


def med(runs, dotted):
    v = values(runs, dotted)
    return statistics.median(v) if v else None


def ratio_spread(by_rep, target, dotted, inverse):
    """Median [min-max] of target/nginx (or nginx/target when inverse) within each repetition, in %."""
    ratios = []
    for runs in by_rep.values():
        a, b = get(runs.get(target, {}), dotted), get(runs.get("nginx", {}), dotted)
        if isinstance(a, (int, float)) and isinstance(b, (int, float)) and a > 0 and b > 0:
            ratios.append((b / a if inverse else a / b) * 100)
    if not ratios:
        return "-"
    return f"{statistics.median(ratios):.1f}% [{min(ratios):.0f}–{max(ratios):.0f}%]"


def fmt(x, digits=3):
    return "-" if x is None else f"{x:.{digits}f}"


def spread(runs, dotted, digits=3):
    v = values(runs, dotted)
    if not v:
        return "-"
    m = statistics.median(v)
    if len(v) == 1:
        return fmt(m, digits)
    return f"{fmt(m, digits)} [{fmt(min(v), digits)}–{fmt(max(v), digits)}]"


def added(runs, base, dotted):
    a, b = med(runs, dotted), med(base, dotted) if base else None
    if a is None or b is None:
        return "-"
    return f"{a - b:+.3f}"


def ordered(targets):
    return sorted(targets, key=lambda t: (TARGET_ORDER.index(t) if t in TARGET_ORDER else 99, t))


def table(header, rows):
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    out += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(out)


def header(meta, out_dir):
    keys = ["git_commit", "cores", "pinning", "core_proxy", "core_load", "load_average_at_start", "java",
            "nginx", "wrk"]
    lines = [f"results: `{out_dir}`"]
    lines += [f"- {k}: {meta[k]}" for k in keys if meta.get(k) not in (None, "")]
    return "\n".join(lines)


def core(out_dir, meta):
    print("# Benchmark summary: direct vs. nginx vs. Sluice\n")
    print(header(meta, out_dir))
    if meta.get("duration_s") is not None:   # saturation-only runs (bench/probes/uring-polls.sh) have no fixed-rate runs
        print(f"- per run: {meta.get('duration_s')} s measured after {meta.get('warmup_s')} s warm-up, "
              f"{meta.get('reps')} repetition(s), model `{meta.get('model')}`")
    print("\nFigures are medians across repetitions, [min–max] across repetitions; latency is measured "
          "from each request's intended send time (open loop). 'added' = target median minus direct "
          "median, in ms.\n")
    warnings = []
    groups = {}
    for path in sorted(glob.glob(os.path.join(out_dir, "core-*.json"))):
        d = load(path)
        groups.setdefault((bool(d.get("stream")), float(d.get("rate", 0))), {}).setdefault(d.get("label"), []).append(d)
        scheduled = get(d, "counts.scheduled") or 0
        if d.get("success_rate", 0) < 1:
            warnings.append(f"{os.path.basename(path)}: success rate {d.get('success_rate'):.4f}, errors {d.get('errors')}")
        if scheduled and (get(d, "counts.late_starts") or 0) > 0.01 * scheduled:
            warnings.append(f"{os.path.basename(path)}: {get(d, 'counts.late_starts')} of {scheduled} requests "
                            "started over 1 ms behind the timetable: the generator was short of CPU, and its "
                            "latency figures include that")
    for (stream, rate), by_target in sorted(groups.items()):
        base = by_target.get("direct")
        print(f"## {'stream' if stream else 'non-stream'}, {rate:g} req/s\n")
        if not stream:
            hdr = ["target", "reps", "success (min)", "throughput req/s", "p50 ms", "p90 ms", "p99 ms", "p99.9 ms",
                   "added p50", "added p99"]
            rows = []
            for t in ordered(by_target):
                runs = by_target[t]
                rows.append([t, len(runs), f"{min(values(runs, 'success_rate')) * 100:.3f}%",
                             spread(runs, "throughput_rps", 1), spread(runs, "latency_ms.p50"),
                             spread(runs, "latency_ms.p90"), spread(runs, "latency_ms.p99"),
                             spread(runs, "latency_ms.p99_9"), added(runs, base, "latency_ms.p50"),
                             added(runs, base, "latency_ms.p99")])
        else:
            hdr = ["target", "reps", "success (min)", "end p50 ms", "end p99 ms", "TTFT p50 ms", "TTFT p99 ms",
                   "chunk delay p50 ms", "chunk delay p99 ms", "added p50", "added p99", "added TTFT p50",
                   "added chunk p50", "added chunk p99"]
            rows = []
            for t in ordered(by_target):
                runs = by_target[t]
                rows.append([t, len(runs), f"{min(values(runs, 'success_rate')) * 100:.3f}%",
                             spread(runs, "latency_ms.p50"), spread(runs, "latency_ms.p99"),
                             spread(runs, "ttft_ms.p50"), spread(runs, "ttft_ms.p99"),
                             spread(runs, "chunk_delay_ms.p50"), spread(runs, "chunk_delay_ms.p99"),
                             added(runs, base, "latency_ms.p50"), added(runs, base, "latency_ms.p99"),
                             added(runs, base, "ttft_ms.p50"), added(runs, base, "chunk_delay_ms.p50"),
                             added(runs, base, "chunk_delay_ms.p99")])
        print(table(hdr, rows) + "\n")

    sat = {}
    by_rep = {}  # rep -> label -> run, to compare targets within one repetition
    for path in sorted(glob.glob(os.path.join(out_dir, "sat-*.json"))):
        d = load(path)
        label = d.get("label") or os.path.basename(path).split("-")[1]
        sat.setdefault(label, []).append(d)
        rep = re.search(r"-rep(\d+)\.json$", path)
        if rep:
            by_rep.setdefault(int(rep.group(1)), {})[label] = d
    if sat:
        print(f"## saturation (non-stream, model `{meta.get('sat_model')}`, {meta.get('sat_tool')}, "
              f"{meta.get('sat_connections')} connections, {meta.get('sat_duration_s')} s)\n")
        nginx = med(sat.get("nginx", []), "throughput_rps")
        direct = med(sat.get("direct", []), "throughput_rps")
        rows = []
        for t in ordered(sat):
            runs = sat[t]
            m = med(runs, "throughput_rps")
            errs = sum(sum(v for v in (r.get("errors") or {}).values() if isinstance(v, (int, float))) for r in runs)
            rows.append([t, len(runs), spread(runs, "throughput_rps", 0),
                         f"{m / nginx * 100:.1f}%" if nginx and m is not None else "-",
                         f"{m / direct * 100:.1f}%" if direct and m is not None else "-",
                         spread(runs, "proxy_cpu_us_per_request", 1),
                         ratio_spread(by_rep, t, "throughput_rps", False),
                         ratio_spread(by_rep, t, "proxy_cpu_us_per_request", True), errs])
            if t != "direct" and direct and m is not None and m >= 0.9 * direct:
                warnings.append(f"saturation: {t} reached {m / direct * 100:.0f}% of direct, so the simulator "
                                "and load generator's core, not the proxy, may be what limits it")
        print(table(["target", "reps", "req/s", "vs nginx", "vs direct", "proxy CPU µs/request",
                     "vs nginx, per repetition", "vs nginx by CPU, per repetition", "errors (all reps)"], rows) + "\n")
        print("'vs nginx' divides the medians; the per-repetition columns divide within each repetition and give "
              "the median [min–max] of those ratios; 'by CPU' is nginx's CPU per request over the target's "
              "(on one core, what saturation is the inverse of).\n")

    if warnings:
        print("## warnings\n")
        print("\n".join(f"- {w}" for w in warnings) + "\n")


def streams(out_dir, meta):
    print("# Benchmark summary: concurrent slow streams through Sluice\n")
    print(header(meta, out_dir))
    print(f"- streams: {meta.get('n')} opened over {meta.get('ramp_s')} s, each ~{meta.get('stream_s')} s long "
          f"({meta.get('tokens_per_second')} token/s), {meta.get('gen_procs')} generator process(es)\n")
    gens = [load(p) for p in sorted(glob.glob(os.path.join(out_dir, "gen-*.json")))]
    scheduled = sum(get(g, "counts.scheduled") or 0 for g in gens)
    ok = sum(get(g, "counts.ok") or 0 for g in gens)
    errors = {}
    for g in gens:
        for k, v in (g.get("errors") or {}).items():
            errors[k] = errors.get(k, 0) + v
    samples = []
    path = os.path.join(out_dir, "samples.csv")
    if os.path.exists(path):
        with open(path) as f:
            for row in csv.DictReader(f):
                try:
                    samples.append({k: float(v) for k, v in row.items() if v not in (None, "")})
                except ValueError:
                    pass
    rss = [s["rss_kb"] for s in samples if "rss_kb" in s]
    in_flight = [s["in_flight"] for s in samples if "in_flight" in s]
    idle = float(meta.get("idle_rss_kb") or (rss[0] if rss else 0))
    peak = max(rss) if rss else None
    fds = [s["fds"] for s in samples if "fds" in s]
    peak_in_flight = max(in_flight) if in_flight else None
    # /ready can miss its 1 s deadline while the gateway is busiest; the generators count exactly
    # (the sum of each process's peak: exact for one process, an upper bound for several)
    gen_peak = min(scheduled, sum(get(g, "counts.max_in_flight") or 0 for g in gens)) if gens else None
    candidates = [v for v in (peak_in_flight, gen_peak) if v]
    peak_streams = max(candidates) if candidates else None
    rows = [
        ["streams scheduled", scheduled],
        ["streams completed cleanly ([DONE])", ok],
        ["all streams completed", "yes" if scheduled and ok == scheduled else "NO"],
        ["errors", ", ".join(f"{k}={v}" for k, v in sorted(errors.items())) or "none"],
        ["peak streams open, generator side" + (" (sum of process peaks)" if len(gens) > 1 else ""),
         fmt(gen_peak, 0)],
        ["peak in flight at the gateway (sampled /ready)", fmt(peak_in_flight, 0)],
        ["peak gateway descriptors", fmt(max(fds), 0) if fds else "-"],
        ["gateway RSS before load, MiB", fmt(idle / 1024, 1)],
        ["gateway RSS peak, MiB", fmt(peak / 1024, 1) if peak else "-"],
        ["gateway RSS at end, MiB", fmt(rss[-1] / 1024, 1) if rss else "-"],
        ["RSS added per stream at peak, KiB",
         fmt((peak - idle) / peak_streams, 1) if peak and peak_streams else "-"],
        ["TTFT p99 ms (worst generator)", fmt(max(values(gens, "ttft_ms.p99")) if gens else None)],
        ["stream end p99 ms (worst generator)", fmt(max(values(gens, "latency_ms.p99")) if gens else None)],
        ["samples", len(samples)],
    ]
    print(table(["figure", "value"], rows) + "\n")
    if scheduled and ok != scheduled:
        print("## warnings\n\n- not every stream completed; see errors above and the logs/ directory\n")


def main():
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    out_dir = sys.argv[1].rstrip("/")
    meta_path = os.path.join(out_dir, "meta.json")
    meta = load(meta_path) if os.path.exists(meta_path) else {"kind": "core"}
    if meta.get("kind") == "streams10k":
        streams(out_dir, meta)
    else:
        core(out_dir, meta)
    return 0


if __name__ == "__main__":
    sys.exit(main())
