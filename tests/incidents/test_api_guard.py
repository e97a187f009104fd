"""Every protected route refuses before it reads a body, and no id or offset is a 500."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable

from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts

from bot.app.settings import Settings
from bot.routing import MAX_ID, MAX_OFFSET, AuthenticatedRoute
from tests.support import running_app

TOKEN = "s3cret-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def routes_of(app: FastAPI) -> list[APIRoute]:
    return [
        context.original_route
        for context in iter_route_contexts(app.routes)
        if isinstance(context.original_route, APIRoute)
        and context.original_route.path.startswith("/api")
    ]


def api_routes(app: FastAPI) -> list[tuple[str, str]]:
    return [
        (method, route.path) for route in routes_of(app) for method in sorted(route.methods or ())
    ]


def int_id_routes(app: FastAPI) -> list[tuple[str, str]]:
    return [
        (method, route.path)
        for route in routes_of(app)
        if any(p.field_info.annotation is int for p in route.dependant.path_params)
        for method in sorted(route.methods or ())
    ]


async def noting_reads(read: list[bytes]) -> AsyncIterator[bytes]:
    """A body of ``{`` that notes in ``read`` when the app reads it."""
    read.append(b"{")
    yield b"{"


def with_ids(path: str, value: int) -> str:
    return re.sub(r"\{[a-z_]*_id\}", str(value), path).replace("{name}", "primary")


async def test_every_api_route_is_authenticated_before_its_body(
    make_settings: Callable[..., Settings],
) -> None:
    async with running_app(make_settings(api_token=TOKEN)) as (app, client):
        routes = api_routes(app)
        assert len(routes) > 10
        unguarded = [r.path for r in routes_of(app) if not isinstance(r, AuthenticatedRoute)]
        assert unguarded == []
        for method, path in routes:
            read: list[bytes] = []
            response = await client.request(
                method,
                with_ids(path, 1),
                content=noting_reads(read),
                headers={"Content-Type": "application/json"},
            )
            assert response.status_code == 401, (method, path, response.text)
            assert response.headers["www-authenticate"] == "Bearer"
            assert read == [], f"{method} {path} read the body of an unauthenticated request"

        wrong = await client.post(
            "/api/incidents/1/notes", content=b"{", headers={"Authorization": "Bearer nope"}
        )
        assert wrong.status_code == 401
        malformed = await client.post("/api/incidents/1/notes", content=b"{", headers=AUTH)
        assert malformed.status_code == 422


async def test_ids_and_offsets_beyond_64_bits_are_never_a_server_error(
    make_settings: Callable[..., Settings],
) -> None:
    async with running_app(make_settings(api_token=TOKEN)) as (app, client):
        with_id = int_id_routes(app)
        assert len(with_id) >= 10
        for method, path in with_id:
            cases = ((2**63, {422}), (MAX_ID + 1, {422}), (MAX_ID, {404, 422}), (0, {422}))
            for value, allowed in cases:
                response = await client.request(
                    method, with_ids(path, value), headers=AUTH, json={}
                )
                assert response.status_code in allowed, (method, path, value, response.text)

        for path in ("/api/incidents", "/api/incidents/1/timeline"):
            for offset, status in ((MAX_OFFSET + 1, 422), (-1, 422)):
                response = await client.get(path, params={"offset": offset}, headers=AUTH)
                assert response.status_code == status, (path, offset, response.text)
        huge = await client.get("/api/incidents", params={"offset": MAX_OFFSET}, headers=AUTH)
        assert huge.status_code == 200, huge.text
        assert huge.json()["items"] == []
