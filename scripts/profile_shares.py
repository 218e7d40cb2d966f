"""Helpers shared by the scripts that compare `perfhub profile` with `perf record` and py-spy.

- `perfhub_binary`: the perfhub binary to measure (a release build of this
  tree unless one is given);
- `folded_leaf_shares`: each leaf frame's share of a folded-stacks file;
- `perf_report_shares`: each symbol's share of a perf.data file's samples
  (self time), as `perf report` gives it.

Names go through `name`, which maps a frame to the name it is compared by.
"""
import collections
import os
import re
import subprocess

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def perfhub_binary(given=None):
    if given is not None:
        return given
    subprocess.run(["cargo", "build", "--release", "-q", "-p", "perfhub-cli"], cwd=ROOT, check=True)
    target = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
    return os.path.join(target, "release", "perfhub")


def folded_leaf_shares(path, name=lambda frame: frame):
    counts, total = collections.Counter(), 0
    for line in open(path):
        line = line.rstrip()
        if not line:
            continue
        stack, n = line.rsplit(" ", 1)
        counts[name(stack.split(";")[-1])] += int(n)
        total += int(n)
    return {k: v / total for k, v in counts.items()}


def perf_report_shares(data, name=lambda frame: frame, env=None):
    out = subprocess.run(["perf", "report", "-i", data, "--no-children", "--sort", "sym",
                          "--stdio", "-g", "none", "--percent-limit", "0.5"],
                         capture_output=True, text=True, check=True, env=env).stdout
    shares = {}
    for line in out.splitlines():
        # `  50.02%  [.] threeShares` (the name may hold spaces).
        m = re.match(r"\s*([0-9.]+)%\s+\[[.k]\]\s+(.*\S)", line)
        if m:
            key = name(m.group(2))
            shares[key] = shares.get(key, 0.0) + float(m.group(1)) / 100
    return shares
