#!/usr/bin/env python3
"""Instructions per request for the bench scenarios, under callgrind.

Wall-clock and even CPU-time figures move with the neighbours' work on a shared
machine; instruction counts do not. This starts the server under
`valgrind --tool=callgrind --instr-atstart=no` (seeding runs uninstrumented),
seeds it exactly like bench/run.py, and then for each scenario: zero the counters,
switch instrumentation on, send `-n` requests one after the other from Python
(or from `--clients` threads at once, so writes share group commits as under load)
(the same requests wrk would send, placeholders rotating), switch it off and dump.
It prints instructions per request per scenario and keeps the dumps
(`callgrind_annotate FILE` shows where they go).

    bench/profile.py --bin target/release/cairn -n 200 --records 10000 \
        --scenarios get_by_id,list_sorted --out /tmp/cg

`--drain N` profiles a webhook backlog draining instead (after the
scenarios, if any): N creates queue deliveries for a *paused* endpoint
(uninstrumented), then the endpoint is enabled and everything from that
moment until the receiver has N deliveries is counted, per delivery. This
is the dispatcher's batched path (claims of four rounds, outcomes written
while claimed rows wait), which one request at a time never reaches.

Standard library + valgrind. The server binary keeps its symbols (the release
profile strips debuginfo only), so function names resolve.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import dataclasses
import http.server
import os
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

import run  # bench/run.py: schema, seed data, scenarios


class _Receiver(http.server.BaseHTTPRequestHandler):
    """Answers every webhook delivery 200 at once (keep-alive) and counts it."""
    protocol_version = "HTTP/1.1"
    count = 0

    def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
        self.rfile.read(int(self.headers.get("content-length", 0)))
        type(self).count += 1
        self.send_response(200)
        self.send_header("content-length", "0")
        self.end_headers()

    def log_message(self, *args) -> None:
        pass


def start_receiver() -> int:
    """A webhook receiver in this (uninstrumented) process; returns its port."""
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv.server_address[1]


def live_webhook_scenario(port: int) -> "run.Scenario":
    """`create` with one *live* endpoint (this process's receiver) matching
    every create: the outbox row plus the whole delivery (the dispatcher's
    claim, the signed request and the outcome's write), counted on every
    thread. Its endpoint is deleted when the scenario ends."""

    def setup(ctx: "run.Ctx") -> dict:
        rec = ctx.client().ok("POST", "/api/webhooks", {
            "name": "profile live", "url": f"http://127.0.0.1:{port}/hook",
            "collection": "posts", "actions": ["create"]})
        return {"teardown": lambda: ctx.client().ok("DELETE", f"/api/webhooks/{rec['id']}")}

    create = next(s for s in run.SCENARIOS if s.name == "create")
    return dataclasses.replace(
        create, name="create_webhook_live", setup=setup, target=None, cairn_only=True,
        baseline="create", description="`create` with a live endpoint (delivered)")


def profile_drain(ctx: "run.Ctx", pid: int, out: Path, n: int, port: int) -> float:
    """Instructions per delivery while `n` queued deliveries drain (see the
    module docs); the dump is kept as `webhook_drain.callgrind`."""
    admin = ctx.client()
    rec = admin.ok("POST", "/api/webhooks", {
        "name": "profile drain", "url": f"http://127.0.0.1:{port}/hook",
        "collection": "posts", "actions": ["create"], "status": "paused"})
    client = ctx.client(auth=False)
    for i in range(n):
        status, _ = client.request(
            "POST", "/api/collections/posts/records", headers={"Content-Type": "application/json"},
            raw=run.CREATE_BODY.replace("${seq}", f"d{i}").encode())
        if status != 200:
            raise RuntimeError(f"create -> {status}")
    time.sleep(1.5)  # the creates' request-log batch is written before counting
    start = _Receiver.count
    callgrind_control(pid, "-z")
    callgrind_control(pid, "-i", "on")
    t0 = time.time()
    admin.ok("PATCH", f"/api/webhooks/{rec['id']}", {"status": "enabled"})
    while _Receiver.count - start < n and time.time() - t0 < 600:
        time.sleep(0.2)
    time.sleep(1.0)  # the last outcomes' write
    callgrind_control(pid, "-i", "off")
    callgrind_control(pid, "-d", "webhook_drain")
    got = _Receiver.count - start
    admin.ok("DELETE", f"/api/webhooks/{rec['id']}")
    time.sleep(0.5)
    dumps = sorted(out.glob(f"callgrind.out.{pid}.*"), key=lambda p: p.stat().st_mtime)
    target = out / "webhook_drain.callgrind"
    dumps[-1].rename(target)
    per = total_ir(target) / max(got, 1)
    print(f"webhook_drain: {per:,.0f} instructions/delivery ({got} of {n} delivered, "
          f"{time.time() - t0:.1f} s)", flush=True)
    return per


def callgrind_control(pid: int, *args: str) -> None:
    subprocess.run(["callgrind_control", *args, str(pid)], check=True,
                   capture_output=True, timeout=120)


def total_ir(path: Path) -> int:
    """Instructions in a dump (`totals:`; `summary:` is 0 in dumps taken with
    `callgrind_control -d`)."""
    best = 0
    for line in path.read_text(errors="replace").splitlines():
        if line.startswith("summary:") or line.startswith("totals:"):
            best = max(best, int(line.split()[1]))
    return best


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--bin", default=str(run.REPO_ROOT / "target/release/cairn"))
    ap.add_argument("--pocketbase", action="store_true", help="the binary is PocketBase")
    ap.add_argument("-n", type=int, default=200, help="requests per scenario")
    ap.add_argument("--clients", type=int, default=1,
                    help="clients sending at once (default 1: one request at a time; more let "
                         "the writer group commits as under load, so the WAL work is shared)")
    ap.add_argument("--records", type=int, default=10_000)
    ap.add_argument("--scenarios", default="get_by_id,list_sorted,list_filtered,list_rule,"
                    "list_expand,create,update")
    ap.add_argument("--out", default="/tmp/cairn-callgrind")
    ap.add_argument("--drain", type=int, default=0,
                    help="also profile N queued webhook deliveries draining (per delivery)")
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("callgrind.out*"):
        old.unlink()
    wrapper = out / "server-under-callgrind"
    wrapper.write_text(
        "#!/bin/sh\n"
        "if [ \"$1\" != serve ]; then exec " + args.bin + " \"$@\"; fi\n"
        # Set, so the server does not run itself again (src/main.rs), which
        # callgrind would not follow.
        "export MIMALLOC_PURGE_DELAY=\"${MIMALLOC_PURGE_DELAY:-100}\"\n"
        f"exec valgrind --tool=callgrind --instr-atstart=no "
        f"--callgrind-out-file={out}/callgrind.out.%p {args.bin} \"$@\"\n")
    wrapper.chmod(0o755)
    # The live-endpoint scenario's receiver is on loopback: let Cairn send there.
    os.environ["CAIRN_WEBHOOKS_ALLOW_CIDRS"] = "127.0.0.0/8"
    by_name = {s.name: s for s in run.SCENARIOS}
    port = start_receiver()
    by_name["create_webhook_live"] = live_webhook_scenario(port)
    names = [n.strip() for n in args.scenarios.split(",") if n.strip()]
    ns = argparse.Namespace(records=args.records, seed_mode="auto", index_created=False)
    server = run.Server("profile", str(wrapper), args.pocketbase, out)
    results = {}
    try:
        server.start()
        ctx = run.Ctx(server=server, token=run.superuser_token(server), args=ns)
        run.seed(ctx)
        pid = server.proc.pid
        for name in names:
            sc = by_name[name]
            extra = (sc.setup(ctx) if sc.setup else {}) or {}
            problem = run.probe(sc, ctx, extra)
            if problem:
                print(f"{name}: probe failed: {problem}", file=sys.stderr)
                continue
            path, headers, body = run.resolve_scenario(sc, ctx, extra)
            vars_ = {**ctx.vars, **extra.get("vars", {})}

            def fill(tpl: str, i: int) -> str:
                return run.PLACEHOLDER.sub(
                    lambda m: f"p{i}" if m.group(1) == "seq"
                    else vars_[m.group(1)][i % len(vars_[m.group(1)])], tpl)

            client = ctx.client(auth=False)
            for i in range(5):  # warm the statement caches outside the count
                client.request(sc.method, fill(path, i), headers=headers,
                               raw=fill(body, i).encode() if body is not None else None)
            callgrind_control(pid, "-z")
            callgrind_control(pid, "-i", "on")
            t0 = time.time()
            bad = 0

            def send(first: int, step: int) -> int:
                c = ctx.client(auth=False) if step > 1 else client
                wrong = 0
                for i in range(first, args.n, step):
                    status, _ = c.request(
                        sc.method, fill(path, i + 5),
                        headers={k: fill(v, i) for k, v in headers.items()},
                        raw=fill(body, i + 5).encode() if body is not None else None)
                    wrong += status != sc.expect_status
                return wrong

            if args.clients <= 1:
                bad = send(0, 1)
            else:
                with concurrent.futures.ThreadPoolExecutor(args.clients) as pool:
                    bad = sum(pool.map(lambda k: send(k, args.clients), range(args.clients)))
            # Background work the requests caused (the request log's writer
            # batches for up to 1 s, deliveries are sent after their commit)
            # is part of their cost: let it run.
            time.sleep(1.5)
            callgrind_control(pid, "-i", "off")
            callgrind_control(pid, "-d", name)
            if "teardown" in extra:
                extra["teardown"]()
            time.sleep(0.5)
            dumps = sorted(out.glob(f"callgrind.out.{pid}.*"), key=lambda p: p.stat().st_mtime)
            dump = dumps[-1]
            target = out / f"{name}.callgrind"
            dump.rename(target)
            ir = total_ir(target)
            results[name] = ir / args.n
            print(f"{name}: {ir / args.n:,.0f} instructions/request "
                  f"({args.n} requests, {bad} unexpected status, {time.time() - t0:.1f} s)",
                  flush=True)
        if args.drain:
            results["webhook_drain (per delivery)"] = profile_drain(ctx, pid, out, args.drain, port)
    finally:
        server.stop()
    print("\n| scenario | instructions / request |\n|---|---:|")
    for k, v in results.items():
        print(f"| {k} | {v:,.0f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
