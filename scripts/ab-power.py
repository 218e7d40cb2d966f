#!/usr/bin/env python3
"""Power of the A/B gate: does `perfhub ab` see a real slowdown?

Clones this repository into a temporary directory, makes the fixture
criterion project's `sum_1000` benchmark sum PCT% more numbers (an
uncommitted change, so the head is slower than HEAD by about PCT%), and runs
`perfhub ab --base HEAD` there RUNS times. Prints the verdict and change of
every benchmark per run: `sum_1000` should regress, the others not.

Usage: scripts/ab-power.py [--pct 10] [--runs 3] [--rounds 10]
"""
import argparse
import json
import os
import subprocess
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--pct", type=int, default=10)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--rounds", type=int, default=10)
    args = ap.parse_args()
    subprocess.run(["cargo", "build", "--release", "-q", "-p", "perfhub-cli"], cwd=ROOT, check=True)
    target = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
    perfhub = os.path.join(target, "release", "perfhub")
    with tempfile.TemporaryDirectory() as tmp:
        repo = os.path.join(tmp, "repo")
        subprocess.run(["git", "clone", "-q", ROOT, repo], check=True)
        bench = os.path.join(repo, "fixtures", "criterion-project", "benches", "fixture.rs")
        text = open(bench).read()
        n = 1000 * (100 + args.pct) // 100
        assert "sum_to(black_box(1000))" in text
        open(bench, "w").write(text.replace("sum_to(black_box(1000))", f"sum_to(black_box({n}))"))
        project = os.path.dirname(os.path.dirname(bench))
        for i in range(args.runs):
            out = os.path.join(tmp, f"run-{i}.json")
            p = subprocess.run(
                [perfhub, "ab", "--base", "HEAD", "--rounds", str(args.rounds), "--seed", str(2000 + i),
                 "--no-fail", "--export-json", out, "--", "cargo", "bench", "-q"],
                cwd=project, capture_output=True, text=True)
            if p.returncode != 0:
                print(p.stdout, p.stderr)
                raise SystemExit(f"perfhub ab exited {p.returncode}")
            report = json.load(open(out))
            row = {c["benchmark"]: f'{(c["ratio"] - 1) * 100:+.1f}% {c["verdict"]}' for c in report["comparisons"]}
            print(json.dumps({"run": i + 1, "pct": args.pct, **row}), flush=True)


if __name__ == "__main__":
    main()
