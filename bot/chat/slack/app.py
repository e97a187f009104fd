"""The Slack app: bolt handlers for buttons, the slash command, the message shortcut and the
declare modal, mounted at ``POST /slack/events``.

Handlers are thin: they acknowledge Slack at once, call the same use cases the API calls
(with the Slack user as the actor), and answer refusals ephemerally. What the card and
the thread show follows from the timeline through the outbox, never from here.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request, Response
from slack_bolt.adapter.fastapi.async_handler import AsyncSlackRequestHandler
from slack_bolt.async_app import AsyncApp

from bot.app.runtime import Runtime
from bot.automation import service as automation
from bot.chat import service as chat
from bot.chat.commands import Command, CommandError, help_text, parse_command
from bot.chat.silence import Silencer
from bot.chat.slack.client import web_client
from bot.errors import ConflictError, NotFoundError, PermissionDeniedError
from bot.escalation import service as escalation
from bot.escalation.oncall import on_call_now
from bot.incidents import service as incidents
from bot.postmortem import followups
from bot.postmortem.service import render_postmortem

log = logging.getLogger(__name__)
REFUSALS = (NotFoundError, ConflictError, PermissionDeniedError, ValueError)
DECLARE_VIEW = "declare_incident"


def build_app(runtime: Runtime, silencer: Silencer | None) -> AsyncApp:
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
    db, clock = runtime.db, runtime.clock

    async def run(call: Any, *args: Any, **kwargs: Any) -> Any:
        return await asyncio.to_thread(call, *args, **kwargs)

    async def refuse(body: dict[str, Any], text: str) -> None:
        channel = (body.get("channel") or {}).get("id") or body.get("user", {}).get("id")
        user = body.get("user", {}).get("id")
        if channel and user:
            await app.client.chat_postEphemeral(channel=channel, user=user, text=text)

    async def incident_action(body: dict[str, Any], call: Any, **kwargs: Any) -> None:
        user = body["user"]["id"]
        incident_id = int(body["actions"][0]["value"])
        try:
            await run(call, db, incident_id, actor=user, clock=clock, **kwargs)
        except REFUSALS as exc:
            await refuse(body, f"Not done: {exc}")

    @app.action("acknowledge")
    async def on_acknowledge(ack: Any, body: dict[str, Any]) -> None:
        await ack()
        await incident_action(body, incidents.acknowledge, hooks=runtime.hooks)
        if silencer is not None and settings.slack_silence_on_ack:
            await _silence(body)

    @app.action("resolve")
    async def on_resolve(ack: Any, body: dict[str, Any]) -> None:
        await ack()
        await incident_action(
            body, incidents.resolve, reason="resolved from Slack", hooks=runtime.hooks
        )

    @app.action("escalate")
    async def on_escalate(ack: Any, body: dict[str, Any]) -> None:
        await ack()
        await incident_action(body, escalation.escalate, rules=runtime.escalation.rules)
        runtime.escalation.poke()

    async def _silence(body: dict[str, Any]) -> None:
        if silencer is None:
            await refuse(body, "Silencing needs FIRELINE_ALERTMANAGER_URL")
            return
        try:
            await silencer.silence(
                db,
                int(body["actions"][0]["value"]),
                by=body["user"]["id"],
                duration=settings.slack_silence_duration,
            )
        except REFUSALS as exc:
            await refuse(body, f"Not silenced: {exc}")

    @app.action("silence")
    async def on_silence(ack: Any, body: dict[str, Any]) -> None:
        await ack()
        await _silence(body)

    async def decide(body: dict[str, Any], approve: bool) -> None:
        step_run_id, _, args_hash = str(body["actions"][0]["value"]).partition(":")
        try:
            await run(
                automation.decide_approval,
                db,
                int(step_run_id),
                by=body["user"]["id"],
                approve=approve,
                expected_hash=args_hash or None,
                note="from Slack",
                now=clock(),
            )
        except REFUSALS as exc:
            await refuse(body, f"Not {'approved' if approve else 'rejected'}: {exc}")
            return
        runtime.automation.poke()

    @app.action("approve")
    async def on_approve(ack: Any, body: dict[str, Any]) -> None:
        await ack()
        await decide(body, True)

    @app.action("reject")
    async def on_reject(ack: Any, body: dict[str, Any]) -> None:
        await ack()
        await decide(body, False)

    @app.command(settings.slack_command)
    async def on_command(ack: Any, body: dict[str, Any], client: Any) -> None:
        channel = body.get("channel_id", "")
        here = await run(chat.incident_for_channel, db, channel)
        try:
            command = parse_command(
                body.get("text", ""), channel_incident=here, command=settings.slack_command
            )
            if command.name == "declare" and not command.text:
                await ack()
                await client.views_open(trigger_id=body["trigger_id"], view=declare_view())
                return
            answer = await execute(command, body["user_id"])
        except CommandError as exc:
            await ack(text=str(exc))
            return
        except REFUSALS as exc:
            await ack(text=f"Not done: {exc}")
            return
        await ack(text=answer)

    async def execute(command: Command, user: str) -> str:
        incident_id = command.incident_id
        if command.name == "help":
            return help_text(settings.slack_command)
        if command.name == "declare":
            incident = await run(
                incidents.declare,
                db,
                title=command.text,
                severity=command.severity or "SEV3",
                actor=user,
                hooks=runtime.hooks,
                clock=clock,
            )
            runtime.escalation.poke()
            return f"Declared incident #{incident.id}: {incident.title}"
        if command.name == "pause":
            await run(
                automation.pause,
                db,
                scope="global",
                target="",
                by=user,
                reason=command.text,
                until=None,
                now=clock(),
            )
            return "Automation paused: no mutating step starts until someone resumes it."
        if command.name == "resume":
            lifted = await run(
                automation.resume, db, scope="global", target="", by=user, now=clock()
            )
            runtime.automation.poke()
            return (
                f"Automation resumed ({len(lifted)} pause{'s' if len(lifted) != 1 else ''} lifted)."
            )
        if command.name == "oncall":
            answers = await run(
                on_call_now,
                db,
                runtime.escalation.rules,
                schedule=command.text or None,
                at=clock(),
            )
            if not answers:
                return "No on-call schedules are configured."
            return "\n".join(f"{a.schedule}: {a.user or 'nobody'} ({a.source})" for a in answers)
        assert incident_id is not None
        if command.name == "ack":
            await run(
                incidents.acknowledge, db, incident_id, actor=user, hooks=runtime.hooks, clock=clock
            )
            return f"Acknowledged #{incident_id}."
        if command.name == "resolve":
            await run(
                incidents.resolve,
                db,
                incident_id,
                actor=user,
                reason=command.text,
                hooks=runtime.hooks,
                clock=clock,
            )
            return f"Resolved #{incident_id}."
        if command.name == "escalate":
            await run(
                escalation.escalate,
                db,
                incident_id,
                actor=user,
                rules=runtime.escalation.rules,
                clock=clock,
            )
            runtime.escalation.poke()
            return f"Escalated #{incident_id}."
        if command.name == "commander":
            assert command.user is not None
            await run(
                incidents.assign_commander,
                db,
                incident_id,
                user=command.user,
                actor=user,
                clock=clock,
            )
            return f"<@{command.user}> is the commander of #{incident_id}."
        if command.name == "note":
            await run(
                incidents.add_note, db, incident_id, actor=user, text=command.text, clock=clock
            )
            return f"Noted on #{incident_id}."
        if command.name == "followup":
            item = await run(
                followups.add_followup, db, incident_id, text=command.text, actor=user, clock=clock
            )
            return f"Follow-up {item.id} added to #{incident_id}."
        if command.name == "postmortem":
            text: str = await run(render_postmortem, db, incident_id, runtime.drafts, clock=clock)
            await run(
                chat.share_file,
                db,
                incident_id,
                filename=f"postmortem-{incident_id}.md",
                title=f"Post-mortem draft: incident #{incident_id}",
                content=text,
                now=clock(),
            )
            if runtime.chat is not None:
                runtime.chat.poke()
            return (
                f"The post-mortem draft of #{incident_id} is on its way to the incident's thread."
            )
        view = await run(chat.view_of, db, incident_id, now=clock())
        if view is None:
            raise NotFoundError(f"incident {incident_id} does not exist")
        steps = ", ".join(f"{s.step_id} {s.state}" for s in view.steps) or "no steps"
        return (
            f"#{view.id} [{view.severity}] {view.title}: {view.status}; "
            f"runbook {view.runbook_id or 'none'} ({steps}); "
            f"commander {view.commander or 'nobody'}"
        )

    @app.view(DECLARE_VIEW)
    async def on_declare(ack: Any, body: dict[str, Any], view: dict[str, Any]) -> None:
        values = view["state"]["values"]
        title = values["title"]["title"]["value"] or ""
        severity = values["severity"]["severity"]["selected_option"]["value"]
        if not title.strip():
            await ack(response_action="errors", errors={"title": "An incident needs a title"})
            return
        await ack()
        await run(
            incidents.declare,
            db,
            title=title,
            severity=severity,
            actor=body["user"]["id"],
            hooks=runtime.hooks,
            clock=clock,
        )
        runtime.escalation.poke()

    @app.shortcut("add_to_timeline")
    async def on_add_to_timeline(ack: Any, body: dict[str, Any]) -> None:
        await ack()
        channel = body["channel"]["id"]
        message = body["message"]
        incident_id = await run(chat.incident_for_channel, db, channel)
        if incident_id is None and message.get("thread_ts"):
            incident_id = await run(chat.incident_for_thread, db, channel, message["thread_ts"])
        if incident_id is None:
            await refuse(body, "This message is not in an incident's channel or thread.")
            return
        author = message.get("user") or message.get("username") or "someone"
        original = datetime.fromtimestamp(float(message["ts"]), UTC)
        await run(
            incidents.add_chat_message,
            db,
            incident_id,
            actor=body["user"]["id"],
            author=author,
            text=message.get("text", ""),
            original_time=original,
            permalink=None,
            clock=clock,
        )

    @app.event("app_mention")
    async def on_mention(event: dict[str, Any], client: Any) -> None:
        await client.chat_postMessage(
            channel=event["channel"],
            thread_ts=event.get("thread_ts") or event["ts"],
            text=help_text(settings.slack_command),
        )

    return app


def declare_view() -> dict[str, Any]:
    options = [
        {"text": {"type": "plain_text", "text": sev}, "value": sev}
        for sev in ("SEV1", "SEV2", "SEV3", "SEV4")
    ]
    return {
        "type": "modal",
        "callback_id": DECLARE_VIEW,
        "title": {"type": "plain_text", "text": "Declare an incident"},
        "submit": {"type": "plain_text", "text": "Declare"},
        "blocks": [
            {
                "type": "input",
                "block_id": "title",
                "label": {"type": "plain_text", "text": "What is happening?"},
                "element": {"type": "plain_text_input", "action_id": "title"},
            },
            {
                "type": "input",
                "block_id": "severity",
                "label": {"type": "plain_text", "text": "Severity"},
                "element": {
                    "type": "static_select",
                    "action_id": "severity",
                    "initial_option": options[2],
                    "options": options,
                },
            },
        ],
    }


def router_for(app: AsyncApp) -> APIRouter:
    handler = AsyncSlackRequestHandler(app)
    router = APIRouter(tags=["slack"])

    @router.post("/slack/events", include_in_schema=True)
    async def slack_events(request: Request) -> Response:
        """Slack's events, interactivity, shortcuts and slash commands (signed by Slack)."""
        return await handler.handle(request)

    return router
