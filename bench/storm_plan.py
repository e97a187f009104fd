"""The storm's schedule: which webhook POSTs Alertmanager would send, and when.

Pure: a function of the options, the same every run. Groups appear over the first minute;
each group's alerts start one after another; Alertmanager notifies a group ``group_wait``
after its first alert, then on every ``group_interval`` tick when the group changed, and
again every ``repeat_interval`` when it did not. Every notification carries the whole
group as it stands, as Alertmanager's does.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any


@dataclass(frozen=True)
class StormShape:
    groups: int = 500
    alerts_per_group: int = 100
    seconds: float = 300.0
    group_wait: float = 10.0
    group_interval: float = 30.0
    repeat_interval: float = 60.0
    appear_over: float = 60.0  # groups' first alerts spread over this long
    fill_over: float = 120.0  # a group's alerts start over this long after its first
    services: int = 20


@dataclass(frozen=True)
class Notification:
    at: float  # seconds from the start of the storm
    group: int
    alerts: int
    body: bytes


def alert_start(shape: StormShape, group: int, index: int) -> float:
    first = shape.appear_over * group / max(1, shape.groups)
    step = shape.fill_over / max(1, shape.alerts_per_group)
    return first + index * step


def notification_times(shape: StormShape, group: int) -> list[tuple[float, int]]:
    """(when, how many alerts the group holds then) for each POST of ``group``."""
    first = alert_start(shape, group, 0)
    sent: list[tuple[float, int]] = []
    at = first + shape.group_wait
    last_count, last_sent = -1, 0.0
    while at <= shape.seconds:
        count = sum(1 for i in range(shape.alerts_per_group) if alert_start(shape, group, i) <= at)
        if count != last_count or at - last_sent >= shape.repeat_interval - 1e-9:
            sent.append((at, count))
            last_count, last_sent = count, at
        at += shape.group_interval
    return sent


def _alert(shape: StormShape, group: int, index: int, epoch: datetime) -> dict[str, Any]:
    starts = epoch + timedelta(seconds=alert_start(shape, group, index))
    return {
        "status": "firing",
        "labels": {
            "alertname": f"Storm{group:03d}",
            "service": f"svc-{group % shape.services:02d}",
            "severity": "critical" if group % 5 == 0 else "warning",
            "instance": f"host-{index:03d}:9100",
            "job": "node",
        },
        "annotations": {"summary": f"storm group {group}, instance {index} is down"},
        "startsAt": starts.isoformat().replace("+00:00", "Z"),
        "endsAt": "0001-01-01T00:00:00Z",
        "generatorURL": "http://127.0.0.1:9090/graph?g0.expr=up",
        "fingerprint": f"{group:04x}{index:012x}",
    }


def body(shape: StormShape, group: int, count: int, epoch: datetime) -> bytes:
    alerts = [_alert(shape, group, i, epoch) for i in range(count)]
    labels = {"alertname": f"Storm{group:03d}"}
    common = {k: v for k, v in alerts[0]["labels"].items() if k != "instance"}
    return json.dumps(
        {
            "receiver": "fireline",
            "status": "firing",
            "alerts": alerts,
            "groupLabels": labels,
            "commonLabels": common,
            "commonAnnotations": {},
            "externalURL": "http://127.0.0.1:9093",
            "version": "4",
            "groupKey": '{}:{alertname="' + labels["alertname"] + '"}',
            "truncatedAlerts": 0,
        }
    ).encode()


def plan(shape: StormShape, epoch: datetime | None = None) -> list[Notification]:
    """Every POST of the storm, in the order they are due."""
    start = epoch or datetime.now(UTC)
    sends = [
        Notification(at, group, count, body(shape, group, count, start))
        for group in range(shape.groups)
        for at, count in notification_times(shape, group)
    ]
    return sorted(sends, key=lambda n: (n.at, n.group))
