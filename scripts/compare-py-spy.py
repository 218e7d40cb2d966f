#!/usr/bin/env python3
"""`perfhub profile` against py-spy on a Python program.

Runs fixtures/workloads/python_shares.py (fibonacci_slow, hot_loop and
sort_with_key, whose key function C's `sorted` calls back) REPS times bare,
under `py-spy record` and under `perfhub profile`, at the same rate, each
repetition running every way once in a shuffled order (seeded), and prints:

- each Python function's share of the samples that have Python frames
  (inclusive: the samples whose stack holds the function), medians over the
  runs, py-spy's against perfhub's, and whether perfhub names every function
  py-spy names;
- each way's overhead on the program: the wall time (and CPU time) of its
  `main`, which the workload times itself and prints, medians, over the bare
  run; and the whole run's wall and CPU time (the process tree from start to
  exit, outputs written).

What the overhead goal means is the first: how much slower the profiled
command does its work while a profiler samples it at a given rate. Timed
inside the program, it is measured the same way for every tool, and it
leaves out what the tools do around the command, where they differ: their
start-up and attaching before `main`, and after the command has ended
py-spy writing its file and perfhub symbolizing and writing six outputs
(the whole-run columns show those). Each way's overhead is given twice:
the ratio of the medians, and the median of the per-repetition ratios to
the bare run of the same repetition, which a machine whose load drifts
(other jobs starting and stopping) disturbs less; on a loaded machine only
the side-by-side comparison of the tools is meaningful, not the figures
alone. The load average is printed before and after.

On a machine with no spare CPU, a profiler slows the program down by the
CPU time it takes while the program runs (with autogroup scheduling, the
profiler and the program share one group's share of the machine), so each
profiler's own CPU time from its start to the program's exit is given too,
polled from /proc every 10 ms (each thread's `schedstat`, in nanoseconds):
it depends far less on the machine's load than the wall times do.

py-spy runs as `py-spy record --function --format raw` (functions named by
their first line, as perfhub names them), by default pausing the process at
each sample (what its `--native` view needs), and with `--nonblocking`;
perfhub with its default frame-pointer chains and with `--call-graph dwarf`
(and, with `--baseline-perfhub`, another perfhub binary with frame-pointer
chains, measured alongside: for a change's effect under the same load).
py-spy samples `--rate` times a wall-clock second, perfhub `-F` times a
second of each thread's CPU time: the same rate for this single-threaded
program while it has a CPU.

With `--pin CPU`, every run (the bare one, each profiler and the program it
starts) is confined to that one CPU with `taskset`: the machine with no
spare CPU, where whatever a profiler does while the program runs comes out
of the program's wall time, so the tools' costs can be told apart even
where, with a free CPU beside the program, they are below what the wall
times resolve. The last table compares perfhub with py-spy directly: per
repetition, the ratio of perfhub's `main` wall time to py-spy's, with a
95% interval for its median (from the order statistics, distribution-free)
and how many repetitions perfhub was the faster in.

Usage: scripts/compare-py-spy.py [--reps 5] [--rate 100] [--scale 20]
       [--python python3] [--py-spy py-spy] [--perfhub BIN]
       [--baseline-perfhub BIN] [--seed 1] [--pin CPU] [--skip WAY ...]
(py-spy from PyPI: `pip install py-spy`)
"""
import argparse
import collections
import math
import os
import random
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time

from profile_shares import ROOT, perfhub_binary
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
        stack, _, n = line.rpartition(" ")
        if not n.isdigit():
            # Not a `stack count` line (seen once in a py-spy raw file).
            continue
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


def cpu_truth(python, cwd, scale, pin):
    """Each part's share of the CPU time the parts take, timed in the process."""
    code = TRUTH.replace("sys.argv_scale", str(scale))
    out = subprocess.run(pin + [python, "-c", code], cwd=cwd, capture_output=True, text=True,
                         check=True).stdout.split()
    return {k: float(v) for k, v in (kv.split("=") for kv in out)}


TICK = os.sysconf("SC_CLK_TCK")


