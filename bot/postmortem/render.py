"""Markdown from post-mortem data through Jinja2: the shipped template or the user's own.

Values come from alerts and people, so every ``{{ value }}`` is made text, not Markdown:
characters that start inline markup or HTML are backslash-escaped and line breaks folded
(Jinja's ``finalize``). ``code`` puts a value in a code span it cannot close, ``prose``
keeps the code spans of Fireline's own sentences; ``cell`` (kept for user templates) is
the same escaping as every value.
"""

from __future__ import annotations

import re
from datetime import datetime, tzinfo
from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import ChoiceLoader, Environment, FileSystemLoader, PackageLoader, StrictUndefined
from jinja2 import Template as JinjaTemplate

from bot.errors import ConfigError
from bot.incidents.timeline import format_seconds, format_time, is_utc, one_line
from bot.postmortem.model import PostmortemData, SectionVersion
from bot.printable import visible

SHIPPED_TEMPLATE = "postmortem.md.j2"


# Inline markup and HTML starters; "_" inside a word (a_b) starts no emphasis, so stays.
_MARKUP = re.compile(r"([\\`*\[\]<>|~&]|(?<![0-9A-Za-z])_|_(?![0-9A-Za-z]))")


class Markdown(str):
    """Text already made safe for Markdown: ``finalize`` passes it through."""


def as_text(value: object) -> object:
    """A value as Markdown that shows it literally (numbers and ``Markdown`` untouched)."""
    if isinstance(value, Markdown) or not isinstance(value, str):
        return value
    return Markdown(_MARKUP.sub(r"\\\1", visible(one_line(value))))


def cell(value: object) -> Markdown:
    """Text that stays inside one cell of a Markdown table, as text."""
    shown = as_text(str(value))
    assert isinstance(shown, Markdown)
    return shown


def code(value: object) -> Markdown:
    """A code span around the value, fenced by more backticks than it holds."""
    text = visible(one_line(str(value)))
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return Markdown(f"{fence}{pad}{text}{pad}{fence}")


def prose(value: object) -> Markdown:
    """Fireline's own sentences: their `code spans` kept, everything else escaped as text."""
    parts = re.split(r"(`[^`]+`)", visible(one_line(str(value))))
    return Markdown(
        "".join(
            part if index % 2 else _MARKUP.sub(r"\\\1", part) for index, part in enumerate(parts)
        )
    )


# What starts a block (heading, quote, list item, rule, setext underline) at a line's start.
_BLOCK_START = re.compile(r"^([#>+=-])")
_ORDERED_ITEM = re.compile(r"^(\d+)([.)])")


def _line_as_text(line: str) -> str:
    escaped = _MARKUP.sub(r"\\\1", visible(one_line(line)))
    return _ORDERED_ITEM.sub(r"\1\\\2", _BLOCK_START.sub(r"\\\1", escaped))


def paragraphs(text: str) -> Markdown:
    """A person's text as Markdown that shows it literally, its paragraphs and lines kept."""
    blocks = [block for block in re.split(r"\n\s*\n", text.strip()) if block.strip()]
    return Markdown(
        "\n\n".join(
            "\n".join(_line_as_text(line) for line in block.splitlines() if line.strip())
            for block in blocks
        )
    )


def written(version: SectionVersion) -> Markdown:
    """A saved section: the author's text, then who wrote it and when."""
    by = as_text(version.author)
    at = format_time(version.saved_at)
    return Markdown(f"{paragraphs(version.text)}\n\n*Written by {by}, {at} UTC.*")


def _labels(labels: dict[str, str]) -> str:
    return ", ".join(f"{k}={v}" for k, v in sorted(labels.items()) if k != "alertname")


def _params(params: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in sorted(params.items())) or "—"


def _environment(loader: Any) -> Environment:
    # Markdown, not HTML: each value is escaped by `finalize`.
    env = Environment(
        loader=loader,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        autoescape=False,  # noqa: S701
        finalize=as_text,
    )
    env.filters["cell"] = cell
    env.filters["code"] = code
    env.filters["prose"] = prose
    return env


@lru_cache(maxsize=8)
def _template(user_template: Path | None, _mtime_ns: int) -> JinjaTemplate:
    package = PackageLoader("bot", "templates")
    if user_template is None:
        return _environment(package).get_template(SHIPPED_TEMPLATE)
    loader = ChoiceLoader([FileSystemLoader(user_template.parent), package])
    return _environment(loader).get_template(user_template.name)


def load_template(user_template: Path | None) -> JinjaTemplate:
    """The compiled template; a user template is re-read when its file changes."""
    if user_template is None:
        return _template(None, 0)
    try:
        mtime = user_template.stat().st_mtime_ns
    except OSError as exc:
        raise ConfigError(
            f"FIRELINE_POSTMORTEM_TEMPLATE: cannot read {user_template}: {exc.strerror}"
        ) from exc
    return _template(user_template.resolve(), mtime)


def render_markdown(data: PostmortemData, *, display: tzinfo, template: Path | None = None) -> str:
    def local(at: datetime) -> str:
        return format_time(at, display)

    return load_template(template).render(
        pm=data,
        has_zone=not is_utc(display),
        utc=format_time,
        local=local,
        dur=format_seconds,
        labels=_labels,
        params=_params,
        written=written,
    )
