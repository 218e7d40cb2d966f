#!/usr/bin/env python3
"""`perfhub profile` against `perf record` on Node's JIT-compiled code.

Runs fixtures/workloads/js_shares.js (oneShare, twoShares, threeShares: one,
two and three shares of the same loop) REPS times bare and under each way,
in a shuffled order each repetition, all at 999 Hz (cpu-clock):

- `perf record -g` of `node --perf-basic-prof` (perf names JIT code from
  /tmp/perf-PID.map, as it does by itself);
- `perf record -k 1 -g` of `node --perf-prof`, then `perf inject --jit`
  (perf names JIT code from the jitdump file, through the ELF files
  `perf inject` writes for each piece of code);
- `perfhub profile` of `node --perf-basic-prof` (the perf map);
- `perfhub profile` of `node --perf-prof` (the jitdump file).

Prints each leaf function's share of all samples (medians), whether every
function perf names at 1% or more is named by perfhub, and each way's wall
time over the bare run (medians, and the median of each repetition's
ratio). The maps and dumps node writes are removed.

Usage: scripts/compare-node-profile.py [--reps 5] [--rounds 20] [--perfhub BIN]
(needs node, and perf from Debian's linux-perf)
"""
import argparse
import collections
import glob
import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time

from profile_shares import ROOT, folded_leaf_shares, perf_report_shares, perfhub_binary
WORKLOAD = os.path.join(ROOT, "fixtures", "workloads", "js_shares.js")
# V8's names of the three functions, optimized (`*`) or not (`~`).
PART = re.compile(r"JS:[*~^]?(oneShare|twoShares|threeShares)\b")


def part_of(frame):
    m = PART.search(frame)
    return m.group(1) if m else frame


def run(cmd, cwd, env=None):
    t = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True, cwd=cwd, env=env)
    return time.perf_counter() - t


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--rounds", type=int, default=20)
    ap.add_argument("--perfhub", help="a perfhub binary (default: a release build of this tree)")
    ap.add_argument("--seed", type=int, default=1, help="seed of the shuffled order")
    args = ap.parse_args()
    perfhub = perfhub_binary(args.perfhub)
    version = subprocess.run(["node", "--version"], capture_output=True, text=True).stdout.strip()
    with tempfile.TemporaryDirectory() as tmp:
        script = os.path.join(tmp, "js_shares.js")
        with open(WORKLOAD) as src, open(script, "w") as dst:
            dst.write(src.read())
        rounds = str(args.rounds)
        data, out = os.path.join(tmp, "perf.data"), os.path.join(tmp, "out")
        jit_data = os.path.join(tmp, "perf.jit.data")
        # perf inject --jit writes an ELF file per piece of code under here.
        env = dict(os.environ, HOME=tmp)
        perf = ["perf", "record", "-q", "-e", "cpu-clock", "-F", "999", "-g"]

        def perf_map():
            w = run(perf + ["-o", data, "--", "node", "--perf-basic-prof", script, rounds], tmp)
            return w, perf_report_shares(data, part_of)

        def perf_jitdump():
            w = run(perf + ["-k", "1", "-o", data, "--", "node", "--perf-prof", script, rounds],
                    tmp, env)
            subprocess.run(["perf", "inject", "--jit", "-i", data, "-o", jit_data], check=True,
                           capture_output=True, cwd=tmp, env=env)
            return w, perf_report_shares(jit_data, part_of, env)

        def perfhub_with(flag):
            def way():
                w = run([perfhub, "profile", "-F", "999", "-o", out, "--", "node", flag, script,
                         rounds], tmp)
                return w, folded_leaf_shares(os.path.join(out, "stacks.folded"), part_of)
            return way

        ways = {
            "bare": lambda: (run(["node", script, rounds], tmp), None),
            "perf record, perf map": perf_map,
            "perf record, jitdump (perf inject --jit)": perf_jitdump,
            "perfhub profile, perf map": perfhub_with("--perf-basic-prof"),
            "perfhub profile, jitdump": perfhub_with("--perf-prof"),
        }
        walls = collections.defaultdict(list)
        shares = collections.defaultdict(list)
        order = random.Random(args.seed)
        for rep in range(args.reps):
            shuffled = list(ways.items())
            order.shuffle(shuffled)
            for name, way in shuffled:
                w, s = way()
                walls[name].append(w)
                if s is not None:
                    shares[name].append(s)
                for leftover in glob.glob("/tmp/perf-*.map") + glob.glob(os.path.join(tmp, "jit-*.dump")):
                    # Only what this script's node wrote: its maps name the script.
                    if leftover.endswith(".dump") or script in open(leftover, errors="replace").read():
                        os.remove(leftover)
            print(f"rep {rep + 1}/{args.reps} done", file=sys.stderr)

    print(f"# Node {version}, `js_shares.js {args.rounds}`, 999 Hz, medians of {args.reps}\n")
    tools = [w for w in ways if w != "bare"]
    med = lambda runs, k: statistics.median(r.get(k, 0.0) for r in runs)
    names = sorted({k for w in tools for r in shares[w] for k, v in r.items() if v >= 0.01},
                   key=lambda k: -med(shares["perf record, perf map"], k))
    print("| leaf function | " + " | ".join(tools) + " |")
    print("|---|" + "---:|" * len(tools))
    for k in names:
        print(f"| `{k}` | " + " | ".join(f"{med(shares[w], k) * 100:.1f}%" for w in tools) + " |")
    worst = 0.0
    for k in names:
        for ours, theirs in [("perfhub profile, perf map", "perf record, perf map"),
                             ("perfhub profile, jitdump", "perf record, jitdump (perf inject --jit)")]:
            worst = max(worst, abs(med(shares[ours], k) - med(shares[theirs], k)))
    missing = {w: [k for k in names
                   if med(shares["perf record, perf map"], k) >= 0.01 and med(shares[w], k) == 0]
               for w in tools if w.startswith("perfhub")}
    print(f"\nLargest difference from perf record (same JIT names): {worst * 100:.1f} points; "
          f"functions perf names (>= 1%) that perfhub does not: {missing}\n")
    bare = statistics.median(walls["bare"])
    print("| way | wall | over bare | paired |")
    print("|---|---:|---:|---:|")
    for w in ways:
        m = statistics.median(walls[w])
        if w == "bare":
            print(f"| {w} | {m:.3f} s | | |")
            continue
        paired = statistics.median(a / b - 1 for a, b in zip(walls[w], walls["bare"]))
        print(f"| {w} | {m:.3f} s | {(m / bare - 1) * 100:+.1f}% | {paired * 100:+.1f}% |")


if __name__ == "__main__":
    main()
