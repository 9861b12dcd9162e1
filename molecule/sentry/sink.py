"""A test receiver for the tracker's alerts: an SMTP server on port 1025 and an HTTP server on port 8080, both
accepting everything and printing one JSON line per message received ({"kind": "smtp"|"http", ...}).

Runs with the standard library only (inside a container on the project network, started by the tests)."""

import asyncio
import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


_REPORTING = threading.Lock()


def report(record):
    """One whole line per record. The webhook threads and the SMTP loop report at the same time; print() writes the
    text and the newline separately, which once put two records on one line."""
    with _REPORTING:
        sys.stdout.write(json.dumps(record) + "\n")
        sys.stdout.flush()


class WebhookHandler(BaseHTTPRequestHandler):
    def do_POST(self):  # noqa: N802 (the http.server naming)
        body = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode("utf-8", "replace")
        report({"kind": "http", "path": self.path, "content_type": self.headers.get("Content-Type"), "body": body})
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b'{"ok": true}')

    def log_message(self, *args):
        pass


async def smtp_session(reader, writer):
    """Just enough of SMTP (RFC 5321) for Django's SMTP backend without TLS or AUTH."""

    def reply(line):
        writer.write((line + "\r\n").encode())

    reply("220 sink ESMTP")
    envelope = {"kind": "smtp", "from": None, "to": []}
    while line := (await reader.readline()).decode("utf-8", "replace").rstrip("\r\n"):
        verb = line[:4].upper()
        if verb in ("EHLO", "HELO"):
            reply("250 sink")
        elif verb == "MAIL":
            envelope.update({"from": line[10:].strip(" <>"), "to": []})
            reply("250 OK")
        elif verb == "RCPT":
            envelope["to"].append(line[8:].strip(" <>"))
            reply("250 OK")
        elif verb == "DATA":
            reply("354 End data with <CR><LF>.<CR><LF>")
            data = []
            while (chunk := (await reader.readline()).decode("utf-8", "replace")) not in (".\r\n", ".\n", ""):
                data.append(chunk)
            report({**envelope, "data": "".join(data)})
            reply("250 OK: queued")
        elif verb == "QUIT":
            reply("221 Bye")
            await writer.drain()
            break
        else:  # RSET, NOOP, ...
            reply("250 OK")
        await writer.drain()
    writer.close()


async def main():
    http = ThreadingHTTPServer(("0.0.0.0", 8080), WebhookHandler)
    threading.Thread(target=http.serve_forever, daemon=True).start()
    smtp = await asyncio.start_server(smtp_session, "0.0.0.0", 1025)
    report({"kind": "ready"})
    async with smtp:
        await smtp.serve_forever()


asyncio.run(main())
