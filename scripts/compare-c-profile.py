#!/usr/bin/env python3
"""`perfhub profile` against `perf record` on C programs.

Builds fixtures/workloads/c_names.c (hot functions named `f` and `g`) and
three_shares.c (one, two and three shares of the same work) with
`cc -O1 -g -fno-omit-frame-pointer -fno-inline`, profiles each REPS times
with both tools at 999 Hz (cpu-clock), and prints each leaf function's share
of the samples (medians) and each tool's wall time over the bare run.

Usage: scripts/compare-c-profile.py [--reps 3] [--perfhub BIN]
(needs perf, from Debian's linux-perf, and cc)
"""
import argparse
import collections
import os
import statistics
import subprocess
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def folded_leaf_shares(path):
    c, total = collections.Counter(), 0
    for line in open(path):
        line = line.rstrip()
        if not line:
            continue
        stack, n = line.rsplit(" ", 1)
        c[stack.split(";")[-1]] += int(n)
        total += int(n)
    return {k: v / total for k, v in c.items()}


def perf_leaf_shares(cmd, data):
    subprocess.run(["perf", "record", "-q", "-e", "cpu-clock", "-F", "999", "-g", "-o", data, "--"]
                   + cmd, check=True, capture_output=True)
    out = subprocess.run(["perf", "report", "-i", data, "--no-children", "--sort", "sym", "--stdio",
                          "-g", "none", "--percent-limit", "0.5"],
                         capture_output=True, text=True, check=True).stdout
    shares = {}
    for line in out.splitlines():
        parts = line.split()
        if not parts or parts[0].startswith("#"):
            continue
        shares[parts[-1]] = float(parts[0].rstrip("%")) / 100
    return shares


def wall(cmd):
    t = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True)
    return time.perf_counter() - t


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--perfhub", help="a perfhub binary (default: a release build of this tree)")
    args = ap.parse_args()
    perfhub = args.perfhub
    if perfhub is None:
        subprocess.run(["cargo", "build", "--release", "-q", "-p", "perfhub-cli"], cwd=ROOT, check=True)
        target = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
        perfhub = os.path.join(target, "release", "perfhub")
    with tempfile.TemporaryDirectory() as tmp:
        programs = []
        for src, arg in [("c_names.c", "400"), ("three_shares.c", "150")]:
            exe = os.path.join(tmp, src[:-2])
            subprocess.run(["cc", "-O1", "-g", "-fno-omit-frame-pointer", "-fno-inline", "-o", exe,
                            os.path.join(ROOT, "fixtures", "workloads", src)], check=True)
            programs.append((src, [exe, arg]))
        data, out = os.path.join(tmp, "perf.data"), os.path.join(tmp, "out")
        for src, cmd in programs:
            perf, ours, times = [], [], collections.defaultdict(list)
            for _ in range(args.reps):
                times["bare"].append(wall(cmd))
                perf.append(perf_leaf_shares(cmd, data))
                t = time.perf_counter()
                subprocess.run([perfhub, "profile", "-F", "999", "-o", out, "--"] + cmd, check=True,
                               capture_output=True)
                times["perfhub"].append(time.perf_counter() - t)
                ours.append(folded_leaf_shares(os.path.join(out, "stacks.folded")))
                times["perf"].append(wall(["perf", "record", "-q", "-e", "cpu-clock", "-F", "999",
                                           "-g", "-o", data, "--"] + cmd))
            names = sorted({k for d in perf + ours for k, v in d.items() if v > 0.02})
            print(f"{src} ({args.reps} runs, medians)")
            print("| function | perf record | perfhub profile |")
            print("|---|---:|---:|")
            for k in names:
                p = statistics.median(d.get(k, 0) for d in perf) * 100
                h = statistics.median(d.get(k, 0) for d in ours) * 100
                print(f"| `{k}` | {p:.1f}% | {h:.1f}% |")
            bare = statistics.median(times["bare"])
            print(f"wall: bare {bare:.3f} s, perf record {statistics.median(times['perf']) / bare:.2f}x, "
                  f"perfhub profile {statistics.median(times['perfhub']) / bare:.2f}x\n")


if __name__ == "__main__":
    main()
