"""Untrusted text made visible: control and direction-changing characters spelled out.

Alert labels and annotations reach chat, terminals and Markdown files. An escape sequence
could recolour or rewrite a terminal, a right-to-left override (U+202E) could make
``evil.exe`` read differently from what it is; shown as ``\\u202e`` they do nothing.
"""

from __future__ import annotations

import re

# C0/C1 controls (but tab and newline), the invisible direction marks, and the
# bidirectional embeddings, overrides and isolates.
_HIDDEN = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def visible(text: str) -> str:
    """``text`` with each hidden character written as ``\\uXXXX``."""
    return _HIDDEN.sub(lambda m: f"\\u{ord(m.group()):04x}", text)
