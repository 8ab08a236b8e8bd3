"""A tiny SMTP sink for the SDK mail tests.

    python smtp_sink.py OUT_DIR

Listens on 127.0.0.1 with an OS-chosen port, prints exactly one line
`SMTP sink listening on 127.0.0.1:PORT` to stdout, and stores every accepted
message as one JSON file in OUT_DIR (written to a temp file, then renamed, so a
reader never sees a partial file). File names sort in arrival order.

Each JSON file holds:
  mailFrom   envelope sender (MAIL FROM)
  rcptTos    envelope recipients (RCPT TO)
  raw        the raw RFC 822 data as received
  headers    [[name, decoded value], ...] in order
  subject, from, to, cc, messageId   decoded header values ("" when absent)
  text, html the decoded text/plain and text/html bodies (first of each;
             quoted-printable/base64 and charsets handled by Python's email package)
  attachments [{filename, contentType, size}]

Accepts any sender and recipient (no AUTH). Exits cleanly on SIGTERM/SIGINT.
"""

import asyncio
import email
import email.policy
import json
import os
import signal
import sys
import tempfile
import time

from aiosmtpd.smtp import SMTP


def parse(raw: bytes) -> dict:
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    out = {
        "headers": [[k, str(v)] for k, v in msg.items()],
        "subject": str(msg.get("Subject", "")),
        "from": str(msg.get("From", "")),
        "to": str(msg.get("To", "")),
        "cc": str(msg.get("Cc", "")),
        "messageId": str(msg.get("Message-ID", "")),
        "text": None,
        "html": None,
        "attachments": [],
    }
    for part in msg.walk():
        if part.is_multipart():
            continue
        ctype = part.get_content_type()
        disposition = part.get_content_disposition()
        if disposition == "attachment" or (disposition == "inline" and part.get_filename()):
            payload = part.get_payload(decode=True) or b""
            out["attachments"].append({"filename": part.get_filename(), "contentType": ctype, "size": len(payload)})
            continue
        if ctype == "text/plain" and out["text"] is None:
            out["text"] = part.get_content()
        elif ctype == "text/html" and out["html"] is None:
            out["html"] = part.get_content()
    return out


class Sink:
    def __init__(self, out_dir: str):
        self.out_dir = out_dir
        self.seq = 0

    async def handle_DATA(self, server, session, envelope):
        raw = envelope.original_content or envelope.content
        if isinstance(raw, str):
            raw = raw.encode("utf-8")
        record = {
            "mailFrom": envelope.mail_from,
            "rcptTos": list(envelope.rcpt_tos),
            "raw": raw.decode("utf-8", errors="replace"),
            "receivedAt": time.time(),
        }
        try:
            record.update(parse(raw))
        except Exception as err:  # keep the raw message even if parsing fails
            record["parseError"] = repr(err)
        self.seq += 1
        name = f"{time.time_ns():020d}-{self.seq:06d}.json"
        fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=self.out_dir)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(record, f)
        os.rename(tmp, os.path.join(self.out_dir, name))
        return "250 Message accepted for delivery"


async def main(out_dir: str) -> None:
    os.makedirs(out_dir, exist_ok=True)
    handler = Sink(out_dir)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: SMTP(handler, hostname="smtp-sink.local"),
        host="127.0.0.1",
        port=0,
    )
    port = server.sockets[0].getsockname()[1]
    print(f"SMTP sink listening on 127.0.0.1:{port}", flush=True)

    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    server.close()
    await server.wait_closed()


if __name__ == "__main__":
    if len(sys.argv) != 2:
        print("usage: smtp_sink.py OUT_DIR", file=sys.stderr)
        sys.exit(2)
    asyncio.run(main(sys.argv[1]))
