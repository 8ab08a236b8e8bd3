#!/usr/bin/env python3
"""Instructions per request of the hooks benchmark route, under callgrind.

The same pb_hooks route and migration as bench/hooks.py (GET /api/bench/{id}
answering a record found with $app.findRecordById), for one or more Cairn
binaries one after the other: start `serve` under
`valgrind --tool=callgrind --instr-atstart=no`, send warm-up requests, zero
the counters, switch instrumentation on, send `-n` requests one after the
other over one keep-alive connection, switch it off and dump. Prints
instructions per request (user space only: the kernel's share of thread
hand-offs is not in these counts) and keeps the dumps for
`callgrind_annotate`.

    bench/hooks_profile.py --bin /tmp/cairn-old --bin target/release/cairn -n 300
"""

import argparse
import os
import http.client
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import hooks  # noqa: E402  bench/hooks.py: the hook file, migration and record id


def control(pid: int, *args: str) -> None:
    subprocess.run(["callgrind_control", *args, str(pid)], check=True,
                   capture_output=True, timeout=120)


def total_ir(path: Path) -> int:
    best = 0
    for line in path.read_text(errors="replace").splitlines():
        if line.startswith(("summary:", "totals:")):
            best = max(best, int(line.split()[1]))
    return best


def profile(binary: str, n: int, out: Path, label: str, path: str) -> float:
    root = Path(tempfile.mkdtemp(prefix="cairn-hooks-profile-"))
    (root / "pb_hooks").mkdir()
    (root / "pb_migrations").mkdir()
    (root / "pb_hooks" / "bench.pb.js").write_text(hooks.HOOK)
    (root / "pb_migrations" / "1_items.js").write_text(hooks.MIGRATION)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    log = open(root / "server.log", "w")
    proc = subprocess.Popen(
        ["valgrind", "--tool=callgrind", "--instr-atstart=no",
         f"--callgrind-out-file={out}/callgrind.out.%p", binary,
         "serve", "--http", f"127.0.0.1:{port}", "--dir", str(root / "data")],
        cwd=root, stdout=log, stderr=subprocess.STDOUT,
        # Set, so the server does not run itself again (src/main.rs), which
        # callgrind would not follow.
        env={"MIMALLOC_PURGE_DELAY": "100", **os.environ})
    try:
        deadline = time.time() + 120
        while True:
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                conn.request("GET", path)
                r = conn.getresponse()
                r.read()
                if r.status == 200:
                    break
            except OSError:
                pass
            if time.time() > deadline or proc.poll() is not None:
                raise RuntimeError(f"{binary} did not serve {path}; see {root}/server.log")
            time.sleep(0.5)

        def send(count: int) -> int:
            bad = 0
            for _ in range(count):
                conn.request("GET", path)
                r = conn.getresponse()
                r.read()
                bad += r.status != 200
            return bad

        send(20)
        control(proc.pid, "-z")
        control(proc.pid, "-i", "on")
        bad = send(n)
        control(proc.pid, "-i", "off")
        control(proc.pid, "-d", label)
        time.sleep(0.5)
        dumps = sorted(out.glob(f"callgrind.out.{proc.pid}.*"), key=lambda p: p.stat().st_mtime)
        target = out / f"{label}.callgrind"
        dumps[-1].rename(target)
        ir = total_ir(target) / n
        print(f"{label}: {ir:,.0f} instructions/request ({n} requests, {bad} not 200; {target})",
              flush=True)
        return ir
    finally:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
        shutil.rmtree(root, ignore_errors=True)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--bin", action="append", help="Cairn binary (repeat to compare)")
    ap.add_argument("-n", type=int, default=300, help="measured requests per binary")
    ap.add_argument("--out", default="/tmp/cairn-hooks-callgrind")
    ap.add_argument("--path", default=hooks.ROUTE,
                    help="the path to request (e.g. /api/health: the floor of a built-in Rust route)")
    a = ap.parse_args()
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    for i, b in enumerate(a.bin or ["target/release/cairn"]):
        rows.append((b, profile(str(Path(b).resolve()), a.n, out, f"bin{i}", a.path)))
    print("\n| binary | instructions / request |\n|---|---:|")
    for b, ir in rows:
        print(f"| {b} | {ir:,.0f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
