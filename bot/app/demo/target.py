"""The demo service: a tiny HTTP service that can be broken and healed on purpose.

``/metrics`` is what Prometheus scrapes; while the service is broken it answers 500, so
``up{job="demo"}`` drops to 0 and the ``DemoServiceDown`` rule fires. ``POST /break`` and
``POST /heal`` flip it; ``/ready`` answers 503 while broken; ``/healthz`` always answers.
Every heal is counted, so tests can check that a remediation ran exactly once.

Run it alone with ``python -m bot.app.demo.target --port 18081``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class DemoState:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.broken = False
        self.requests = 0
        self.errors = 0
        self.heals = 0
        self.breaks = 0

    def as_dict(self) -> dict[str, Any]:
        with self.lock:
            return {"broken": self.broken, "heals": self.heals, "breaks": self.breaks}


def make_server(host: str = "127.0.0.1", port: int = 0) -> tuple[ThreadingHTTPServer, DemoState]:
    state = DemoState()

    class Handler(BaseHTTPRequestHandler):
        def _answer(self, status: int, body: bytes, content_type: str = "application/json") -> None:
            self.send_response(status)
            self.send_header("content-type", content_type)
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            if self.path == "/metrics":
                with state.lock:
                    state.requests += 1
                    if state.broken:
                        state.errors += 1
                        self._answer(500, b"broken on purpose\n", "text/plain")
                        return
                    text = (
                        "# TYPE demo_requests_total counter\n"
                        f"demo_requests_total {state.requests}\n"
                        "# TYPE demo_heals_total counter\n"
                        f"demo_heals_total {state.heals}\n"
                    )
                self._answer(200, text.encode(), "text/plain; version=0.0.4")
            elif self.path in ("/healthz", "/state"):
                self._answer(200, json.dumps(state.as_dict()).encode())
            elif self.path == "/ready":  # 503 while broken: what an HTTP check looks at
                self._answer(503 if state.broken else 200, json.dumps(state.as_dict()).encode())
            else:
                self._answer(404, b'{"error": "not found"}')

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("content-length") or 0))
            with state.lock:
                if self.path == "/break":
                    state.broken, state.breaks = True, state.breaks + 1
                elif self.path == "/heal":
                    state.broken, state.heals = False, state.heals + 1
                else:
                    self._answer(404, b'{"error": "not found"}')
                    return
            self._answer(200, json.dumps(state.as_dict()).encode())

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return ThreadingHTTPServer((host, port), Handler), state


def main() -> None:
    parser = argparse.ArgumentParser(description="Fireline's demo service")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=18081)
    args = parser.parse_args()
    server, _ = make_server(args.host, args.port)
    print(f"demo service on http://{args.host}:{server.server_address[1]}", flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        server.serve_forever()


if __name__ == "__main__":
    main()
