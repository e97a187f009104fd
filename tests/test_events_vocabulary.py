"""The timeline vocabulary: the generated doc is current and every kind written is known."""

import re
from pathlib import Path

from bot.events import SPEC, EventKind, render_markdown

ROOT = Path(__file__).resolve().parent.parent
KIND_LITERAL = re.compile(r'\bkind\s*=\s*f?"([^"]*)"')
KIND_SHAPED = re.compile(r'"([a-z]+\.[a-z_]+)"')


def test_doc_is_generated_from_the_enum() -> None:
    doc = (ROOT / "docs" / "timeline-events.md").read_text()
    assert doc == render_markdown(), "run: python -m bot.events > docs/timeline-events.md"


def test_every_kind_has_a_spec() -> None:
    assert set(SPEC) == set(EventKind)


def test_no_kind_written_as_a_string_literal() -> None:
    offenders = []
    known = {k.value for k in EventKind}
    for path in (ROOT / "bot").rglob("*.py"):
        if path.name == "events.py" and path.parent.name == "bot":
            continue
        text = path.read_text()
        for match in KIND_LITERAL.finditer(text):
            if "." in match.group(1) or match.group(1) in known:
                offenders.append(f"{path.relative_to(ROOT)}: kind={match.group(0)}")
        offenders += [
            f"{path.relative_to(ROOT)}: {m.group(0)}"
            for m in KIND_SHAPED.finditer(text)
            if m.group(1) in known
        ]
    assert offenders == []


def test_kind_literal_scan_catches_unknown_kinds() -> None:
    assert KIND_LITERAL.search('kind="step.bogus"')
    assert KIND_LITERAL.search('kind=f"step.{x}"')
