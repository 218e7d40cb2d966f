#!/usr/bin/env python3
"""Power curve of `perfhub ab --paired` beside tango on the same functions.

Clones this repository into a temporary directory. For each effect size in
--pct (0: an A/A run), makes the `work` benchmark of
fixtures/perfhub-bench-project (perfhub's own harness) and of
fixtures/tango-project (the tango-bench crate, on the first project's
library) PCT% slower by raising `STEPS` in the working tree, and runs, RUNS times each,
alternating:

- `perfhub ab --base HEAD --paired=TIME --min-effect EFFECT -- cargo bench`
  in the perfhub project: `work` flagged "regressed" counts as found;
- tango's paired comparison of the head build against the base build
  (`cargo bench --bench=spin -- compare BASE -t TIME`, the base executable
  built once from `STEPS = 1000` as `cargo export` does): a change marked
  significant (`*`) and positive counts as found.

`fixed` is unchanged on both sides in every run: a verdict of change on it is a
false alarm. Prints one JSON line per run and a table per tool.

Usage: scripts/ab-paired-power.py [--pct 1 --pct 2 ...] [--runs 10]
       [--aa-runs 20] [--time 1] [--min-effect 0.5%] [--perfhub PATH]
"""
import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TANGO_LINE = re.compile(r"^(\S+)\s+\[.*\]\s+([+-]?[\d.]+)%(\*?)\s*$")


def build():
    subprocess.run(["cargo", "build", "--release", "-q", "-p", "perfhub-cli"], cwd=ROOT, check=True)
    target = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
    return os.path.join(target, "release", "perfhub")


def set_steps(lib, original, pct):
    steps = 1000 * (100 + pct) // 100
    with open(lib, "w") as f:
        f.write(original.replace("STEPS: u64 = 1000;", f"STEPS: u64 = {steps};"))


def bench_executable(project, env):
    """Builds the project's `spin` bench and returns its executable."""
    p = subprocess.run(["cargo", "bench", "--no-run", "-q", "--bench=spin", "--message-format=json"],
                       cwd=project, env=env, capture_output=True, text=True, check=True)
    exes = [json.loads(l)["executable"] for l in p.stdout.splitlines()
            if l.startswith("{") and '"executable":"' in l]
    return exes[-1]


def perfhub_run(perfhub, project, env, base_target, seconds, effect, seed, out):
    cmd = [perfhub, "ab", "--base", "HEAD", f"--paired={seconds}s", "--min-effect", effect,
           "--base-target-dir", base_target, "--seed", str(seed), "--no-fail",
           "--export-json", out, "--", "cargo", "bench"]
    p = subprocess.run(cmd, cwd=project, env=env, capture_output=True, text=True)
    if p.returncode != 0:
        raise SystemExit(f"perfhub ab exited {p.returncode}:\n{p.stdout}\n{p.stderr}")
    report = json.load(open(out))
    return {c["benchmark"]: (c["ratio"] - 1, c["verdict"], c.get("mde")) for c in report["comparisons"]}


def tango_run(project, env, base_exe, seconds):
    p = subprocess.run(["cargo", "bench", "-q", "--bench=spin", "--", "compare", base_exe, "-t", str(seconds)],
                       cwd=project, env=env, capture_output=True, text=True)
    if p.returncode != 0:
        raise SystemExit(f"tango exited {p.returncode}:\n{p.stdout}\n{p.stderr}")
    out = {}
    for line in p.stdout.splitlines():
        m = TANGO_LINE.match(line.strip())
        if m:
            change = float(m.group(2)) / 100
            significant = m.group(3) == "*"
            verdict = ("regressed" if change > 0 else "improved") if significant else "unchanged"
            out[m.group(1)] = (change, verdict, None)
    if set(out) != {"work", "fixed"}:
        raise SystemExit(f"cannot read tango's output:\n{p.stdout}")
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--pct", type=int, action="append", help="effect sizes in percent; default 1 2 3 5 10")
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--aa-runs", type=int, default=20, help="A/A runs (0 to skip)")
    ap.add_argument("--time", type=float, default=1.0, help="seconds of measurement per benchmark")
    ap.add_argument("--min-effect", default="0.5%", help="perfhub's --min-effect")
    ap.add_argument("--perfhub", help="the perfhub binary (default: build it)")
    args = ap.parse_args()
    pcts = args.pct or [1, 2, 3, 5, 10]
    plan = ([(0, args.aa_runs)] if args.aa_runs else []) + [(p, args.runs) for p in pcts]
    perfhub = args.perfhub or build()
    results = {"perfhub": {}, "tango": {}}
    with tempfile.TemporaryDirectory() as tmp:
        repo = os.path.join(tmp, "repo")
        subprocess.run(["git", "clone", "-q", ROOT, repo], check=True)
        ph_project = os.path.join(repo, "fixtures", "perfhub-bench-project")
        tg_project = os.path.join(repo, "fixtures", "tango-project")
        ph_env = dict(os.environ, CARGO_TARGET_DIR=os.path.join(tmp, "ph-head"))
        tg_env = dict(os.environ, CARGO_TARGET_DIR=os.path.join(tmp, "tango"))
        ph_base = os.path.join(tmp, "ph-base")
        lib = os.path.join(ph_project, "src", "lib.rs")
        original = open(lib).read()
        # tango's base: the unchanged build, copied out as `cargo export` does.
        base_exe = os.path.join(tmp, "tango-base-spin")
        shutil.copy(bench_executable(tg_project, tg_env), base_exe)
        seed = 3000
        for pct, runs in plan:
            set_steps(lib, original, pct)
            bench_executable(tg_project, tg_env)
            for i in range(runs):
                seed += 1
                tools = ["perfhub", "tango"] if i % 2 == 0 else ["tango", "perfhub"]
                for tool in tools:
                    started = time.time()
                    if tool == "perfhub":
                        out = os.path.join(tmp, f"ph-{pct}-{i}.json")
                        got = perfhub_run(perfhub, ph_project, ph_env, ph_base, args.time,
                                          args.min_effect, seed, out)
                    else:
                        got = tango_run(tg_project, tg_env, base_exe, args.time)
                    row = {
                        "tool": tool, "pct": pct, "run": i + 1,
                        "work": [round(got["work"][0] * 100, 2), got["work"][1]],
                        "fixed": [round(got["fixed"][0] * 100, 2), got["fixed"][1]],
                        "mde": round(got["work"][2] * 100, 2) if got["work"][2] else None,
                        "seconds": round(time.time() - started, 1),
                        "load": round(os.getloadavg()[0], 1),
                    }
                    results[tool].setdefault(pct, []).append(row)
                    print(json.dumps(row), flush=True)
    print()
    print("| tool | change in `work` | runs | `work` flagged regressed | `fixed` flagged (false alarms) | median wall time per run |")
    print("|---|---:|---:|---:|---:|---:|")
    for tool, by_pct in results.items():
        for pct, rows in by_pct.items():
            # A flag is a verdict of change; "unchanged" and "inconclusive"
            # are not.
            flagged = ("regressed", "improved")
            found = sum(r["work"][1] == "regressed" for r in rows)
            if pct == 0:
                found = sum(r["work"][1] in flagged for r in rows)
            false = sum(r["fixed"][1] in flagged for r in rows)
            label = "none (A/A)" if pct == 0 else f"+{pct}%"
            print(f"| {tool} | {label} | {len(rows)} | {found} of {len(rows)}{' (either way)' if pct == 0 else ''} "
                  f"| {false} of {len(rows)} | {statistics.median(r['seconds'] for r in rows):.1f} s |")


if __name__ == "__main__":
    main()
