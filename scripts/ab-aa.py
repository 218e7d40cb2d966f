#!/usr/bin/env python3
"""A/A check of the A/B gate: identical code on both sides must not regress.

Runs `perfhub ab --base HEAD` (base and head the same commit) RUNS times on
the fixture criterion project (fixtures/criterion-project) and counts, per
run, the benchmarks perfhub calls regressed. On the same runs, counts how
often criterion's own change detection printed "Performance has regressed":
inside `perfhub ab` criterion compares every run with the run before it
(its saved `base`), which is the other side of the pair in every round but
the first, so each of its comparisons is an A/A comparison too.

Usage: scripts/ab-aa.py [--runs 20] [--rounds 10] [--out DIR]
"""
import argparse
import json
import os
import re
import statistics
import subprocess
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PROJECT = os.path.join(ROOT, "fixtures", "criterion-project")


def build():
    subprocess.run(["cargo", "build", "--release", "-q", "-p", "perfhub-cli"], cwd=ROOT, check=True)
    target = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
    return os.path.join(target, "release", "perfhub")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--rounds", type=int, default=10)
    ap.add_argument("--out", default="/tmp/perfhub-ab-aa")
    ap.add_argument("--first", type=int, default=1, help="number of the first run (to add runs to an earlier set)")
    args = ap.parse_args()
    perfhub = build()
    os.makedirs(args.out, exist_ok=True)
    rows = []
    for i in range(args.first - 1, args.first - 1 + args.runs):
        out = os.path.join(args.out, f"run-{i + 1:02}.json")
        started = time.time()
        p = subprocess.run(
            [perfhub, "ab", "--base", "HEAD", "--rounds", str(args.rounds),
             "--seed", str(1000 + i), "--no-fail", "--export-json", out, "--", "cargo", "bench", "-q"],
            cwd=PROJECT, capture_output=True, text=True)
        if p.returncode != 0:
            print(p.stdout, p.stderr)
            raise SystemExit(f"run {i + 1}: perfhub ab exited {p.returncode}")
        report = json.load(open(out))
        verdicts = [c["verdict"] for c in report["comparisons"]]
        changes = [c["ratio"] - 1 for c in report["comparisons"]]
        crit = next(n["message"] for n in report["notes"] if n["code"] == "criterion_own_verdicts")
        flagged, comparisons, lines = map(int, re.search(r"in (\d+) of (\d+) runs \((\d+) lines\)", crit).groups())
        row = {
            "run": i + 1,
            "regressed": verdicts.count("regressed"),
            "improved": verdicts.count("improved"),
            "benchmarks": len(verdicts),
            "max_abs_change": max(abs(c) for c in changes),
            "criterion_runs_flagged": flagged,
            "criterion_comparisons": comparisons,
            "criterion_lines": lines,
            "seconds": time.time() - started,
        }
        rows.append(row)
        print(json.dumps(row), flush=True)
    runs_with_regression = sum(1 for r in rows if r["regressed"] > 0)
    crit_pairs_flagged = sum(1 for r in rows if r["criterion_runs_flagged"] > 0)
    print()
    print(f"perfhub ab: {runs_with_regression} of {len(rows)} A/A runs reported a regression "
          f"({sum(r['regressed'] for r in rows)} benchmark verdicts of {sum(r['benchmarks'] for r in rows)}); "
          f"improvements reported: {sum(r['improved'] for r in rows)}")
    print(f"median largest |change| per run: {statistics.median(r['max_abs_change'] for r in rows) * 100:.2f}%")
    print(f"criterion: printed \"Performance has regressed\" in {crit_pairs_flagged} of {len(rows)} A/A runs; "
          f"in {sum(r['criterion_runs_flagged'] for r in rows)} of {sum(r['criterion_comparisons'] for r in rows)} "
          f"of its comparisons ({sum(r['criterion_lines'] for r in rows)} lines)")


if __name__ == "__main__":
    main()
