"""Markdown as HTML for the console (runbooks, post-mortem drafts): CommonMark with
tables and raw HTML disabled, so any ``<tag>`` in the text is shown as text, and
markdown-it's link check refuses ``javascript:`` and similar URLs."""

from __future__ import annotations

from functools import cache

from markdown_it import MarkdownIt
from markupsafe import Markup

from bot.runbooks.model import Runbook


@cache
def _markdown() -> MarkdownIt:
    return MarkdownIt("commonmark", {"html": False}).enable("table")


def markdown_html(text: str) -> Markup:
    return Markup(_markdown().render(text))  # noqa: S704  html is off: the text is escaped


def runbook_html(runbook: Runbook) -> Markup:
    """The runbook's sections (headings, prose and its step blocks) rendered."""
    source = "\n\n".join(
        f"{'#' * section.level} {section.title}\n\n{section.text}" for section in runbook.sections
    )
    return markdown_html(source)
