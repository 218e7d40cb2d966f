#!/usr/bin/env python3
"""Cost of an alloc/free pair under perfhub's tracking allocator, side by side
with the System allocator and dhat, from the criterion benches in benches/.

Each of the four bench binaries (alloc_system, alloc_tracking_off,
alloc_tracking_sampled, alloc_dhat) runs in criterion's --quick mode, in a
rotating order, for several rounds; the table gives medians over rounds.

Usage: scripts/alloc-overhead.py [--rounds N]
"""
import argparse
import re
import statistics
import subprocess
import os

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BENCHES = ["alloc_system", "alloc_tracking_off", "alloc_tracking_sampled", "alloc_dhat"]
CASES = ["box_64B_pair", "mixed_64_pairs"]
UNIT = {"ps": 1e-3, "ns": 1.0, "µs": 1e3, "us": 1e3, "ms": 1e6}


def run(bench):
    out = subprocess.run(["cargo", "bench", "-q", "-p", "perfhub-benches", "--bench", bench, "--", "--quick"],
                         cwd=ROOT, check=True, capture_output=True, text=True).stdout
    found = {}
    for case in CASES:
        m = re.search(re.escape(case) + r"\s+time:\s+\[\S+ \S+ (\S+) (\S+)", out)
        if m:
            found[case] = float(m.group(1)) * UNIT[m.group(2)]
    return found


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    results = {b: {c: [] for c in CASES} for b in BENCHES}
    for r in range(args.rounds):
        order = BENCHES[r % len(BENCHES):] + BENCHES[:r % len(BENCHES)]
        for b in order:
            for case, ns in run(b).items():
                results[b][case].append(ns)
    print(f"{args.rounds} rounds, rotating order; medians of criterion's estimates (ns per pair).\n")
    print("| case | " + " | ".join(BENCHES) + " |")
    print("|---|" + "---:|" * len(BENCHES))
    for case in CASES:
        base = statistics.median(results["alloc_system"][case])
        cells = []
        for b in BENCHES:
            v = statistics.median(results[b][case])
            cells.append(f"{v:.1f} ns ({v / base:.2f}x)")
        print(f"| `{case}` | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
