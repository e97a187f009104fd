"""Markdown from post-mortem data through Jinja2: the shipped template or the user's own."""

from __future__ import annotations

from datetime import datetime, tzinfo
from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import ChoiceLoader, Environment, FileSystemLoader, PackageLoader, StrictUndefined
from jinja2 import Template as JinjaTemplate

from bot.errors import ConfigError
from bot.incidents.timeline import format_seconds, format_time, is_utc, markdown_cell
from bot.postmortem.model import PostmortemData

SHIPPED_TEMPLATE = "postmortem.md.j2"


def _labels(labels: dict[str, str]) -> str:
    return ", ".join(f"{k}={v}" for k, v in sorted(labels.items()) if k != "alertname")


def _params(params: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in sorted(params.items())) or "—"


def _environment(loader: Any) -> Environment:
    # Markdown, not HTML: table cells are made safe by the `cell` filter.
    env = Environment(
        loader=loader,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        autoescape=False,  # noqa: S701
    )
    env.filters["cell"] = markdown_cell
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
    )
