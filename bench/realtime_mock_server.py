#!/usr/bin/env python3
"""Minimal stand-in server for bench/realtime.py: measures the benchmark client's own
floor on this machine (what latency a server that costs almost nothing would get).

It speaks just enough of PocketBase's CLI and API for the benchmark:
`--version`, `superuser upsert ...` (no-op), `serve --http HOST:PORT --dir DIR`;
/api/health, superuser login, GET/PATCH /api/settings, POST /api/collections,
GET/POST /api/realtime (SSE, PocketBase's wire format) and
POST /api/collections/posts/records, which answers and then writes the `posts/*`
event to every subscribed client. No storage, no rules, no auth. Loopback only.

    bench/realtime --servers cairn --cairn-bin bench/realtime_mock_server.py

Standard library only.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import sys
import time

CLIENTS: dict[str, "Conn"] = {}
SEQ = [0]


def rid() -> str:
    return secrets.token_hex(8)[:15]


class Conn(asyncio.Protocol):
    def __init__(self) -> None:
        self.buf = bytearray()
        self.transport: asyncio.Transport | None = None
        self.client_id: str | None = None
        self.subs: set[str] = set()

    def connection_made(self, transport) -> None:
        self.transport = transport

    def connection_lost(self, exc) -> None:
        if self.client_id:
            CLIENTS.pop(self.client_id, None)

    def data_received(self, data: bytes) -> None:
        if self.client_id:
            return  # an SSE stream: ignore anything the client sends
        self.buf += data
        for _ in range(1000):  # pipelined requests, bounded
            end = self.buf.find(b"\r\n\r\n")
            if end < 0:
                return
            head = bytes(self.buf[:end]).decode("latin-1")
            length = 0
            for line in head.split("\r\n")[1:]:
                k, _, v = line.partition(":")
                if k.strip().lower() == "content-length":
                    length = int(v.strip())
            if len(self.buf) < end + 4 + length:
                return
            body = bytes(self.buf[end + 4:end + 4 + length])
            del self.buf[:end + 4 + length]
            method, path = head.split(" ", 2)[:2]
            self.handle(method, path.split("?", 1)[0], body)
            if self.client_id:
                return

    def reply(self, status: int, obj=None) -> None:
        reason = {200: "OK", 204: "No Content", 404: "Not Found"}.get(status, "X")
        body = b"" if obj is None else json.dumps(obj, separators=(",", ":")).encode()
        head = f"HTTP/1.1 {status} {reason}\r\nContent-Length: {len(body)}\r\n"
        if obj is not None:
            head += "Content-Type: application/json\r\n"
        self.transport.write(head.encode() + b"\r\n" + body)

    def handle(self, method: str, path: str, body: bytes) -> None:
        if method == "GET" and path == "/api/health":
            self.reply(200, {"code": 200, "message": "API is healthy.", "data": {}})
        elif path == "/api/collections/_superusers/auth-with-password":
            self.reply(200, {"token": "mock.mock.mock", "record": {"id": rid()}})
        elif path == "/api/settings":
            self.reply(200, {"rateLimits": {"enabled": False}})
        elif method == "POST" and path == "/api/collections":
            self.reply(200, json.loads(body or b"{}"))
        elif method == "GET" and path == "/api/realtime":
            self.client_id = rid()
            CLIENTS[self.client_id] = self
            self.transport.write(
                b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
                b"Cache-Control: no-store\r\nTransfer-Encoding: chunked\r\n\r\n")
            self.send_event("PB_CONNECT", json.dumps({"clientId": self.client_id}).encode())
        elif method == "POST" and path == "/api/realtime":
            req = json.loads(body or b"{}")
            c = CLIENTS.get(req.get("clientId", ""))
            if c is None:
                self.reply(404, {"status": 404, "message": "Missing or invalid client id."})
                return
            c.subs = set(req.get("subscriptions") or [])
            self.reply(204)
        elif method == "POST" and path == "/api/collections/posts/records":
            rec = json.loads(body or b"{}")
            now = time.strftime("%Y-%m-%d %H:%M:%S.000Z", time.gmtime())
            rec.update({"id": rid(), "collectionId": "pbc_mock", "collectionName": "posts",
                        "created": now, "updated": now})
            self.reply(200, rec)
            data = json.dumps({"action": "create", "record": rec},
                              separators=(",", ":")).encode()
            for c in list(CLIENTS.values()):
                if "posts/*" in c.subs or "posts" in c.subs:
                    c.send_event("posts/*", data)
        else:
            self.reply(404, {"status": 404, "message": "Not found."})

    def send_event(self, name: str, data: bytes) -> None:
        msg = b"id:" + self.client_id.encode() + b"\nevent:" + name.encode() + b"\ndata:" \
            + data + b"\n\n"
        self.transport.write(b"%x\r\n" % len(msg) + msg + b"\r\n")


async def serve(addr: str) -> None:
    host, _, port = addr.rpartition(":")
    loop = asyncio.get_running_loop()
    server = await loop.create_server(Conn, host or "127.0.0.1", int(port), backlog=4096)
    bound = server.sockets[0].getsockname()
    print(f"Server started at http://{bound[0]}:{bound[1]}", flush=True)
    async with server:
        await server.serve_forever()


def main() -> int:
    args = sys.argv[1:]
    if args[:1] == ["--version"]:
        print("realtime mock server (Python asyncio, no storage)")
        return 0
    if args[:1] == ["superuser"]:
        return 0
    if args[:1] == ["serve"] and "--http" in args:
        try:
            asyncio.run(serve(args[args.index("--http") + 1]))
        except KeyboardInterrupt:
            pass
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
