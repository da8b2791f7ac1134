#!/usr/bin/env python3
"""Summarises a bench/resilience.sh run directory as markdown: medians and spread over repetitions."""
import glob
import json
import os
import statistics
import sys


def load(pattern):
    out = []
    for p in sorted(glob.glob(pattern)):
        try:
            out.append(json.load(open(p)))
        except (OSError, ValueError):
            pass
    return out


def spread(values, fmt="%.1f"):
    if not values:
        return "-"
    med = statistics.median(values)
    return (fmt % med) + " (" + (fmt % min(values)) + "–" + (fmt % max(values)) + ")"


def main(d):
    print("# Resilience benchmark\n")
    meta = os.path.join(d, "meta.json")
    if os.path.exists(meta):
        m = json.load(open(meta))
        print("commit %s, load average at start %.2f, %s s per run, %s reps, %s req/s\n" % (
            m.get("git_commit"), m.get("load_average_at_start", 0), m.get("duration_s"), m.get("reps"), m.get("rate")))
    print("## Tail latency: two heavy-tailed deployments, hedging off vs on\n")
    print("| model | runs | success | p50 ms | p99 ms | upstream calls / request |")
    print("|---|---|---|---|---|---|")
    p99 = {}
    calls = {}
    for model in ("tail-plain", "tail-hedge"):
        runs = load(os.path.join(d, "tail-%s-rep*.json" % model))
        p99[model] = [r["latency_ms"]["p99"] for r in runs]
        calls[model] = [r.get("upstream_calls_per_request", 0) for r in runs]
        print("| %s | %d | %s | %s | %s | %s |" % (
            model, len(runs), spread([100 * r["success_rate"] for r in runs], "%.2f%%"),
            spread([r["latency_ms"]["p50"] for r in runs]), spread(p99[model]), spread(calls[model], "%.3f")))
    if p99.get("tail-plain") and p99.get("tail-hedge"):
        ratios = [a / b for a, b in zip(p99["tail-plain"], p99["tail-hedge"]) if b > 0]
        extra = [(h / p) - 1 for p, h in zip(calls["tail-plain"], calls["tail-hedge"]) if p > 0]
        print("\np99 without / with hedging, per repetition: %s; extra upstream calls with hedging: %s\n" % (
            ", ".join("%.2fx" % r for r in ratios), ", ".join("%+.1f%%" % (100 * e) for e in extra)))
    print("## Outage: one of two deployments fails every call\n")
    for phase in ("before", "during"):
        runs = load(os.path.join(d, "outage-%s.json" % phase))
        for r in runs:
            print("- %s the outage: %d requests, success %.4f%%, p99 %.1f ms%s" % (
                phase, r["counts"]["sent"], 100 * r["success_rate"], r["latency_ms"]["p99"],
                (", upstream calls / request %.3f" % r["upstream_calls_per_request"])
                if "upstream_calls_per_request" in r else ""))
    print("\n## Overhead: saturation of the full gateway vs. the core (wrk, one core)\n")
    plain = [r["throughput_rps"] for r in load(os.path.join(d, "overhead-plain-rep*.json"))]
    full = [r["throughput_rps"] for r in load(os.path.join(d, "overhead-full-rep*.json"))]
    print("| gateway | runs | requests/s |")
    print("|---|---|---|")
    print("| core (1 attempt, no breaker, no quota) | %d | %s |" % (len(plain), spread(plain, "%.0f")))
    print("| full (retries, breakers, budgets, quota) | %d | %s |" % (len(full), spread(full, "%.0f")))
    if plain and full:
        ratios = [f / p for p, f in zip(plain, full) if p > 0]
        print("\nfull / core, per repetition: %s" % ", ".join("%.1f%%" % (100 * r) for r in ratios))


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else ".")
