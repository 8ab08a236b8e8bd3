#!/usr/bin/env python3
"""Cairn on SQLite, and on one PostgreSQL database with 1, 2 and 4 nodes, in one run.

Issue 19 / POSTGRES.md behaviour 13: the same scenarios as bench/run.py (S1-S7 by
default: get by id, the four lists, create, update), each against:

- `sqlite`: one node on its own SQLite data directory (the default store);
- `pg-N`: N nodes (`cairn serve --db postgres://...`, each with its own data
  directory and port) on one database of a PostgreSQL cluster this script starts
  (scripts/pg-test-server, 127.0.0.1 only).

With N nodes, N wrk processes run at once, each against one node with 1/N of the
connections (a load balancer's round robin); their requests add up. CPU per
request is reported for the Cairn processes together and for PostgreSQL's
processes (the postmaster and its children) apart. After the scenarios, the
change-feed lag: a subscriber on the first node, creates at a fixed rate through
the last node, and the time from each create's reply to its event's arrival.

Everything runs on this machine's cores, wrk and PostgreSQL included: on a
2-core VM more nodes cannot add CPU, so read throughput can only show what the
nodes cost, not a cluster's scaling; the report says so beside the figures.

    bench/scaling.py --records 2000 -d 5            # what docs/scaling.md shows
    bench/scaling.py --configs sqlite,pg-1 --scenarios get_by_id,create
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
import http.client
import json
import multiprocessing
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
sys.path.insert(0, str(BENCH_DIR))

import costs  # noqa: E402
import run  # noqa: E402

S1_S7 = "get_by_id,list_sorted,list_filtered,list_rule,list_expand,create,update"
PG_SCRIPT = REPO_ROOT / "scripts" / "pg-test-server"


class Cluster:
    """A throwaway PostgreSQL cluster (scripts/pg-test-server)."""

    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="bench-pg-"))
        out = subprocess.run([str(PG_SCRIPT), "start", str(self.dir)], capture_output=True,
                             text=True, timeout=300, check=True).stdout
        self.url = next(w.split("=", 1)[1] for w in out.split() if w.startswith("CAIRN_TEST_PG_URL="))

    def database(self, name: str) -> str:
        subprocess.run(["psql", self.url, "-q", "-c", f"CREATE DATABASE {name}"], check=True,
                       timeout=60)
        return self.url.rsplit("/", 1)[0] + "/" + name

    def pids(self) -> list[int]:
        """The postmaster and its children (backends, WAL writer, checkpointer...)."""
        try:
            top = int((self.dir / "data" / "postmaster.pid").read_text().split()[0])
            kids = Path(f"/proc/{top}/task/{top}/children").read_text().split()
        except (OSError, ValueError, IndexError):
            return []
        return [top, *map(int, kids)]

    def cpu(self) -> float:
        return sum(costs.cpu_seconds(p) or 0.0 for p in self.pids())

    def stop(self) -> None:
        subprocess.run([str(PG_SCRIPT), "stop", str(self.dir)], capture_output=True, timeout=120)


def start_node(label: str, binary: str, db_url: str | None, work: Path) -> run.Server:
    """A Cairn node; on PostgreSQL through CAIRN_DB_URL (run.Server passes its environment on)."""
    saved = os.environ.pop("CAIRN_DB_URL", None)
    if db_url:
        os.environ["CAIRN_DB_URL"] = db_url
    try:
        node = run.Server(label, binary, False, work)
        node.start()
        return node
    finally:
        os.environ.pop("CAIRN_DB_URL", None)
        if saved is not None:
            os.environ["CAIRN_DB_URL"] = saved


def node_ctx(ctx: run.Ctx, node: run.Server, share: int) -> run.Ctx:
    """`ctx` aimed at `node`, with `share` of the connections."""
    args = copy.copy(ctx.args)
    args.connections = max(share, args.threads)
    return dataclasses.replace(ctx, server=node, args=args)


def scenario(sc: run.Scenario, ctx: run.Ctx, nodes: list[run.Server], cluster: Cluster | None,
             work: Path, tag: str) -> dict[str, Any]:
    """One scenario with wrk against every node at once."""
    try:
        extra = (sc.setup(ctx) if sc.setup else {}) or {}
    except Exception as exc:  # the next scenarios still run
        return {"error": f"setup: {type(exc).__name__}: {exc}"}
    problem = run.probe(sc, ctx, extra)
    if problem:
        return {"error": problem}
    share = ctx.args.connections // len(nodes)
    jobs = []
    for i, node in enumerate(nodes):
        c = node_ctx(ctx, node, share)
        script = work / f"{tag}-{sc.name}-{i}.lua"
        script.write_text(run.build_lua(sc, c, extra, Path(str(script) + ".json")))
        jobs.append((c, script))

    def all_wrk(seconds: float) -> list[dict]:
        out: list[Any] = [None] * len(jobs)

        def one(i: int) -> None:
            out[i] = run.run_wrk(jobs[i][0], jobs[i][1], seconds)[0]
        threads = [threading.Thread(target=one, args=(i,)) for i in range(len(jobs))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        if any(r is None for r in out):
            raise RuntimeError(f"wrk failed for {sc.name}")
        return out

    if ctx.args.warmup > 0:
        all_wrk(ctx.args.warmup)
    cairn0 = sum(costs.cpu_seconds(n.proc.pid) or 0.0 for n in nodes)
    pg0 = cluster.cpu() if cluster else 0.0
    res = all_wrk(ctx.args.duration)
    cairn1 = sum(costs.cpu_seconds(n.proc.pid) or 0.0 for n in nodes)
    pg1 = cluster.cpu() if cluster else 0.0
    reqs = sum(int(r["requests"]) for r in res)
    errors = sum(int(r["errors"]["status"] + r["errors"]["connect"] + r["errors"]["read"]
                     + r["errors"]["write"] + r["errors"]["timeout"]) for r in res)
    return {
        "requests": reqs,
        "rps": round(sum(r["requests"] / (r["duration_us"] / 1e6) for r in res), 1),
        "cairn_cpu_us": round((cairn1 - cairn0) * 1e6 / reqs, 1) if reqs else None,
        "pg_cpu_us": round((pg1 - pg0) * 1e6 / reqs, 1) if reqs and cluster else None,
        "p99_ms": round(max(r["latency_us"]["p99"] for r in res) / 1000, 2),
        "errors": errors,
    }


def subscriber(host: str, port: int, token: str, pipe: Any) -> None:
    """A subscriber to `posts` on one node, in a process of its own (so that the
    writers' threads cannot hold its arrival times back behind Python's global
    lock): says "ready" once subscribed, stamps each event's arrival with the
    machine-wide monotonic clock, and after "done" waits up to 10 s for the
    `n` events it is told of before sending the stamps back."""
    arrived: dict[str, float] = {}
    conn = http.client.HTTPConnection(host, port, timeout=60)
    conn.request("GET", "/api/realtime", headers={"Accept": "text/event-stream"})
    stream = conn.getresponse()
    client_id = ""
    while not client_id:
        line = stream.readline().decode()
        if line.startswith("id:"):
            client_id = line[3:].strip()
    run.Client(host, port, token).ok("POST", "/api/realtime", {"clientId": client_id, "subscriptions": ["posts"]})
    done = threading.Event()

    def lines() -> None:
        while not done.is_set():
            line = stream.readline()
            if not line:
                return
            if line.startswith(b"data:"):
                try:
                    title = json.loads(line[5:])["record"]["title"]
                except (ValueError, KeyError, TypeError):
                    continue
                arrived.setdefault(title, time.monotonic())

    def read() -> None:
        try:
            lines()
        except (OSError, AttributeError, ValueError):
            pass  # the stream was closed under the reader
    threading.Thread(target=read, daemon=True).start()
    pipe.send("ready")
    n = pipe.recv()
    deadline = time.monotonic() + 10
    while len(arrived) < n and time.monotonic() < deadline:
        time.sleep(0.05)
    done.set()
    pipe.send(dict(arrived))
    conn.close()


def feed_lag(first: run.Server, last: run.Server, token: str, rate: int, seconds: float) -> dict:
    """Creates through `last` at `rate`/s; a subscriber of `first` (another
    process) times each event's arrival after the create's reply."""
    acked: dict[str, float] = {}
    ctx = multiprocessing.get_context("spawn")
    here, there = ctx.Pipe()
    child = ctx.Process(target=subscriber, args=(first.host, first.port, token, there), daemon=True)
    child.start()
    if not here.poll(30) or here.recv() != "ready":
        child.kill()
        raise RuntimeError("the feed-lag subscriber did not subscribe within 30 s")
    n = int(rate * seconds)
    lock = threading.Lock()

    def write(w: int, workers: int) -> None:
        # Worker w sends creates w, w + workers, ... on the shared schedule.
        client = run.Client(last.host, last.port, token)
        for i in range(w, n, workers):
            wait = t0 + i / rate - time.perf_counter()
            if wait > 0:
                time.sleep(wait)
            title = f"lag-{i}"
            client.ok("POST", "/api/collections/posts/records", {"title": title, "body": "x"})
            with lock:
                acked[title] = time.monotonic()
    workers = max(1, min(16, rate // 100))
    t0 = time.perf_counter()
    threads = [threading.Thread(target=write, args=(w, workers)) for w in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    achieved = n / (time.perf_counter() - t0)
    here.send(n)
    arrived = here.recv() if here.poll(60) else {}
    child.join(5)
    if child.is_alive():
        child.kill()
    # An event can arrive before its reply does: that lag counts as 0.
    lags = sorted(max(0.0, arrived[t] - acked[t]) * 1000 for t in acked if t in arrived)

    def pct(p: float) -> float | None:
        return round(lags[min(len(lags) - 1, int(p * len(lags)))], 1) if lags else None
    return {"rate": rate, "achieved": round(achieved), "writes": n, "lost": n - len(lags), "p50_ms": pct(0.5),
            "p95_ms": pct(0.95), "p99_ms": pct(0.99)}


def bench_config(name: str, args: argparse.Namespace, scenarios: list[run.Scenario],
                 cluster: Cluster | None, work: Path) -> dict[str, Any]:
    count = int(name.split("-")[1]) if name.startswith("pg-") else 1
    db = cluster.database(name.replace("-", "_")) if name.startswith("pg-") else None
    nodes: list[run.Server] = []
    out: dict[str, Any] = {"nodes": count, "scenarios": {}}
    print(f"== {name}", file=sys.stderr, flush=True)
    try:
        for i in range(count):
            nodes.append(start_node(f"{name}-{i}", args.cairn_bin, db, work))
        ctx = run.Ctx(server=nodes[0], token=run.superuser_token(nodes[0]), args=args)
        out["seed"] = run.seed(ctx)
        for sc in scenarios:
            r = scenario(sc, ctx, nodes, cluster if db else None, work, name)
            out["scenarios"][sc.name] = r
            print(f"   {sc.name}: {r}", file=sys.stderr, flush=True)
        out["feed_lag"] = feed_lag(nodes[0], nodes[-1], ctx.token, args.lag_rate, args.lag_seconds)
        print(f"   feed lag: {out['feed_lag']}", file=sys.stderr, flush=True)
    except Exception as exc:  # the other configurations still run
        out["failure"] = f"{type(exc).__name__}: {exc}"
        print(f"   FAILED: {out['failure']}", file=sys.stderr, flush=True)
    finally:
        for node in nodes:
            node.stop()
    return out


def report(meta: dict, results: dict[str, dict], scenarios: list[run.Scenario]) -> str:
    configs = list(results)
    lines = [f"## Cairn on SQLite and on PostgreSQL with 1, 2, 4 nodes — {meta['date']}", "",
             f"- Machine: {meta['nproc']} cores shared by wrk, every node and PostgreSQL; "
             f"load average {meta['load']} at the start",
             f"- `wrk -t{meta['threads']} -c{meta['connections']} -d{meta['duration']}s` in all "
             "(split over the nodes), after a warm-up; "
             f"{meta['records']} posts seeded; PostgreSQL {meta['pg']}", "",
             "req/s, then CPU µs per request: Cairn's processes + PostgreSQL's", "",
             "| scenario | " + " | ".join(configs) + " |",
             "|---|" + "---:|" * len(configs)]
    for sc in scenarios:
        cells = []
        for c in configs:
            r = results[c]["scenarios"].get(sc.name) or {"error": results[c].get("failure", "?")}
            if "error" in r:
                cells.append("failed")
                continue
            if not r["requests"]:
                cells.append("0 (none completed)")
                continue
            cpu = f"{r['cairn_cpu_us']:.0f}" + (f" + {r['pg_cpu_us']:.0f}" if r["pg_cpu_us"] is not None else "")
            errs = f", {r['errors']} errors" if r["errors"] else ""
            cells.append(f"{r['rps']:,.0f} ({cpu} µs{errs})")
        lines.append(f"| {sc.name} | " + " | ".join(cells) + " |")
    lag = []
    for c in configs:
        f = results[c].get("feed_lag")
        lag.append("–" if not f else f"{f['p50_ms']} / {f['p95_ms']} / {f['p99_ms']} ms at "
                   f"{f['achieved']}/s, {f['lost']} lost")
    lines.append("| feed lag p50 / p95 / p99 | " + " | ".join(lag) + " |")
    f0 = next((r.get("feed_lag") for r in results.values() if r.get("feed_lag")), None)
    if f0:
        lines += ["", f"Feed lag: {f0['writes']} creates asked at {f0['rate']}/s through the last node, "
                  "timed from each reply to the event's arrival at a subscriber of the first node. "
                  "Write ceiling: the `create` row (every node writing at once)."]
    return "\n".join(lines) + "\n"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cairn-bin", default=str(REPO_ROOT / "target/release/cairn"))
    ap.add_argument("--configs", default="sqlite,pg-1,pg-2,pg-4")
    ap.add_argument("--scenarios", default=S1_S7)
    ap.add_argument("-d", "--duration", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("-t", "--threads", type=int, default=2)
    ap.add_argument("-c", "--connections", type=int, default=32)
    ap.add_argument("--timeout", type=float, default=10.0)
    ap.add_argument("--records", type=int, default=2000)
    ap.add_argument("--seed-mode", default="batch")
    ap.add_argument("--index-created", action="store_true")
    ap.add_argument("--lag-rate", type=int, default=1000, help="creates/s for the feed-lag phase")
    ap.add_argument("--lag-seconds", type=float, default=5)
    ap.add_argument("--wrk", default="wrk")
    ap.add_argument("--out", default=str(BENCH_DIR / "results" / "scaling"))
    args = ap.parse_args()
    by_name = {s.name: s for s in run.SCENARIOS}
    scenarios = [by_name[n] for n in args.scenarios.split(",")]
    configs = args.configs.split(",")
    work = Path(tempfile.mkdtemp(prefix="bench-scaling-"))
    cluster = Cluster() if any(c.startswith("pg-") for c in configs) else None
    meta = {"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "nproc": os.cpu_count(),
            "load": f"{os.getloadavg()[0]:.1f}", "threads": args.threads,
            "connections": args.connections, "duration": args.duration, "records": args.records,
            "pg": subprocess.run(["psql", "--version"], capture_output=True, text=True).stdout.strip()}
    results: dict[str, dict] = {}
    try:
        for c in configs:
            results[c] = bench_config(c, args, scenarios, cluster, work)
    finally:
        if cluster:
            cluster.stop()
    text = report(meta, results, scenarios)
    Path(args.out + ".md").write_text(text)
    Path(args.out + ".json").write_text(json.dumps({"meta": meta, "results": results}, indent=2) + "\n")
    print(text)
    return 0 if all("failure" not in r for r in results.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
