#!/usr/bin/env python3
"""Power of the A/B gate on a criterion suite: does `perfhub ab` see a real
slowdown, and does it stay quiet when there is none?

Clones this repository into a temporary directory and, for each effect size
in --pct, makes the fixture criterion project's `sum_1000` benchmark sum PCT%
more numbers (an uncommitted change, so head is slower than HEAD by about
PCT%; 0 leaves the code alone: an A/A run). Then runs, RUNS times each,
`perfhub ab --base HEAD -- cargo bench -q -- FILTER` at perfhub's default
settings (the filter keeps three of the fixture's six benchmarks:
`sum_1000`, `sort_1024` and `checksum/fnv1a`), and prints one JSON line per
run: the slowed benchmark's estimate, interval, verdict and minimum
detectable effect, the other benchmarks' verdicts, and the wall time.

With --criterion, each run is followed by criterion's own change detection
on the same change: `cargo bench -- --save-baseline` on the base (the change
stashed), then `cargo bench -- --baseline` on head, and whether criterion
printed "Performance has regressed" for `sum_1000` (and for the others).

Ends with a table: per effect size, how many runs flagged `sum_1000` as
regressed, how many flagged any unchanged benchmark, and the median wall
time.

Usage: scripts/ab-power.py [--pct 5 [--pct 0 ...]] [--runs 10]
       [--interleave slices|whole] [--rounds N] [--criterion] [--perfhub PATH]
"""
import argparse
import json
import os
import re
import statistics
import subprocess
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SLOWED = "sum_1000"
FILTER = "^(sum_1000|sort_1024|checksum/fnv1a)$"


def build():
    subprocess.run(["cargo", "build", "--release", "-q", "-p", "perfhub-cli"], cwd=ROOT, check=True)
    target = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
    return os.path.join(target, "release", "perfhub")


def set_pct(bench, original, pct):
    n = 1000 * (100 + pct) // 100
    with open(bench, "w") as f:
        f.write(original.replace("sum_to(black_box(1000))", f"sum_to(black_box({n}))"))


def criterion_verdicts(output):
    """Benchmark name -> criterion's verdict line, from a `--baseline` run."""
    verdicts = {}
    current = None
    for line in output.splitlines():
        m = re.match(r"^(\S.*?)\s+time:\s+\[", line)
        if m:
            current = m.group(1).strip()
            verdicts[current] = "no change detected"
        elif current and "Performance has regressed" in line:
            verdicts[current] = "regressed"
        elif current and "Performance has improved" in line:
            verdicts[current] = "improved"
        elif current and "Change within noise threshold" in line:
            verdicts[current] = "within noise"
    return verdicts


def criterion_own(project, bench, original, pct, env):
    """criterion's own comparison of head against base, as a user would run it."""
    cmd = ["cargo", "bench", "-q", "--", FILTER]
    with open(bench, "w") as f:
        f.write(original)
    subprocess.run(cmd + ["--save-baseline", "power-base"], cwd=project, env=env,
                   capture_output=True, check=True)
    set_pct(bench, original, pct)
    p = subprocess.run(cmd + ["--baseline", "power-base"], cwd=project, env=env,
                       capture_output=True, text=True, check=True)
    return criterion_verdicts(p.stdout + p.stderr)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--pct", type=int, action="append", help="effect sizes in percent (0: A/A); default 5")
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--interleave", choices=["slices", "whole"], help="default: perfhub's own")
    ap.add_argument("--rounds", type=int, help="default: perfhub's own")
    ap.add_argument("--time-budget", help="default: perfhub's own")
    ap.add_argument("--criterion", action="store_true", help="also run criterion's own comparison")
    ap.add_argument("--perfhub", help="the perfhub binary (default: build it)")
    ap.add_argument("--seed", type=int, default=2000)
    args = ap.parse_args()
    pcts = args.pct or [5]
    perfhub = args.perfhub or build()
    summary = []
    with tempfile.TemporaryDirectory() as tmp:
        repo = os.path.join(tmp, "repo")
        subprocess.run(["git", "clone", "-q", ROOT, repo], check=True)
        project = os.path.join(repo, "fixtures", "criterion-project")
        bench = os.path.join(project, "benches", "fixture.rs")
        original = open(bench).read()
        assert "sum_to(black_box(1000))" in original
        # The fixture's own target directory, shared by every run and by
        # criterion's own comparison (perfhub ab keeps its base build apart).
        env = dict(os.environ, CARGO_TARGET_DIR=os.path.join(tmp, "target"))
        for pct in pcts:
            rows = []
            for i in range(args.runs):
                set_pct(bench, original, pct)
                out = os.path.join(tmp, f"run-{pct}-{i}.json")
                cmd = [perfhub, "ab", "--base", "HEAD", "--seed", str(args.seed + 100 * pct + i),
                       "--no-fail", "--export-json", out]
                if args.interleave:
                    cmd += ["--interleave", args.interleave]
                if args.rounds:
                    cmd += ["--rounds", str(args.rounds)]
                if args.time_budget:
                    cmd += ["--time-budget", args.time_budget]
                cmd += ["--", "cargo", "bench", "-q", "--", FILTER]
                started = time.time()
                p = subprocess.run(cmd, cwd=project, env=env, capture_output=True, text=True)
                seconds = time.time() - started
                if p.returncode != 0:
                    print(p.stdout, p.stderr)
                    raise SystemExit(f"perfhub ab exited {p.returncode}")
                report = json.load(open(out))
                by_name = {c["benchmark"]: c for c in report["comparisons"]}
                slowed = by_name[SLOWED]
                ci = slowed.get("ratio_ci")
                row = {
                    "pct": pct,
                    "run": i + 1,
                    "change": round((slowed["ratio"] - 1) * 100, 2),
                    "interval": [round((ci[k] - 1) * 100, 2) for k in ("lower", "upper")] if ci else None,
                    "verdict": slowed["verdict"],
                    "mde": round(slowed["mde"] * 100, 2) if slowed.get("mde") is not None else None,
                    "others": {n: c["verdict"] for n, c in by_name.items() if n != SLOWED},
                    "seconds": round(seconds, 1),
                    "load": round(os.getloadavg()[0], 1),
                }
                if args.criterion:
                    own = criterion_own(project, bench, original, pct, env)
                    row["criterion"] = own.get(SLOWED)
                    row["criterion_others"] = {n: v for n, v in own.items() if n != SLOWED}
                rows.append(row)
                print(json.dumps(row), flush=True)
            summary.append((pct, rows))
    print()
    print("| change in `sum_1000` | runs | `sum_1000` flagged by perfhub ab | unchanged benchmarks flagged | "
          + ("criterion's own: `sum_1000` regressed | criterion's own: unchanged flagged | " if args.criterion else "")
          + "median wall time |")
    print("|---:|---:|---:|---:|" + ("---:|---:|" if args.criterion else "") + "---:|")
    for pct, rows in summary:
        flagged = sum(r["verdict"] == "regressed" for r in rows)
        others = sum(any(v in ("regressed", "improved") for v in r["others"].values()) for r in rows)
        cells = [f"{pct}%", str(len(rows)), f"{flagged} of {len(rows)}", f"{others} of {len(rows)} runs"]
        if args.criterion:
            cells.append(f"{sum(r['criterion'] == 'regressed' for r in rows)} of {len(rows)}")
            cells.append(f"{sum(any(v in ('regressed', 'improved') for v in r['criterion_others'].values()) for r in rows)} of {len(rows)} runs")
        cells.append(f"{statistics.median(r['seconds'] for r in rows):.0f} s")
        print("| " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
