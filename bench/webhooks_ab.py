#!/usr/bin/env python3
"""Two Cairn builds' webhook costs side by side (issue 14).

`bench/webhooks.py` measures one build; its rates swing by a third between
rounds on a shared machine, more than most changes move them. This runs two
builds at once instead: both servers up, each with its own `posts`
collection and its own Rust receiver (`examples/webhook_receiver.rs`),
and for every round and build three `wrk` runs of D seconds, with no
endpoint, with a paused one (the outbox rows alone) and with a live one
(its backlog drained before the next run). The builds alternate (A, B, then
B, A) and so does the phase order (none, paused, live, then the reverse),
so neighbours' bursts and the tables' growth fall on both alike. Per build,
the medians of the rounds:

- live cost: 1 - (creates/s, live) / (creates/s, none) (goal < 15 %);
- paused cost, by rate and by Cairn's CPU per create;
- Cairn CPU per delivery: CPU per create live (counted until the backlog is
  drained) minus paused. The steadiest of the three.

    bench/webhooks_ab.py --bin /tmp/cairn-before --bin target/release/cairn --rounds 8

Standard library + wrk; reuses bench/webhooks.py and bench/run.py.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR))
import costs  # noqa: E402
import run as base  # noqa: E402
import webhooks as wh  # noqa: E402


def phase(srv: base.Server, admin: base.Client, hook: dict, mode: str, script: Path, args) -> dict:
    """One wrk run with no endpoint, a paused one or a live one."""
    ep = None
    if mode != "none":
        ep = admin.ok("POST", "/api/webhooks", {**hook, "status": "paused" if mode == "paused" else "enabled"})
    pid = srv.proc.pid
    cpu0 = costs.cpu_seconds(pid)
    out = wh.wrk_rps(srv, script, args)
    if mode == "live":
        wh.drained(admin, ep["id"])
    out["cpu_us"] = costs.per_request(cpu0, costs.cpu_seconds(pid), out["requests"])
    if ep:
        admin.request("DELETE", f"/api/webhooks/{ep['id']}")
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin", action="append", required=True, help="a Cairn binary (give two)")
    ap.add_argument("--rounds", type=int, default=8)
    ap.add_argument("-d", "--duration", type=int, default=4, help="seconds per wrk run")
    ap.add_argument("-t", "--threads", type=int, default=2)
    ap.add_argument("-c", "--connections", type=int, default=32)
    args = ap.parse_args()
    if len(args.bin) != 2:
        ap.error("give --bin twice")
    os.environ["CAIRN_WEBHOOKS_ALLOW_CIDRS"] = "127.0.0.0/8"
    os.environ.setdefault("CAIRN_LOG", "warn")
    logs = BENCH_DIR / "results" / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    script = Path(tempfile.mkdtemp(prefix="bench-whab-")) / "create.lua"
    script.write_text(wh.WRK_LUA)
    names = ["A", "B"]
    up: dict[str, tuple] = {}
    try:
        for name, binary in zip(names, args.bin):
            rx = wh.RustReceiver()
            srv = base.Server(f"cairn-wh-{name}", str(Path(binary).resolve()), False, logs)
            up[name] = (srv, rx, None)
            srv.start()
            admin = base.Client(srv.host, srv.port, base.superuser_token(srv))
            admin.ok("POST", "/api/collections", wh.POSTS)
            up[name] = (srv, rx, admin)
            wh.wrk_rps(srv, script, argparse.Namespace(**{**vars(args), "duration": 2}))
        rows: dict[str, list[dict]] = {n: [] for n in names}
        for r in range(args.rounds):
            builds = names if r % 2 == 0 else names[::-1]
            order = ["none", "paused", "live"] if (r // 2) % 2 == 0 else ["live", "paused", "none"]
            for name in builds:
                srv, rx, admin = up[name]
                hook = {"url": f"http://127.0.0.1:{rx.port}/hook", "collection": "posts", "actions": ["create"]}
                got = {m: phase(srv, admin, hook, m, script, args) for m in order}
                none, paused, live = got["none"], got["paused"], got["live"]
                row = {
                    "live": 1 - live["rps"] / none["rps"],
                    "paused": 1 - paused["rps"] / none["rps"],
                    "paused_cpu": paused["cpu_us"] / none["cpu_us"] - 1,
                    "delivery_us": live["cpu_us"] - paused["cpu_us"],
                }
                rows[name].append(row)
                print(f"round {r + 1} {name}: none {none['rps']:.0f}/s {none['cpu_us']:.1f} µs, paused "
                      f"{paused['rps']:.0f}/s ({row['paused']:.1%}), live {live['rps']:.0f}/s "
                      f"({row['live']:.1%}), CPU per delivery {row['delivery_us']:.0f} µs", file=sys.stderr)
    finally:
        for srv, rx, _ in up.values():
            srv.stop()
            rx.stop()
    print(f"\n{args.rounds} rounds, wrk -t{args.threads} -c{args.connections} -d{args.duration}s, medians:\n")
    print("| build | live endpoint's cost | paused (outbox rows) | paused, CPU per create | Cairn CPU µs per delivery |")
    print("|---|---:|---:|---:|---:|")
    for name, binary in zip(names, args.bin):
        med = {k: statistics.median(x[k] for x in rows[name]) for k in rows[name][0]}
        print(f"| {name} `{binary}` | {med['live']:.1%} | {med['paused']:.1%} | {med['paused_cpu']:+.1%} "
              f"| {med['delivery_us']:.0f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
