#!/usr/bin/env python3
"""The rounds of `make bench-perf` (scripts/bench-perf.sh installs the tools, builds, then runs this).

Five kinds of measurement, each run once per round; inside a kind the order of the clients (or
servers) rotates every round, so none always runs first:
  1 generators  loadgen json / wrk -t1 / oha, each on core 1, 50 connections, against nginx
                (1 worker) on core 0; nginx's own request count (stub_status) beside each claim
  2 servers     mock-server /json, bare axum hello /json, mock-server create+read cities, each with
                ONE tokio worker (TOKIO_WORKER_THREADS=1) on core 0; wrk -t1 -c50 on core 1
  3 memory      peak RSS (/usr/bin/time -f %M) of loadgen at 1,000 and 10,000 users (5 s runs) against
                mock-server --delay 200ms; KB per user = difference / 9,000
  4 latency     mean and p99 of loadgen beside wrk --latency, 10 users, mock-server --delay 200ms,
                runs of at most 5 s (250 requests each)
  5 scaling     loadgen --threads 2 beside wrk -t2 against nginx with 2 workers, nothing pinned
Every client run also records the CPU time (user + system) the client used per request
(getrusage of the reaped child) and the server used per request (/proc/PID/stat; nginx: its
workers): a ratio of CPU per request does not depend on which side was the bottleneck, so it is
steadier than the ratio of requests per second on a shared or virtual machine.
Then ONE table of ratios (min / median / max over the rounds) and the load average of each run.
Raw outputs go to OUT/raw/, the summary to OUT/results.json and OUT/results.md.

Environment: BENCH_ROUNDS (3), BENCH_SECONDS (8), BENCH_BIN (target/release), BENCH_OUT
(target/bench-perf), BENCH_OHA (path to oha; empty = no oha column), BENCH_CONNS (50),
BENCH_ONLY (comma-separated kinds to run, e.g. generators,scaling; default all five).
Every server binds 127.0.0.1 on a free port; every process started here is stopped by its PID.
"""

import json
import os
import platform
import re
import resource
import select
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
SECS = int(os.environ.get("BENCH_SECONDS", "8"))
CONNS = int(os.environ.get("BENCH_CONNS", "50"))
BIN = Path(os.environ.get("BENCH_BIN", "target/release"))
OUT = Path(os.environ.get("BENCH_OUT", "target/bench-perf"))
OHA = os.environ.get("BENCH_OHA", "")
ALL_KINDS = ["generators", "servers", "memory", "latency", "scaling"]
# BENCH_ONLY=generators,scaling runs only those kinds (an A/B of two builds needs no memory runs)
KINDS = [k for k in ALL_KINDS if k in os.environ.get("BENCH_ONLY", ",".join(ALL_KINDS)).split(",")]
RAW = OUT / "raw"
SMALL_USERS, BIG_USERS = 1_000, 10_000
# 10,000 users start in 2 s (--spawn-rate 5000); the memory runs last 3 s more, so every user
# holds its connection and a request in flight at the peak ("in flight at the stop" shows it)
MEMORY_SECS = 5
# 10 users at a 200 ms delay: 250 requests per client in 5 s, enough for a mean and a p99
LATENCY_SECS = min(SECS, 5)
# the body mock-server's /json answers (mock-server/src/routes/json.rs); nginx and hello serve it too
BODY = '{"code": 1, "message": "Hello, World!"}'
CORE_SERVER, CORE_CLIENT = "0", "1"

started = []  # every Popen started here, stopped by PID at the end
runs = []  # one dict per client run: round, kind, name, figures, load average


