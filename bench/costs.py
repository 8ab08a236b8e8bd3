"""CPU time per request and footprint for bench/run.py.

Requests/s on a shared 2-core box move by tens of percent with the neighbours'
work; the CPU time the server process itself spends per request (utime + stime
from /proc/PID/stat around each measured run, divided by the requests wrk
completed) moves far less, so it is the figure the Cairn/PocketBase goals of
issue 17 are stated in. Footprint: the data directory's size after seeding and
at the end, RSS after seeding and the peak, and the time one client needs to
create 100 users with the password field's `cost` lowered to 4 (what a bulk
import does).

Standard library only; run.py calls these helpers and prints the sections.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

CLK_TCK = os.sysconf("SC_CLK_TCK")

# Cairn / PocketBase CPU time per request that issue 17 asks for (None = no goal).
CPU_TARGETS: dict[str, float] = {
    "list_sorted": 0.10, "list_filtered": 0.10, "list_rule": 0.10,
    "list_expand": 0.10, "create": 0.10, "update": 0.10,
}

# Seconds the script waits before reading the data directory and RSS (after
# seeding and at the end), so both servers are measured at rest, after their
# background checkpoints and allocator purges.
SETTLE_SECONDS = 5

# Users created (and timed) on top of the seeded ones, with this password cost.
TIMED_USERS = 100
TIMED_USERS_COST = 4


def cpu_times(pid: int) -> tuple[float, float] | None:
    """(utime + stime, stime) of a process (all its threads), in seconds:
    its whole CPU time and the kernel's share of it, from one read."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name (field 2) may contain spaces: split after its closing ')'.
    fields = stat[stat.rindex(")") + 2:].split()
    user, system = int(fields[11]) / CLK_TCK, int(fields[12]) / CLK_TCK
    return user + system, system


def cpu_seconds(pid: int) -> float | None:
    """utime + stime of a process (all its threads), in seconds."""
    t = cpu_times(pid)
    return t[0] if t else None


def dir_files(path: Path) -> dict[str, int]:
    """Apparent size in bytes of every file under `path` (relative names)."""
    out: dict[str, int] = {}
    for root, _, files in os.walk(path):
        for f in files:
            p = Path(root) / f
            try:
                out[str(p.relative_to(path))] = p.stat().st_size
            except OSError:
                pass
    return out


def rss_parts(pid: int) -> dict[str, int]:
    """RssAnon / RssFile / RssShmem in KiB: heap vs mapped database pages."""
    out: dict[str, int] = {}
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            key, _, val = line.partition(":")
            if key in ("RssAnon", "RssFile", "RssShmem"):
                out[key] = int(val.split()[0])
    except OSError:
        pass
    return out


def footprint(pid: int, data_dir: Path) -> dict[str, Any]:
    files = dir_files(data_dir)
    return {"data_dir_bytes": sum(files.values()), "data_dir_files": grouped(files),
            "rss_kib": rss_parts(pid)}


def grouped(files: dict[str, int]) -> dict[str, int]:
    """Top-level files as they are; everything under a folder (the uploaded files in
    `storage/`, thousands after the upload scenario) summed as `folder/`, so the
    results file stays small."""
    out: dict[str, int] = {}
    for name, size in files.items():
        key = name.split("/", 1)[0] + "/" if "/" in name else name
        out[key] = out.get(key, 0) + size
    return out


def set_password_cost(admin: Any, collection: str, cost: int | None) -> int | None:
    """Set the `cost` option of the collection's password field; returns the old one."""
    coll = admin.ok("GET", f"/api/collections/{collection}")
    fields = coll["fields"]
    old = None
    for f in fields:
        if f.get("type") == "password":
            old = f.get("cost")
            f["cost"] = cost if cost is not None else 0
    admin.ok("PATCH", f"/api/collections/{collection}", {"fields": fields})
    return old


def time_users(admin: Any, password: str) -> dict[str, Any]:
    """Create TIMED_USERS users one after the other with the password cost lowered to
    TIMED_USERS_COST, then put the cost back. Returns the seconds it took."""
    old = set_password_cost(admin, "users", TIMED_USERS_COST)
    try:
        t0 = time.perf_counter()
        for i in range(TIMED_USERS):
            admin.ok("POST", "/api/collections/users/records", {
                "email": f"bench-timed-{i:03d}@example.com", "password": password,
                "passwordConfirm": password})
        secs = time.perf_counter() - t0
    finally:
        set_password_cost(admin, "users", old)
    return {"users": TIMED_USERS, "cost": TIMED_USERS_COST, "seconds": round(secs, 3)}