def own_cpu(pid):
    """CPU time of process `pid` itself (all its threads, not its children),
    and whether it has a child now. Each thread's time on the CPU comes from
    its `schedstat` (nanoseconds), else from its `stat` (clock ticks)."""
    try:
        cpu, kids = 0.0, False
        for task in os.listdir(f"/proc/{pid}/task"):
            try:
                with open(f"/proc/{pid}/task/{task}/schedstat") as f:
                    cpu += int(f.read().split()[0]) / 1e9
            except (OSError, IndexError, ValueError):
                with open(f"/proc/{pid}/task/{task}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
                cpu += (int(fields[11]) + int(fields[12])) / TICK
            with open(f"/proc/{pid}/task/{task}/children") as f:
                kids = kids or bool(f.read().split())
        return cpu, kids
    except (OSError, IndexError, ValueError):
        return None, False


def timed(cmd, cwd, tool):
    """Wall time of the whole run, CPU time of every process in it, the wall
    and CPU time the program's `main` reports for itself, and with `tool`
    (the command is a profiler that starts the program) the profiler's own
    CPU time up to the moment the program exited, polled every 10 ms."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        p = subprocess.Popen(cmd, stdout=out, stderr=err, text=True, cwd=cwd)
        during, started = None, False
        while p.poll() is None:
            if tool:
                cpu, kids = own_cpu(p.pid)
                if kids:
                    started, during = True, cpu
                elif started:
                    # The program has exited: the profiler's CPU time so far
                    # (the last reading while it ran).
                    tool = False
            time.sleep(0.01)
        wall = time.perf_counter() - t
        if p.returncode != 0:
            raise subprocess.CalledProcessError(p.returncode, cmd)
        out.seek(0)
        err.seek(0)
        text = err.read() + out.read()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    m = re.search(r"main_wall=([0-9.]+) main_cpu=([0-9.]+)", text)
    return wall, cpu, float(m.group(1)), float(m.group(2)), during


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--rate", type=int, default=100)
    ap.add_argument("--scale", type=int, default=20)
    ap.add_argument("--python", default="python3")
    ap.add_argument("--py-spy", dest="py_spy", default="py-spy")
    ap.add_argument("--perfhub", help="a perfhub binary (default: a release build of this tree)")
    ap.add_argument("--baseline-perfhub", dest="baseline",
                    help="another perfhub binary to measure alongside (frame-pointer chains)")
    ap.add_argument("--seed", type=int, default=1, help="seed of the shuffled order")
    ap.add_argument("--pin", type=int, help="run everything on this one CPU (taskset -c)")
    ap.add_argument("--skip", nargs="*", default=[],
                    help="ways to leave out, by name (e.g. 'perfhub profile --call-graph dwarf')")
    args = ap.parse_args()
    pin = ["taskset", "-c", str(args.pin)] if args.pin is not None else []
    perfhub = perfhub_binary(args.perfhub)
    # The interpreter itself, not a shim (pyenv's) that starts it.
    python = subprocess.run([args.python, "-c", "import sys; print(sys.executable)"],
                            capture_output=True, text=True, check=True).stdout.strip()
    version = subprocess.run([python, "--version"], capture_output=True, text=True).stdout.strip()
    rate = str(args.rate)
    with tempfile.TemporaryDirectory() as tmp:
        script = os.path.join(tmp, "python_shares.py")
        with open(WORKLOAD) as src, open(script, "w") as dst:
            dst.write(src.read())
        program = pin + [python, "python_shares.py", str(args.scale)]
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
        if args.baseline:
            ways["perfhub profile (baseline binary)"] = (
                [args.baseline, "profile", "-F", rate, "-o", out, "--"] + program,
                os.path.join(out, "stacks.folded"))
        for way in args.skip:
            if way == "bare" or way == "py-spy record" or way not in ways:
                sys.exit(f"--skip {way!r}: not a way that can be left out "
                         f"(one of {[w for w in ways if w not in ('bare', 'py-spy record')]})")
            del ways[way]
        # The profiler itself on the one CPU too (the program inherits it).
        ways = {w: (cmd if cmd[0] == "taskset" else pin + cmd, r) for w, (cmd, r) in ways.items()}
        walls, cpus = collections.defaultdict(list), collections.defaultdict(list)
        tool_cpus = collections.defaultdict(list)
        main_walls, main_cpus = collections.defaultdict(list), collections.defaultdict(list)
        shares = collections.defaultdict(lambda: collections.defaultdict(list))
        samples = collections.defaultdict(list)
        truth = collections.defaultdict(list)
        order = random.Random(args.seed)
        load_before = os.getloadavg()
        for rep in range(args.reps):
            for k, v in cpu_truth(python, tmp, args.scale, pin).items():
                truth[k].append(v)
            shuffled = list(ways.items())
            order.shuffle(shuffled)
            for way, (cmd, result) in shuffled:
                w, c, mw, mc, during = timed(cmd, tmp, tool=result is not None)
                if during is not None:
                    tool_cpus[way].append(during)
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
        load_after = os.getloadavg()

    pinned = f", everything on CPU {args.pin}" if pin else ""
    print(f"# {version}, {args.rate} Hz, `python_shares.py {args.scale}`, medians of {args.reps}"
          f"{pinned}\n")
    print(f"{os.cpu_count()} CPUs; load average (1, 5, 15 min) before "
          + ", ".join(f"{x:.2f}" for x in load_before) + "; after "
          + ", ".join(f"{x:.2f}" for x in load_after) + "\n")
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
    print("\"over bare\" is the ratio of the medians; \"paired\" the median of each repetition's"
          " ratio to that repetition's bare run, with the middle half of those ratios.\n")
    print("The profiler's CPU is its own process's (all its threads, not the program's) from"
          " its start to the program's exit: what it takes from the program on a machine"
          " with no spare CPU (start-up and attaching included, writing outputs left out).\n")
    print("| run | `main` wall | over bare | paired | `main` CPU | over bare | paired "
          "| profiler CPU while the program ran | whole run wall | whole run CPU |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    med = lambda d, w: statistics.median(d[w])

    def paired(d, way):
        ratios = sorted(a / b - 1 for a, b in zip(d[way], d["bare"]))
        q = statistics.quantiles(ratios, n=4) if len(ratios) >= 2 else ratios * 3
        return (f"{statistics.median(ratios) * 100:+.1f}% "
                f"({q[0] * 100:+.0f} to {q[2] * 100:+.0f})")

    def tool_cpu(way):
        runs = tool_cpus.get(way)
        return f"{statistics.median(runs) * 1000:.0f} ms" if runs else ""

    for way in ways:
        over = lambda d: "" if way == "bare" else f"{(med(d, way) / med(d, 'bare') - 1) * 100:+.1f}%"
        pair = lambda d: "" if way == "bare" else paired(d, way)
        print(f"| {way} | {med(main_walls, way) * 1000:.0f} ms | {over(main_walls)} "
              f"| {pair(main_walls)} "
              f"| {med(main_cpus, way) * 1000:.0f} ms | {over(main_cpus)} | {pair(main_cpus)} "
              f"| {tool_cpu(way)} "
              f"| {med(walls, way) * 1000:.0f} ms | {med(cpus, way) * 1000:.0f} ms |")

    print()
    print("## perfhub against py-spy, repetition by repetition\n")
    print("The ratio of perfhub's `main` wall time to py-spy's in the same repetition: its median,"
          " a 95% interval for that median (order statistics), and the repetitions in which"
          " perfhub's `main` was the faster.\n")
    print("| perfhub | against | median ratio | 95% interval | perfhub faster |")
    print("|---|---|---:|---|---:|")
    for mine in [w for w in ways if w.startswith("perfhub")]:
        for theirs in [w for w in ways if w.startswith("py-spy")]:
            ratios = sorted(a / b for a, b in zip(main_walls[mine], main_walls[theirs]))
            interval = median_interval(ratios)
            faster = sum(r < 1 for r in ratios)
            print(f"| {mine} | {theirs} | {(statistics.median(ratios) - 1) * 100:+.1f}% "
                  f"| {interval} | {faster} of {len(ratios)} |")


def median_interval(sorted_values):
    """A distribution-free interval of at least 95% for the median: the k-th
    smallest and k-th largest values, k from the binomial(n, 1/2) tails."""
    n = len(sorted_values)
    # The largest k with P(Binomial(n, 1/2) < k) <= 2.5%.
    k, below = 0, 0.0
    while True:
        below_next = below + math.comb(n, k) / 2 ** n
        if below_next > 0.025:
            break
        below, k = below_next, k + 1
    if k == 0:
        return "(too few repetitions for 95%)"
    lo, hi = sorted_values[k - 1], sorted_values[n - k]
    return f"{(lo - 1) * 100:+.1f}% to {(hi - 1) * 100:+.1f}%"


if __name__ == "__main__":
    main()