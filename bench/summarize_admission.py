#!/usr/bin/env python3
"""Summarises a bench/admission.sh run: admission on vs off under 3x overload."""
import glob
import json
import os
import statistics
import sys


def load(pattern):
    return [json.load(open(p)) for p in sorted(glob.glob(pattern))]


def spread(values, fmt="%.1f"):
    if not values:
        return "-"
    return (fmt % statistics.median(values)) + " (" + (fmt % min(values)) + "–" + (fmt % max(values)) + ")"


def heap_peak(path):
    peak = mx = 0
    try:
        for line in open(path):
            u, m = line.split()
            peak = max(peak, int(u))
            mx = max(mx, int(m))
    except (OSError, ValueError):
        pass
    return peak, mx


def main(d, capacity):
    print("# Overload benchmark: 3x the provider's capacity (%d answers/s)\n" % capacity)
    print("| admission | unloaded p99 ms | goodput /s | goodput / capacity | admitted p99 ms | p99 / unloaded p99 | refusals p99 ms | refused | peak heap / max |")
    print("|---|---|---|---|---|---|---|---|---|")
    for t in ("on", "tuned", "off"):
        un = load(os.path.join(d, "unloaded-%s-rep*.json" % t))
        ov = load(os.path.join(d, "overload-%s-rep*.json" % t))
        un_p99 = [r["latency_ms"]["p99"] for r in un]
        good = [r["throughput_rps"] for r in ov]
        p99 = [r["latency_ms"]["p99"] for r in ov]
        ref = [r["failed_latency_ms"]["p99"] for r in ov]
        refused = [r["counts"]["failed"] for r in ov]
        heaps = [heap_peak(p) for p in sorted(glob.glob(os.path.join(d, "heap-overload-%s-rep*.txt" % t)))]
        ratio = [a / b for a, b in zip(p99, un_p99) if b > 0]
        print("| %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
            t, spread(un_p99), spread(good, "%.0f"), spread([g / capacity for g in good], "%.2f"), spread(p99),
            spread(ratio, "%.2fx"), spread(ref, "%.2f"), spread(refused, "%.0f"),
            ", ".join("%.0f/%.0f MiB" % (p / 2**20, m / 2**20) for p, m in heaps) or "-"))
    print("\nThe gateway's own view of the overload runs (its request log; excludes the load generator, which")
    print("shares a core with the simulator):\n")
    print("| admission | served p50 ms | served p99 ms | refused p99 ms |")
    print("|---|---|---|---|")
    for t in ("on", "tuned", "off"):
        for p in sorted(glob.glob(os.path.join(d, "gwstats-overload-%s-rep*.json" % t))):
            try:
                g = {(x["provider"] or "none"): x for x in json.load(open(p))["groups"]}
            except (OSError, ValueError, KeyError):
                continue
            served = next((v for k, v in g.items() if k != "none"), None)
            refused = g.get("none")
            print("| %s | %s | %s | %s |" % (t,
                served["latency_ms"]["p50"] if served and served.get("latency_ms") else "-",
                served["latency_ms"]["p99"] if served and served.get("latency_ms") else "-",
                refused["latency_ms"]["p99"] if refused and refused.get("latency_ms") else "-"))
    for t in ("on", "tuned", "off"):
        for r in load(os.path.join(d, "overload-%s-rep*.json" % t)):
            print("\n%s: errors %s" % (t, r["errors"]))


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 200)
