"""The world around Fireline in the chaos run: recorders standing in for the pager and a
remediated service, the files ``fireline serve`` reads, the server process itself, and
what the Slack stand-in is made to do (record its answers, go down for a while).

Everything listens on 127.0.0.1 on ports the kernel picks. The server is started as a
subprocess of this process and only ever killed by its own pid.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx

from tests.slack.standin import SlackStandIn

ROOT = Path(__file__).resolve().parents[1]
RUNBOOK_ID = "chaos-heal"
CHANNEL = "CCHAOS"
LEVEL_USERS = ("UONCALL1", "UONCALL2")


@dataclass(frozen=True)
class Hit:
    """One request a recorder received, as the outside world saw it."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    at: float  # wall clock (epoch seconds), comparable with Fireline's UTC timestamps

    def json(self) -> Any:
        try:
            return json.loads(self.body or b"null")
        except ValueError:
            return None


@dataclass
class Recorder:
    """A small threaded HTTP server that answers 200 to everything and records it."""

    url: str = ""
    hits: list[Hit] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    seen: threading.Event = field(default_factory=threading.Event)  # set on every request

    def snapshot(self) -> list[Hit]:
        with self.lock:
            return list(self.hits)

    def count(self) -> int:
        with self.lock:
            return len(self.hits)


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A connection the killed server left half-open is reset: that is the point."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


@contextmanager
def recorder() -> Iterator[Recorder]:
    record = Recorder()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # The status line and headers go in one write, the body in another: without
        # TCP_NODELAY the body waits for the client's delayed ACK, 40 ms a request.
        disable_nagle_algorithm = True

        def _answer(self) -> None:
            raw = self.rfile.read(int(self.headers.get("content-length") or 0))
            hit = Hit(self.command, self.path, dict(self.headers.items()), raw, time.time())
            with record.lock:
                record.hits.append(hit)
            record.seen.set()
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", "2")
            self.end_headers()
            self.wfile.write(b"{}")

        do_GET = do_POST = do_PUT = _answer

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = _QuietServer(("127.0.0.1", 0), Handler)
    record.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield record
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


# --- what fireline serve reads ----------------------------------------------------------


def escalation_config(pager_url: str, delay_seconds: int) -> str:
    """Two levels, no repeat: the pager and a person at once, then another person and the
    pager again when nobody acknowledges within the delay."""
    first, second = LEVEL_USERS
    return (
        "escalation:\n"
        "  policies:\n"
        "    - name: chaos\n"
        "      repeat: 0\n"
        "      levels:\n"
        f"        - targets: [{{webhook: pager}}, {{user: {first}}}]\n"
        f"          delay: {delay_seconds}s\n"
        f"        - targets: [{{user: {second}}}, {{webhook: pager}}]\n"
        f"          delay: {delay_seconds}s\n"
        "  webhooks:\n"
        f'    pager: {{url: "{pager_url}/page", attempts: 3, timeout: 5s}}\n'
    )


def runbook(service_url: str) -> str:
    """One safe remediation whose call the service recorder sees, and a read-only check
    that passes verification (so no run escalates by itself)."""
    return f"""---
id: {RUNBOOK_ID}
title: Heal a chaos service
owners: ["@chaos"]
match:
  alertname: ChaosAlert
params:
  service: {{from: labels.service, type: k8s_name}}
policy:
  mode: auto
  limits: {{cooldown: 0s, max_runs: 100000 per 1h, stale_after: 1h}}
  circuit_breaker: {{consecutive_failures: 100}}
verify: {{alert_resolved: false}}
---
# Chaos service down

## Resolution Steps

Ask the service to heal itself; the service recorder counts every call.

```action {{"id": "heal", "kind": "remediate", "safe": true, "timeout": "10s"}}
uses: http.request
with:
  method: POST
  url: {service_url}/heal
  json: {{service: params.service}}
```

Check that it healed.

```action {{"id": "check", "kind": "verify", "timeout": "10s"}}
uses: http.request
with:
  url: {service_url}/check
  headers: {{x-service: params.service}}
```
"""


