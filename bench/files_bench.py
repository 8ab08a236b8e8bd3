"""File scenarios for bench/run.py: serve a 100 KB file, serve a cached
thumb, upload a 100 KB file (multipart). Same schema and files on both
servers, created over the REST API by the first file scenario's setup.

Imported by run.py (`SCENARIOS += files_bench.scenarios(Scenario)`);
standard library only.
"""

from __future__ import annotations

import json
import struct
import zlib
from typing import Any, Callable

FILE_SIZE = 100 * 1024
BOUNDARY = "cairnbenchboundary0123456789"
COLLECTION = "bench_files"
THUMB = "100x100"
# Uploads sent to each server before file_upload's timed warm-up, the same
# count on both (bench/README.md, "Uploads"): both are then measured with a
# storage directory of the same size, past the first few thousand records.
UPLOAD_PREFILL = 5000

# Text content, so the multipart body is plain ASCII for wrk's Lua script.
CONTENT = (b"0123456789abcdef" * (FILE_SIZE // 16 + 1))[:FILE_SIZE]


def png(w: int, h: int) -> bytes:
    """A valid RGB PNG (a gradient, so it is not trivially small)."""
    raw = b"".join(
        b"\x00" + b"".join(bytes(((x * 7) & 255, (y * 5) & 255, 100)) for x in range(w))
        for y in range(h))

    def chunk(t: bytes, d: bytes) -> bytes:
        return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(raw))
            + chunk(b"IEND", b""))


def multipart(field: str, filename: str, content: bytes, ctype: str) -> bytes:
    return (f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{field}\"; "
            f"filename=\"{filename}\"\r\nContent-Type: {ctype}\r\n\r\n").encode() + content + \
        f"\r\n--{BOUNDARY}--\r\n".encode()


UPLOAD_BODY = multipart("doc", "bench.txt", CONTENT, "text/plain").decode()
MP_HEADERS = {"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"}

# Keyed by the server's data directory: `id()` of a finished round's server
# object can be reused by the next round's, which then skipped the seeding.
_seeded: dict[str, dict[str, Any]] = {}


def seed(ctx: Any) -> dict[str, Any]:
    """Creates the collection, one record with a 100 KB file and a PNG, and
    asks for the thumb once (so the scenario measures a cached thumb)."""
    key = str(ctx.server.data_dir)
    if key in _seeded:
        return _seeded[key]
    admin = ctx.client()
    admin.ok("POST", "/api/collections", {
        "name": COLLECTION, "type": "base",
        "listRule": "", "viewRule": "", "createRule": "",
        "fields": [
            {"name": "doc", "type": "file", "maxSelect": 1, "maxSize": 1 << 20},
            {"name": "img", "type": "file", "maxSelect": 1, "maxSize": 1 << 20,
             "thumbs": [THUMB]},
        ],
    })
    body = (f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"doc\"; "
            f"filename=\"served.txt\"\r\nContent-Type: text/plain\r\n\r\n").encode() + CONTENT + \
        (f"\r\n--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"img\"; "
         f"filename=\"pic.png\"\r\nContent-Type: image/png\r\n\r\n").encode() + png(400, 300) + \
        f"\r\n--{BOUNDARY}--\r\n".encode()
    status, rec = admin.request("POST", f"/api/collections/{COLLECTION}/records",
                                headers=MP_HEADERS, raw=body)
    if status != 200:
        raise RuntimeError(f"seeding files: {status} {str(rec)[:300]}")
    base = f"/api/files/{COLLECTION}/{rec['id']}"
    out = {"doc": f"{base}/{rec['doc']}", "thumb": f"{base}/{rec['img']}?thumb={THUMB}"}
    status, _ = ctx.client(auth=False).request("GET", out["thumb"])
    if status != 200:
        raise RuntimeError(f"thumb warm-up: {status}")
    _seeded[key] = out
    return out


def setup_serve(ctx: Any) -> dict:
    return {"vars": {"file_path": [seed(ctx)["doc"]]}}


def setup_thumb(ctx: Any) -> dict:
    return {"vars": {"thumb_path": [seed(ctx)["thumb"]]}}


def setup_upload(ctx: Any) -> dict:
    seed(ctx)
    return {}


def check_served(status: int, body: Any, extra: dict) -> str | None:
    text = body if isinstance(body, str) else json.dumps(body)
    return None if len(text) == FILE_SIZE else f"expected {FILE_SIZE} bytes, got {len(text)}"


def check_thumb(status: int, body: Any, extra: dict) -> str | None:
    # The probe decodes bodies as text; a PNG comes back as a non-JSON string.
    return None if isinstance(body, str) and "PNG" in body[:8] else "expected a PNG thumb"


def check_upload(status: int, body: Any, extra: dict) -> str | None:
    doc = body.get("doc", "") if isinstance(body, dict) else ""
    return None if doc.startswith("bench_") and doc.endswith(".txt") else f"no stored file: {body}"


def scenarios(Scenario: Callable[..., Any]) -> list[Any]:
    return [
        Scenario(
            name="file_serve",
            description="GET a stored 100 KB file (/api/files/...)",
            method="GET",
            path="${file_path}",
            setup=setup_serve,
            check=check_served,
            target=5.0,
        ),
        Scenario(
            name="file_thumb",
            description=f"GET a cached {THUMB} thumb of a 400x300 PNG",
            method="GET",
            path="${thumb_path}",
            setup=setup_thumb,
            check=check_thumb,
            target=5.0,
        ),
        Scenario(
            name="file_upload",
            description="POST a new record with a 100 KB file (multipart)",
            method="POST",
            path=f"/api/collections/{COLLECTION}/records",
            headers=dict(MP_HEADERS),
            body=UPLOAD_BODY,
            setup=setup_upload,
            check=check_upload,
            target=5.0,
            prefill=UPLOAD_PREFILL,
        ),
    ]
