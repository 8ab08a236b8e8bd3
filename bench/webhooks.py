#!/usr/bin/env python3
"""Webhook benchmark (Cairn only; PocketBase has no webhooks).

In one run, on one fresh Cairn server (release build) and a fast local
receiver answering 200 (a Rust example binary, `examples/webhook_receiver.rs`,
built by this script; `--receiver python` uses a raw asyncio HTTP server in
its own process instead, which costs several times the CPU per delivery on
the same cores, see bench/README.md):

1. Outbox cost: wrk creates records in `posts` for D seconds with no webhook
   endpoint, then with one *paused* endpoint matching every create (each
   create writes its delivery row in its own transaction, nothing is sent:
   the outbox alone), then with the endpoint live (delivered to the receiver
   while the load runs), for R rounds; even rounds run the three phases in
   reverse (each run adds rows and creates slow down as the tables grow: a
   fixed order charged that drift to the last phases). The cost (issue 14) is
   1 - (creates/s, live endpoint) / (creates/s, none), the median of the
   rounds. Goal: < 15 %. The paused endpoint's cost (the outbox rows alone)
   is reported beside it, and so is the CPU of delivering, counted from the
   start of the live run until the backlog is drained: Cairn's whole
   process, its dispatcher thread (`cairn-webhooks`) alone, and the
   receiver process, each per delivery.
2. Delivery latency: creates at a steady 500/s for S seconds (asyncio
   client, 16 keep-alive connections); for each record, arrival at the
   receiver minus the moment its create request was sent (an upper bound of
   commit -> arrival). Goal: p95 < 250 ms, nothing lost.

Results: stdout (Markdown), bench/results/webhooks.md and webhooks.json.
Standard library + wrk. See bench/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR))
import costs  # noqa: E402
import run as base  # noqa: E402
from realtime import HttpConn  # noqa: E402

DISPATCHER = "cairn-webhooks"  # the dispatcher thread's name (src/service/webhooks/dispatch.rs)
WRITER = "cairn-writer"  # the store's writer thread (src/store/pool.rs): creates and the dispatcher's write jobs
TITLE_RE = re.compile(rb'"title":"lat-(\d+)"')
POSTS = {
    "name": "posts", "type": "base", "listRule": "", "viewRule": "", "createRule": "",
    "fields": [{"name": "title", "type": "text"}, {"name": "body", "type": "text"}],
}


def receiver_main(port_q, cmd_pipe) -> None:
    """A minimal keep-alive HTTP/1.1 server: 200 to everything, arrival times kept."""
    arrivals: dict[int, int] = {}
    count = 0

    async def handle(reader, writer):
        nonlocal count
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                n = 0
                for line in head.split(b"\r\n"):
                    if line[:15].lower() == b"content-length:":
                        n = int(line[15:].strip())
                body = await reader.readexactly(n) if n else b""
                now = time.time_ns()
                count += 1
                m = TITLE_RE.search(body)
                if m:
                    arrivals.setdefault(int(m.group(1)), now)
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError):
            pass
        finally:
            writer.close()

    async def main():
        nonlocal count
        srv = await asyncio.start_server(handle, "127.0.0.1", 0)
        port_q.put(srv.sockets[0].getsockname()[1])
        loop = asyncio.get_running_loop()
        while True:
            cmd = await loop.run_in_executor(None, cmd_pipe.recv)
            if cmd == "stop":
                return
            if cmd == "arrivals":
                cmd_pipe.send((count, dict(arrivals)))
            if cmd == "reset":
                arrivals.clear()
                count = 0
                cmd_pipe.send(True)

    asyncio.run(main())


class PyReceiver:
    """`receiver_main` in a process of its own."""

    name = "local asyncio HTTP server (Python)"

    def __init__(self) -> None:
        port_q: multiprocessing.Queue = multiprocessing.Queue()
        self.pipe, child = multiprocessing.Pipe()
        self.proc = multiprocessing.Process(target=receiver_main, args=(port_q, child), daemon=True)
        self.proc.start()
        self.port = port_q.get(timeout=10)
        self.pid = self.proc.pid

    def reset(self) -> None:
        self.pipe.send("reset")
        self.pipe.recv()

    def arrivals(self) -> tuple[int, dict[int, int]]:
        self.pipe.send("arrivals")
        return self.pipe.recv()

    def stop(self) -> None:
        self.pipe.send("stop")
        self.proc.join(timeout=5)
        if self.proc.is_alive():
            self.proc.terminate()


class RustReceiver:
    """`examples/webhook_receiver.rs`, driven over its stdin and stdout (the
    same commands as `receiver_main`). It uses the standard library only, so
    it is compiled here with `rustc -O` in a few seconds when its source is
    newer than the binary: `cargo build --example` would also build Cairn's
    library with the dev-dependencies' features (minutes)."""

    name = "local Rust HTTP server (examples/webhook_receiver.rs)"

    def __init__(self) -> None:
        source = base.REPO_ROOT / "examples/webhook_receiver.rs"
        binary = base.REPO_ROOT / "target/release/examples/webhook_receiver"
        if not binary.exists() or binary.stat().st_mtime < source.stat().st_mtime:
            binary.parent.mkdir(parents=True, exist_ok=True)
            subprocess.run(["rustc", "--edition", "2024", "-O", "-o", str(binary), str(source)],
                           check=True)
        self.proc = subprocess.Popen([str(binary)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     text=True)
        self.port = int(self.proc.stdout.readline())
        self.pid = self.proc.pid

    def _ask(self, cmd: str) -> str:
        self.proc.stdin.write(cmd + "\n")
        self.proc.stdin.flush()
        return self.proc.stdout.readline()

    def reset(self) -> None:
        self._ask("reset")

    def arrivals(self) -> tuple[int, dict[int, int]]:
        got = json.loads(self._ask("arrivals"))
        return got["count"], {int(i): t for i, t in got["arrivals"].items()}

    def stop(self) -> None:
        try:
            self.proc.stdin.write("stop\n")
            self.proc.stdin.close()
            self.proc.wait(timeout=5)
        except (OSError, subprocess.TimeoutExpired):
            self.proc.kill()


WRK_LUA = """
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local n = 0
request = function()
  n = n + 1
  return wrk.format(nil, "/api/collections/posts/records", nil,
    '{"title":"wrk-' .. n .. '","body":"created by the webhook benchmark"}')
end
"""


def thread_cpu(pid: int, name: str) -> float:
    """utime + stime (seconds) of the threads of `pid` named `name`."""
    total = 0.0
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            if (task / "comm").read_text().strip() != name:
                continue
            stat = (task / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        total += (int(fields[11]) + int(fields[12])) / costs.CLK_TCK
    return total


def wrk_rps(server: base.Server, script: Path, args) -> dict:
    cmd = ["wrk", f"-t{args.threads}", f"-c{args.connections}", f"-d{args.duration}s",
           "--timeout", "10s", "-s", str(script), server.base_url]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=args.duration + 60)
    m = re.search(r"Requests/sec:\s+([\d.]+)", p.stdout)
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", p.stdout)
    errs = re.search(r"Socket errors:.*", p.stdout)
    if p.returncode != 0 or not m:
        raise RuntimeError(f"wrk failed: {p.stdout}{p.stderr}")
    n = re.search(r"(\d+) requests in", p.stdout)
    return {"rps": float(m.group(1)), "requests": int(n.group(1)) if n else 0,
            "non2xx": int(bad.group(1)) if bad else 0,
            "socket_errors": errs.group(0) if errs else ""}


async def steady_creates(server: base.Server, rate: int, seconds: float, conns: int) -> dict[int, int]:
    """Creates `lat-i` records at `rate`/s; returns i -> send time (ns)."""
    total = int(rate * seconds)
    sent: dict[int, int] = {}
    pool: asyncio.Queue = asyncio.Queue()
    for _ in range(conns):
        pool.put_nowait(HttpConn(server.host, server.port))
    failures = 0

    async def one(i: int) -> None:
        nonlocal failures
        conn = await pool.get()
        try:
            sent[i] = time.time_ns()
            status, _ = await conn.request("POST", "/api/collections/posts/records",
                                           {"title": f"lat-{i}", "body": "latency"})
            if status != 200:
                failures += 1
        finally:
            pool.put_nowait(conn)

    t0 = time.monotonic()
    tasks = []
    for i in range(total):
        delay = t0 + i / rate - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(i)))
    await asyncio.gather(*tasks)
    if failures:
        raise RuntimeError(f"{failures} creates failed")
    return sent


