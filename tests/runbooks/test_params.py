"""Typed parameters: every value from an alert is checked by its type."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from bot.runbooks.model import ParamSpec
from bot.runbooks.params import ParamError, ParamValue, resolve_params, validate_value


def spec(**kw: Any) -> ParamSpec:
    return ParamSpec.model_validate({"from": "labels.x", **kw})


@pytest.mark.parametrize(
    ("kw", "value", "expected"),
    [
        ({"type": "k8s_name"}, "checkout-api", "checkout-api"),
        ({"type": "k8s_name"}, "api.v1.example", "api.v1.example"),
        ({"type": "hostname"}, "node-1.eu-west.internal", "node-1.eu-west.internal"),
        ({"type": "int"}, "3", 3),
        ({"type": "duration"}, "15m", timedelta(minutes=15)),
        ({"type": "enum", "values": ["a", "b"]}, "b", "b"),
        ({"pattern": r"http://127\.0\.0\.1:\d+"}, "http://127.0.0.1:8080", "http://127.0.0.1:8080"),
    ],
)
def test_valid_values(kw: dict[str, Any], value: str, expected: ParamValue) -> None:
    assert validate_value(spec(**kw), value) == expected


@pytest.mark.parametrize(
    ("kw", "value"),
    [
        ({"type": "k8s_name"}, "Checkout"),
        ({"type": "k8s_name"}, "-n"),
        ({"type": "k8s_name"}, "a" * 254),
        ({"type": "k8s_name"}, "api; rm -rf /"),
        ({"type": "hostname"}, "node 1"),
        ({"type": "int"}, "-1"),
        ({"type": "int"}, "3.5"),
        ({"type": "duration"}, "soon"),
        ({"type": "enum", "values": ["a", "b"]}, "c"),
        ({"pattern": r"http://127\.0\.0\.1:\d+"}, "http://127.0.0.1:80/x"),
        ({"pattern": r".*"}, "--force"),
        ({"pattern": r"(?s).*"}, "a\nb"),
    ],
)
def test_refused_values(kw: dict[str, Any], value: str) -> None:
    with pytest.raises(ParamError):
        validate_value(spec(**kw), value)


def test_resolution_collects_every_error_and_uses_defaults() -> None:
    specs = {
        "namespace": spec(type="k8s_name"),
        "replicas": ParamSpec.model_validate(
            {"from": "annotations.replicas", "type": "int", "default": 2}
        ),
        "pod": ParamSpec.model_validate({"from": "labels.pod", "type": "k8s_name"}),
    }
    result = resolve_params(specs, labels={"x": "Bad_Name"}, annotations={})
    assert result.values == {"replicas": 2}
    assert set(result.errors) == {"namespace", "pod"}
    assert "labels.pod is missing" in result.errors["pod"]
