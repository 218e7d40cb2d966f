#!/usr/bin/env python3
"""A sequence scenario's client cost per request against the plain closed
model's.

nginx (one worker on CPU 0, loopback) answers a login with a JSON token and
a session cookie, and an orders page that needs both (401 otherwise). The
flow is three requests per iteration: POST /login (the token extracted by
json:$.token, the cookie kept by the jar), GET /orders with the bearer
token and the cookie, GET /plain. The plain run loads /plain alone (every
answer is nginx's `return`, none a file). Both run the closed model with 64 connections, pinned to CPU 1, for
DURATION; requests are counted by nginx and divided into the client's CPU
time. Runs alternate; medians of REPS. Every flow run must have 0 failed
checks and 0 skipped requests (read from its report).

With --vus N, the flow also runs once with N virtual users (connections)
and its peak resident memory is printed beside the plain model's at N
connections.

Usage: scripts/compare-flow.py [--reps 5] [--duration 10] [--connections 64] [--vus 10000]
"""
import argparse
import json
import os
import statistics
import tempfile

from nginx_bench import build, nginx

PORT = 18487

LOCATIONS = """
        location = /login {
            add_header Set-Cookie "session=s1; Path=/; HttpOnly";
            default_type application/json;
            return 200 '{"token": "t-1", "orders": [{"id": "o1"}]}';
        }
        location = /orders {
            if ($http_authorization != "Bearer t-1") { return 401; }
            if ($cookie_session != "s1") { return 401; }
            return 200 "orders\\n";
        }
        location = /plain { return 200 "plain\\n"; }
"""

SCENARIO = """mode = "sequence"

[[request]]
name = "login"
method = "POST"
url = "http://127.0.0.1:{port}/login"
body = '{{"user":"a","password":"b"}}'
extract = {{ token = "json:$.token" }}

[[request]]
name = "orders"
url = "http://127.0.0.1:{port}/orders"
headers = {{ authorization = "Bearer ${{token}}" }}
checks = {{ status = [200] }}

[[request]]
name = "home"
url = "http://127.0.0.1:{port}/plain"
"""


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--duration", type=int, default=10)
    ap.add_argument("--connections", type=int, default=64)
    ap.add_argument("--vus", type=int, help="also measure peak memory with this many virtual users")
    args = ap.parse_args()
    perfhub = build()
    with nginx(PORT, locations=LOCATIONS) as server, tempfile.TemporaryDirectory() as tmp:
        scenario = os.path.join(tmp, "flow.toml")
        with open(scenario, "w") as f:
            f.write(SCENARIO.format(port=PORT))
        report = os.path.join(tmp, "flow.json")
        common = ["-t", "1", "-c", str(args.connections), "-d", f"{args.duration}s", "--no-progress"]
        runs = {
            "plain closed model, GET /plain":
                [perfhub, "load", f"http://127.0.0.1:{PORT}/plain", *common],
            "flow: login (json extract, cookie), orders, plain":
                [perfhub, "load", "--scenario", scenario, "--export-json", report, *common],
        }
        results = {k: [] for k in runs}
        for rep in range(args.reps):
            order = list(runs) if rep % 2 == 0 else list(reversed(runs))
            for k in order:
                results[k].append(server.run_client(runs[k]))
                if k.startswith("flow"):
                    with open(report) as f:
                        total = next(b for b in json.load(f)["benchmarks"] if b["name"] == "total")
                    m = {x["metric"]: x.get("value") for x in total["measurements"]}
                    if m["check_failures"] or m["skipped"] or m["errors"]:
                        raise SystemExit(f"the flow failed: {m}")
        print(f"{args.reps} runs each, {args.duration}s, {args.connections} connections, "
              "nginx 1 worker on CPU 0, client on CPU 1; medians.\n")
        print("| run | requests/s (server) | client CPU µs per request |")
        print("|---|---:|---:|")
        cost = {}
        for k, rs in results.items():
            rps = statistics.median(r[0] / r[2] for r in rs)
            cost[k] = statistics.median(r[1] / r[0] * 1e6 for r in rs)
            print(f"| {k} | {rps:,.0f} | {cost[k]:.2f} |")
        plain, flow = list(runs)
        print(f"\nflow / plain: {cost[flow] / cost[plain]:.2f}x the client CPU per request")
        if args.vus:
            print(f"\nPeak resident memory with {args.vus} connections, {args.duration}s:\n")
            print("| run | requests/s | peak RSS MiB |")
            print("|---|---:|---:|")
            for k, cmd in runs.items():
                cmd = [str(args.vus) if c == str(args.connections) else c for c in cmd]
                rss = os.path.join(tmp, "rss")
                # GNU time's %M: the peak resident set of the run, in KiB.
                n, _, wall = server.run_client(["/usr/bin/time", "-o", rss, "-f", "%M", *cmd])
                with open(rss) as f:
                    peak = int(f.read().split()[-1]) / 1024
                print(f"| {k} | {n / wall:,.0f} | {peak:.0f} |")


if __name__ == "__main__":
    main()