def log(text=""):
    print(text, flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def load_average():
    return float(Path("/proc/loadavg").read_text().split()[0])


def children_cpu_s():
    """User + system CPU seconds of every child (and its waited-for children) reaped so far."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def process_cpu_s(pid):
    """User + system CPU seconds a running process has used (/proc/PID/stat fields 14 and 15)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def pinned(core, argv):
    return ["taskset", "-c", core, *argv] if core is not None else list(argv)


def stop(proc):
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    if proc in started:
        started.remove(proc)


def stop_all(*_):
    for proc in list(started):
        stop(proc)


def get(url, data=None, headers=None, timeout=5):
    request = urllib.request.Request(url, data=data, headers=headers or {})
    with urllib.request.urlopen(request, timeout=timeout) as answer:
        return answer.status, answer.read().decode()


def wait_http(url, proc, what):
    for _ in range(200):
        if proc.poll() is not None:
            sys.exit(f"bench-perf: {what} exited ({proc.returncode}) before answering {url}")
        try:
            return get(url, timeout=1)
        except OSError:
            time.sleep(0.05)
    sys.exit(f"bench-perf: {what} does not answer {url}")


class Server:
    """A server we started: its process, base URL and (for rust servers) tokio worker count."""

    def __init__(self, name, argv, core, env=None, listening_line=True, stdin_pipe=False):
        self.name = name
        self.log = open(RAW / f"{name}.log", "ab")
        self.proc = subprocess.Popen(
            pinned(core, argv),
            stdout=subprocess.PIPE if listening_line else subprocess.DEVNULL,
            stderr=self.log,
            stdin=subprocess.PIPE if stdin_pipe else subprocess.DEVNULL,
            env={**os.environ, **(env or {})},
        )
        started.append(self.proc)
        self.url = None
        if listening_line:
            self.url = self._read_listening()

    def _read_listening(self):
        deadline = time.time() + 20
        line = b""
        while time.time() < deadline and not line.endswith(b"\n"):
            ready, _, _ = select.select([self.proc.stdout], [], [], 0.2)
            if ready:
                chunk = os.read(self.proc.stdout.fileno(), 1)
                if not chunk:
                    break
                line += chunk
        match = re.match(r"listening on (http://\S+)", line.decode(errors="replace"))
        if not match:
            self.stop()
            sys.exit(f"bench-perf: {self.name} printed no `listening on` line: {line!r}")
        return match.group(1)

    def tokio_workers(self):
        """Tokio's worker threads (`tokio-rt-worker`, `tokio-runtime-w` before tokio 1.5x) of the
        server, counted just after it listens (taskset execs, so the PID is the server's)."""
        # A new thread names itself once it runs: a worker started just before the listening
        # line may still have its parent's name, so wait up to 1 s for the first one.
        tasks = Path(f"/proc/{self.proc.pid}/task")
        for _ in range(20):
            names = [(t / "comm").read_text().strip()
                     for t in tasks.iterdir() if (t / "comm").exists()]
            workers = sum(1 for n in names if n in ("tokio-rt-worker", "tokio-runtime-w"))
            if workers:
                return workers
            time.sleep(0.05)
        return 0

    def cpu_s(self):
        """CPU seconds the server has used so far, all its threads (nginx: its master; see Nginx)."""
        return process_cpu_s(self.proc.pid)

    def stop(self):
        stop(self.proc)
        self.log.close()


def mock_server(name, *args, env=None):
    # --exit-on-stdin-eof: should this script die, the server follows when its stdin pipe closes
    argv = [str(BIN / "mock-server"), "--bind", "127.0.0.1:0", "--exit-on-stdin-eof", *args]
    return Server(name, argv, CORE_SERVER, env=env, stdin_pipe=True)


class Nginx:
    def __init__(self, workers, core):
        self.port = free_port()
        prefix = (OUT / f"nginx-{workers}").resolve()
        prefix.mkdir(parents=True, exist_ok=True)
        conf = (HERE / "nginx.conf.template").read_text()
        for key, value in (("__WORKERS__", str(workers)), ("__PORT__", str(self.port)),
                           ("__PREFIX__", str(prefix)), ("__BODY__", BODY)):
            conf = conf.replace(key, value)
        (prefix / "nginx.conf").write_text(conf)
        nginx = shutil.which("nginx") or "/usr/sbin/nginx"
        self.server = Server(f"nginx-{workers}", [nginx, "-p", str(prefix), "-e",
                             str(prefix / "error.log"), "-c", str(prefix / "nginx.conf")],
                             core, listening_line=False)
        self.url = f"http://127.0.0.1:{self.port}/json"
        wait_http(self.url, self.server.proc, f"nginx ({workers} workers)")

    def cpu_s(self):
        """CPU seconds nginx's workers (the master's children) have used so far."""
        children = Path(f"/proc/{self.server.proc.pid}/task/{self.server.proc.pid}/children")
        return sum(process_cpu_s(int(pid)) for pid in children.read_text().split())

    def served(self):
        """Requests nginx has answered so far (stub_status's third number; this request included)."""
        _, text = get(f"http://127.0.0.1:{self.port}/nginx_status")
        return int(text.splitlines()[2].split()[2])

    def stop(self):
        self.server.stop()


# ---- clients: each returns the figures it claims --------------------------------------------

UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3, "h": 3600e3}


