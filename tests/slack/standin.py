"""A local stand-in for Slack's Web API that records every call and answers as Slack does,
including ``ok: false`` errors, 429 with ``Retry-After``, and an outage; and a helper
that signs requests into the bolt app the way Slack signs them."""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import math
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode

SIGNING_SECRET = "test-signing-secret"
POSTING = frozenset({"chat.postMessage", "chat.update", "chat.postEphemeral"})
BOT_TOKEN = "xoxb-test-token"


@dataclass
class Call:
    method: str
    args: dict[str, Any]
    at: float


@dataclass
class SlackStandIn:
    url: str = ""
    calls: list[Call] = field(default_factory=list)
    down: bool = False  # answer 503 to everything
    rate_limited: int = 0  # answer this many calls with 429
    retry_after: int = 1
    # Slack's per-channel limit on posting (about one message a second, short bursts
    # allowed): over it, 429 with the Retry-After Slack would send. 0 turns it off.
    channel_rate: float = 0.0
    channel_burst: int = 1
    _channel_tat: dict[str, float] = field(default_factory=dict)
    _channels: Iterator[int] = field(default_factory=lambda: itertools.count(1))
    errors: dict[str, str] = field(default_factory=dict)  # method -> error, once
    lock: threading.Lock = field(default_factory=threading.Lock)
    _ts: Iterator[int] = field(default_factory=lambda: itertools.count(1))
    refused: int = 0
    uploads: dict[str, bytes] = field(default_factory=dict)
    # What Slack holds: every posted message by channel, with its metadata and thread.
    history: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    # Slack user groups: group id -> member user ids, for usergroups.users.list.
    usergroups: dict[str, list[str]] = field(default_factory=dict)

    def of(self, method: str) -> list[dict[str, Any]]:
        with self.lock:
            return [c.args for c in self.calls if c.method == method]

    def answer(self, method: str, args: dict[str, Any]) -> tuple[int, dict[str, str], Any]:
        with self.lock:
            if self.down:
                self.refused += 1
                return 503, {}, {"ok": False, "error": "service_unavailable"}
            if self.rate_limited > 0:
                self.rate_limited -= 1
                self.refused += 1
                return (
                    429,
                    {"Retry-After": str(self.retry_after)},
                    {"ok": False, "error": "ratelimited"},
                )
            if method in POSTING and (wait := self._over_channel_limit(args)) > 0:
                self.refused += 1
                retry = str(max(1, math.ceil(wait)))
                return 429, {"Retry-After": retry}, {"ok": False, "error": "ratelimited"}
            error = self.errors.pop(method, None)
            self.calls.append(Call(method, args, time.monotonic()))
            if error:
                return 200, {}, {"ok": False, "error": error}
            # Slack's ts: the epoch second, and a counter that keeps each one unique.
            ts = f"{int(time.time())}.{next(self._ts):06d}"
        channel = args.get("channel")
        if method == "chat.postMessage":
            self._keep(str(channel), ts, args)
        elif method == "chat.update":
            self._edit(str(channel), str(args.get("ts")), args)
        if method in ("conversations.history", "conversations.replies"):
            return 200, {}, {"ok": True, "messages": self._read(method, args)}
        if method == "auth.test":
            body: dict[str, Any] = {
                "ok": True,
                "user_id": "UBOT",
                "bot_id": "BBOT",
                "team_id": "T1",
                "user": "fireline",
                "team": "test",
                "url": "https://test.slack.com/",
            }
        elif method in ("chat.postMessage", "chat.update"):
            body = {
                "ok": True,
                "channel": channel,
                "ts": args.get("ts") or ts,
                "message": {"text": args.get("text")},
            }
        elif method == "usergroups.users.list":
            with self.lock:
                users = list(self.usergroups.get(str(args.get("usergroup")), []))
            body = {"ok": True, "users": users}
        elif method == "chat.postEphemeral":
            body = {"ok": True, "message_ts": ts}
        elif method == "conversations.open":
            body = {"ok": True, "channel": {"id": f"D{args.get('users')}"}}
        elif method == "files.getUploadURLExternal":
            body = {
                "ok": True,
                "upload_url": f"{self.url}upload/F{ts[-3:]}",
                "file_id": f"F{ts[-3:]}",
            }
        elif method == "files.completeUploadExternal":
            files = (
                json.loads(args["files"]) if isinstance(args.get("files"), str) else args["files"]
            )
            body = {"ok": True, "files": [{"id": f["id"], "title": f.get("title")} for f in files]}
        elif method == "conversations.create":
            with self.lock:
                created = next(self._channels)
            body = {"ok": True, "channel": {"id": f"CINCIDENT{created}", "name": args.get("name")}}
        else:
            body = {"ok": True}
        return 200, {}, body

    def _over_channel_limit(self, args: dict[str, Any]) -> float:
        """How long the call's channel is over its rate (0: it may post now); takes the
        slot when it may. Called with the lock held."""
        if self.channel_rate <= 0:
            return 0.0
        channel = str(args.get("channel"))
        now = time.monotonic()
        interval = 1.0 / self.channel_rate
        tat = max(self._channel_tat.get(channel, now), now)
        wait = tat - now - (max(1, self.channel_burst) - 1) * interval
        if wait > 0:
            return wait
        self._channel_tat[channel] = tat + interval
        return 0.0

    def _keep(self, channel: str, ts: str, args: dict[str, Any]) -> None:
        metadata = args.get("metadata")
        if isinstance(metadata, str):
            metadata = json.loads(metadata)
        message = {
            "ts": ts,
            "text": args.get("text"),
            "thread_ts": args.get("thread_ts"),
            "metadata": metadata,
        }
        with self.lock:
            self.history.setdefault(channel, []).append(message)

    def _edit(self, channel: str, ts: str, args: dict[str, Any]) -> None:
        with self.lock:
            for message in self.history.get(channel, []):
                if message["ts"] == ts:
                    message["text"] = args.get("text")

    def _read(self, method: str, args: dict[str, Any]) -> list[dict[str, Any]]:
        oldest = float(args.get("oldest") or 0)
        with_metadata = str(args.get("include_all_metadata")).lower() in ("true", "1")
        with self.lock:
            kept = list(self.history.get(str(args.get("channel")), []))
        if method == "conversations.replies":
            parent = str(args.get("ts"))
            kept = [m for m in kept if m["ts"] == parent or m["thread_ts"] == parent]
        else:
            kept = [m for m in kept if not m["thread_ts"]]
        found = [
            {k: v for k, v in m.items() if k != "metadata" or with_metadata}
            for m in kept
            if float(m["ts"]) > oldest or m["ts"] == args.get("ts")
        ]
        return sorted(found, key=lambda m: m["ts"], reverse=method == "conversations.history")

    def cards(self) -> list[dict[str, Any]]:
        """Every card message Slack holds, with its metadata."""
        with self.lock:
            return [
                m
                for messages in self.history.values()
                for m in messages
                if (m.get("metadata") or {}).get("event_type") == "fireline_card"
            ]


