"""The OpenAPI document tells the truth: schemathesis calls every operation of the in-process
app, with and without the token, and finds no server error and no undocumented status."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Ok
from schemathesis.specs.openapi.checks import status_code_conformance

from bot.app.main import create_app
from bot.app.settings import Settings
from storage import migrate
from storage.db import Database
from tests.support import Served

TOKEN = "openapi-token"
EXAMPLES = 25
INT64 = (-(2**63), 2**63 - 1)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    path = tmp_path_factory.mktemp("openapi") / "fireline.db"
    url = f"sqlite:///{path}"
    db = Database(url)
    migrate.upgrade(db)
    db.dispose()
    settings = Settings(
        database_url=url,
        migrate_on_start=False,
        api_token=TOKEN,
        webhook_token=TOKEN,
    )
    with Served(create_app(settings)) as running:
        yield running


@pytest.fixture(scope="module")
def client(served: Served) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=served.base_url, timeout=30) as http:
        yield http


def _bounded_ids(document: dict[str, Any]) -> dict[str, Any]:
    """Integer parameters within 64 bits (ids beyond that are another change's to refuse)."""
    bounded = copy.deepcopy(document)
    for path_item in bounded["paths"].values():
        for operation in path_item.values():
            for parameter in operation.get("parameters", []):
                schema = parameter.get("schema", {})
                if schema.get("type") == "integer":
                    schema.setdefault("minimum", INT64[0])
                    schema.setdefault("maximum", INT64[1])
    return bounded


def test_the_document_declares_the_bearer_schemes(served: Served) -> None:
    document = served.app.openapi()
    schemes = document["components"]["securitySchemes"]
    assert schemes["apiToken"] == {**schemes["apiToken"], "type": "http", "scheme": "bearer"}
    assert document["paths"]["/webhooks/alertmanager"]["post"]["security"] == [{"webhookToken": []}]
    for path, item in document["paths"].items():
        for operation in item.values():
            if path.startswith("/api/"):
                assert operation["security"] == [{"apiToken": []}], path
                assert {"401", "422", "503"} <= set(operation["responses"]), path


def test_every_status_is_documented_and_none_is_a_server_error(
    served: Served, client: httpx.Client
) -> None:
    schema = schemathesis.openapi.from_dict(_bounded_ids(served.app.openapi()))
    checks = [not_a_server_error, status_code_conformance]
    failures: dict[str, str] = {}
    operations = []
    for result in schema.get_all_operations():
        assert isinstance(result, Ok), result.err()
        operations.append(result.ok())
    assert len(operations) >= 25

    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=True,
            database=None,
            phases=[Phase.explicit, Phase.generate],
        )
        def call(case: schemathesis.Case[Any]) -> None:
            for token in (TOKEN, None):
                kwargs = case.as_transport_kwargs()
                kwargs.pop("base_url", None)
                kwargs.pop("cookies", None)  # the API reads none
                if isinstance(kwargs.get("data"), bytes | str):
                    kwargs["content"] = kwargs.pop("data")
                headers = {
                    k: v for k, v in kwargs.pop("headers").items() if k.lower() != "authorization"
                }
                if token is not None:
                    headers["Authorization"] = f"Bearer {token}"
                response = client.request(**kwargs, headers=headers)
                case.validate_response(response, checks=checks)

        try:
            call()
        except (
            Exception,
            BaseExceptionGroup,
        ) as exc:  # every operation is tried, then all reported
            failures[operation.label] = f"{type(exc).__name__}: {exc}"[:3000]
    assert failures == {}, "\n\n".join(f"{k}: {v}" for k, v in failures.items())
