#!/usr/bin/env python3
"""Custom-route benchmark: a pb_hooks route returning a record found with
$app.findRecordById, on Cairn and PocketBase side by side in one run.

Both servers get the same pb_migrations (a collection and one record) and
the same pb_hooks file; wrk drives GET /api/bench/{id} for a bounded time.

    bench/hooks.py --cairn target/release/cairn --pocketbase .venv/bin/pocketbase
"""

import argparse
import json
import os
import re
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from pinning import add_pin_argument, server_cpus, taskset, wrk_cpus  # noqa: E402

HOOK = """
routerAdd("GET", "/api/bench/{id}", (e) => {
  const r = $app.findRecordById("items", e.request.pathValue("id"))
  return e.json(200, { id: r.id, title: r.getString("title") })
})
"""

MIGRATION = """
migrate((app) => {
  const c = new Collection({ name: "items", listRule: "", viewRule: "",
    fields: [{ name: "title", type: "text" }] })
  app.save(c)
  const r = new Record(app.findCollectionByNameOrId("items"))
  r.set("id", "benchrecord0001")
  r.set("title", "hello")
  app.save(r)
})
"""

RECORD = "benchrecord0001"
ROUTE = f"/api/bench/{RECORD}"
TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> tuple[float, float]:
    """User and system CPU time of process `pid` (all its threads) so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) / TICK, int(fields[12]) / TICK


def children_cpu() -> float:
    """User + system CPU time of this process's finished children (wrk)."""
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run(label: str, binary: str, seconds: int, connections: int,
        pin: tuple[str, str] | None = None, path: str = ROUTE) -> dict:
    root = Path(tempfile.mkdtemp(prefix=f"cairn-bench-hooks-{label}-"))
    try:
        (root / "pb_hooks").mkdir()
        (root / "pb_migrations").mkdir()
        (root / "pb_hooks" / "bench.pb.js").write_text(HOOK)
        (root / "pb_migrations" / "1_items.js").write_text(MIGRATION)
        port = free_port()
        log = open(root / "server.log", "w")
        proc = subprocess.Popen(
            taskset(server_cpus(pin))
            + [binary, "serve", "--http", f"127.0.0.1:{port}", "--dir", str(root / "data")],
            cwd=root, stdout=log, stderr=subprocess.STDOUT,
        )
        url = f"http://127.0.0.1:{port}{path}"
        try:
            deadline = time.time() + 30
            while True:
                try:
                    with urllib.request.urlopen(url, timeout=2) as r:
                        body = json.load(r)
                        assert path != ROUTE or body == {"id": RECORD, "title": "hello"}, body
                        break
                except Exception:
                    if time.time() > deadline or proc.poll() is not None:
                        raise RuntimeError(f"{label} did not serve {url}; see {root}/server.log")
                    time.sleep(0.1)
            wrk = taskset(wrk_cpus(pin)) + ["wrk", "-t2"]
            subprocess.run(wrk + ["-c", str(connections), "-d", "2s", url],
                           capture_output=True, check=True)  # warm-up
            server0, wrk0 = cpu_seconds(proc.pid), children_cpu()
            out = subprocess.run(
                wrk + ["-c", str(connections), "-d", f"{seconds}s", "--latency", url],
                capture_output=True, text=True, check=True,
            ).stdout
            server1, wrk_cpu = cpu_seconds(proc.pid), children_cpu() - wrk0
            user, system = server1[0] - server0[0], server1[1] - server0[1]
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
        rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
        p50 = re.search(r"^\s+50%\s+(\S+)", out, re.M).group(1)
        p99 = re.search(r"^\s+99%\s+(\S+)", out, re.M).group(1)
        errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
        n = int(re.search(r"(\d+) requests in", out).group(1))
        return {"rps": rps, "p50": p50, "p99": p99, "non2xx": int(errors.group(1)) if errors else 0,
                "server_us": (user + system) / max(n, 1) * 1e6, "sys_us": system / max(n, 1) * 1e6,
                "wrk_us": wrk_cpu / max(n, 1) * 1e6}
    finally:
        shutil.rmtree(root, ignore_errors=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cairn", default="target/release/cairn")
    ap.add_argument("--pocketbase", default=".venv/bin/pocketbase")
    ap.add_argument("--seconds", type=int, default=10)
    ap.add_argument("--connections", type=int, default=32)
    ap.add_argument("--rounds", type=int, default=1,
                    help="PocketBase then Cairn, this many times; the median ratio is reported")
    add_pin_argument(ap)
    ap.add_argument("--path", default=ROUTE,
                    help="request this path on both servers instead of the hook route, e.g. "
                         f"/api/collections/items/records/{RECORD} (the built-in record view) "
                         "or /api/health: what the same servers cost without the JavaScript")
    ap.add_argument("--out", default=None,
                    help="append the table to this file too (bench/results/hooks.md keeps the history)")
    a = ap.parse_args()
    a.cairn = os.path.abspath(a.cairn)
    a.pocketbase = os.path.abspath(a.pocketbase)
    rounds = []
    for _ in range(max(1, a.rounds)):
        rounds.append({
            "pocketbase": run("pocketbase", a.pocketbase, a.seconds, a.connections, a.pin, a.path),
            "cairn": run("cairn", a.cairn, a.seconds, a.connections, a.pin, a.path),
        })
    ratios = sorted(r["cairn"]["rps"] / max(r["pocketbase"]["rps"], 1e-9) for r in rounds)
    ratio = ratios[len(ratios) // 2]
    load = os.getloadavg()[0]
    where = (f"server under `taskset -c {server_cpus(a.pin)}`, wrk under `taskset -c {wrk_cpus(a.pin)}`"
             if a.pin else f"server and wrk sharing {os.cpu_count()} cores")
    lines = [
        f"`GET {a.path}`; wrk, {a.connections} connections, {a.seconds} s per server and round, "
        f"{len(rounds)} round(s) of PocketBase then Cairn, {where}; "
        f"1-minute load average at the end: {load:.1f}.",
        "",
        "| round | server | req/s | p50 | p99 | non-2xx | server CPU µs / req (of which system) | wrk CPU µs / req |",
        "|---:|---|---:|---:|---:|---:|---:|---:|",
    ]
    for i, res in enumerate(rounds, 1):
        for k, v in res.items():
            lines.append(f"| {i} | {k} | {v['rps']:.0f} | {v['p50']} | {v['p99']} | {v['non2xx']} "
                         f"| {v['server_us']:.1f} ({v['sys_us']:.1f}) | {v['wrk_us']:.1f} |")
    lines += ["", "Cairn / PocketBase per round: " + ", ".join(
        f"{r['cairn']['rps'] / max(r['pocketbase']['rps'], 1e-9):.1f}x" for r in rounds),
        "", f"Median: **{ratio:.1f}x**", "", cpu_summary(rounds, a.pin), ""]
    if a.out:
        with open(a.out, "a") as f:
            f.write("\n".join(lines) + "\n")
    print("\n".join(lines))


def cpu_summary(rounds: list[dict], pin: tuple[str, str] | None) -> str:
    """Median CPU per request of each side, and the req/s ratio it allows."""
    def med(xs: list[float]) -> float:
        return sorted(xs)[len(xs) // 2]
    pb_us = med([r["pocketbase"]["server_us"] for r in rounds])
    cairn_us = med([r["cairn"]["server_us"] for r in rounds])
    wrk_us = med([r[k]["wrk_us"] for r in rounds for k in r])
    head = (f"Median CPU per request: PocketBase {pb_us:.1f} µs, Cairn {cairn_us:.1f} µs "
            f"(**{pb_us / max(cairn_us, 1e-9):.1f}x** less), wrk {wrk_us:.1f} µs; ")
    if pin:
        # Each side on cores of its own: req/s follows the server's CPU per
        # request until wrk's core is the limit.
        return head + (f"pinned, the ratio follows PocketBase / Cairn until wrk's core is the "
                       f"limit (~{1e6 / max(wrk_us, 1e-9):,.0f} req/s on one core).")
    # Sharing the cores, each request costs the server's CPU and wrk's:
    # req/s ≈ cores / (server + wrk), so wrk's share caps the ratio.
    return head + (f"the ratio wrk can show with both on the same cores: (PocketBase + wrk) / "
                   f"(Cairn + wrk) = {(pb_us + wrk_us) / max(cairn_us + wrk_us, 1e-9):.1f}x, at most "
                   f"{(pb_us + wrk_us) / max(wrk_us, 1e-9):.1f}x for a server that cost nothing.")


if __name__ == "__main__":
    main()
