#!/usr/bin/env python3
"""`perfhub profile` against py-spy on a Python program.

Runs fixtures/workloads/python_shares.py (fibonacci_slow, hot_loop and
sort_with_key, whose key function C's `sorted` calls back) REPS times bare,
under `py-spy record` and under `perfhub profile`, at the same rate,
alternating, and prints:

- each Python function's share of the samples that have Python frames
  (inclusive: the samples whose stack holds the function), medians over the
  runs, py-spy's against perfhub's, and whether perfhub names every function
  py-spy names;
- each way's wall time (whole process, start to exit, outputs written),
  medians, and the overhead over the bare run.

py-spy runs as `py-spy record --function --format raw` (functions named by
their first line, as perfhub names them), by default pausing the process at
each sample (what its `--native` view needs), and with `--nonblocking`;
perfhub with its default frame-pointer chains and with `--call-graph dwarf`.

Usage: scripts/compare-py-spy.py [--reps 5] [--rate 100] [--scale 20]
       [--python python3] [--py-spy py-spy] [--perfhub BIN]
(py-spy from PyPI: `pip install py-spy`)
"""
import argparse
import collections
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WORKLOAD = os.path.join(ROOT, "fixtures", "workloads", "python_shares.py")
# A Python frame as both tools name it: `function (file.py:LINE)`.
PY_FRAME = re.compile(r"^(?P<name>[^;]+) \((?P<file>[^;():]+\.py):(?P<line>\d+)\)$")


def python_shares(folded_text):
    """Inclusive share of each Python function among samples with Python frames."""
    counts, total = collections.Counter(), 0
    for line in folded_text.splitlines():
        line = line.rstrip()
        if not line:
            continue
        stack, n = line.rsplit(" ", 1)
        frames = {f for f in stack.split(";") if PY_FRAME.match(f)}
        if not frames:
            continue
        total += int(n)
        for f in frames:
            counts[f] += int(n)
    return {k: v / total for k, v in counts.items()}, total


TRUTH = """
import sys, time
sys.argv = ["python_shares.py", "0"]
import python_shares as w
parts = {"fibonacci_slow": (w.fibonacci_slow, 22), "hot_loop": (w.hot_loop, 60000),
         "sort_with_key": (w.sort_with_key, 30000)}
spent = dict.fromkeys(parts, 0.0)
for _ in range(int(sys.argv_scale)):
    for name, (f, arg) in parts.items():
        t = time.process_time()
        f(arg)
        spent[name] += time.process_time() - t
total = sum(spent.values())
print(" ".join(f"{k}={v / total}" for k, v in spent.items()))
"""


def cpu_truth(python, cwd, scale):
    """Each part's share of the CPU time the parts take, timed in the process."""
    code = TRUTH.replace("sys.argv_scale", str(scale))
    out = subprocess.run([python, "-c", code], cwd=cwd, capture_output=True, text=True,
                         check=True).stdout.split()
    return {k: float(v) for k, v in (kv.split("=") for kv in out)}


