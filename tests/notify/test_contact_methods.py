"""Contact methods through the real app: who may edit them, what a bad address says, and
the verification message's outcome recorded on the method."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx

from bot.app.settings import Settings
from tests.notify.support import ADMIN, ALICE, BOB, bearer, write_config
from tests.support import running_app


async def wait_for_async(
    check: Callable[[], Awaitable[Any]], *, within: float = 15.0, what: str
) -> Any:
    deadline = asyncio.get_running_loop().time() + within
    while not (value := await check()):
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)
    return value


async def methods(client: httpx.AsyncClient, person: str, secret: str) -> list[dict[str, Any]]:
    answer = await client.get(f"/api/people/{person}/contact-methods", headers=bearer(secret))
    assert answer.status_code == 200, answer.text
    return list(answer.json())


async def test_a_person_adds_lists_and_removes_their_own_methods(
    make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    config = write_config(tmp_path / "f.yml", methods=[{"name": "mail", "kind": "email"}])
    settings = make_settings(config=config, migrate_on_start=True)
    async with running_app(settings) as (_app, client):
        added = await client.post(
            "/api/people/alice/contact-methods",
            json={"name": "phone", "kind": "voice", "to": "+4915112345678", "after": "5m"},
            headers=bearer(ALICE),
        )
        assert added.status_code == 201, added.text
        assert added.json()["source"] == "api"
        assert added.json()["after"] == "5m"

        # No Twilio account and no SMTP server: both test messages fail for good, saying why.
        async def settled() -> dict[str, tuple[str, str | None]] | None:
            found = {
                m["name"]: (m["status"], m["error"]) for m in await methods(client, "alice", ALICE)
            }
            return found if all(status != "pending" for status, _ in found.values()) else None

        seen = await wait_for_async(settled, what="both verifications to settle")
        assert seen["phone"][0] == "failed"
        assert "voice is not configured" in (seen["phone"][1] or "")
        assert "FIRELINE_TWILIO_ACCOUNT_SID" in (seen["phone"][1] or "")
        assert seen["mail"][0] == "failed"  # no SMTP server either
        assert [m["source"] for m in await methods(client, "alice", ALICE)] == ["config", "api"]

        removed = await client.delete(
            "/api/people/alice/contact-methods/phone", headers=bearer(ALICE)
        )
        assert removed.status_code == 204
        config_one = await client.delete(
            "/api/people/alice/contact-methods/mail", headers=bearer(ALICE)
        )
        assert config_one.status_code == 409
        assert "config file" in config_one.json()["detail"]
        assert [m["name"] for m in await methods(client, "alice", ALICE)] == ["mail"]


async def test_edits_are_checked_against_the_role_and_the_address(
    make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    config = write_config(tmp_path / "f.yml", methods=[])
    settings = make_settings(config=config, migrate_on_start=True)
    body = {"name": "sms", "kind": "sms", "to": "+4915112345678"}
    async with running_app(settings) as (_app, client):
        viewer = await client.post(
            "/api/people/bob/contact-methods", json=body, headers=bearer(BOB)
        )
        assert viewer.status_code == 403
        other = await client.post(
            "/api/people/bob/contact-methods", json=body, headers=bearer(ALICE)
        )
        assert other.status_code == 403  # alice may edit her own, not bob's
        admin = await client.post(
            "/api/people/bob/contact-methods", json=body, headers=bearer(ADMIN)
        )
        assert admin.status_code == 201
        again = await client.post(
            "/api/people/bob/contact-methods", json=body, headers=bearer(ADMIN)
        )
        assert again.status_code == 409

        bad = await client.post(
            "/api/people/alice/contact-methods",
            json={"name": "sms", "kind": "sms", "to": "0151 1234"},
            headers=bearer(ALICE),
        )
        assert bad.status_code == 422
        assert "E.164" in bad.json()["detail"]
        nobody = await client.get("/api/people/zed/contact-methods", headers=bearer(ADMIN))
        assert nobody.status_code == 404
        anonymous = await client.get("/api/people/alice/contact-methods")
        assert anonymous.status_code == 401
