"""The Alertmanager-family webhook payload: Alertmanager 0.16 and later, Grafana-managed alerting.

Version 4 from a current Alertmanager is the reference. Older senders and Grafana differ in
small ways that are filled in here, so the rest of Fireline sees one shape: no
``fingerprint`` (computed from the labels as Alertmanager does), no ``groupKey`` or a
numeric one (derived from ``receiver`` and ``groupLabels``), a ``version`` other than
``"4"`` (kept as sent), alerts without a ``status`` (the payload's), ``null`` label sets.
Unknown fields are ignored; Grafana's dashboard, panel and silence URLs become ``links``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Annotated, Any, Literal, TypeGuard
from urllib.parse import urlsplit

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

GO_ZERO_YEAR = 1
FNV_OFFSET_64 = 0xCBF29CE484222325
FNV_PRIME_64 = 0x100000001B3
SEPARATOR_BYTE = 0xFF
GRAFANA_LINKS = {"dashboardURL": "dashboard", "panelURL": "panel", "silenceURL": "silence"}


def _none_for_go_zero_time(value: object) -> object:
    """Go's zero time (``0001-01-01T00:00:00Z``) means "not set"."""
    if isinstance(value, str) and value.startswith("0001-01-01"):
        return None
    return value


def _empty_for_null(value: object) -> object:
    """Go marshals an empty map as ``null``."""
    return {} if value is None else value


def _text_for_number(value: object) -> object:
    """Alertmanager before 0.6 sent ``groupKey`` (and some senders ``version``) as a number."""
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value


OptionalTime = Annotated[datetime | None, BeforeValidator(_none_for_go_zero_time)]
LabelSet = Annotated[dict[str, str], BeforeValidator(_empty_for_null)]
Text = Annotated[str, BeforeValidator(_text_for_number)]


def _is_label_set(value: object) -> TypeGuard[dict[str, str]]:
    return isinstance(value, dict) and all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    )


def fingerprint(labels: Mapping[str, str]) -> str:
    """Alertmanager's fingerprint of a label set (prometheus/common ``LabelSet.Fingerprint``).

    FNV-1a 64 over the label names in sorted order, each name and value followed by the
    separator byte 0xff, printed as 16 hex digits.
    """
    digest = FNV_OFFSET_64
    for name in sorted(labels):
        for part in (name, labels[name]):
            for byte in (*part.encode("utf-8"), SEPARATOR_BYTE):
                digest = ((digest ^ byte) * FNV_PRIME_64) & 0xFFFFFFFFFFFFFFFF
    return f"{digest:016x}"


def derived_group_key(group_labels: Mapping[str, str]) -> str:
    """A group key in Alertmanager's form for the root route: ``{}:{name="value", ...}``."""
    pairs = ", ".join(
        f"{name}={json.dumps(group_labels[name], ensure_ascii=False)}"
        for name in sorted(group_labels)
    )
    return "{}:{" + pairs + "}"


def safe_link(url: str) -> str | None:
    """The URL if it may be shown as a link: absolute http(s), nothing that ends a Slack link."""
    if not url or any(c in url for c in "<>|") or any(c.isspace() for c in url):
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    return url if parts.scheme in ("http", "https") and parts.netloc else None


class Alert(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    status: Literal["firing", "resolved"]
    labels: LabelSet
    annotations: LabelSet = Field(default_factory=dict)
    startsAt: datetime
    endsAt: OptionalTime = None
    generatorURL: str = ""
    fingerprint: str = Field(
        default="",
        max_length=64,
        description="Computed from the labels as Alertmanager does when not sent",
    )
    dashboardURL: str | None = None
    panelURL: str | None = None
    silenceURL: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _fill_fingerprint(cls, data: Any) -> Any:
        if isinstance(data, dict) and not data.get("fingerprint"):
            labels = _empty_for_null(data.get("labels"))
            if _is_label_set(labels):
                return {**data, "fingerprint": fingerprint(labels)}
        return data

    @property
    def starts_at(self) -> datetime:
        return self.startsAt.astimezone(UTC)

    @property
    def ends_at(self) -> datetime | None:
        return self.endsAt.astimezone(UTC) if self.endsAt else None

    @property
    def links(self) -> dict[str, str]:
        """Grafana's dashboard, panel and silence URLs that are safe to show, by name."""
        out = {}
        for field_name, name in GRAFANA_LINKS.items():
            url = safe_link(getattr(self, field_name) or "")
            if url:
                out[name] = url
        return out


class WebhookPayload(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    version: Text = Field(default="4", description='Kept as sent; Grafana sends "1"')
    groupKey: Text = Field(
        default="",
        description="Derived from receiver and groupLabels when not sent",
    )
    truncatedAlerts: int = 0
    status: Literal["firing", "resolved"]
    receiver: str
    groupLabels: LabelSet = Field(default_factory=dict)
    commonLabels: LabelSet = Field(default_factory=dict)
    commonAnnotations: LabelSet = Field(default_factory=dict)
    externalURL: str = ""
    alerts: list[Alert]

    @model_validator(mode="before")
    @classmethod
    def _fill_older_senders(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        filled = dict(data)
        alerts = filled.get("alerts")
        status = filled.get("status")
        if isinstance(alerts, list) and isinstance(status, str):
            filled["alerts"] = [
                {"status": status, **a} if isinstance(a, dict) and "status" not in a else a
                for a in alerts
            ]
        group_labels = _empty_for_null(filled.get("groupLabels"))
        if filled.get("groupKey") in (None, "") and _is_label_set(group_labels):
            filled["groupKey"] = derived_group_key(group_labels)
        return filled