def ms(value):
    number, unit = re.fullmatch(r"([0-9.]+)([a-z]+)", value).groups()
    return float(number) * UNITS[unit]


def parse_wrk(text):
    figures = {}
    if m := re.search(r"Requests/sec:\s+([0-9.]+)", text):
        figures["rps"] = float(m.group(1))
    if m := re.search(r"(\d+) requests in", text):
        figures["requests"] = int(m.group(1))
    if m := re.search(r"^\s+Latency\s+(\S+)", text, re.M):
        figures["mean_ms"] = ms(m.group(1))
    if m := re.search(r"^\s+99%\s+(\S+)", text, re.M):
        figures["p99_ms"] = ms(m.group(1))
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    figures["not_2xx"] = int(m.group(1)) if m else 0
    m = re.search(r"Socket errors: (.*)", text)
    figures["socket_errors"] = m.group(1).strip() if m else ""
    return figures


def parse_oha(text):
    report = json.loads(text[text.index("{"):])
    codes = report.get("statusCodeDistribution", {})
    return {"rps": report["summary"]["requestsPerSec"], "requests": sum(codes.values()),
            "not_2xx": sum(n for code, n in codes.items() if not code.startswith("2"))}


def parse_loadgen(path):
    report = json.loads(Path(path).read_text())
    requests = report["requests"]
    return {"rps": report["rps"], "requests": requests["total"], "pass": requests["pass"],
            "not_pass": requests["total"] - requests["pass"],
            "mean_ms": report["latency_ms"]["mean"], "p99_ms": report["latency_ms"]["p99"],
            "in_flight_at_stop": report.get("in_flight_at_stop")}


def client(round_no, kind, name, argv, core, parse, nginx=None, extra=None, env=None,
           server=None):
    """Runs one client to its end, saves its output, records and prints its figures: what it
    claims, nginx's count, and the CPU time the client (and the server, when given) used per
    request, which does not depend on which side was the bottleneck."""
    stem = RAW / f"r{round_no}-{kind}-{name}"
    report = stem.with_suffix(".report.json")
    argv = [a.replace("{report}", str(report)) for a in argv]
    before = nginx.served() if nginx else None
    target = server or nginx
    target_cpu = target.cpu_s() if target else None
    client_cpu = children_cpu_s()
    began = time.time()
    try:
        done = subprocess.run(pinned(core, argv), capture_output=True, text=True,
                              timeout=SECS + 120, env={**os.environ, **(env or {})})
        rc, text = done.returncode, done.stdout + done.stderr
    except subprocess.TimeoutExpired as late:
        rc, text = "timeout", f"{late.stdout or ''}{late.stderr or ''}"
    elapsed = time.time() - began
    client_cpu = children_cpu_s() - client_cpu
    target_cpu = target.cpu_s() - target_cpu if target else None
    record = {"round": round_no, "kind": kind, "name": name, "rc": rc, "load": load_average(),
              "command": " ".join(pinned(core, argv)), "elapsed_s": round(elapsed, 2)}
    stem.with_suffix(".out").write_text(f"$ {record['command']}\n(exit {rc})\n{text}")
    try:
        record.update(parse(report if parse is parse_loadgen else text))
    except (ValueError, KeyError, OSError, AttributeError) as error:
        record["error"] = f"no figures ({error})"
    if nginx:
        counted = nginx.served() - before - 1  # minus the second stub_status request itself
        record["nginx_counted"] = counted
        record["nginx_rps"] = counted / elapsed
    record["client_cpu_s"] = round(client_cpu, 3)
    if target_cpu is not None:
        record["server_cpu_s"] = round(target_cpu, 3)
    if record.get("requests"):
        record["client_cpu_us"] = client_cpu * 1e6 / record["requests"]
        if target_cpu is not None:
            record["server_cpu_us"] = target_cpu * 1e6 / record["requests"]
    record.update(extra or {})
    runs.append(record)
    describe(record)
    return record


