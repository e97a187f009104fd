"""The Slack app: bolt listeners for buttons, the slash command, the message shortcut and
the declare modal, mounted at ``POST /slack/events``.

Listeners are thin: they acknowledge Slack at once, call the same use cases the API calls
(with the Slack user as the actor), and answer refusals ephemerally. What the card and
the thread show follows from the timeline through the outbox, never from here.

Every request is verified here before bolt sees it: signed by Slack within five minutes,
and not seen before. Seen signatures are kept in the database until their window closes,
so a request replayed to any replica is refused (401) rather than acted on twice.
"""

from __future__ import annotations

from datetime import datetime

import aiohttp
from fastapi import APIRouter, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from slack_bolt.adapter.fastapi.async_handler import AsyncSlackRequestHandler
from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.chat.silence import Silencer
from bot.chat.slack.buttons import Buttons
from bot.chat.slack.client import web_client
from bot.chat.slack.modals import Modals
from bot.chat.slack.runtime import SlackRuntime
from bot.chat.slack.slash import SlashCommand
from bot.people.groups import Fetch, GroupMembers
from bot.security import SLACK_WINDOW, slack_signature_valid, slack_timestamp
from storage import queries_security
from storage.db import Database


def build_app(
    runtime: SlackRuntime, silencer: Silencer | None, session: aiohttp.ClientSession
) -> AsyncApp:
    """The bolt app; its Web API client calls Slack over ``session``'s connections."""
    settings = runtime.settings
    assert settings.slack_bot_token is not None
    client = web_client(
        settings.slack_bot_token.get_secret_value(),
        settings.slack_api_url,
        session=session,
    )
    app = AsyncApp(
        client=client,
        signing_secret=(
            settings.slack_signing_secret.get_secret_value()
            if settings.slack_signing_secret
            else None
        ),
        # Fireline answers every request itself; bolt's lazy listeners are not used.
        process_before_response=True,
    )
    groups = GroupMembers(user_group_members(client), clock=runtime.clock)
    for group in (Buttons, SlashCommand, Modals):
        group(app, runtime, silencer, groups).register()
    return app


def user_group_members(client: AsyncWebClient) -> Fetch:
    """``usergroups.users.list`` for one group (needs the ``usergroups:read`` scope)."""

    async def fetch(group: str) -> frozenset[str]:
        answer = await client.api_call(
            "usergroups.users.list", http_verb="POST", data={"usergroup": group}
        )
        return frozenset(str(user) for user in answer.get("users") or [])

    return fetch


def first_sighting(db: Database, signature: str, expires_at: datetime, now: datetime) -> bool:
    """Remember a verified request's signature; False when it was seen before."""
    with db.write() as session:
        return queries_security.first_sighting(session, signature, expires_at=expires_at, now=now)


async def verification_refusal(runtime: SlackRuntime, request: Request) -> str | None:
    """Why a request into the app is refused, or None when it is Slack's and new."""
    secret = runtime.settings.slack_signing_secret
    if secret is None:
        return None
    timestamp = request.headers.get("x-slack-request-timestamp")
    signature = request.headers.get("x-slack-signature")
    stamp = slack_timestamp(timestamp)
    now = runtime.clock()
    body = await request.body()
    if (
        stamp is None
        or signature is None
        or not slack_signature_valid(secret.get_secret_value(), body, timestamp, signature, now=now)
    ):
        return "invalid or expired Slack signature"
    expires_at = stamp + SLACK_WINDOW
    if not await run_in_threadpool(first_sighting, runtime.db, signature, expires_at, now):
        return "this Slack request was already received"
    return None


def router_for(app: AsyncApp, runtime: SlackRuntime) -> APIRouter:
    handler = AsyncSlackRequestHandler(app)
    router = APIRouter(tags=["slack"])

    @router.post(
        "/slack/events",
        include_in_schema=True,
        responses={401: {"description": "Not signed by Slack, expired, or a replay"}},
    )
    async def slack_events(request: Request) -> Response:
        """Slack's events, interactivity, shortcuts and slash commands (signed by Slack)."""
        refusal = await verification_refusal(runtime, request)
        if refusal is not None:
            return JSONResponse({"detail": refusal}, status_code=401)
        return await handler.handle(request)

    return router
