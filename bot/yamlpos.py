"""YAML loading that remembers where every value came from.

Configuration and runbook front matter are both YAML written by people, and both must
report problems as ``file:line``. This loads YAML with the safe loader and returns, beside
the data, the line of every mapping key and sequence item, addressed by its path.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field
from typing import Any

import yaml

Path = tuple[Hashable, ...]
_TIMESTAMP = "tag:yaml.org,2002:timestamp"


class YamlError(ValueError):
    """A YAML document that cannot be read; ``line`` is 1-based."""

    def __init__(self, message: str, line: int) -> None:
        super().__init__(message)
        self.message = message
        self.line = line


@dataclass(frozen=True)
class LocatedYaml:
    data: Any
    lines: dict[Path, int] = field(default_factory=dict)
    first_line: int = 1

    def line_of(self, path: Sequence[Hashable]) -> int:
        """The line of the deepest part of ``path`` that the document spells out."""
        parts = tuple(path)
        while parts:
            if parts in self.lines:
                return self.lines[parts]
            parts = parts[:-1]
        return self.first_line


def load_located(text: str, *, line_offset: int = 0) -> LocatedYaml:
    """Parse one YAML document; ``line_offset`` shifts lines for embedded documents."""
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        data = _construct(loader, node, line_offset) if node is not None else None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = (mark.line + 1 if mark else 1) + line_offset
        problem = exc.problem or exc.context or "invalid YAML"
        raise YamlError(f"invalid YAML: {problem}", line) from exc
    except yaml.YAMLError as exc:
        raise YamlError(f"invalid YAML: {exc}", 1 + line_offset) from exc
    finally:
        loader.dispose()
    lines: dict[Path, int] = {}
    if node is not None:
        _collect_lines(node, (), lines, line_offset)
    first = (node.start_mark.line + 1 if node is not None else 1) + line_offset
    return LocatedYaml(data=data, lines=lines, first_line=first)


def _construct(loader: yaml.SafeLoader, node: yaml.Node, offset: int) -> Any:
    """The document's data; a value YAML reads as a date that no calendar has
    (``2026-02-30``) is a ``YamlError`` at its line, not a bare ValueError."""
    try:
        return loader.construct_document(node)
    except ValueError as exc:
        found = _impossible_date(loader, node, ())
        if found is None:
            raise YamlError(f"invalid YAML: {exc}", node.start_mark.line + 1 + offset) from exc
        path, scalar = found
        where = ".".join(str(part) for part in path)
        message = f"{scalar.value!r} is not a date ({exc})"
        line = scalar.start_mark.line + 1 + offset
        raise YamlError(f"{where}: {message}" if where else message, line) from exc


def _impossible_date(
    loader: yaml.SafeLoader, node: yaml.Node, path: Path
) -> tuple[Path, yaml.ScalarNode] | None:
    if isinstance(node, yaml.ScalarNode):
        if node.tag != _TIMESTAMP:
            return None
        try:
            loader.construct_yaml_timestamp(node)
        except ValueError:
            return path, node
        return None
    if isinstance(node, yaml.MappingNode):
        children = [(str(key.value), value) for key, value in node.value]
    elif isinstance(node, yaml.SequenceNode):
        children = [(str(index), item) for index, item in enumerate(node.value)]
    else:
        return None
    for key, child in children:
        found = _impossible_date(loader, child, (*path, key))
        if found is not None:
            return found
    return None


def _collect_lines(node: yaml.Node, path: Path, out: dict[Path, int], offset: int) -> None:
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else str(key_node)
            child = (*path, key)
            out[child] = key_node.start_mark.line + 1 + offset
            _collect_lines(value_node, child, out, offset)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            child = (*path, index)
            out[child] = item.start_mark.line + 1 + offset
            _collect_lines(item, child, out, offset)
