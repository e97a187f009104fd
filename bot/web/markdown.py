"""A runbook's markdown as HTML for the console: CommonMark with raw HTML disabled, so
any ``<tag>`` in the file is shown as text, and markdown-it's link check refuses
``javascript:`` and similar URLs."""

from __future__ import annotations

from functools import cache

from markdown_it import MarkdownIt
from markupsafe import Markup

from bot.runbooks.model import Runbook


@cache
def _markdown() -> MarkdownIt:
    return MarkdownIt("commonmark", {"html": False})


def runbook_html(runbook: Runbook) -> Markup:
    """The runbook's sections (headings, prose and its step blocks) rendered."""
    source = "\n\n".join(
        f"{'#' * section.level} {section.title}\n\n{section.text}" for section in runbook.sections
    )
    return Markup(_markdown().render(source))  # noqa: S704  html is off: the text is escaped
