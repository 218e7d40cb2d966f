"""What the side-by-side load scripts share: a release build of perfhub,
nginx with one worker pinned to CPU 0 on loopback, its request counter
(stub_status), and a client run pinned to CPU 1 whose CPU time is read
from getrusage. Only loopback is used."""
import contextlib
import os
import re
import resource
import shutil
import subprocess
import tempfile
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

NGINX_CONF = """
worker_processes 1;
worker_cpu_affinity 01;
worker_rlimit_nofile 30000;
daemon off;
error_log {dir}/error.log;
pid {dir}/nginx.pid;
events {{ worker_connections 12000; }}
http {{
    access_log off;
    keepalive_requests 100000000;
    {http_extra}
    server {{
        listen 127.0.0.1:{port}{listen_extra};
        {server_extra}
        location = /nginx_status {{ stub_status; }}
        location / {{ root {dir}/www; }}
{locations}
    }}
    {extra_servers}
}}
"""


def need(*tools):
    for tool in tools:
        if shutil.which(tool) is None:
            raise SystemExit(f"{tool} is not installed")


def build():
    """Builds perfhub in release mode; returns the binary's path."""
    subprocess.run(["cargo", "build", "--release", "-q", "-p", "perfhub-cli"], cwd=ROOT, check=True)
    target = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
    return os.path.join(target, "release", "perfhub")


class Nginx:
    def __init__(self, port):
        self.port = port

    def served(self):
        """Requests nginx has served so far (this status request included)."""
        url = f"http://127.0.0.1:{self.port}/nginx_status"
        text = urllib.request.urlopen(url).read().decode()
        return int(re.search(r"^\s*(\d+)\s+(\d+)\s+(\d+)\s*$", text, re.M).group(3))

    def run_client(self, cmd):
        """Runs cmd pinned to CPU 1; returns (requests served, client CPU s, wall s)."""
        before_req = self.served()
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        subprocess.run(["taskset", "-c", "1"] + cmd, check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
        wall = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        requests = self.served() - before_req - 1
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        return requests, cpu, wall


@contextlib.contextmanager
def nginx(port, locations="", listen_extra="", server_extra="", files=None, http_extra="",
          extra_servers=""):
    """nginx serving `files` ({name: text}; index.html by default), its
    status on `port`, the extra `locations` and `extra_servers` (whose
    text may use {dir} for the files' folder), one worker pinned to CPU 0,
    stopped on exit."""
    need("nginx", "taskset")
    with tempfile.TemporaryDirectory() as tmp:
        os.chmod(tmp, 0o755)
        os.makedirs(os.path.join(tmp, "www"))
        for name, text in (files or {"index.html": "Hello, world\n"}).items():
            with open(os.path.join(tmp, "www", name), "w") as f:
                f.write(text)
        conf = os.path.join(tmp, "nginx.conf")
        with open(conf, "w") as f:
            f.write(NGINX_CONF.format(dir=tmp, port=port, locations=locations,
                                      listen_extra=listen_extra, server_extra=server_extra,
                                      http_extra=http_extra,
                                      extra_servers=extra_servers.replace("{dir}", tmp)))
        server = subprocess.Popen(["taskset", "-c", "0", "nginx", "-c", conf, "-p", tmp],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            n = Nginx(port)
            for _ in range(50):
                try:
                    n.served()
                    break
                except OSError:
                    time.sleep(0.1)
            yield n
        finally:
            server.terminate()
            server.wait()
