#!/usr/bin/env python3
"""A stand-in for the Mailpit image (axllent/mailpit), for machines that cannot pull it:
an SMTP server on :1025 that keeps every message in memory, and on :8025 a small web UI
and the part of Mailpit's API the project uses:

    GET /api/v1/messages                 {"total", "count", "messages": [summary...]}, newest first
    GET /api/v1/message/{ID}             the message: From, To, Subject, Date, Text, HTML, ...
    GET /api/v1/message/{ID}/headers     {"Header-Name": ["value", ...]}
    DELETE /api/v1/messages              deletes them all
    GET /livez, GET /readyz              200

Python's standard library only (Debian's python3), so it builds with no registry.
"""

import asyncio
import email
import email.policy
import html
import json
import threading
import uuid
from datetime import datetime, timezone
from email.utils import getaddresses
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MESSAGES = []  # newest last
LOCK = threading.Lock()
LIMIT = 500  # kept at most, the oldest dropped first


def addresses(value):
    return [{"Name": name, "Address": address} for name, address in getaddresses([value or ""]) if address]


def keep(raw: bytes):
    message = email.message_from_bytes(raw, policy=email.policy.default)
    text_part = message.get_body(preferencelist=("plain",))
    html_part = message.get_body(preferencelist=("html",))
    text = text_part.get_content() if text_part is not None else ""
    body = html_part.get_content() if html_part is not None else ""
    sender = addresses(message.get("From"))
    stored = {
        "ID": uuid.uuid4().hex[:22],
        "MessageID": (message.get("Message-ID") or "").strip("<> "),
        "Read": False,
        "From": sender[0] if sender else {"Name": "", "Address": ""},
        "To": addresses(message.get("To")),
        "Cc": addresses(message.get("Cc")),
        "Bcc": [],
        "ReplyTo": addresses(message.get("Reply-To")),
        "Subject": str(message.get("Subject") or ""),
        "Date": str(message.get("Date") or ""),
        "Created": datetime.now(timezone.utc).isoformat(),
        "Tags": [],
        "Size": len(raw),
        "Attachments": 0,
        "Snippet": " ".join(text.split())[:250],
        "Text": text,
        "HTML": body,
        "Inline": [],
        "AttachmentsList": [],
        "headers": {key: message.get_all(key) for key in dict.fromkeys(message.keys())},
    }
    with LOCK:
        MESSAGES.append(stored)
        del MESSAGES[:-LIMIT]


async def smtp_session(reader, writer):
    async def say(line):
        writer.write((line + "\r\n").encode())
        await writer.drain()

    await say("220 mailpit-standin ESMTP")
    recipients = []
    try:
        while True:
            line = await reader.readline()
            if not line:
                break
            command = line.decode(errors="replace").rstrip("\r\n")
            upper = command.upper()
            if upper.startswith("EHLO"):
                await say("250-mailpit-standin\r\n250-8BITMIME\r\n250-SMTPUTF8\r\n250 SIZE 0")
            elif upper.startswith("HELO"):
                await say("250 mailpit-standin")
            elif upper.startswith("MAIL FROM:"):
                recipients = []
                await say("250 2.1.0 Ok")
            elif upper.startswith("RCPT TO:"):
                recipients.append(command[8:].strip())
                await say("250 2.1.5 Ok")
            elif upper == "DATA":
                await say("354 End data with <CR><LF>.<CR><LF>")
                lines = []
                while True:
                    data = await reader.readline()
                    if not data or data in (b".\r\n", b".\n"):
                        break
                    lines.append(data[1:] if data.startswith(b"..") else data)
                keep(b"".join(lines))
                await say("250 2.0.0 Ok: queued")
            elif upper in ("RSET", "NOOP"):
                await say("250 2.0.0 Ok")
            elif upper == "QUIT":
                await say("221 2.0.0 Bye")
                break
            else:
                await say("502 5.5.2 Error: command not recognized")
    finally:
        writer.close()


def summary(message):
    return {key: value for key, value in message.items() if key not in ("Text", "HTML", "headers", "Inline", "AttachmentsList")}


class Api(BaseHTTPRequestHandler):
    def answer(self, status, body, kind="application/json"):
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def find(self, ident):
        with LOCK:
            return next((m for m in MESSAGES if m["ID"] == ident), None)

    def do_GET(self):  # noqa: N802 - the http.server interface
        path = self.path.split("?")[0].rstrip("/")
        if path in ("/livez", "/readyz"):
            return self.answer(200, b"ok", "text/plain")
        if path == "/api/v1/messages":
            with LOCK:
                listed = [summary(m) for m in reversed(MESSAGES)]
            return self.answer(200, {"total": len(listed), "unread": len(listed), "count": len(listed),
                                     "messages_count": len(listed), "start": 0, "tags": [], "messages": listed})
        parts = path.split("/")
        if len(parts) >= 5 and parts[1:4] == ["api", "v1", "message"]:
            message = self.find(parts[4])
            if message is None:
                return self.answer(404, b"not found", "text/plain")
            if len(parts) == 6 and parts[5] == "headers":
                return self.answer(200, message["headers"])
            return self.answer(200, {key: value for key, value in message.items() if key != "headers"})
        if path in ("", "/"):
            with LOCK:
                rows = "".join(
                    f"<tr><td>{html.escape(m['Created'][:19])}</td><td>{html.escape(', '.join(t['Address'] for t in m['To']))}</td>"
                    f"<td><a href=\"/view/{m['ID']}\">{html.escape(m['Subject'])}</a></td></tr>"
                    for m in reversed(MESSAGES))
            page = ("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Mail caught</title></head>"
                    "<body><h1>Mail caught (Mailpit stand-in)</h1><table><tr><th>Received</th><th>To</th><th>Subject</th></tr>"
                    f"{rows}</table></body></html>")
            return self.answer(200, page.encode(), "text/html; charset=utf-8")
        if len(parts) == 3 and parts[1] == "view":
            message = self.find(parts[2])
            if message is None:
                return self.answer(404, b"not found", "text/plain")
            page = ("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>"
                    f"{html.escape(message['Subject'])}</title></head><body><p><a href=\"/\">All mail</a></p>"
                    f"<h1>{html.escape(message['Subject'])}</h1><pre>{html.escape(message['Text'])}</pre>"
                    f"<iframe sandbox title=\"HTML body\" style=\"width:100%;height:30em\" srcdoc=\"{html.escape(message['HTML'])}\"></iframe>"
                    "</body></html>")
            return self.answer(200, page.encode(), "text/html; charset=utf-8")
        return self.answer(404, b"not found", "text/plain")

    def do_DELETE(self):  # noqa: N802
        if self.path.split("?")[0].rstrip("/") == "/api/v1/messages":
            with LOCK:
                MESSAGES.clear()
            return self.answer(200, b"ok", "text/plain")
        return self.answer(404, b"not found", "text/plain")

    def log_message(self, *args):
        pass


def main():
    web = ThreadingHTTPServer(("0.0.0.0", 8025), Api)
    threading.Thread(target=web.serve_forever, daemon=True).start()

    async def smtp():
        server = await asyncio.start_server(smtp_session, "0.0.0.0", 1025)
        async with server:
            await server.serve_forever()

    asyncio.run(smtp())


if __name__ == "__main__":
    main()
