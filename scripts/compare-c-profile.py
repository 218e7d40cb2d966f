#!/usr/bin/env python3
"""`perfhub profile` against `perf record` on C and C++ programs.

Builds fixtures/workloads/c_names.c (hot functions named `f` and `g`),
three_shares.c (one, two and three shares of the same work) and
geo_grid.cpp (the same in member functions of a class template,
`geo::Grid<double>::sweep(long)`) with `-O1 -g -fno-omit-frame-pointer
-fno-inline`, and three_shares once more stripped (`strip --strip-all`),
its debug file (`objcopy --only-keep-debug`) in a temporary `.build-id`
tree that perfhub is pointed at with PERFHUB_DEBUG_DIRS (perf profiles the
unstripped build, whose code is the same). Profiles each REPS times with
both tools at 999 Hz (cpu-clock), and prints each leaf function's share of
the samples (medians) and each tool's wall time over the bare run.

Usage: scripts/compare-c-profile.py [--reps 3] [--perfhub BIN]
(needs perf, from Debian's linux-perf, cc, c++, strip and objcopy)
"""
import argparse
import collections
import os
import re
import statistics
import subprocess
import tempfile
import time

from profile_shares import ROOT, folded_leaf_shares, perf_report_shares, perfhub_binary


def function(frame):
    """A frame compared by its function's name: without the parameter list
    perfhub shows for C++ (`geo::Grid<double>::sweep(long)`) and `perf
    report` leaves out."""
    return re.sub(r"\(.*\)$", "", frame)


def perf_leaf_shares(cmd, data):
    subprocess.run(["perf", "record", "-q", "-e", "cpu-clock", "-F", "999", "-g", "-o", data, "--"]
                   + cmd, check=True, capture_output=True)
    return perf_report_shares(data, function)


def wall(cmd):
    t = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True)
    return time.perf_counter() - t


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--perfhub", help="a perfhub binary (default: a release build of this tree)")
    args = ap.parse_args()
    perfhub = perfhub_binary(args.perfhub)
    with tempfile.TemporaryDirectory() as tmp:
        # (label, the command perf profiles, the command perfhub profiles,
        # perfhub's environment)
        programs = []
        for src, arg in [("c_names.c", "400"), ("three_shares.c", "150"), ("geo_grid.cpp", "150")]:
            exe = os.path.join(tmp, src.rsplit(".", 1)[0])
            compiler = "c++" if src.endswith(".cpp") else "cc"
            subprocess.run([compiler, "-O1", "-g", "-fno-omit-frame-pointer", "-fno-inline", "-o",
                            exe, os.path.join(ROOT, "fixtures", "workloads", src)], check=True)
            programs.append((src, [exe, arg], [exe, arg], None))
        full = os.path.join(tmp, "three_shares")
        stripped = os.path.join(tmp, "stripped", "three_shares")
        os.makedirs(os.path.dirname(stripped))
        subprocess.run(["strip", "--strip-all", "-o", stripped, full], check=True)
        build_id = re.search(r"Build ID: ([0-9a-f]+)",
                             subprocess.run(["readelf", "-n", full], capture_output=True, text=True,
                                            check=True).stdout).group(1)
        debug_dir = os.path.join(tmp, "debug")
        debug_file = os.path.join(debug_dir, ".build-id", build_id[:2], build_id[2:] + ".debug")
        os.makedirs(os.path.dirname(debug_file))
        subprocess.run(["objcopy", "--only-keep-debug", full, debug_file], check=True)
        programs.append(("three_shares.c stripped, debug file by build-id", [full, "150"],
                         [stripped, "150"], dict(os.environ, PERFHUB_DEBUG_DIRS=debug_dir)))
        data, out = os.path.join(tmp, "perf.data"), os.path.join(tmp, "out")
        for src, cmd, ours_cmd, env in programs:
            perf, ours, times = [], [], collections.defaultdict(list)
            for _ in range(args.reps):
                times["bare"].append(wall(cmd))
                perf.append(perf_leaf_shares(cmd, data))
                t = time.perf_counter()
                subprocess.run([perfhub, "profile", "-F", "999", "-o", out, "--"] + ours_cmd,
                               check=True, capture_output=True, env=env)
                times["perfhub"].append(time.perf_counter() - t)
                ours.append(folded_leaf_shares(os.path.join(out, "stacks.folded"), function))
                times["perf"].append(wall(["perf", "record", "-q", "-e", "cpu-clock", "-F", "999",
                                           "-g", "-o", data, "--"] + cmd))
            names = sorted({k for d in perf + ours for k, v in d.items() if v > 0.02})
            print(f"{src} ({args.reps} runs, medians)")
            print("| function | perf record | perfhub profile |")
            print("|---|---:|---:|")
            worst, missing = 0.0, []
            for k in names:
                p = statistics.median(d.get(k, 0) for d in perf) * 100
                h = statistics.median(d.get(k, 0) for d in ours) * 100
                print(f"| `{k}` | {p:.1f}% | {h:.1f}% |")
                worst = max(worst, abs(p - h))
                if p >= 1 and h == 0:
                    missing.append(k)
            print(f"largest difference {worst:.1f} points; named by perf (>= 1%), not by perfhub: "
                  f"{missing or 'none'}")
            bare = statistics.median(times["bare"])
            print(f"wall: bare {bare:.3f} s, perf record {statistics.median(times['perf']) / bare:.2f}x, "
                  f"perfhub profile {statistics.median(times['perfhub']) / bare:.2f}x\n")


if __name__ == "__main__":
    main()
