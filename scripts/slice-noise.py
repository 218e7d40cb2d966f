#!/usr/bin/env python3
"""How much a criterion slice's value moves from pair to pair: A/A noise of
the sliced mode of `perfhub ab`, for slice settings and slice statistics.

Builds the fixture criterion project's bench executable, copies it twice
(the same executable as base and as head), and for each setting runs PAIRS
pairs of slices of one benchmark, the two copies back to back in a random
order, each `EXE --bench --exact NAME --warm-up-time W --measurement-time M
--sample-size N --noplot` with a fresh CRITERION_HOME. Per pair it takes the
log ratio of the two slices' values, by four statistics of the slice's
per-iteration times (sample time over iterations): the median, the fastest,
the fastest of the second half of the samples (the larger ones in
criterion's linear sampling: what `perfhub ab` uses) and the second
fastest. Prints, per setting and statistic, the standard deviation of the
log ratios and their robust spread (1.4826 x the median absolute
deviation), in percent, with the time per pair and the load average.

Usage: scripts/slice-noise.py [--settings 0.5/1/10,0.05/0.1/30] [--pairs 20]
       [--bench sum_1000 ...]
"""
import argparse
import json
import math
import os
import random
import shutil
import statistics
import subprocess
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PROJECT = os.path.join(ROOT, "fixtures", "criterion-project")
STATS = ["median", "fastest", "fastest of larger half", "second fastest"]


def build(target):
    out = subprocess.run(
        ["cargo", "bench", "--no-run", "--message-format=json-render-diagnostics"],
        cwd=PROJECT, env=dict(os.environ, CARGO_TARGET_DIR=target),
        capture_output=True, text=True, check=True).stdout
    for line in out.splitlines():
        m = json.loads(line)
        if m.get("reason") == "compiler-artifact" and m.get("executable") and "bench" in m["target"]["kind"]:
            return m["executable"]
    raise SystemExit("no bench executable in cargo's messages")


def slice_values(exe, name, warm, meas, samples, home):
    shutil.rmtree(home, ignore_errors=True)
    subprocess.run([exe, "--bench", "--exact", name, "--warm-up-time", str(warm),
                    "--measurement-time", str(meas), "--sample-size", str(samples), "--noplot"],
                   cwd=PROJECT, env=dict(os.environ, CRITERION_HOME=home),
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    s = json.load(open(os.path.join(home, *name.split("/"), "new", "sample.json")))
    per = [t / i for t, i in zip(s["times"], s["iters"])]
    ranked = sorted(per)
    return [statistics.median(per), ranked[0], min(per[len(per) // 2:]), ranked[1]]


def spread(x):
    m = statistics.median(x)
    return statistics.stdev(x) * 100, 1.4826 * statistics.median([abs(v - m) for v in x]) * 100


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--settings", default="0.5/1/10,0.05/0.1/30",
                    help="comma-separated WARM-UP/MEASUREMENT/SAMPLES, in seconds")
    ap.add_argument("--pairs", type=int, default=20)
    ap.add_argument("--bench", action="append", help="default: sum_1000 sort_1024 checksum/fnv1a")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    settings = [tuple(float(v) for v in s.split("/")) for s in args.settings.split(",")]
    rng = random.Random(args.seed)
    with tempfile.TemporaryDirectory() as tmp:
        exe = build(os.path.join(tmp, "target"))
        copies = [os.path.join(tmp, "a"), os.path.join(tmp, "b")]
        for c in copies:
            shutil.copy2(exe, c)
        print("| benchmark | warm-up / measurement / samples | s per pair | load | "
              + " | ".join(f"{s}: sd / robust" for s in STATS) + " |")
        print("|---|---|---:|---:|" + "---:|" * len(STATS))
        for name in args.bench or ["sum_1000", "sort_1024", "checksum/fnv1a"]:
            for warm, meas, samples in settings:
                ratios = []
                started = time.time()
                for _ in range(args.pairs):
                    order = [0, 1]
                    rng.shuffle(order)
                    v = {i: slice_values(copies[i], name, warm, meas, int(samples), os.path.join(tmp, "home"))
                         for i in order}
                    ratios.append([math.log(b / a) for a, b in zip(v[0], v[1])])
                per_pair = (time.time() - started) / args.pairs
                cells = []
                for k in range(len(STATS)):
                    sd, robust = spread([r[k] for r in ratios])
                    cells.append(f"{sd:.1f}% / {robust:.1f}%")
                print(f"| `{name}` | {warm:g} s / {meas:g} s / {samples:g} | {per_pair:.2f} | "
                      f"{os.getloadavg()[0]:.1f} | " + " | ".join(cells) + " |", flush=True)


if __name__ == "__main__":
    main()