def timed(cmd, cwd):
    """Wall time of the whole run, CPU time of every process in it, and the
    wall and CPU time the program's `main` reports for itself."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    p = subprocess.run(cmd, check=True, capture_output=True, text=True, cwd=cwd)
    wall = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    m = re.search(r"main_wall=([0-9.]+) main_cpu=([0-9.]+)", p.stderr + p.stdout)
    return wall, cpu, float(m.group(1)), float(m.group(2))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--rate", type=int, default=100)
    ap.add_argument("--scale", type=int, default=20)
    ap.add_argument("--python", default="python3")
    ap.add_argument("--py-spy", dest="py_spy", default="py-spy")
    ap.add_argument("--perfhub", help="a perfhub binary (default: a release build of this tree)")
    args = ap.parse_args()
    perfhub = args.perfhub
    if perfhub is None:
        subprocess.run(["cargo", "build", "--release", "-q", "-p", "perfhub-cli"], cwd=ROOT, check=True)
        target = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
        perfhub = os.path.join(target, "release", "perfhub")
    # The interpreter itself, not a shim (pyenv's) that starts it.
    python = subprocess.run([args.python, "-c", "import sys; print(sys.executable)"],
                            capture_output=True, text=True, check=True).stdout.strip()
    version = subprocess.run([python, "--version"], capture_output=True, text=True).stdout.strip()
    rate = str(args.rate)
    with tempfile.TemporaryDirectory() as tmp:
        script = os.path.join(tmp, "python_shares.py")
        with open(WORKLOAD) as src, open(script, "w") as dst:
            dst.write(src.read())
        program = [python, "python_shares.py", str(args.scale)]
        raw = os.path.join(tmp, "py-spy.txt")
        out = os.path.join(tmp, "perfhub")
        ways = {
            "bare": (program, None),
            "py-spy record": ([args.py_spy, "record", "-r", rate, "--function", "--format", "raw",
                               "-o", raw, "--"] + program, raw),
            "py-spy record --nonblocking": ([args.py_spy, "record", "-r", rate, "--function",
                                             "--nonblocking", "--format", "raw", "-o", raw, "--"]
                                            + program, raw),
            "perfhub profile": ([perfhub, "profile", "-F", rate, "-o", out, "--"] + program,
                                os.path.join(out, "stacks.folded")),
            "perfhub profile --call-graph dwarf": ([perfhub, "profile", "-F", rate, "--call-graph",
                                                    "dwarf", "-o", out, "--"] + program,
                                                   os.path.join(out, "stacks.folded")),
        }
        walls, cpus = collections.defaultdict(list), collections.defaultdict(list)
        main_walls, main_cpus = collections.defaultdict(list), collections.defaultdict(list)
        shares = collections.defaultdict(lambda: collections.defaultdict(list))
        samples = collections.defaultdict(list)
        truth = collections.defaultdict(list)
        for rep in range(args.reps):
            for k, v in cpu_truth(python, tmp, args.scale).items():
                truth[k].append(v)
            for way, (cmd, result) in ways.items():
                w, c, mw, mc = timed(cmd, tmp)
                walls[way].append(w)
                cpus[way].append(c)
                main_walls[way].append(mw)
                main_cpus[way].append(mc)
                if result:
                    s, n = python_shares(open(result).read())
                    samples[way].append(n)
                    for f, v in s.items():
                        shares[way][f].append(v)
            print(f"rep {rep + 1}/{args.reps} done", file=sys.stderr)

    print(f"# {version}, {args.rate} Hz, `python_shares.py {args.scale}`, medians of {args.reps}\n")
    print("## Shares of the samples with Python frames (inclusive)\n")
    tools = [w for w in ways if w != "bare"]
    print("| function | " + " | ".join(tools) + " |")
    print("|---|" + "---:|" * len(tools))
    reference = shares["py-spy record"]
    functions = sorted(reference, key=lambda f: -statistics.median(reference[f]))
    worst = 0.0
    def padded(runs):
        # A run that did not name the function counts as 0.
        return statistics.median(runs + [0.0] * (args.reps - len(runs)))

    functions = [f for f in functions if padded(reference[f]) >= 0.01]
    for f in functions:
        ref = padded(reference[f])
        cells = []
        for t in tools:
            v = padded(shares[t].get(f, []))
            cells.append(f"{v * 100:.1f}%")
            if t.startswith("perfhub"):
                worst = max(worst, abs(v - ref))
        print(f"| `{f}` | " + " | ".join(cells) + " |")
    print("| samples with Python frames | "
          + " | ".join(f"{statistics.median(samples[t]):.0f}" for t in tools) + " |")
    missing = {t: [f for f in functions if f not in shares[t]]
               for t in tools if t.startswith("perfhub")}
    print(f"\nLargest difference from py-spy (blocking): {worst * 100:.1f} points; "
          f"functions py-spy names (>= 1%) that perfhub does not: {missing}\n")
    print("## The three parts' split, against their CPU time timed in the process\n")
    print("| part | " + " | ".join(tools) + " | CPU time (`time.process_time`) |")
    print("|---|" + "---:|" * (len(tools) + 1))
    parts = {f.split(" (")[0]: f for f in functions if f.split(" (")[0] in truth}
    for name, frame in parts.items():
        cells = []
        for t in tools:
            splits = []
            for i in range(args.reps):
                got = {n: (shares[t].get(fr, []) + [0.0] * args.reps)[i] for n, fr in parts.items()}
                total = sum(got.values()) or 1.0
                splits.append(got[name] / total)
            cells.append(f"{statistics.median(splits) * 100:.1f}%")
        cells.append(f"{statistics.median(truth[name]) * 100:.1f}%")
        print(f"| `{name}` | " + " | ".join(cells) + " |")
    print()
    print("## Wall time (whole process) and CPU time (all processes)\n")
    print("`main` is the program's own work as it times itself (start-up and the profiler's set-up"
          " and writing left out); the whole run is the process tree from start to exit.\n")
    print("| run | `main` wall | over bare | `main` CPU | over bare | whole run wall | whole run CPU |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    med = lambda d, w: statistics.median(d[w])
    for way in ways:
        over = lambda d: "" if way == "bare" else f"{(med(d, way) / med(d, 'bare') - 1) * 100:+.1f}%"
        print(f"| {way} | {med(main_walls, way) * 1000:.0f} ms | {over(main_walls)} "
              f"| {med(main_cpus, way) * 1000:.0f} ms | {over(main_cpus)} "
              f"| {med(walls, way) * 1000:.0f} ms | {med(cpus, way) * 1000:.0f} ms |")


if __name__ == "__main__":
    main()
