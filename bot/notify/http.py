"""What the HTTP-based senders share: an answer turned into success or a DeliveryError."""

from __future__ import annotations

import httpx

from bot.outbox.model import DeliveryError


def raise_for_answer(response: httpx.Response, what: str) -> None:
    """429 and 5xx are worth another attempt (429 after its ``Retry-After``); any other
    4xx is final. The provider's own words are kept, cut short."""
    if response.is_success:
        return
    retry_after = None
    if response.status_code == 429:
        try:
            retry_after = float(response.headers.get("Retry-After", ""))
        except ValueError:
            retry_after = None
    transient = response.status_code == 429 or response.status_code >= 500
    raise DeliveryError(
        f"{what} answered {response.status_code}: {response.text[:300]}",
        retry_after=retry_after,
        permanent=not transient,
    )


async def post(client: httpx.AsyncClient, what: str, url: str, **kwargs: object) -> httpx.Response:
    try:
        response = await client.post(url, **kwargs)  # type: ignore[arg-type]
    except httpx.HTTPError as exc:
        raise DeliveryError(f"{what}: {type(exc).__name__}: {exc}") from exc
    raise_for_answer(response, what)
    return response
