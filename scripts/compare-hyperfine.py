#!/usr/bin/env python3
"""Side-by-side comparison of `perfhub run` with hyperfine on this machine.

For each command, both tools run it with R and with 2R runs, alternating
tool order, for several repetitions. Reported per tool, as medians over
repetitions:

- the mean run time the tool reports (from the 2R-run invocation), and the
  difference between the tools' means paired by repetition (the two ran
  back to back), as the median and range over repetitions;
- the overhead per run: the time the tool spends outside the measured child
  for each extra run, (T(2R) - T(R) - sum of the extra runs' times) / R,
  where T is the whole tool process's wall time;
- the fixed cost: start-up, environment probing and writing the report,
  T(R) - sum of its runs' times - R * overhead per run.

Then the fixed cost of `perfhub run --runs 10 -- true` (the goal is 5 ms at
most) is measured on its own, side by side with `hyperfine -N --runs 10
true`: FIXED_REPS invocations of each, alternating, each giving
T - sum of its 10 runs' times - 10 * that tool's overhead per run for `true`
from the table, reported as the median and quartiles.

Commands are given by absolute path: hyperfine looks a bare name up on PATH
inside its timed window (one failed execve per PATH entry before the right
one), which would add tens of microseconds to its `true`.

Usage: scripts/compare-hyperfine.py [--reps N] [--fixed-reps N] [--perfhub PATH]
(needs hyperfine, 1.18 for the published figures, and rustc; run it outside a
Cargo project and outside a git repository, or perfhub also asks rustc for
its version and git for the checkout's state; --perfhub uses that binary
instead of building one)
"""
import argparse
import json
import os
import statistics
import subprocess
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def build():
    subprocess.run(["cargo", "build", "--release", "-q", "-p", "perfhub-cli"], cwd=ROOT, check=True)
    target = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
    return os.path.join(target, "release", "perfhub")


def compile_workload(tmp):
    out = os.path.join(tmp, "linear")
    subprocess.run(["rustc", "-O", "--edition", "2021", "-o", out,
                    os.path.join(ROOT, "fixtures/workloads/linear.rs")], check=True)
    return out


def timed(cmd):
    start = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def once(cmd, out):
    total = timed(cmd)
    r = json.load(open(out))["results"][0]
    return total, r


def outside(make_cmd, runs, out):
    """Time of one invocation outside its runs: T - sum of the runs' times."""
    t, r = once(make_cmd(runs), out)
    return t - sum(r["times"])


def measure(make_cmd, runs, out):
    t1, r1 = once(make_cmd(runs), out)
    t2, r2 = once(make_cmd(2 * runs), out)
    outside1 = t1 - sum(r1["times"])
    outside2 = t2 - sum(r2["times"])
    per_run = (outside2 - outside1) / runs
    fixed = outside1 - runs * per_run
    return r2["mean"], r2["stddev"], per_run, fixed


def hyperfine_cmd(argv, out):
    return lambda n: ["hyperfine", "-N", "--style", "none", "--runs", str(n),
                      "--export-json", out, "--", " ".join(argv)]


def perfhub_cmd(perfhub, argv, out):
    return lambda n: [perfhub, "run", "--no-progress", "--runs", str(n),
                      "--export-hyperfine-json", out, "--"] + argv


def run_hyperfine(argv, runs, out):
    return measure(hyperfine_cmd(argv, out), runs, out)


def run_perfhub(perfhub, argv, runs, out):
    return measure(perfhub_cmd(perfhub, argv, out), runs, out)


def quartiles(xs):
    q = statistics.quantiles(xs, n=4)
    return q[0], statistics.median(xs), q[2]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--fixed-reps", type=int, default=30)
    ap.add_argument("--perfhub", help="the perfhub binary to measure (default: build it)")
    args = ap.parse_args()
    perfhub = args.perfhub or build()
    versions = [subprocess.run([tool, "--version"], capture_output=True, text=True,
                               check=True).stdout.strip() for tool in ("hyperfine", perfhub)]
    with tempfile.TemporaryDirectory() as tmp:
        linear = compile_workload(tmp)
        cases = [
            ("sleep 0.05", ["/usr/bin/sleep", "0.05"], 30),
            ("true", ["/usr/bin/true"], 300),
            ("linear 100000000 (CPU-bound)", [linear, "100000000"], 15),
        ]
        out = os.path.join(tmp, "out.json")
        rows = []
        for label, argv, runs in cases:
            res = {"hyperfine": [], "perfhub": []}
            for rep in range(args.reps):
                order = ["hyperfine", "perfhub"] if rep % 2 == 0 else ["perfhub", "hyperfine"]
                for tool in order:
                    if tool == "hyperfine":
                        res[tool].append(run_hyperfine(argv, runs, out))
                    else:
                        res[tool].append(run_perfhub(perfhub, argv, runs, out))
            med = {t: tuple(statistics.median(x[i] for x in v) for i in range(4))
                   for t, v in res.items()}
            h, p = med["hyperfine"], med["perfhub"]
            # Paired by repetition: the two tools ran back to back, so the
            # machine's drift between repetitions cancels out.
            diffs = sorted((pp[0] - hh[0]) / hh[0] * 100
                           for hh, pp in zip(res["hyperfine"], res["perfhub"]))
            diff = statistics.median(diffs)
            rows.append((label, runs, h, p, diff, diffs[0], diffs[-1]))
            if label == "true":
                per_run_true = {"hyperfine": h[2], "perfhub": p[2]}
        # The fixed cost of 10 runs of `true`, many times over: each
        # invocation's time outside its runs, less 10 times the tool's
        # overhead per run measured above.
        true = ["/usr/bin/true"]
        fixed = {"hyperfine": [], "perfhub": []}
        for rep in range(args.fixed_reps):
            order = ["hyperfine", "perfhub"] if rep % 2 == 0 else ["perfhub", "hyperfine"]
            for tool in order:
                cmd = hyperfine_cmd(true, out) if tool == "hyperfine" else perfhub_cmd(perfhub, true, out)
                fixed[tool].append(outside(cmd, 10, out) - 10 * per_run_true[tool])
        print(f"{versions[0]} against {versions[1]}.")
        print(f"{args.reps} repetitions per tool, alternating order; medians over repetitions.\n")
        print("| command | runs | hyperfine mean ± σ | perfhub mean ± σ | paired difference (range) | overhead/run hyperfine | overhead/run perfhub | fixed cost hyperfine | fixed cost perfhub |")
        print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
        for label, runs, h, p, diff, lo, hi in rows:
            ms = lambda s: f"{s * 1e3:.3f} ms"
            print(f"| `{label}` | {runs}+{2 * runs} | {ms(h[0])} ± {ms(h[1])} | {ms(p[0])} ± {ms(p[1])} "
                  f"| {diff:+.2f}% ({lo:+.1f}% to {hi:+.1f}%) | {ms(h[2])} | {ms(p[2])} | {ms(h[3])} | {ms(p[3])} |")
        print(f"\nFixed cost of 10 runs of `true`, {args.fixed_reps} invocations per tool, alternating:\n")
        print("| tool | fixed cost, median | quartiles | min | max |")
        print("|---|---:|---:|---:|---:|")
        for tool in ("hyperfine", "perfhub"):
            lo, med, hi = quartiles(fixed[tool])
            print(f"| {tool} | {med * 1e3:.2f} ms | {lo * 1e3:.2f} to {hi * 1e3:.2f} ms "
                  f"| {min(fixed[tool]) * 1e3:.2f} ms | {max(fixed[tool]) * 1e3:.2f} ms |")


if __name__ == "__main__":
    main()
