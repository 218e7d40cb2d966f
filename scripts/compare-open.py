#!/usr/bin/env python3
"""The open model's client cost per request against the closed model's.

nginx runs one worker pinned to CPU 0 and serves a small static file over
HTTP/1.1 on loopback; `perfhub load` is pinned to CPU 1 and drives it for
DURATION: in the open model at RATE requests per second (`--rate`) over 64
keep-alive connections, and in the closed model with as few connections as
give the throughput nearest RATE (found by a short run at 1, 2, 3, ... 8
connections), and with 64 connections (as fast as it goes). The cost per
request depends on the throughput (a client that idles between responses
pays a wakeup for each), so the fair comparison is the closed model at the
same throughput, and its throughput is shown beside. Requests are counted
by nginx (stub_status) and divided into the client's user + system CPU
time (getrusage of the child). Runs alternate; the table shows medians of
REPS. With --baseline BIN, another perfhub binary's open model runs beside
(an older build, say).

Usage: scripts/compare-open.py [--reps 5] [--duration 10] [--rate 20000] [--baseline BIN]
(needs nginx from Debian; runs only on loopback)
"""
import argparse
import shutil
import statistics

from nginx_bench import build, nginx

PORT = 18486


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--duration", type=int, default=10)
    ap.add_argument("--rate", type=int, default=20000)
    ap.add_argument("--baseline", help="another perfhub binary whose open model runs beside")
    args = ap.parse_args()
    for tool in ["nginx", "taskset"]:
        if shutil.which(tool) is None:
            raise SystemExit(f"{tool} is not installed")
    perfhub = build()
    url = f"http://127.0.0.1:{PORT}/index.html"
    with nginx(PORT) as server:
        server.served()
        d = f"{args.duration}s"
        common = ["-t", "1", "-d", d, "--no-progress"]
        # Connections for a closed model near the rate: the count whose
        # throughput in a short run is nearest it (throughput grows faster
        # than linearly with connections on a client that stops idling).
        short = ["-t", "1", "-d", "2s", "--no-progress"]
        slow_c, best = 1, None
        for c in range(1, 9):
            r, _, wall = server.run_client([perfhub, "load", url, "-c", str(c), *short])
            off = abs(r / wall - args.rate)
            if best is None or off < best:
                slow_c, best = c, off
            if r / wall > args.rate:
                break
        runs = {
            f"open, --rate {args.rate}, 64 connections":
                [perfhub, "load", url, "--rate", str(args.rate), "-c", "64", *common],
            f"closed, {slow_c} connections":
                [perfhub, "load", url, "-c", str(slow_c), *common],
            "closed, 64 connections": [perfhub, "load", url, "-c", "64", *common],
        }
        if args.baseline:
            runs[f"baseline open, --rate {args.rate}"] = [
                args.baseline, "load", url, "--rate", str(args.rate), "-c", "64", *common]
        results = {k: [] for k in runs}
        for rep in range(args.reps):
            order = list(runs) if rep % 2 == 0 else list(reversed(runs))
            for k in order:
                results[k].append(server.run_client(runs[k]))
        print(f"{args.reps} runs each, {d}, nginx 1 worker on CPU 0, client on CPU 1; medians.\n")
        print("| run | requests/s (server) | client CPU s | client CPU µs per request |")
        print("|---|---:|---:|---:|")
        cost = {}
        for k, rs in results.items():
            rps = statistics.median(r[0] / r[2] for r in rs)
            cpu = statistics.median(r[1] for r in rs)
            cost[k] = statistics.median(r[1] / r[0] * 1e6 for r in rs)
            print(f"| {k} | {rps:,.0f} | {cpu:.2f} | {cost[k]:.2f} |")
        open_k = next(iter(runs))
        print()
        for k in list(runs)[1:]:
            print(f"{open_k} / {k}: {cost[open_k] / cost[k]:.2f}x the CPU per request")


if __name__ == "__main__":
    main()