class _Server(ThreadingHTTPServer):
    # Thirty-two sends at once are normal for Fireline; the default backlog of 5 would
    # drop connections and add the kernel's one-second retry to some of them.
    request_queue_size = 128


@contextmanager
def slack_standin() -> Iterator[SlackStandIn]:
    standin = SlackStandIn()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as Slack's API offers it

        def do_POST(self) -> None:
            method = self.path.split("?", 1)[0].rsplit("/", 1)[-1]
            raw = self.rfile.read(int(self.headers.get("content-length") or 0))
            if "/upload/" in self.path:  # the file's bytes, sent to the URL Slack handed out
                with standin.lock:
                    standin.uploads[method] = raw
                self.send_response(200)
                self.send_header("content-length", "2")
                self.end_headers()
                self.wfile.write(b"OK")
                return
            if "json" in (self.headers.get("content-type") or ""):
                args = json.loads(raw or b"{}")
            else:
                args = {k: v[0] for k, v in parse_qs(raw.decode()).items()}
                query = self.path.partition("?")[2]
                args.update({k: v[0] for k, v in parse_qs(query).items()})
                for key in ("blocks", "view"):
                    if isinstance(args.get(key), str):
                        args[key] = json.loads(args[key])
            status, headers, body = standin.answer(method, args)
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("content-type", "application/json; charset=utf-8")
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = _Server(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    standin.url = f"http://127.0.0.1:{server.server_address[1]}/api/"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield standin
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def signed(body: str, *, secret: str = SIGNING_SECRET, at: int | None = None) -> dict[str, str]:
    """Headers Slack would send with ``body``."""
    stamp = str(at if at is not None else int(time.time()))
    base = f"v0:{stamp}:{body}".encode()
    signature = "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
    return {
        "X-Slack-Request-Timestamp": stamp,
        "X-Slack-Signature": signature,
        "Content-Type": "application/x-www-form-urlencoded",
    }


def interaction(payload: dict[str, Any]) -> str:
    """A form body carrying an interactive payload (buttons, shortcuts, views)."""
    return urlencode({"payload": json.dumps(payload)})


def button_press(action: str, value: str, *, user: str, channel: str = "CINC") -> str:
    return interaction(
        {
            "type": "block_actions",
            "team": {"id": "T1"},
            "user": {"id": user, "username": user.lower()},
            "api_app_id": "A1",
            "token": "legacy",
            "trigger_id": "trigger-1",
            "channel": {"id": channel},
            "container": {
                "type": "message",
                "channel_id": channel,
                "message_ts": "1700000000.000001",
            },
            "response_url": "https://hooks.slack.invalid/unused",
            "actions": [
                {
                    "type": "button",
                    "action_id": action,
                    "block_id": "b",
                    "value": value,
                    "action_ts": str(time.time()),
                }
            ],
        }
    )


def slash(text: str, *, user: str, channel: str = "CGENERAL", command: str = "/fireline") -> str:
    return urlencode(
        {
            "token": "legacy",
            "team_id": "T1",
            "channel_id": channel,
            "user_id": user,
            "command": command,
            "text": text,
            "trigger_id": "trigger-1",
            "response_url": "https://hooks.slack.invalid/unused",
            "api_app_id": "A1",
        }
    )
