"""The running service does not log every tick at INFO."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from pathlib import Path

import pytest

from bot.app.settings import Settings
from tests.support import running_app

CONFIG = """\
escalation:
  tick: 50ms
  policies:
    - name: default
      levels:
        - targets: [{user: U1}]
          delay: 1h
"""


async def test_several_ticks_log_no_lines_at_info(
    make_settings: Callable[..., Settings], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    config = tmp_path / "fireline.yml"
    config.write_text(CONFIG)
    runbooks = tmp_path / "runbooks"
    runbooks.mkdir()
    settings = make_settings(config=config, runbook_dirs=[runbooks], automation_tick="50ms")
    with caplog.at_level(logging.INFO):
        async with running_app(settings) as (app, _client):
            worker = app.state.runtime.escalation.worker
            caplog.clear()
            start = worker.cycles
            async with asyncio.timeout(10):
                await worker.wait_cycles(start + 5)
            ticking = [r for r in caplog.records if r.levelno >= logging.INFO]
    assert worker.cycles >= start + 5
    assert [f"{r.name}: {r.getMessage()}" for r in ticking] == []