def describe(r):
    parts = [f"r{r['round']} {r['kind']:<10} {r['name']:<22}"]
    if "rps" in r:
        parts.append(f"{r['rps']:>11,.0f} req/s")
    if "requests" in r:
        parts.append(f"claimed {r['requests']:,}")
    if "nginx_counted" in r:
        parts.append(f"nginx counted {r['nginx_counted']:,}")
    if "client_cpu_us" in r and r["kind"] in ("generators", "servers", "scaling"):
        parts.append(f"client CPU {r['client_cpu_us']:.2f} us/req")
    if "server_cpu_us" in r:
        parts.append(f"server CPU {r['server_cpu_us']:.2f} us/req")
    if "mean_ms" in r and r["kind"] == "latency":
        parts.append(f"mean {r['mean_ms']:.2f} ms p99 {r['p99_ms']:.2f} ms")
    if "peak_kb" in r:
        parts.append(f"peak RSS {r['peak_kb']:,} KB, in flight at the stop {r.get('in_flight_at_stop') or 0:,}")
    for bad in ("not_pass", "not_2xx"):
        if r.get(bad):
            parts.append(f"{bad} {r[bad]:,}")
    if r.get("socket_errors"):
        parts.append(f"socket errors: {r['socket_errors']}")
    if r.get("tokio_workers") is not None:
        parts.append(f"tokio workers {r['tokio_workers']}")
    if r["rc"] != 0:
        parts.append(f"exit {r['rc']}")
    if "error" in r:
        parts.append(r["error"])
    parts.append(f"load {r['load']:.2f}")
    log("  ".join(parts))


def loadgen(url, users, *more, secs=SECS):
    return [str(BIN / "loadgen"), "json", "--url", url, "--users", str(users), "--duration",
            f"{secs}s", "--expect-json", "code=1", "--quiet", "--json-out", "{report}", *more]


def wrk(url, threads, conns, *more, secs=SECS):
    return ["wrk", f"-t{threads}", f"-c{conns}", f"-d{secs}s", *more, url]


def rotated(items, round_no):
    shift = (round_no - 1) % len(items)
    return items[shift:] + items[:shift]


# ---- the five kinds ---------------------------------------------------------------------------

def generators(r, nginx1):
    clients = {
        "loadgen": lambda: client(r, "generators", "loadgen", loadgen(nginx1.url, CONNS),
                                  CORE_CLIENT, parse_loadgen, nginx1),
        "wrk": lambda: client(r, "generators", "wrk", wrk(nginx1.url, 1, CONNS), CORE_CLIENT,
                              parse_wrk, nginx1),
    }
    if OHA:
        clients["oha"] = lambda: client(
            r, "generators", "oha", [OHA, "-z", f"{SECS}s", "-c", str(CONNS), "--no-tui",
                                     "--output-format", "json", nginx1.url],
            CORE_CLIENT, parse_oha, nginx1)
    for name in rotated(list(clients), r):
        clients[name]()


def register(base):
    headers = {"content-type": "application/json"}
    account = json.dumps({"email": "bench@example.test", "password": "abcdefghi"}).encode()
    get(f"{base}/api/v1/auth/register", account, headers)
    _, text = get(f"{base}/api/v1/auth/token", b"username=bench@example.test&password=abcdefghi",
                  {"content-type": "application/x-www-form-urlencoded"})
    return json.loads(text)["access_token"]


