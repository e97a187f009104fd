"""Where outbound HTTP from a runbook may go.

Link-local and cloud metadata addresses are always refused; loopback, private and other
non-global ranges only when the configuration allow-lists them. The host is resolved and
every address it resolves to is checked, so a name cannot smuggle in a private address.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Sequence
from urllib.parse import urlsplit

from actions.base import ActionRefused
from actions.context import IPNetwork

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# Metadata services that are not inside 169.254.0.0/16 or fe80::/10.
METADATA = (
    ipaddress.ip_network("100.100.100.200/32"),  # Alibaba Cloud
    ipaddress.ip_network("fd00:ec2::254/128"),  # AWS over IPv6
)


def refusal(address: IPAddress, allow: Sequence[IPNetwork]) -> str | None:
    """Why ``address`` may not be reached, or None when it may."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if address.is_link_local or any(address in net for net in METADATA):
        return f"{address} is a link-local or cloud metadata address"
    if address.is_unspecified or address.is_multicast or address.is_reserved:
        return f"{address} is not a routable address"
    if address.is_global:
        return None
    if any(address.version == net.version and address in net for net in allow):
        return None
    return f"{address} is a private or loopback address that FIRELINE_HTTP_ALLOW does not list"


async def check_url(url: str, allow: Sequence[IPNetwork]) -> None:
    """Refuse a URL that is not http(s) or whose host resolves anywhere it may not go."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise ActionRefused(f"only http and https URLs are allowed, not {parts.scheme or url!r}")
    if parts.username or parts.password:
        raise ActionRefused("credentials in the URL are refused; use headers with a secret")
    host = parts.hostname
    if not host:
        raise ActionRefused(f"{url!r} names no host")
    try:
        addresses: list[IPAddress] = [ipaddress.ip_address(host)]
    except ValueError:
        try:
            infos = await asyncio.get_running_loop().getaddrinfo(
                host, parts.port or 0, type=socket.SOCK_STREAM
            )
        except OSError as exc:
            raise ActionRefused(f"cannot resolve {host!r}: {exc}") from exc
        addresses = [ipaddress.ip_address(info[4][0]) for info in infos]
    for address in addresses:
        reason = refusal(address, allow)
        if reason is not None:
            raise ActionRefused(f"refused {host}: {reason}")
