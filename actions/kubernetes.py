"""The Kubernetes actions, through the API server's REST paths with httpx.

Credentials come in-cluster (the pod's service account) or from a kubeconfig file
(server, CA, bearer token or client certificate of its current context). Every name is
validated as an RFC 1123 name before it reaches a URL path.
"""

from __future__ import annotations

import base64
import json
import re
import ssl
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import httpx
import yaml
from pydantic import AfterValidator, Field

from actions.base import Action, ActionArgs, ActionRefused, ActionResult
from actions.context import ActionContext

_DNS_LABEL = re.compile(r"[a-z0-9](?:[-a-z0-9]{0,61}[a-z0-9])?")
_DNS_NAME = re.compile(r"[a-z0-9](?:[-a-z0-9]*[a-z0-9])?(?:\.[a-z0-9](?:[-a-z0-9]*[a-z0-9])?)*")
IN_CLUSTER = Path("/var/run/secrets/kubernetes.io/serviceaccount")
IN_CLUSTER_SERVER = "https://kubernetes.default.svc"
REVISION = "deployment.kubernetes.io/revision"
CHANGE_CAUSE = "kubernetes.io/change-cause"


def _label(value: str) -> str:
    if not _DNS_LABEL.fullmatch(value):
        raise ValueError(f"{value!r} is not a Kubernetes namespace name (RFC 1123 label)")
    return value


def _name(value: str) -> str:
    if len(value) > 253 or not _DNS_NAME.fullmatch(value):
        raise ValueError(f"{value!r} is not a Kubernetes object name (RFC 1123)")
    return value


Namespace = Annotated[str, AfterValidator(_label)]
ObjectName = Annotated[str, AfterValidator(_name)]


class DeploymentArgs(ActionArgs):
    namespace: Namespace
    deployment: ObjectName


class UndoArgs(DeploymentArgs):
    to_revision: int | None = Field(default=None, ge=1)


class ScaleArgs(DeploymentArgs):
    replicas: int = Field(ge=0, le=1000)


class PodArgs(ActionArgs):
    namespace: Namespace
    pod: ObjectName


@dataclass
class KubeAccess:
    """How to reach one API server: its URL, auth headers and TLS settings."""

    server: str
    headers: dict[str, str] = field(default_factory=dict)
    verify: ssl.SSLContext | bool = True

    @classmethod
    def from_context(cls, context: ActionContext) -> KubeAccess:
        endpoints = context.endpoints
        if endpoints.kubeconfig is not None:
            return cls.from_kubeconfig(endpoints.kubeconfig, server=endpoints.kubernetes_url)
        if endpoints.kubernetes_in_cluster:
            return cls.in_cluster()
        if endpoints.kubernetes_url:
            token = context.secrets.get("kubernetes_token")
            headers = {"Authorization": f"Bearer {token}"} if token else {}
            return cls(endpoints.kubernetes_url, headers)
        raise ActionRefused(
            "no Kubernetes access: set FIRELINE_KUBECONFIG, FIRELINE_KUBERNETES_IN_CLUSTER "
            "or FIRELINE_KUBERNETES_URL"
        )

    @classmethod
    def in_cluster(cls) -> KubeAccess:
        token = (IN_CLUSTER / "token").read_text().strip()
        verify = ssl.create_default_context(cafile=str(IN_CLUSTER / "ca.crt"))
        return cls(IN_CLUSTER_SERVER, {"Authorization": f"Bearer {token}"}, verify)

    @classmethod
    def from_kubeconfig(cls, path: Path, *, server: str | None = None) -> KubeAccess:
        config = yaml.safe_load(path.read_text()) or {}
        contexts = {c["name"]: c["context"] for c in config.get("contexts", [])}
        current = contexts.get(config.get("current-context", ""))
        if current is None:
            raise ActionRefused(f"{path}: no current-context")
        clusters = {c["name"]: c["cluster"] for c in config.get("clusters", [])}
        users = {u["name"]: u.get("user") or {} for u in config.get("users", [])}
        cluster, user = clusters[current["cluster"]], users.get(current.get("user", ""), {})
        base = server or cluster["server"]
        headers: dict[str, str] = {}
        if "token" in user:
            headers["Authorization"] = f"Bearer {user['token']}"
        elif "tokenFile" in user:
            headers["Authorization"] = f"Bearer {Path(user['tokenFile']).read_text().strip()}"
        verify: ssl.SSLContext | bool = not cluster.get("insecure-skip-tls-verify", False)
        if base.startswith("https://") and verify:
            context = ssl.create_default_context()
            if "certificate-authority" in cluster:
                context.load_verify_locations(cafile=cluster["certificate-authority"])
            elif "certificate-authority-data" in cluster:
                pem = base64.b64decode(cluster["certificate-authority-data"]).decode()
                context.load_verify_locations(cadata=pem)
            _client_certificate(context, user)
            verify = context
        return cls(base, headers, verify)

    @asynccontextmanager
    async def client(self, context: ActionContext) -> AsyncIterator[httpx.AsyncClient]:
        """The service's client for plain settings, else one with this server's TLS."""
        if self.verify is True:
            yield context.http
            return
        async with httpx.AsyncClient(verify=self.verify, follow_redirects=False) as client:
            yield client