def write_files(workdir: Path, *, pager_url: str, service_url: str, delay: int) -> dict[str, str]:
    """The config file and runbook directory; returns their settings."""
    config = workdir / "fireline.yaml"
    config.write_text(escalation_config(pager_url, delay))
    runbooks = workdir / "runbooks"
    runbooks.mkdir(exist_ok=True)
    (runbooks / f"{RUNBOOK_ID}.md").write_text(runbook(service_url))
    return {"FIRELINE_CONFIG": str(config), "FIRELINE_RUNBOOK_DIRS": str(runbooks)}


# --- the server process -----------------------------------------------------------------


def serve_env(database_url: str) -> dict[str, str]:
    """What a bench's ``fireline serve`` starts from: this process's environment without
    any ``FIRELINE_`` or ``SLACK_`` setting, listening on loopback only, logging warnings,
    on ``database_url``; each bench adds its own settings."""
    inherited = {k: v for k, v in os.environ.items() if not k.startswith(("FIRELINE_", "SLACK_"))}
    return {
        **inherited,
        "NO_PROXY": "127.0.0.1,localhost",
        "FIRELINE_DATABASE_URL": database_url,
        "FIRELINE_HOST": "127.0.0.1",
        "FIRELINE_LOG_LEVEL": "WARNING",
    }


def fireline_command() -> list[str]:
    """The installed ``fireline`` console script next to this interpreter, else the same
    entry point through ``python -m bot``."""
    script = Path(sys.executable).with_name("fireline")
    return [str(script)] if script.exists() else [sys.executable, "-m", "bot"]


class Server:
    """``fireline serve`` as a subprocess: started, SIGKILLed by its pid, started again."""

    def __init__(self, env: dict[str, str], port: int, log: Path) -> None:
        self.env = env
        self.port = port
        self.base = f"http://127.0.0.1:{port}"
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def start(self) -> None:
        assert self.process is None, "the previous process is still running"
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [*fireline_command(), "serve", "--port", str(self.port)],
                env=self.env,
                cwd=ROOT,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        self.starts += 1

    def wait_ready(self, within: float = 60.0) -> float:
        """Poll ``/readyz`` until it answers 200; returns how long that took."""
        began = time.monotonic()
        deadline = began + within
        with httpx.Client(timeout=2) as client:
            while time.monotonic() < deadline:
                assert self.process is not None
                if self.process.poll() is not None:
                    raise RuntimeError(f"fireline serve exited with {self.process.returncode}")
                try:
                    if client.get(f"{self.base}/readyz").status_code == 200:
                        return time.monotonic() - began
                except httpx.HTTPError:
                    pass
                time.sleep(0.05)
        raise RuntimeError(f"fireline serve was not ready within {within:.0f} s")

    def kill(self) -> None:
        """SIGKILL the process this object started, by its pid, and reap it."""
        if self.process is None:
            return
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(30)
        self.process = None

    def stop(self) -> None:
        """Stop gracefully (SIGTERM), or kill when it does not stop in time."""
        if self.process is None:
            return
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.kill()
                return
        self.process = None

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


# --- Slack ----------------------------------------------------------------------------


def record_replies(
    standin: SlackStandIn, seen: threading.Event
) -> dict[int, tuple[dict[str, Any], float]]:
    """What the stand-in answered to each recorded call and when (wall clock), keyed by
    the call's ``args`` object, so that a card's ``ts`` can be tied to the thread posts
    under it; ``seen`` is set on every call."""
    replies: dict[int, tuple[dict[str, Any], float]] = {}
    answer = standin.answer

    def recording(method: str, args: dict[str, Any]) -> tuple[int, dict[str, str], Any]:
        status, headers, body = answer(method, args)
        if status == 200 and isinstance(body, dict):
            replies[id(args)] = (body, time.time())
        seen.set()
        return status, headers, body

    standin.answer = recording  # type: ignore[method-assign]
    return replies


@contextmanager
def slack_outage(standin: SlackStandIn, *, start_in: float, length: float) -> Iterator[None]:
    """Slack answers 503 to everything from ``start_in`` for ``length`` seconds."""
    cancel = threading.Event()

    def run() -> None:
        if cancel.wait(start_in):
            return
        with standin.lock:
            standin.down = True
        cancel.wait(length)
        with standin.lock:
            standin.down = False

    thread = threading.Thread(target=run, name="chaos-slack-outage", daemon=True)
    thread.start()
    try:
        yield
    except BaseException:
        cancel.set()
        raise
    finally:
        thread.join(start_in + length + 5)
        cancel.set()
        thread.join(5)
        with standin.lock:
            standin.down = False
