"""The Slack app: bolt listeners for buttons, the slash command, the message shortcut and
the declare modal, mounted at ``POST /slack/events``.

Listeners are thin: they acknowledge Slack at once, call the same use cases the API calls
(with the Slack user as the actor), and answer refusals ephemerally. What the card and
the thread show follows from the timeline through the outbox, never from here.
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
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


def build_app(runtime: SlackRuntime, silencer: Silencer | None) -> AsyncApp:
    settings = runtime.settings
    assert settings.slack_bot_token is not None
    client = web_client(settings.slack_bot_token.get_secret_value(), settings.slack_api_url)
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


def router_for(app: AsyncApp) -> APIRouter:
    handler = AsyncSlackRequestHandler(app)
    router = APIRouter(tags=["slack"])

    @router.post("/slack/events", include_in_schema=True)
    async def slack_events(request: Request) -> Response:
        """Slack's events, interactivity, shortcuts and slash commands (signed by Slack)."""
        return await handler.handle(request)

    return router
