#!/usr/bin/env python3
"""Side-by-side efficiency of `perfhub load`, wrk and oha against nginx.

nginx runs one worker pinned to CPU 0 and serves a small static file on
loopback; each client is pinned to CPU 1 and drives 64 keep-alive
connections for DURATION. Requests are counted on the server's side
(nginx's stub_status, before and after) and divided by the client's user +
system CPU seconds (getrusage of the child), so a client that burns CPU to
send the same requests scores lower. Each tool runs REPS times, alternating;
the table shows medians.

Also, with --memory N: peak RSS of `perfhub load` over a closed-model run of
N requests' worth of time (the run's length is estimated from a first
measurement of its rate).

Usage: scripts/compare-load.py [--reps 3] [--duration 10] [--memory 10000000]
(needs nginx and wrk from Debian, and oha from `cargo install oha`; runs only
on loopback)
"""
import argparse
import os
import shutil
import statistics
import subprocess
import urllib.request

from nginx_bench import build, nginx

PORT = 18481


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--duration", type=int, default=10)
    ap.add_argument("--memory", type=int, default=0, help="requests for the memory run (0: skip)")
    args = ap.parse_args()
    for tool in ["nginx", "wrk", "taskset"]:
        if shutil.which(tool) is None:
            raise SystemExit(f"{tool} is not installed")
    oha = shutil.which("oha") or os.path.expanduser("~/.cargo/bin/oha")
    perfhub = build()
    url = f"http://127.0.0.1:{PORT}/index.html"
    with nginx(PORT) as server:
        with urllib.request.urlopen(url) as r:
            body = r.read()
            if r.status != 200 or body != b"Hello, world\n":
                raise SystemExit(f"nginx answered {r.status} {body[:60]!r}, not the test file")
        d = str(args.duration)
        tools = {
            "perfhub load": [perfhub, "load", url, "-c", "64", "-t", "1", "-d", f"{d}s",
                             "--no-progress", "--expect-status", "200"],
            "wrk": ["wrk", "-t", "1", "-c", "64", "-d", f"{d}s", url],
        }
        if os.path.exists(oha):
            tools["oha"] = [oha, "--no-tui", "-c", "64", "-z", f"{d}s", url]
        results = {k: [] for k in tools}
        for rep in range(args.reps):
            order = list(tools) if rep % 2 == 0 else list(reversed(tools))
            for k in order:
                results[k].append(server.run_client(tools[k]))
        print(f"{args.reps} runs each, {d} s, 64 connections, nginx 1 worker on CPU 0, "
              "client on CPU 1; medians.\n")
        print("| client | requests/s (server) | client CPU s | requests per client CPU-second |")
        print("|---|---:|---:|---:|")
        eff = {}
        for k, runs in results.items():
            rps = statistics.median(r[0] / r[2] for r in runs)
            cpu = statistics.median(r[1] for r in runs)
            e = statistics.median(r[0] / r[1] for r in runs)
            eff[k] = e
            print(f"| {k} | {rps:,.0f} | {cpu:.2f} | {e:,.0f} |")
        print()
        for k in eff:
            if k != "perfhub load":
                print(f"perfhub / {k}: {eff['perfhub load'] / eff[k]:.2f}x")

        if args.memory:
            r, _, wall = server.run_client(tools["perfhub load"])
            rate = r / wall
            seconds = max(1, int(args.memory / rate * 1.05))
            cmd = ["/usr/bin/time", "-f", "%M", "taskset", "-c", "1", perfhub, "load", url,
                   "-c", "64", "-t", "1", "-d", f"{seconds}s", "--no-progress"]
            before = server.served()
            out = subprocess.run(cmd, check=True, capture_output=True, text=True)
            n = server.served() - before - 1
            peak_kib = int(out.stderr.strip().splitlines()[-1])
            print(f"\nMemory: {n:,} requests in {seconds} s, peak RSS {peak_kib / 1024:.1f} MiB")


if __name__ == "__main__":
    main()
