"""The starter config ``fireline init`` writes: one person, one schedule, one policy, so a
new install pages its operator from the first alert. Rendered as commented YAML from plain
values; the command validates it with the service's own settings before writing it."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass

from bot.people.contacts import MethodKind, check_address
from bot.people.directory import token_digest

_ID = re.compile(r"[^a-z0-9._-]+")


@dataclass(frozen=True)
class Operator:
    name: str
    email: str | None = None
    slack: str | None = None
    timezone: str = "UTC"

    @property
    def id(self) -> str:
        """The person's id: their name, lowercased, with anything else as dashes."""
        return _ID.sub("-", self.name.strip().lower()).strip("-") or "operator"


@dataclass(frozen=True)
class Starter:
    config: str  # fireline.yaml
    env: str  # fireline.env, secrets included
    token: str  # the operator's console and API token, shown once


def check_options(operator: Operator) -> list[str]:
    """What is wrong with the options, each naming its option."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    problems = []
    for option, kind, value in (
        ("--email", MethodKind.EMAIL, operator.email),
        ("--slack", MethodKind.SLACK, operator.slack),
    ):
        if value is not None:
            try:
                check_address(kind, value)
            except ValueError as exc:
                problems.append(f"{option}: {exc}")
    try:
        ZoneInfo(operator.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        problems.append(
            f"--timezone: {operator.timezone!r} is not an IANA zone such as Europe/Berlin"
        )
    if not operator.email and not operator.slack:
        problems.append("give --email or --slack (or both): how Fireline reaches you")
    return problems


def _quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def render(operator: Operator, *, config_path: str) -> Starter:
    token = secrets.token_urlsafe(32)
    methods, rules = [], []
    if operator.slack:
        methods.append("        - {name: slack, kind: slack}      # a Slack DM with its buttons")
        rules.append("          - {method: slack}")
    if operator.email:
        methods.append("        - {name: mail, kind: email}       # needs FIRELINE_SMTP_HOST")
        rules.append(
            "          - {method: mail, after: 1m}"
            if operator.slack
            else "          - {method: mail}"
        )
    contact = [f"      slack: {operator.slack}"] if operator.slack else []
    contact += [f"      email: {_quote(operator.email)}"] if operator.email else []
    low = "          - {method: mail}" if operator.email else "          - {method: slack}"
    config = "\n".join(
        [
            "# Fireline's config, written by `fireline init`. Every section is documented in",
            "# the README and docs/; `fireline serve` refuses a mistake with its file:line.",
            "",
            "# Who Fireline knows. Add your team here: each person's contact methods and the",
            "# rules that say which is tried when (docs/notifications.md).",
            "people:",
            "  directory:",
            f"    - id: {operator.id}",
            f"      name: {_quote(operator.name)}",
            *contact,
            f"      timezone: {operator.timezone}",
            "      role: admin",
            "      contact_methods:",
            *methods,
            "      notification_rules:",
            "        high:                           # SEV1 and SEV2: until someone acknowledges",
            *rules,
            "        low:                            # SEV3 and SEV4",
            low,
            "  # Tokens for the console and the API; only their SHA-256 is kept here.",
            "  tokens:",
            f"    - name: {operator.id}-console",
            f"      sha256: {token_digest(token)}",
            f"      person: {operator.id}",
            "      role: admin",
            "",
            "# Who is on call. One person for now: add members and they take turns weekly.",
            "schedules:",
            "  - name: primary",
            f"    zone: {operator.timezone}",
            "    layers:",
            f"      - members: [{operator.id}]",
            "        length: weekly",
            '        handoff: "09:00"',
            "        start: 2026-01-05",
            "",
            "# Who is paged, and when: whoever is on call at once, then again every 10 minutes",
            "# until someone acknowledges (docs/escalation.md).",
            "escalation:",
            "  policies:",
            "    - name: default",
            "      repeat: 2",
            "      levels:",
            "        - targets: [{schedule: primary}]",
            "          delay: 10m",
            "",
        ]
    )
    return Starter(config=config, env=environment(config_path), token=token)


def environment(config_path: str) -> str:
    """The env file: where the config is, fresh secrets, and what to set next."""
    return "\n".join(
        [
            "# Fireline's environment, written by `fireline init`: it holds secrets, keep it",
            "# private.",
            "# Load it with: set -a; . ./fireline.env; set +a",
            f"FIRELINE_CONFIG={config_path}",
            f"FIRELINE_WEBHOOK_TOKEN={secrets.token_urlsafe(32)}",
            f"FIRELINE_LINK_SECRET={secrets.token_urlsafe(32)}",
            f"FIRELINE_SESSION_SECRET={secrets.token_urlsafe(32)}",
            f"FIRELINE_CALENDAR_SECRET={secrets.token_urlsafe(32)}",
            "# Email pages go through your SMTP server:",
            "# FIRELINE_SMTP_HOST=smtp.example.com",
            "# FIRELINE_SMTP_USERNAME=fireline",
            "# FIRELINE_SMTP_PASSWORD=",
            "# FIRELINE_SMTP_FROM=fireline@example.com",
            "# Links in pages point here (how your phone reaches Fireline):",
            "# FIRELINE_PUBLIC_URL=https://fireline.example.com",
            "# Slack (docs/slack.md): SLACK_BOT_TOKEN, SLACK_SIGNING_SECRET and",
            "# FIRELINE_SLACK_CHANNEL",
            "",
        ]
    )
