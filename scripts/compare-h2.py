#!/usr/bin/env python3
"""Side-by-side efficiency of `perfhub load --http2` and h2load over h2c.

nginx runs one worker pinned to CPU 0 and serves a small static file over
HTTP/2 with prior knowledge (h2c) on loopback; each client is pinned to CPU
1 and drives 64 connections for DURATION, with 1 and with 10 streams per
connection (`--streams N`, h2load's `-m N`). Requests are counted on the
server's side (nginx's stub_status on a second, HTTP/1.1 port, before and
after) and divided by the client's user + system CPU seconds (getrusage of
the child). Each client runs REPS times, alternating; the table shows
medians.

With --baseline BIN, another perfhub binary runs beside (an older build,
say), and its ratio to h2load is shown too.

Usage: scripts/compare-h2.py [--reps 3] [--duration 10] [--baseline BIN]
(needs nginx and h2load, Debian packages nginx and nghttp2-client; runs only
on loopback)
"""
import argparse
import shutil
import statistics

from nginx_bench import build, nginx

STATUS_PORT = 18483
H2C_PORT = 18484
H2C_SERVER = """server {
        listen 127.0.0.1:%d http2;
        location / { root {dir}/www; }
    }""" % H2C_PORT


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--duration", type=int, default=10)
    ap.add_argument("--baseline", help="another perfhub binary run beside")
    args = ap.parse_args()
    for tool in ["nginx", "h2load", "taskset"]:
        if shutil.which(tool) is None:
            raise SystemExit(f"{tool} is not installed")
    perfhub = build()
    url = f"http://127.0.0.1:{H2C_PORT}/index.html"
    with nginx(STATUS_PORT, http_extra="http2_max_concurrent_streams 128;", extra_servers=H2C_SERVER) as server:
        server.served()
        d = str(args.duration)
        print(f"{args.reps} runs each, {d} s, 64 connections over h2c, nginx 1 worker on "
              "CPU 0, client on CPU 1; medians.\n")
        print("| streams | client | requests/s (server) | client CPU s "
              "| requests per client CPU-second | perfhub / h2load |")
        print("|---:|---|---:|---:|---:|---:|")
        for m in ["1", "10"]:
            tools = {
                "perfhub load": [perfhub, "load", url, "--http2", "--streams", m, "-c", "64",
                                 "-t", "1", "-d", f"{d}s", "--no-progress"],
                "h2load": ["h2load", "-c", "64", "-m", m, "-t", "1", "-D", d, url],
            }
            if args.baseline:
                tools["baseline perfhub"] = [args.baseline, *tools["perfhub load"][1:]]
            results = {k: [] for k in tools}
            for rep in range(args.reps):
                order = list(tools) if rep % 2 == 0 else list(reversed(tools))
                for k in order:
                    results[k].append(server.run_client(tools[k]))
            eff = {k: statistics.median(r[0] / r[1] for r in runs)
                   for k, runs in results.items()}
            for k, runs in results.items():
                rps = statistics.median(r[0] / r[2] for r in runs)
                cpu = statistics.median(r[1] for r in runs)
                ratio = f"{eff[k] / eff['h2load']:.2f}x" if k != "h2load" else ""
                print(f"| {m} | {k} | {rps:,.0f} | {cpu:.2f} | {eff[k]:,.0f} | {ratio} |")


if __name__ == "__main__":
    main()
