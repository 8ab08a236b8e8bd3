#!/usr/bin/env python3
"""Cairn builds back to back: server CPU per request, user and system apart.

`bench/run` compares Cairn with PocketBase; this compares Cairn binaries with
each other, alternating them round by round (A, B, A, B ...) so the
neighbours' load on a shared machine falls on both alike. For each binary and
round: a fresh server, seeded like bench/run.py (`--records`), then for each
scenario a 1 s warm-up and a measured `wrk -t2 -c32` run, with the server's
utime and stime (/proc/PID/stat, all threads) read around it. At the end of
each server's run it prints VmHWM and the resident size of every mapping of
a `.db` file (`--smaps`; also right after seeding, 100 users and 5 s at rest,
as `bench/run` takes its "RSS after seeding"): a memory-mapped database page counts in RSS once
per connection that mapped it (docs/performance.md, "Session 13").

    bench/cpu_ab.py --bin /tmp/before --bin target/release/cairn \
        --scenarios create,update,file_upload --rounds 2 -d 5

Standard library + wrk; reuses bench/run.py's schema, seed data and scenarios.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import time
from pathlib import Path

import costs  # bench/costs.py
import run  # bench/run.py

TCK = os.sysconf("SC_CLK_TCK")


def user_sys(pid: int) -> tuple[float, float]:
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2:].split()
    return int(fields[11]) / TCK, int(fields[12]) / TCK


def db_mappings(pid: int) -> list[tuple[str, int]]:
    """(file name, resident KiB) of every mapping of a `.db` file."""
    out, name = [], None
    for line in Path(f"/proc/{pid}/smaps").read_text().splitlines():
        if re.match(r"^[0-9a-f]+-[0-9a-f]+ ", line):
            parts = line.split()
            name = parts[5] if len(parts) > 5 and parts[5].endswith(".db") else None
        elif name and line.startswith("Rss:"):
            out.append((name.rsplit("/", 1)[-1], int(line.split()[1])))
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--bin", action="append", required=True, help="a Cairn binary (repeat)")
    ap.add_argument("--scenarios", default="create,update")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--records", type=int, default=2000)
    ap.add_argument("-d", "--duration", type=int, default=5)
    ap.add_argument("--smaps", action="store_true", help="print the .db mappings' RSS")
    args = ap.parse_args()
    by_name = {s.name: s for s in run.SCENARIOS}
    names = [n for n in args.scenarios.split(",") if n]
    ns = argparse.Namespace(records=args.records, seed_mode="auto", index_created=False,
                            duration=args.duration, warmup=1, threads=2, connections=32,
                            timeout=10, wrk="wrk")
    rows = []
    for rnd in range(args.rounds):
        for binary in args.bin:
            work = Path(f"/tmp/cpu-ab-{os.getpid()}")
            work.mkdir(exist_ok=True)
            server = run.Server("cairn", binary, False, work)
            try:
                server.start()
                ctx = run.Ctx(server=server, token=run.superuser_token(server), args=ns)
                run.seed(ctx)
                if args.smaps:
                    # As bench/run measures it: 100 users at cost 4, then at rest.
                    costs.time_users(ctx.client(), run.USER_PASSWORD)
                    time.sleep(costs.SETTLE_SECONDS)
                    print(json.dumps({"bin": binary, "after_seeding_VmRSS_kib":
                                      server.memory().get("VmRSS"),
                                      "db_mappings_kib": db_mappings(server.proc.pid)}),
                          flush=True)
                for name in names:
                    sc = by_name[name]
                    extra = (sc.setup(ctx) if sc.setup else {}) or {}
                    script = work / f"{name}.lua"
                    script.write_text(run.build_lua(sc, ctx, extra, Path(f"{script}.json")))
                    run.run_wrk(ctx, script, 1)
                    u0, s0 = user_sys(server.proc.pid)
                    res, _ = run.run_wrk(ctx, script, args.duration)
                    u1, s1 = user_sys(server.proc.pid)
                    n = int(res["requests"]) or 1
                    e = res["errors"]
                    rows.append({
                        "round": rnd, "bin": binary, "scenario": name,
                        "rps": round(n / (res["duration_us"] / 1e6)),
                        "user_us": round((u1 - u0) / n * 1e6, 1),
                        "sys_us": round((s1 - s0) / n * 1e6, 1),
                        "errors": int(e["status"] + e["connect"] + e["read"] + e["write"]
                                      + e["timeout"]),
                    })
                    print(json.dumps(rows[-1]), flush=True)
                if args.smaps:
                    print(json.dumps({"bin": binary, "VmHWM_kib": server.memory().get("VmHWM"),
                                      "db_mappings_kib": db_mappings(server.proc.pid)}),
                          flush=True)
            finally:
                server.stop()
    print("\n| round | binary | scenario | req/s | user µs | sys µs | CPU µs | errors |")
    print("|---:|---|---|---:|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['round']} | {r['bin']} | {r['scenario']} | {r['rps']:,} | {r['user_us']} "
              f"| {r['sys_us']} | {r['user_us'] + r['sys_us']:.1f} | {r['errors']} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