def servers(r):
    one = {"TOKIO_WORKER_THREADS": "1"}

    def measure(name, server, url, *more, env=None):
        try:
            client(r, "servers", name, wrk(url, 1, CONNS, *more), CORE_CLIENT, parse_wrk,
                   extra={"tokio_workers": server.tokio_workers()}, env=env, server=server)
        finally:
            server.stop()

    def hello():
        server = Server(f"hello-r{r}", [str(BIN / "bare-axum"), "127.0.0.1:0"],
                        CORE_SERVER, env=one)
        measure("bare-axum-json", server, f"{server.url}/json")

    def mock_json():
        server = mock_server(f"mock-server-json-r{r}", env=one)
        measure("mock-server-json", server, f"{server.url}/json")

    def create_read():
        server = mock_server(f"mock-server-cities-r{r}", env=one)
        token = register(server.url)
        measure("mock-server-create-read", server, server.url, "-s",
                str(HERE.parent / "wrk" / "create-read.lua"), env={"TOKEN": token})

    steps = {"hello": hello, "mock_json": mock_json, "create_read": create_read}
    for name in rotated(list(steps), r):
        steps[name]()


def memory(r):
    server = mock_server(f"mock-server-delay-mem-r{r}", "--delay", "200ms",
                         "--max-connections", str(BIG_USERS * 2))
    try:
        for users in rotated([SMALL_USERS, BIG_USERS], r):
            rss = RAW / f"r{r}-memory-{users}.rss"
            argv = ["/usr/bin/time", "-f", "%M", "-o", str(rss),
                    *loadgen(f"{server.url}/json", users, "--spawn-rate", "5000",
                             secs=MEMORY_SECS)]

            def parse(text, rss=rss):
                return {**parse_loadgen(RAW / f"r{r}-memory-users-{users}.report.json"),
                        "peak_kb": int(rss.read_text().split()[-1])}

            client(r, "memory", f"users-{users}", argv, CORE_CLIENT, parse,
                   extra={"users": users})
    finally:
        server.stop()


def latency(r):
    server = mock_server(f"mock-server-delay-lat-r{r}", "--delay", "200ms")
    url = f"{server.url}/json"
    try:
        steps = {
            "loadgen": lambda: client(r, "latency", "loadgen",
                                      loadgen(url, 10, secs=LATENCY_SECS), CORE_CLIENT,
                                      parse_loadgen),
            "wrk": lambda: client(r, "latency", "wrk",
                                  wrk(url, 1, 10, "--latency", secs=LATENCY_SECS), CORE_CLIENT,
                                  parse_wrk),
        }
        for name in rotated(list(steps), r):
            steps[name]()
    finally:
        server.stop()


def scaling(r, nginx2):
    steps = {
        "loadgen-threads-2": lambda: client(r, "scaling", "loadgen-threads-2",
                                            loadgen(nginx2.url, CONNS, "--threads", "2"), None,
                                            parse_loadgen, nginx2),
        "wrk-t2": lambda: client(r, "scaling", "wrk-t2", wrk(nginx2.url, 2, CONNS), None,
                                 parse_wrk, nginx2),
    }
    for name in rotated(list(steps), r):
        steps[name]()


# ---- the table ------------------------------------------------------------------------------

def figure(round_no, kind, name, key):
    for r in runs:
        if (r["round"], r["kind"], r["name"]) == (round_no, kind, name):
            ok = r["rc"] == 0 and not r.get("not_pass") and not r.get("not_2xx")
            return r.get(key) if ok else None
    return None


def ratio(a, b):
    return a / b if a is not None and b else None


