#!/usr/bin/env python3
"""Side-by-side comparison of `perfhub profile` with `perf record` on this machine.

Three measurements, each figure a median over repetitions, the tools run
alternately in the same session:

1. Overhead. A half-second CPU-bound program (fixtures/workloads/hot.rs) is
   timed as a whole process: bare; under `perfhub profile -F 999` (start-up,
   sampling, symbolizing and writing every output included); under
   `perf record -F 999 -g`; and under `perf record -g` followed by
   `perf script`, which is what a flame graph from perf needs.
2. Shares. The same program, built with and without frame pointers: the
   share of `hot_three_shares` in the samples of the two hot functions
   (truth: 75%), as perfhub and perf record find it. With frame pointers both
   walk them; without, perfhub unwinds with DWARF (`--call-graph dwarf`) and
   perf record with `--call-graph dwarf`, and, for contrast, perf record -g.
3. Symbolization. `perfhub profile -F 4999` of a release build of perfhub
   itself drawing a flame graph of 300,000 random stacks: over 10,000
   samples spread over hundreds of functions of a 30 MB Rust binary with
   debug info; the time perfhub reports for symbolizing them. By default the
   profiled binary is the release build (`debug = "line-tables-only"`);
   `--profiled-binary` names another, such as a build with full debug info
   (CARGO_PROFILE_RELEASE_DEBUG=full).

Usage: scripts/compare-perf-record.py [--reps N] [--profiled-binary PATH]
(needs perf from Debian's linux-perf, rustc, and a release build of perfhub,
which it makes)
"""
import argparse
import os
import random
import re
import shutil
import statistics
import subprocess
import tempfile
import time

from profile_shares import ROOT, perfhub_binary
UNITS = "110"  # about half a second of hot.rs on this machine


def compile_hot(tmp, frame_pointers):
    out = os.path.join(tmp, "hot-fp" if frame_pointers else "hot-nofp")
    fp = "yes" if frame_pointers else "no"
    subprocess.run(["rustc", "-O", "-g", "-C", f"force-frame-pointers={fp}", "--edition", "2021",
                    "-o", out, os.path.join(ROOT, "fixtures/workloads/hot.rs")], check=True)
    return out


def timed(cmd, **kw):
    start = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, **kw)
    return time.perf_counter() - start


def shares_of_folded(lines):
    """Share of hot_three_shares among the two hot functions' samples."""
    one = three = 0
    for stack, weight in lines:
        frames = stack.split(";")
        has = lambda name: any(f == name or f.endswith("::" + name) for f in frames)
        if has("hot_one_share"):
            one += weight
        if has("hot_three_shares"):
            three += weight
    return three / (one + three) if one + three else float("nan"), one + three


