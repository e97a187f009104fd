"""What an action may use while it runs, handed to it by the engine.

Everything an action touches outside itself comes through here: named secrets, the one
HTTP client, the endpoints of Prometheus, Alertmanager and Kubernetes, and a way to post
a message to the incident. ``bot`` builds it from the settings; tests build it directly
against local servers.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import httpx

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

PostMessage = Callable[[str], Awaitable[None]]


async def _discard(_text: str) -> None:
    return None


@dataclass(frozen=True)
class Endpoints:
    """Where the infrastructure the catalog talks to lives."""

    prometheus_url: str | None = None
    alertmanager_url: str | None = None
    # Kubernetes: an API server URL with a token or kubeconfig, or in-cluster credentials.
    kubernetes_url: str | None = None
    kubeconfig: Path | None = None
    kubernetes_in_cluster: bool = False
    # Private address ranges that http.request may reach (loopback and RFC 1918 are
    # refused otherwise); link-local and cloud metadata addresses are always refused.
    http_allow: tuple[IPNetwork, ...] = ()


@dataclass(frozen=True)
class ActionContext:
    incident_id: int
    run_id: int
    step_id: str
    http: httpx.AsyncClient
    endpoints: Endpoints = field(default_factory=Endpoints)
    # Secrets by name; an action asks for one by the name its arguments give and never
    # puts the value in its result: the engine masks every value in this mapping anyway.
    secrets: Mapping[str, str] = field(default_factory=dict)
    # The step comes from a runbook in a directory the configuration marks trusted:
    # only then may the ``command`` action run.
    trusted: bool = False
    # The run's validated parameters, as text: ``command`` passes them as RB_* variables.
    params: Mapping[str, str] = field(default_factory=dict)
    dry_run: bool = False
    timeout: float = 30.0
    max_output_bytes: int = 64 * 1024
    post_message: PostMessage = _discard