ROWS = [  # label, goal, per-round function
    ("loadgen json / wrk -t1 (req/s, nginx 1 worker)", ">= 1.0",
     lambda r: ratio(figure(r, "generators", "loadgen", "rps"), figure(r, "generators", "wrk", "rps"))),
    ("loadgen json / oha (req/s, same rounds)", ">= 1.4",
     lambda r: ratio(figure(r, "generators", "loadgen", "rps"), figure(r, "generators", "oha", "rps"))),
    ("CPU per request, wrk -t1 / loadgen (us, user+sys, same runs)", ">= 1.0",
     lambda r: ratio(figure(r, "generators", "wrk", "client_cpu_us"),
                     figure(r, "generators", "loadgen", "client_cpu_us"))),
    ("CPU per request, oha / loadgen (us, user+sys, same runs)", ">= 1.4",
     lambda r: ratio(figure(r, "generators", "oha", "client_cpu_us"),
                     figure(r, "generators", "loadgen", "client_cpu_us"))),
    ("loadgen CPU per request (us, absolute)", "",
     lambda r: figure(r, "generators", "loadgen", "client_cpu_us")),
    ("loadgen claimed / nginx counted (requests)", "1.00",
     lambda r: ratio(figure(r, "generators", "loadgen", "requests"),
                     figure(r, "generators", "loadgen", "nginx_counted"))),
    ("mock-server /json / bare axum (req/s, 1 worker)", ">= 0.95",
     lambda r: ratio(figure(r, "servers", "mock-server-json", "rps"),
                     figure(r, "servers", "bare-axum-json", "rps"))),
    ("server CPU per request, bare axum / mock-server /json (us)", ">= 0.95",
     lambda r: ratio(figure(r, "servers", "bare-axum-json", "server_cpu_us"),
                     figure(r, "servers", "mock-server-json", "server_cpu_us"))),
    ("mock-server create+read requests/s (absolute)", "",
     lambda r: figure(r, "servers", "mock-server-create-read", "rps")),
    ("loadgen KB per user ((10k - 1k users) / 9,000)", "<= 20",
     lambda r: (lambda big, small: (big - small) / (BIG_USERS - SMALL_USERS)
                if big is not None and small is not None else None)(
         peak(r, BIG_USERS), peak(r, SMALL_USERS))),
    ("latency mean loadgen / wrk (200 ms delay, 10 users)", "~1.00",
     lambda r: ratio(figure(r, "latency", "loadgen", "mean_ms"), figure(r, "latency", "wrk", "mean_ms"))),
    ("latency p99 loadgen / wrk (200 ms delay, 10 users)", "~1.00",
     lambda r: ratio(figure(r, "latency", "loadgen", "p99_ms"), figure(r, "latency", "wrk", "p99_ms"))),
    ("loadgen --threads 2 / wrk -t2 (nginx 2 workers)", ">= 1.0",
     lambda r: ratio(figure(r, "scaling", "loadgen-threads-2", "rps"),
                     figure(r, "scaling", "wrk-t2", "rps"))),
    ("wrk -t1 req/s against nginx (absolute)", "",
     lambda r: figure(r, "generators", "wrk", "rps")),
    ("bare axum req/s, 1 worker (absolute)", "",
     lambda r: figure(r, "servers", "bare-axum-json", "rps")),
]


def peak(round_no, users):
    # peak RSS counts even when some users saw a timeout, but only when at least 90 % of them had
    # a request in flight at the stop: fewer means users were still connecting (a loaded machine)
    for r in runs:
        if (r["round"], r["kind"], r.get("users")) == (round_no, "memory", users) and "peak_kb" in r:
            return r["peak_kb"] if (r.get("in_flight_at_stop") or 0) >= 0.9 * users else None
    return None


def fmt(value):
    if value is None:
        return "n/a"
    return f"{value:,.0f}" if value >= 1000 else f"{value:.2f}" if value < 100 else f"{value:.1f}"


