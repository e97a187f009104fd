from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from bot.app.settings import Settings


@pytest.fixture
def make_settings(make_settings: Callable[..., Settings]) -> Callable[..., Settings]:
    """The scripted incident writes its own escalation events to tell its story; the real
    scheduler ticks hourly here, so that on a slow machine it cannot page in between."""

    def make(**overrides: Any) -> Settings:
        overrides.setdefault("escalation", {"tick": "1h"})
        return make_settings(**overrides)

    return make
