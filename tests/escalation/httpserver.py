"""A real HTTP server on 127.0.0.1 that records requests and answers scripted statuses."""

from __future__ import annotations

import json
import threading
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Recorded:
    statuses: list[int] = field(default_factory=list)  # answered in order, then 200
    requests: list[dict[str, Any]] = field(default_factory=list)
    url: str = ""
    # While ``gate`` is set up and not released, every answer waits for it: a slow peer.
    gate: threading.Event | None = None
    arrived: threading.Event = field(default_factory=threading.Event)
    retry_after: str | None = None  # sent as Retry-After with every 429


@contextmanager
def http_server(
    statuses: list[int] | None = None, *, gate: threading.Event | None = None
) -> Iterator[Recorded]:
    recorded = Recorded(statuses=list(statuses or []), gate=gate)
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", "0")))
            form = "x-www-form-urlencoded" in self.headers.get("content-type", "")
            with lock:
                recorded.requests.append(
                    {
                        "path": self.path,
                        "raw": body,
                        "json": {} if form else json.loads(body or b"{}"),
                        "form": dict(urllib.parse.parse_qsl(body.decode())) if form else {},
                        "headers": dict(self.headers.items()),
                    }
                )
                status = recorded.statuses.pop(0) if recorded.statuses else 200
            recorded.arrived.set()
            if recorded.gate is not None:
                recorded.gate.wait(60)
            self.send_response(status)
            if status == 429 and recorded.retry_after is not None:
                self.send_header("Retry-After", recorded.retry_after)
            self.send_header("content-type", "application/json")
            self.end_headers()
            self.wfile.write(b'{"status": "success"}')

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    recorded.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield recorded
    finally:
        if gate is not None:
            gate.set()
        server.shutdown()
        server.server_close()
        thread.join(5)