def drained(admin: base.Client, ep_id: str) -> float:
    """Waits (at most 120 s) until the endpoint has nothing pending; returns
    the seconds waited."""
    t0 = time.monotonic()
    deadline = time.time() + 120
    while time.time() < deadline:
        _, page = admin.request("GET", f"/api/webhooks/deliveries?webhook={ep_id}&state=pending&perPage=1")
        if page.get("totalItems", 1) == 0:
            break
        time.sleep(0.2)
    return time.monotonic() - t0


def pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cairn-bin", default="target/release/cairn")
    ap.add_argument("-d", "--duration", type=int, default=5, help="seconds per wrk run")
    ap.add_argument("--rounds", type=int, default=3, help="paired none/one rounds")
    ap.add_argument("-t", "--threads", type=int, default=2)
    ap.add_argument("-c", "--connections", type=int, default=32)
    ap.add_argument("--rate", type=int, default=500, help="creates/s in the latency phase")
    ap.add_argument("--seconds", type=float, default=6.0, help="length of the latency phase")
    ap.add_argument("--latency-runs", type=int, default=1,
                    help="latency phases (median p95 reported); with --rounds 0 only these run")
    ap.add_argument("--receiver", choices=("rust", "python"), default="rust",
                    help="the local receiver: the Rust example (default) or the Python one")
    args = ap.parse_args()

    binary = str((base.REPO_ROOT / args.cairn_bin).resolve())
    os.environ["CAIRN_WEBHOOKS_ALLOW_CIDRS"] = "127.0.0.0/8"
    os.environ.setdefault("CAIRN_LOG", "warn")
    logs = BENCH_DIR / "results" / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    rx = RustReceiver() if args.receiver == "rust" else PyReceiver()
    rx_port = rx.port
    server = base.Server("cairn-webhooks", binary, False, logs)
    result: dict = {"rounds": []}
    try:
        server.start()
        token = base.superuser_token(server)
        admin = base.Client(server.host, server.port, token)
        admin.ok("POST", "/api/collections", POSTS)
        hook_body = {"url": f"http://127.0.0.1:{rx_port}/hook", "collection": "posts",
                     "actions": ["create"]}
        work = Path(tempfile.mkdtemp(prefix="bench-wh-"))
        script = work / "create.lua"
        script.write_text(WRK_LUA)
        # Warm-up.
        wrk_rps(server, script, argparse.Namespace(**{**vars(args), "duration": 2}))
        pid = server.proc.pid

        def measured(run_wrk) -> dict:
            cpu0, w0 = costs.cpu_seconds(pid), thread_cpu(pid, WRITER)
            res = run_wrk()
            res["cpu_us"] = costs.per_request(cpu0, costs.cpu_seconds(pid), res["requests"])
            res["writer_cpu_us"] = (thread_cpu(pid, WRITER) - w0) / res["requests"] * 1e6
            return res

        result["loadavg_start"] = os.getloadavg()

        def run_none() -> dict:
            return measured(lambda: wrk_rps(server, script, args))

        def run_paused() -> dict:
            # The outbox alone: a paused endpoint records every delivery in
            # the create's transaction but sends nothing.
            paused = admin.ok("POST", "/api/webhooks", {**hook_body, "status": "paused"})
            res = measured(lambda: wrk_rps(server, script, args))
            admin.request("DELETE", f"/api/webhooks/{paused['id']}")
            return res

        def run_live() -> dict:
            # Outbox and delivery: Cairn's CPU until the backlog is drained counts.
            ep = admin.ok("POST", "/api/webhooks", hook_body)
            rx.reset()
            cpu0, disp0, rx0 = costs.cpu_seconds(pid), thread_cpu(pid, DISPATCHER), costs.cpu_seconds(rx.pid)
            w0 = thread_cpu(pid, WRITER)
            live = wrk_rps(server, script, args)
            disp_during = thread_cpu(pid, DISPATCHER) - disp0
            live["drain_s"] = drained(admin, ep["id"])
            n = live["requests"]
            live["cpu_us"] = costs.per_request(cpu0, costs.cpu_seconds(pid), n)
            live["dispatcher_cpu_us"] = (thread_cpu(pid, DISPATCHER) - disp0) / n * 1e6
            live["dispatcher_cpu_us_during_load"] = disp_during / n * 1e6
            live["writer_cpu_us"] = (thread_cpu(pid, WRITER) - w0) / n * 1e6
            live["receiver_cpu_us"] = costs.per_request(rx0, costs.cpu_seconds(rx.pid), n)
            live["received"], _ = rx.arrivals()
            admin.request("DELETE", f"/api/webhooks/{ep['id']}")
            return live

        for r in range(args.rounds):
            # Every run adds ~50,000 rows, and creates slow down as the table
            # and its indexes grow: a fixed order would charge that drift to
            # the phases run last. Odd rounds run none, paused, live; even
            # rounds the reverse.
            phases = {"none": run_none, "outbox": run_paused, "live": run_live}
            order = list(phases) if r % 2 == 0 else list(reversed(phases))
            got = {name: phases[name]() for name in order}
            none, outbox, live = got["none"], got["outbox"], got["live"]
            row = {
                "none": none, "outbox": outbox, "live": live,
                "cost": 1 - outbox["rps"] / none["rps"],
                "cpu_cost": outbox["cpu_us"] / none["cpu_us"] - 1,
                "live_cost": 1 - live["rps"] / none["rps"],
                "delivery_cpu_us": live["cpu_us"] - outbox["cpu_us"],
            }
            result["rounds"].append(row)
            print(f"round {r + 1}: none {none['rps']:.0f}/s {none['cpu_us']:.1f} us, outbox "
                  f"{outbox['rps']:.0f}/s {outbox['cpu_us']:.1f} us ({row['cost']:.1%}), live "
                  f"{live['rps']:.0f}/s ({row['live_cost']:.1%}) {live['cpu_us']:.1f} us, dispatcher "
                  f"{live['dispatcher_cpu_us']:.1f} us, writer thread {none['writer_cpu_us']:.1f} -> "
                  f"{live['writer_cpu_us']:.1f} us, receiver {live['receiver_cpu_us']:.1f} us, "
                  f"drained in {live['drain_s']:.1f} s, {live['received']} received",
                  file=sys.stderr)
        result["loadavg_end"] = os.getloadavg()
        for k in ("cost", "cpu_cost", "live_cost", "delivery_cpu_us"):
            result[f"{k}_median"] = (statistics.median(x[k] for x in result["rounds"])
                                     if result["rounds"] else float("nan"))

        # Latency at a steady rate, on a fresh endpoint each time.
        result["latency_runs"] = []
        for _ in range(max(1, args.latency_runs)):
            ep = admin.ok("POST", "/api/webhooks", hook_body)
            rx.reset()
            sent = asyncio.run(steady_creates(server, args.rate, args.seconds, 16))
            deadline = time.time() + 30
            arrivals: dict[int, int] = {}
            while time.time() < deadline:
                _, arrivals = rx.arrivals()
                if len(arrivals) >= len(sent):
                    break
                time.sleep(0.25)
            lat = [(arrivals[i] - sent[i]) / 1e6 for i in sent if i in arrivals]
            _, page = admin.request("GET", f"/api/webhooks/deliveries?webhook={ep['id']}&state=succeeded&perPage=1")
            admin.request("DELETE", f"/api/webhooks/{ep['id']}")
            run_lat = {
                "rate": args.rate, "creates": len(sent), "delivered": len(lat),
                "lost": len(sent) - len(lat), "p50_ms": pct(lat, 50), "p95_ms": pct(lat, 95),
                "p99_ms": pct(lat, 99), "max_ms": max(lat), "succeeded_in_log": page.get("totalItems"),
                "loadavg": os.getloadavg()[0],
            }
            print(f"latency: p50 {run_lat['p50_ms']:.1f} p95 {run_lat['p95_ms']:.1f} "
                  f"p99 {run_lat['p99_ms']:.1f} ms, lost {run_lat['lost']}, load {run_lat['loadavg']:.1f}",
                  file=sys.stderr)
            result["latency_runs"].append(run_lat)
        # The run with the median p95 stands for the phase.
        runs = sorted(result["latency_runs"], key=lambda x: x["p95_ms"])
        result["latency"] = runs[len(runs) // 2]
    finally:
        server.stop()
        rx.stop()

    lat = result["latency"]
    md = [
        "# Webhook benchmark (Cairn)",
        "",
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; wrk -t{args.threads} -c{args.connections} "
        f"-d{args.duration}s, {args.rounds} rounds; receiver: {rx.name}; load average "
        f"{result['loadavg_start'][0]:.1f} at the start, {result['loadavg_end'][0]:.1f} at the end.",
        "",
        "| round | creates/s, no endpoint | live endpoint | **cost** | paused endpoint (outbox rows only) "
        "| its cost | CPU µs/create none → paused → live (until drained) | dispatcher thread µs/delivery "
        "(during load) | writer thread µs/create none → live | receiver µs/delivery | drained after |",
        "|---|---:|---:|---:|---:|---:|---|---|---|---:|---:|",
    ]
    for i, r in enumerate(result["rounds"], 1):
        lv = r["live"]
        md.append(f"| {i} | {r['none']['rps']:.0f} | {lv['rps']:.0f} | {r['live_cost']:.1%} "
                  f"| {r['outbox']['rps']:.0f} | {r['cost']:.1%} | {r['none']['cpu_us']:.1f} → "
                  f"{r['outbox']['cpu_us']:.1f} → {lv['cpu_us']:.1f} | {lv['dispatcher_cpu_us']:.1f} "
                  f"({lv['dispatcher_cpu_us_during_load']:.1f}) | {r['none']['writer_cpu_us']:.1f} → "
                  f"{lv['writer_cpu_us']:.1f} | {lv['receiver_cpu_us']:.1f} "
                  f"| {lv['drain_s']:.1f} s |")
    md += [
        "",
        f"Cost of one live endpoint (median of the rounds): **{result['live_cost_median']:.1%}** of "
        f"create throughput (goal < 15 %). The outbox rows alone (paused endpoint): "
        f"{result['cost_median']:.1%} ({result['cpu_cost_median']:.1%} in Cairn's CPU per create). "
        f"Delivering costs about {result['delivery_cpu_us_median']:.0f} µs of Cairn CPU per delivery "
        "(counted until the backlog is drained; the dispatcher thread's share is its own column), "
        f"and the receiver's CPU ({rx.name}) is on the same two cores.",
        "",
        f"Delivery latency at {lat['rate']} creates/s ({lat['creates']} creates, send -> arrival): "
        f"p50 {lat['p50_ms']:.1f} ms, **p95 {lat['p95_ms']:.1f} ms** (goal < 250 ms), p99 {lat['p99_ms']:.1f} ms, "
        f"max {lat['max_ms']:.1f} ms; lost {lat['lost']}.",
    ]
    text = "\n".join(md) + "\n"
    print(text)
    out = BENCH_DIR / "results"
    (out / "webhooks.md").write_text(text)
    (out / "webhooks.json").write_text(json.dumps(result, indent=2))
    ok = result["live_cost_median"] < 0.15 and lat["p95_ms"] < 250 and lat["lost"] == 0
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
