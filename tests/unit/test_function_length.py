"""No function in ``bot`` runs over 80 lines, counted from ``def`` to its last line with
anything nested inside; a longer one should be split into named steps."""

from __future__ import annotations

import ast
from pathlib import Path

import bot

MAX_LINES = 80
BOT = Path(bot.__file__).parent


def too_long(source: str, *, limit: int = MAX_LINES) -> list[tuple[str, int]]:
    """Every function (nested ones included) longer than ``limit`` lines, as (name, lines)."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            assert node.end_lineno is not None
            lines = node.end_lineno - node.lineno + 1
            if lines > limit:
                found.append((node.name, lines))
    return found


def test_no_function_in_bot_is_over_the_limit() -> None:
    files = sorted(BOT.rglob("*.py"))
    assert files
    offenders = [
        f"{path.relative_to(BOT.parent)}:{name}:{lines}"
        for path in files
        for name, lines in too_long(path.read_text(encoding="utf-8"))
    ]
    assert not offenders, f"functions over {MAX_LINES} lines: " + ", ".join(offenders)


def test_the_check_counts_from_def_to_the_last_line_nested_included() -> None:
    body = "".join(f"        x{i} = {i}\n" for i in range(3))
    source = (
        "def outer():\n"
        "    async def inner():\n"
        f"{body}"
        "    return inner\n"
        "class C:\n"
        "    def method(self):\n"
        "        pass\n"
    )
    assert too_long(source, limit=5) == [("outer", 6)]
    assert too_long(source, limit=3) == [("outer", 6), ("inner", 4)]
    assert too_long(source, limit=6) == []
