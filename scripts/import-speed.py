#!/usr/bin/env python3
"""Parse speed and memory of `perfhub import auto` on large result files.

Builds a Google Benchmark JSON file and a pytest-benchmark JSON file (with
`--benchmark-save-data`'s raw timings) of about 50 MB each, by repeating the
benchmarks of the real runs in `fixtures/` under new names, then imports
each one several times, alternating, and reports the median wall time and
the peak resident set size (`wait4`'s `ru_maxrss`) against the file's size.

The goal (issue 19): under 1 s, with memory under 4x the file size.

Usage: scripts/import-speed.py [--reps N] [--mb SIZE] [--perfhub PATH]
"""

import argparse
import copy
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# As the tools write them: Google Benchmark and pytest-benchmark both indent.
INDENT = 2


def grow(template, rows, rename, target_bytes):
    """`template` with `rows` repeated under new names until its JSON text
    is at least `target_bytes` long."""
    one = len(json.dumps(rows, indent=INDENT))
    copies = max(1, target_bytes // one)
    out = []
    for i in range(copies):
        for row in rows:
            out.append(rename(copy.deepcopy(row), i))
    doc = copy.deepcopy(template)
    return doc, out


def google_benchmark(target):
    text = open(os.path.join(ROOT, "fixtures/google-benchmark/run-a.json")).read()
    doc = json.loads(text.replace("NaN", "null"))

    def rename(row, i):
        for key in ("name", "run_name"):
            if key in row:
                row[key] = f"{row[key]}/copy{i}"
        row["family_index"] = row.get("family_index", 0) + 1000 * i
        return row

    doc, rows = grow(doc, doc["benchmarks"], rename, target)
    doc["benchmarks"] = rows
    return json.dumps(doc, indent=INDENT)


def pytest_benchmark(target):
    doc = json.load(open(os.path.join(ROOT, "fixtures/pytest-benchmark/run-a.json")))

    def rename(row, i):
        row["name"] = f"{row['name']}_copy{i}"
        row["fullname"] = f"{row['fullname']}_copy{i}"
        return row

    doc, rows = grow(doc, doc["benchmarks"], rename, target)
    doc["benchmarks"] = rows
    return json.dumps(doc, indent=INDENT)


def run(perfhub, path, out):
    start = time.perf_counter()
    proc = subprocess.Popen(
        [perfhub, "import", "auto", path, "-o", out],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    err = proc.stderr.read().decode()
    proc.stderr.close()
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"perfhub import auto {path} failed: {err}")
    return wall, usage.ru_maxrss * 1024


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=7)
    ap.add_argument("--mb", type=float, default=50)
    ap.add_argument(
        "--perfhub",
        default=os.path.join(
            os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target")),
            "release/perfhub",
        ),
    )
    ap.add_argument("--generate", metavar="DIR", help=argparse.SUPPRESS)
    args = ap.parse_args()
    target = int(args.mb * 1e6)
    makers = [("Google Benchmark", google_benchmark), ("pytest-benchmark", pytest_benchmark)]
    paths = lambda tmp: {n: os.path.join(tmp, n.replace(" ", "-").lower() + ".json") for n, _ in makers}
    if args.generate:
        for (name, make), path in zip(makers, paths(args.generate).values()):
            with open(path, "w") as f:
                f.write(make(target))
        return
    with tempfile.TemporaryDirectory() as tmp:
        # Made by another process: Linux carries the high-water mark of the
        # process that starts perfhub into perfhub's own `ru_maxrss`, and
        # this one would hold the documents it built.
        subprocess.run([sys.executable, __file__, "--mb", str(args.mb), "--generate", tmp], check=True)
        files = paths(tmp)
        walls = {n: [] for n in files}
        rss = {n: [] for n in files}
        for _ in range(args.reps):
            for name, path in files.items():
                w, r = run(args.perfhub, path, os.path.join(tmp, "out.json"))
                walls[name].append(w)
                rss[name].append(r)
        print(f"`perfhub import auto`, {args.reps} runs each, alternating:\n")
        print("| file | size | benchmarks | wall time, median (min to max) | peak RSS, median | RSS / size |")
        print("|---|---:|---:|---:|---:|---:|")
        for name, path in files.items():
            size = os.path.getsize(path)
            subprocess.run(
                [args.perfhub, "import", "auto", path, "-o", os.path.join(tmp, "out.json")],
                check=True,
                stdout=subprocess.DEVNULL,
            )
            count = len(json.load(open(os.path.join(tmp, "out.json")))["benchmarks"])
            w = walls[name]
            r = statistics.median(rss[name])
            print(
                f"| {name} | {size / 1e6:.1f} MB | {count:,} | {statistics.median(w) * 1e3:.0f} ms "
                f"({min(w) * 1e3:.0f} to {max(w) * 1e3:.0f}) | {r / 2**20:.0f} MiB | {r / size:.2f}x |"
            )


if __name__ == "__main__":
    main()
