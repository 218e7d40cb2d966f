#!/usr/bin/env python3
"""Rate accuracy and coordinated-omission correction of `perfhub load`,
against `perfhub serve` on loopback.

1. Rates: `perfhub load --rate R` for DURATION at 1k, 10k and 20k requests
   per second; the achieved rate (requests sent / duration) against the
   target, median of REPS runs.
2. Coordinated omission: a server that stalls 1 s every 5 s, loaded at 500
   requests per second for 30 s. A fifth of the arrivals fall in a stall and
   wait for its end, uniformly 0 to 1 s, so P(latency > x) = (1 - x) / 5 and
   the analytic p99 is 0.95 s. The corrected p99 (latency) is compared with
   it, the uncorrected one (service_time) shown beside.
3. A run that ends in a stall: the same server, 500/s for 20 s, started
   0.4 s after the server, so that it starts in the last 0.6 s of a stall
   and ends 0.4 s into the fifth: the stalled time is still a fifth and the
   waits still uniform over 0 to 1 s, so the analytic figures hold. The
   requests due in the last stall are still queued when the duration ends;
   with the default grace period they are sent and measured, with
   `--grace 0s` they are dropped (and counted at the wait so far).

Usage: scripts/load-accuracy.py [--reps 3] [--duration 10] [--only end-stall]
"""
import argparse
import json
import os
import statistics
import subprocess
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def build():
    subprocess.run(["cargo", "build", "--release", "-q", "-p", "perfhub-cli"], cwd=ROOT, check=True)
    target = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
    return os.path.join(target, "release", "perfhub")


def serve(perfhub, *args):
    p = subprocess.Popen([perfhub, "serve", "--port", "0", *args], stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE, text=True)
    line = p.stderr.readline()
    url = next(w for w in line.split() if w.startswith("http://"))
    return p, url


def load(perfhub, url, out, *args):
    subprocess.run([perfhub, "load", url, "--no-progress", "--export-json", out, *args],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    r = json.load(open(out))
    total = next(b for b in r["benchmarks"] if b["name"] == "total")
    return {m["metric"]: m for m in total["measurements"]}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--duration", type=int, default=10)
    ap.add_argument("--only", choices=["end-stall"], help="run only the stall-at-the-end part")
    args = ap.parse_args()
    if args.only == "end-stall":
        perfhub = build()
        with tempfile.TemporaryDirectory() as tmp:
            end_stall(perfhub, os.path.join(tmp, "r.json"), args.reps)
        return
    perfhub = build()
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "r.json")
        server, url = serve(perfhub)
        try:
            print(f"Rates: {args.duration} s each, 64 connections, median of {args.reps}.\n")
            print("| target | achieved (median) | error | late | dropped | p99 latency |")
            print("|---:|---:|---:|---:|---:|---:|")
            for rate in [1000, 10000, 20000]:
                runs = [load(perfhub, url, out, "--rate", str(rate), "-d", f"{args.duration}s")
                        for _ in range(args.reps)]
                achieved = statistics.median(r["achieved_rate"]["value"] for r in runs)
                late = statistics.median(r["late"]["value"] for r in runs)
                dropped = statistics.median(r["dropped"]["value"] for r in runs)
                p99 = statistics.median(r["latency"]["summary"]["percentiles"]["p99"] for r in runs)
                print(f"| {rate:,}/s | {achieved:,.1f}/s | {(achieved / rate - 1) * 100:+.2f}% "
                      f"| {late:,.0f} | {dropped:,.0f} | {p99 * 1e3:.2f} ms |")
        finally:
            server.terminate()
            server.wait()

        server, url = serve(perfhub, "--stall", "1s/5s")
        try:
            runs = [load(perfhub, url, out, "--rate", "500", "-d", "30s", "-c", "16")
                    for _ in range(args.reps)]
        finally:
            server.terminate()
            server.wait()
        corrected = [r["latency"]["summary"]["percentiles"]["p99"] for r in runs]
        service = [r["service_time"]["summary"]["percentiles"]["p99"] for r in runs]
        p90c = [r["latency"]["summary"]["percentiles"]["p90"] for r in runs]
        p90s = [r["service_time"]["summary"]["percentiles"]["p90"] for r in runs]
        c = statistics.median(corrected)
        print(f"\nCoordinated omission: stall 1 s every 5 s, 500/s for 30 s, 16 connections, "
              f"median of {args.reps}.\n")
        print("| | p90 | p99 | p99 against the analytic 0.95 s |")
        print("|---|---:|---:|---:|")
        print(f"| latency (corrected) | {statistics.median(p90c):.3f} s | {c:.3f} s "
              f"| {(c / 0.95 - 1) * 100:+.1f}% |")
        print(f"| service time (uncorrected) | {statistics.median(p90s) * 1e3:.2f} ms "
              f"| {statistics.median(service) * 1e3:.2f} ms | |")
        end_stall(perfhub, out, args.reps)


def end_stall(perfhub, out, reps):
    """500/s for 20 s ending in a stall, with the default grace and none,
    alternating; a fresh server each run so that the stall phase is known."""
    rows = {"default (the timeout)": [], "--grace 0s": []}
    for _ in range(reps):
        for name, extra in [("default (the timeout)", []), ("--grace 0s", ["--grace", "0s"])]:
            server, url = serve(perfhub, "--stall", "1s/5s")
            try:
                # The server stalls in [5k, 5k + 1) s from its start; the
                # run covers [0.4, 20.4) s of it.
                time.sleep(0.4)
                rows[name].append(load(perfhub, url, out, "--rate", "500", "-d", "20s",
                                       "-c", "16", *extra))
            finally:
                server.terminate()
                server.wait()
    print(f"\nA run ending in a stall: stall 1 s every 5 s, 500/s for 20 s, its last 0.4 s "
          f"in a stall, 16 connections, median of {reps} (alternating).\n")
    print("| grace | p90 | p90 against 0.5 s | p99 | p99 against 0.95 s | dropped |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, runs in rows.items():
        p90 = statistics.median(r["latency"]["summary"]["percentiles"]["p90"] for r in runs)
        p99 = statistics.median(r["latency"]["summary"]["percentiles"]["p99"] for r in runs)
        dropped = statistics.median(r["dropped"]["value"] for r in runs)
        print(f"| {name} | {p90:.3f} s | {(p90 / 0.5 - 1) * 100:+.1f}% | {p99:.3f} s "
              f"| {(p99 / 0.95 - 1) * 100:+.1f}% | {dropped:,.0f} |")


if __name__ == "__main__":
    main()