def table():
    lines = [f"| what (min / median / max over {ROUNDS} round(s), {SECS} s each) "
             "| min | median | max | goal |", "|---|---:|---:|---:|---|"]
    summary = []
    for label, goal, per_round in ROWS:
        values = [v for v in (per_round(r) for r in range(1, ROUNDS + 1)) if v is not None]
        row = {"what": label, "goal": goal, "rounds": values,
               "min": min(values) if values else None,
               "median": statistics.median(values) if values else None,
               "max": max(values) if values else None}
        summary.append(row)
        lines.append(f"| {label} | {fmt(row['min'])} | {fmt(row['median'])} | {fmt(row['max'])} "
                     f"| {goal} |")
    return lines, summary


def machine():
    model = next((line.split(":", 1)[1].strip() for line in
                  Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("model name")),
                 platform.processor())
    return {"date_utc": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "cpu": model,
            "cores": os.cpu_count(), "kernel": platform.release(),
            "rounds": ROUNDS, "seconds": SECS, "connections": CONNS, "oha": bool(OHA)}


def main():
    if (os.cpu_count() or 1) < 2:
        sys.exit("bench-perf: needs 2 cores (servers on core 0, clients on core 1)")
    unknown = set(os.environ.get("BENCH_ONLY", "").split(",")) - set(ALL_KINDS) - {""}
    if unknown or not KINDS:
        sys.exit(f"bench-perf: BENCH_ONLY takes a comma-separated list of {', '.join(ALL_KINDS)}")
    shutil.rmtree(RAW, ignore_errors=True)
    RAW.mkdir(parents=True)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    info = machine()
    log(f"bench-perf: {ROUNDS} round(s) x {SECS} s, {CONNS} connections; {info['cpu']}, "
        f"{info['cores']} cores; load {load_average():.2f}; raw outputs in {RAW}")
    if not OHA:
        log("bench-perf: no oha: its column is n/a")
    nginx1 = Nginx(1, CORE_SERVER)
    nginx2 = Nginx(2, None)
    check_bodies(nginx1)
    try:
        for r in range(1, ROUNDS + 1):
            log(f"-- round {r} of {ROUNDS}")
            for kind in KINDS:
                {"generators": lambda: generators(r, nginx1), "servers": lambda: servers(r),
                 "memory": lambda: memory(r), "latency": lambda: latency(r),
                 "scaling": lambda: scaling(r, nginx2)}[kind]()
    finally:
        nginx1.stop()
        nginx2.stop()
        stop_all()
    lines, summary = table()
    loads = [r["load"] for r in runs]
    load_line = (f"load average (1 min) after each run: min {min(loads):.2f}, median "
                 f"{statistics.median(loads):.2f}, max {max(loads):.2f} (per run in results.json)")
    log()
    log("\n".join(lines))
    log(load_line)
    for r in range(1, ROUNDS + 1):
        log(f"  round {r}: " + " ".join(f"{x['load']:.1f}" for x in runs if x["round"] == r))
    (OUT / "results.json").write_text(json.dumps(
        {"machine": info, "table": summary, "runs": runs}, indent=1) + "\n")
    header = (f"# bench-perf results\n\n{info['date_utc']}; {info['cpu']}, {info['cores']} cores, "
              f"Linux {info['kernel']}; {ROUNDS} round(s) x {SECS} s, {CONNS} connections.\n\n")
    (OUT / "results.md").write_text(header + "\n".join(lines) + f"\n\n{load_line}\n")
    log(f"results: {OUT / 'results.md'}, {OUT / 'results.json'}; raw outputs: {RAW}")


def check_bodies(nginx1):
    """The three /json targets answer the same body, so the comparison is like for like."""
    hello = Server("hello-check", [str(BIN / "bare-axum"), "127.0.0.1:0"], CORE_SERVER)
    mock = mock_server("mock-server-check")
    try:
        bodies = {"nginx": get(nginx1.url)[1], "bare axum": get(f"{hello.url}/json")[1],
                  "mock-server": get(f"{mock.url}/json")[1]}
    finally:
        hello.stop()
        mock.stop()
    if len(set(bodies.values())) != 1:
        sys.exit(f"bench-perf: the /json bodies differ: {bodies}")


if __name__ == "__main__":
    try:
        main()
    finally:
        stop_all()
