#!/usr/bin/env python3
"""Times the CPU-bound workloads in fixtures/workloads with `perfhub run`
parameter scans and reports the complexity class perfhub fits to their
wall time, for several repetitions (timing belongs here, not in tests).

Usage: scripts/complexity-fixtures.py [--reps N]   (needs rustc)
"""
import argparse
import collections
import json
import os
import subprocess
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CASES = [
    ("linear", "n=1000000..64000000:*2", "O(n)"),
    ("nlogn", "n=10000..2560000:*2", "O(n log n)"),
    ("quadratic", "n=1000..16000:*2", "O(n^2)"),
]
NAMES = {"constant": "O(1)", "logarithmic": "O(log n)", "linear": "O(n)",
         "linearithmic": "O(n log n)", "quadratic": "O(n^2)", "cubic": "O(n^3)"}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=5)
    args = ap.parse_args()
    subprocess.run(["cargo", "build", "--release", "-q", "-p", "perfhub-cli"], cwd=ROOT, check=True)
    target = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
    perfhub = os.path.join(target, "release", "perfhub")
    with tempfile.TemporaryDirectory() as tmp:
        print(f"{args.reps} repetitions, each `perfhub run --runs 5 --warmup 1 --param SCAN 'WORKLOAD {{n}}'`.\n")
        print("| workload | scan | truth | fitted (count over repetitions) | median R² of the best fit |")
        print("|---|---|---|---|---:|")
        for name, scan, truth in CASES:
            exe = os.path.join(tmp, name)
            subprocess.run(["rustc", "-O", "--edition", "2021", "-o", exe,
                            os.path.join(ROOT, "fixtures/workloads", name + ".rs")], check=True)
            out = os.path.join(tmp, "r.json")
            got = collections.Counter()
            r2 = []
            for _ in range(args.reps):
                subprocess.run([perfhub, "run", "--no-progress", "--runs", "5", "--warmup", "1",
                                "--param", scan, "--export-json", out, exe + " {n}"],
                               check=True, stdout=subprocess.DEVNULL)
                fit = json.load(open(out))["complexity"][0]
                got[NAMES[fit["best"]]] += 1
                r2.append(fit["fits"][0]["r_squared"])
            r2.sort()
            counts = ", ".join(f"{k}: {v}" for k, v in got.most_common())
            print(f"| `{name}.rs` | `{scan}` | {truth} | {counts} | {r2[len(r2) // 2]:.4f} |")


if __name__ == "__main__":
    main()