def per_request(cpu_before: float | None, cpu_after: float | None, requests: int) -> float | None:
    """Server CPU microseconds per completed request."""
    if cpu_before is None or cpu_after is None or not requests:
        return None
    return round((cpu_after - cpu_before) * 1e6 / requests, 1)


def _measured(r: dict | None) -> bool:
    return bool(r) and "error" not in r and "skipped" not in r and r.get("cpu_us") is not None


def cpu_section(pb: dict, cn: dict, scenarios: list, rows: list[dict]) -> list[str]:
    """A table of server CPU per request and the Cairn/PocketBase ratio; fills
    rows[i]["cpu_ratio"/"cpu_target"/"cpu_target_met"]."""
    lines = ["", "### Server CPU time per request (utime+stime from /proc/PID/stat)", "",
             "| scenario | PocketBase µs/req | Cairn µs/req | Cairn/PB | goal |",
             "|---|---:|---:|---:|---:|"]
    for sc, row in zip(scenarios, rows):
        a = pb.get("scenarios", {}).get(sc.name)
        b = cn.get("scenarios", {}).get(sc.name)
        ratio = None
        if _measured(a) and _measured(b) and a["cpu_us"]:
            ratio = round(b["cpu_us"] / a["cpu_us"], 3)
        goal = CPU_TARGETS.get(sc.name)
        met = None if ratio is None or goal is None else ratio <= goal
        row.update({"cpu_ratio": ratio, "cpu_target": goal, "cpu_target_met": met})
        fa = f"{a['cpu_us']:,.0f}" if _measured(a) else "–"
        fb = f"{b['cpu_us']:,.0f}" if _measured(b) else "–"
        tgt = "–" if goal is None else f"≤{goal:.2f}" + ("" if met is None else (" ✓" if met else " ✗"))
        lines.append(f"| {sc.name} | {fa} | {fb} | {'–' if ratio is None else f'{ratio:.2f}'} "
                     f"| {tgt} |")
    return lines


def _mb(b: int | None) -> str:
    return "?" if not b else f"{b / 1e6:.1f} MB"


def _mib(kib: int | None) -> str:
    return "?" if not kib else f"{kib / 1024:.1f} MiB"


def footprint_section(pb: dict, cn: dict) -> tuple[list[str], dict[str, bool | None]]:
    """Footprint table with issue 17's goals; returns (lines, goal -> met)."""
    def get(s: dict, *keys: str) -> Any:
        for k in keys:
            s = (s or {}).get(k) if isinstance(s, dict) else None
        return s

    items = [
        ("data directory after seeding", ("disk_after_seed", "data_dir_bytes"), _mb, 1.2, "≤1.2x"),
        ("data directory after the same work", ("disk_equal_work", "data_dir_bytes"), _mb, 1.2,
         "≤1.2x"),
        ("data directory at the end (each after its own work)", ("disk_end", "data_dir_bytes"),
         _mb, None, "–"),
        ("RSS after seeding", ("rss_after_seed_kib",), _mib, 1.0, "≤1x"),
        ("peak RSS (VmHWM)", ("peak_rss_kib",), _mib, 1 / 3, "≤1/3"),
        (f"{TIMED_USERS} users created (password cost {TIMED_USERS_COST})",
         ("users_timed", "seconds"), lambda v: "?" if v is None else f"{v:.2f} s", 1.0, "≤1x"),
    ]
    lines = ["", "### Footprint", "", "| | PocketBase | Cairn | Cairn/PB | goal |",
             "|---|---:|---:|---:|---:|"]
    met_all: dict[str, bool | None] = {}
    for label, keys, fmt, goal, goal_txt in items:
        a, b = get(pb, *keys), get(cn, *keys)
        ratio = round(b / a, 2) if a and b is not None else None
        met = None if ratio is None or goal is None else ratio <= goal + 1e-9
        met_all[label] = met
        mark = "" if met is None else (" ✓" if met else " ✗")
        lines.append(f"| {label} | {fmt(a)} | {fmt(b)} | "
                     f"{'–' if ratio is None else f'{ratio:.2f}x'} | {goal_txt}{mark} |")
    return lines, met_all