def _client_certificate(context: ssl.SSLContext, user: dict[str, Any]) -> None:
    if "client-certificate" in user:
        context.load_cert_chain(user["client-certificate"], user.get("client-key"))
    elif "client-certificate-data" in user:
        # ssl loads certificates from files only; the files live as long as this call.
        with tempfile.NamedTemporaryFile("wb") as cert, tempfile.NamedTemporaryFile("wb") as key:
            cert.write(base64.b64decode(user["client-certificate-data"]))
            key.write(base64.b64decode(user["client-key-data"]))
            cert.flush()
            key.flush()
            context.load_cert_chain(cert.name, key.name)


class KubeError(Exception):
    def __init__(self, response: httpx.Response) -> None:
        try:
            message = response.json().get("message", response.text)
        except ValueError:
            message = response.text
        super().__init__(
            f"{response.request.method} {response.request.url.path}: "
            f"{response.status_code} {message}"[:2000]
        )
        self.status = response.status_code


class KubeApi:
    def __init__(self, client: httpx.AsyncClient, access: KubeAccess, timeout: float) -> None:
        self._client, self._access, self._timeout = client, access, timeout

    async def call(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        content_type: str | None = None,
        params: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        headers = dict(self._access.headers)
        content = None
        if body is not None:
            headers["Content-Type"] = content_type or "application/json"
            content = json.dumps(body).encode()
        response = await self._client.request(
            method,
            self._access.server.rstrip("/") + path,
            headers=headers,
            content=content,
            params=params,
            timeout=self._timeout,
        )
        if response.status_code >= 300:
            raise KubeError(response)
        result: dict[str, Any] = response.json() if response.content else {}
        return result

    async def deployment(self, namespace: str, name: str) -> dict[str, Any]:
        return await self.call("GET", _deployment_path(namespace, name))

    async def replica_sets(self, deployment: dict[str, Any]) -> list[dict[str, Any]]:
        """The deployment's ReplicaSets, oldest revision first."""
        meta = deployment["metadata"]
        labels = deployment["spec"]["selector"].get("matchLabels", {})
        selector = ",".join(f"{k}={v}" for k, v in sorted(labels.items()))
        listing = await self.call(
            "GET",
            f"/apis/apps/v1/namespaces/{meta['namespace']}/replicasets",
            params={"labelSelector": selector},
        )

        def owned_by_deployment(rs: dict[str, Any]) -> bool:
            owners = rs["metadata"].get("ownerReferences", [])
            return any(o.get("uid") == meta.get("uid") for o in owners)

        owned = [rs for rs in listing.get("items", []) if owned_by_deployment(rs)]
        return sorted(owned, key=_revision)


def _deployment_path(namespace: str, name: str) -> str:
    return f"/apis/apps/v1/namespaces/{namespace}/deployments/{name}"


def _revision(obj: dict[str, Any]) -> int:
    try:
        return int(obj["metadata"].get("annotations", {}).get(REVISION, "0"))
    except ValueError:
        return 0


class _KubeAction(Action):
    default_timeout = 60.0

    async def run(self, args: ActionArgs, context: ActionContext) -> ActionResult:
        access = KubeAccess.from_context(context)
        async with access.client(context) as client:
            api = KubeApi(client, access, context.timeout)
            try:
                return await self.call(api, args)
            except KubeError as exc:
                return ActionResult(ok=False, summary=str(exc))
            except httpx.HTTPError as exc:
                return ActionResult(ok=False, summary=f"the Kubernetes API did not answer: {exc!r}")

    async def call(self, api: KubeApi, args: Any) -> ActionResult:
        raise NotImplementedError


class RolloutHistory(_KubeAction):
    name = "kubernetes.rollout_history"
    mutating = False
    default_timeout = 20.0
    Args = DeploymentArgs
    description = "List a deployment's revisions with their change cause and images."

    async def call(self, api: KubeApi, args: DeploymentArgs) -> ActionResult:
        deployment = await api.deployment(args.namespace, args.deployment)
        lines = ["REVISION  CHANGE-CAUSE  IMAGES"]
        for rs in await api.replica_sets(deployment):
            cause = rs["metadata"].get("annotations", {}).get(CHANGE_CAUSE, "<none>")
            containers = rs["spec"]["template"]["spec"]["containers"]
            images = ",".join(c.get("image", "") for c in containers)
            lines.append(f"{_revision(rs)}  {cause}  {images}")
        current = _revision(deployment)
        return ActionResult(
            ok=True,
            summary=f"{args.namespace}/{args.deployment} is at revision {current}",
            output="\n".join(lines),
            data={"revision": current},
        )

    async def dry_run(self, args: ActionArgs, context: ActionContext) -> ActionResult:
        return await self.run(args, context)


class RolloutRestart(_KubeAction):
    name = "kubernetes.rollout_restart"
    mutating = True
    Args = DeploymentArgs
    description = "Restart a deployment's pods the way kubectl rollout restart does."

    async def call(self, api: KubeApi, args: DeploymentArgs) -> ActionResult:
        stamp = datetime.now(UTC).isoformat()
        annotations = {"kubectl.kubernetes.io/restartedAt": stamp}
        patch = {"spec": {"template": {"metadata": {"annotations": annotations}}}}
        await api.call(
            "PATCH",
            _deployment_path(args.namespace, args.deployment),
            body=patch,
            content_type="application/strategic-merge-patch+json",
        )
        return ActionResult(ok=True, summary=f"restarted {args.namespace}/{args.deployment}")


class RolloutUndo(_KubeAction):
    name = "kubernetes.rollout_undo"
    mutating = True
    Args = UndoArgs
    description = "Roll a deployment back to its previous (or a given) revision."

    async def call(self, api: KubeApi, args: UndoArgs) -> ActionResult:
        deployment = await api.deployment(args.namespace, args.deployment)
        current = _revision(deployment)
        history = await api.replica_sets(deployment)
        if args.to_revision is not None:
            target = next((rs for rs in history if _revision(rs) == args.to_revision), None)
        else:
            older = [rs for rs in history if _revision(rs) < current]
            target = older[-1] if older else None
        if target is None:
            wanted = args.to_revision or "a previous revision"
            return ActionResult(ok=False, summary=f"{args.deployment} has no revision {wanted}")
        template = json.loads(json.dumps(target["spec"]["template"]))
        template.get("metadata", {}).get("labels", {}).pop("pod-template-hash", None)
        await api.call(
            "PATCH",
            _deployment_path(args.namespace, args.deployment),
            body=[{"op": "replace", "path": "/spec/template", "value": template}],
            content_type="application/json-patch+json",
        )
        return ActionResult(
            ok=True,
            summary=f"rolled {args.namespace}/{args.deployment} back from revision {current} "
            f"to {_revision(target)}",
            data={"from": current, "to": _revision(target)},
        )


class Scale(_KubeAction):
    name = "kubernetes.scale"
    mutating = True
    Args = ScaleArgs
    description = "Set a deployment's replica count."

    async def call(self, api: KubeApi, args: ScaleArgs) -> ActionResult:
        path = _deployment_path(args.namespace, args.deployment) + "/scale"
        before = await api.call("GET", path)
        await api.call(
            "PATCH",
            path,
            body={"spec": {"replicas": args.replicas}},
            content_type="application/merge-patch+json",
        )
        was = before.get("spec", {}).get("replicas")
        return ActionResult(
            ok=True,
            summary=f"scaled {args.namespace}/{args.deployment} from {was} to {args.replicas}",
            data={"from": was, "to": args.replicas},
        )


class DeletePod(_KubeAction):
    name = "kubernetes.delete_pod"
    mutating = True
    Args = PodArgs
    description = "Delete one pod so its controller replaces it."

    async def call(self, api: KubeApi, args: PodArgs) -> ActionResult:
        await api.call("DELETE", f"/api/v1/namespaces/{args.namespace}/pods/{args.pod}")
        return ActionResult(ok=True, summary=f"deleted pod {args.namespace}/{args.pod}")