def perfhub_shares(perfhub, binary, tmp, dwarf):
    out = os.path.join(tmp, "ph")
    cmd = [perfhub, "profile", "-F", "999", "-o", out]
    if dwarf:
        cmd += ["--call-graph", "dwarf"]
    subprocess.run(cmd + ["--", binary, UNITS], check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    lines = []
    for line in open(os.path.join(out, "stacks.folded")):
        stack, weight = line.rstrip("\n").rsplit(" ", 1)
        lines.append((stack, int(weight)))
    return shares_of_folded(lines)


def perf_script_stacks(data):
    text = subprocess.run(["perf", "script", "-i", data, "-F", "comm,ip,sym"], check=True,
                          capture_output=True, text=True).stdout
    stacks = []
    for block in text.split("\n\n"):
        frames = [m.group(1) for m in re.finditer(r"^\s+[0-9a-f]+ (.+)$", block, re.M)]
        if frames:
            # perf lists the leaf first.
            stacks.append((";".join(reversed([re.sub(r"\+0x[0-9a-f]+$", "", f) for f in frames])), 1))
    return stacks


def perf_shares(binary, tmp, call_graph):
    data = os.path.join(tmp, "perf.data")
    subprocess.run(["perf", "record", "-q", "-F", "999", "--call-graph", call_graph, "-o", data,
                    "--", binary, UNITS], check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    return shares_of_folded(perf_script_stacks(data))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=7)
    ap.add_argument("--profiled-binary", help="the perfhub binary profiled in the symbolization test")
    args = ap.parse_args()
    if shutil.which("perf") is None:
        raise SystemExit("perf is not installed (Debian: apt-get install linux-perf)")
    perfhub = perfhub_binary()
    with tempfile.TemporaryDirectory() as tmp:
        fp = compile_hot(tmp, True)
        nofp = compile_hot(tmp, False)
        data = os.path.join(tmp, "perf.data")
        out = os.path.join(tmp, "out")

        def perf_record_and_script():
            t = timed(["perf", "record", "-q", "-F", "999", "-g", "-o", data, "--", fp, UNITS])
            start = time.perf_counter()
            with open(os.path.join(tmp, "script.txt"), "w") as f:
                subprocess.run(["perf", "script", "-i", data], check=True, stdout=f,
                               stderr=subprocess.DEVNULL)
            return t + time.perf_counter() - start

        cases = {
            "bare": lambda: timed([fp, UNITS]),
            "perfhub profile -F 999": lambda: timed([perfhub, "profile", "-F", "999", "-o", out,
                                                     "--", fp, UNITS]),
            "perf record -F 999 -g": lambda: timed(["perf", "record", "-q", "-F", "999", "-g",
                                                    "-o", data, "--", fp, UNITS]),
            "perf record -g, then perf script": perf_record_and_script,
            "bare, no frame pointers": lambda: timed([nofp, UNITS]),
            "perfhub profile -F 999 --call-graph dwarf (no frame pointers)": lambda: timed(
                [perfhub, "profile", "-F", "999", "--call-graph", "dwarf", "-o", out, "--", nofp, UNITS]),
            "perf record -F 999 --call-graph dwarf (no frame pointers)": lambda: timed(
                ["perf", "record", "-q", "-F", "999", "--call-graph", "dwarf", "-o", data, "--", nofp,
                 UNITS]),
        }
        times = {k: [] for k in cases}
        for rep in range(args.reps):
            order = list(cases) if rep % 2 == 0 else list(reversed(cases))
            for k in order:
                times[k].append(cases[k]())
        bare = statistics.median(times["bare"])
        bare_nofp = statistics.median(times["bare, no frame pointers"])
        print(f"Overhead: {args.reps} repetitions, alternating order; medians of whole-process wall time.\n")
        print("| run | wall time | overhead over bare |")
        print("|---|---:|---:|")
        for k, v in times.items():
            m = statistics.median(v)
            base = bare_nofp if "no frame pointers" in k else bare
            print(f"| {k} | {m * 1e3:.1f} ms | {(m / base - 1) * 100:+.1f}% |")

        print("\nShares of hot_three_shares among the hot functions' samples (truth 75%), "
              f"median of {args.reps}:\n")
        print("| binary | perfhub | perf record | samples (perfhub / perf) |")
        print("|---|---:|---:|---:|")
        rows = [("frame pointers (`-g` / default)", fp, False, "fp"),
                ("no frame pointers (`--call-graph dwarf`, both)", nofp, True, "dwarf"),
                ("no frame pointers (perfhub dwarf, perf `-g`)", nofp, True, "fp")]
        for label, binary, dwarf, perf_cg in rows:
            ph, pf = [], []
            for _ in range(args.reps):
                ph.append(perfhub_shares(perfhub, binary, tmp, dwarf))
                pf.append(perf_shares(binary, tmp, perf_cg))
            s = lambda xs: statistics.median(x[0] for x in xs) * 100
            n = lambda xs: int(statistics.median(x[1] for x in xs))
            print(f"| {label} | {s(ph):.1f}% | {s(pf):.1f}% | {n(ph)} / {n(pf)} |")

        profiled = args.profiled_binary or perfhub
        big = os.path.join(tmp, "big.folded")
        write_random_stacks(big, 300_000)
        print(f"\nSymbolization of a large profile (perfhub profile -F 4999 of `{os.path.basename(profiled)} "
              f"flamegraph` on 300,000 stacks, {os.path.getsize(profiled) / 1e6:.0f} MB binary), "
              f"{args.reps} repetitions:\n")
        sym, after, samples, own = [], [], [], []
        for _ in range(args.reps):
            r = subprocess.run([perfhub, "profile", "-F", "4999", "-o", out, "--", profiled,
                                "flamegraph", big, "-o", os.path.join(tmp, "big.svg")],
                               check=True, capture_output=True, text=True, cwd=tmp)
            m = re.search(r"samples\s+(\d+).*symbolized in ([\d.]+) (µs|ms|s) \(([\d.]+) (µs|ms|s) after",
                          r.stderr)
            scale = {"µs": 1e-6, "ms": 1e-3, "s": 1}
            samples.append(int(m.group(1)))
            sym.append(float(m.group(2)) * scale[m.group(3)])
            after.append(float(m.group(4)) * scale[m.group(5)])
            frames = set()
            for line in open(os.path.join(out, "stacks.folded")):
                stack, _ = line.rstrip("\n").rsplit(" ", 1)
                frames.update(stack.split(";"))
            own.append(len(frames))
        print("| samples | distinct frames | symbolization time, in all | of which after the command ended |")
        print("|---:|---:|---:|---:|")
        print(f"| {int(statistics.median(samples))} | {int(statistics.median(own))} "
              f"| {statistics.median(sym) * 1e3:.0f} ms ({min(sym) * 1e3:.0f} to {max(sym) * 1e3:.0f}) "
              f"| {statistics.median(after) * 1e3:.1f} ms |")


def write_random_stacks(path, n):
    rng = random.Random(42)
    names = [f"module_{i // 50}::function_{i}" for i in range(5000)]
    with open(path, "w") as f:
        for _ in range(n):
            depth = rng.randint(3, 40)
            f.write(";".join(rng.choice(names) for _ in range(depth)) + f" {rng.randint(1, 1000)}\n")


if __name__ == "__main__":
    main()
