"""A local server answering the Kubernetes API paths and verbs the actions use.

It keeps one namespace of Deployments, their ReplicaSets and Pods in memory, applies
strategic-merge, JSON and merge patches the way the API server does for these fields,
requires the bearer token, and records every request.
"""

from __future__ import annotations

import copy
import json
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

TOKEN = "kube-test-token"
_DEPLOYMENT = re.compile(r"/apis/apps/v1/namespaces/([^/]+)/deployments/([^/]+)(/scale)?")
_REPLICASETS = re.compile(r"/apis/apps/v1/namespaces/([^/]+)/replicasets")
_POD = re.compile(r"/api/v1/namespaces/([^/]+)/pods/([^/]+)")


def _template(image: str) -> dict[str, Any]:
    return {
        "metadata": {"labels": {"app": "checkout"}},
        "spec": {"containers": [{"name": "app", "image": image}]},
    }


@dataclass
class Cluster:
    deployments: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    replicasets: list[dict[str, Any]] = field(default_factory=list)
    pods: set[tuple[str, str]] = field(default_factory=set)
    requests: list[tuple[str, str, str | None]] = field(default_factory=list)
    url: str = ""

    def add_deployment(self, namespace: str, name: str, images: list[str]) -> None:
        uid = f"uid-{name}"
        self.deployments[(namespace, name)] = {
            "metadata": {
                "name": name,
                "namespace": namespace,
                "uid": uid,
                "annotations": {"deployment.kubernetes.io/revision": str(len(images))},
            },
            "spec": {
                "replicas": 3,
                "selector": {"matchLabels": {"app": name}},
                "template": _template(images[-1]),
            },
        }
        for revision, image in enumerate(images, start=1):
            template = _template(image)
            template["metadata"]["labels"]["pod-template-hash"] = f"h{revision}"
            self.replicasets.append(
                {
                    "metadata": {
                        "name": f"{name}-h{revision}",
                        "namespace": namespace,
                        "labels": {"app": name},
                        "ownerReferences": [{"kind": "Deployment", "uid": uid}],
                        "annotations": {
                            "deployment.kubernetes.io/revision": str(revision),
                            "kubernetes.io/change-cause": f"deploy {image}",
                        },
                    },
                    "spec": {"template": template},
                }
            )


@contextmanager
def kube_api() -> Iterator[Cluster]:
    cluster = Cluster()
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def _send(self, status: int, body: Any) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _handle(self, method: str) -> None:
            length = int(self.headers.get("content-length") or 0)
            body = json.loads(self.rfile.read(length)) if length else None
            with lock:
                cluster.requests.append((method, self.path, self.headers.get("content-type")))
            if self.headers.get("authorization") != f"Bearer {TOKEN}":
                self._send(401, {"kind": "Status", "message": "Unauthorized"})
                return
            path, _, query = self.path.partition("?")
            with lock:
                status, answer = self._route(method, path, query, body)
            self._send(status, answer)

        def _route(self, method: str, path: str, query: str, body: Any) -> tuple[int, Any]:
            if found := _DEPLOYMENT.fullmatch(path):
                key = (found.group(1), found.group(2))
                deployment = cluster.deployments.get(key)
                if deployment is None:
                    return 404, {"kind": "Status", "message": f'deployments "{key[1]}" not found'}
                if found.group(3):  # /scale
                    if method == "PATCH":
                        deployment["spec"]["replicas"] = body["spec"]["replicas"]
                    return 200, {"spec": {"replicas": deployment["spec"]["replicas"]}}
                if method == "PATCH":
                    content_type = self.headers.get("content-type")
                    if content_type == "application/json-patch+json":
                        for op in body:
                            assert op["op"] == "replace"
                            assert op["path"] == "/spec/template"
                            deployment["spec"]["template"] = op["value"]
                    elif content_type == "application/strategic-merge-patch+json":
                        meta = deployment["spec"]["template"].setdefault("metadata", {})
                        meta.setdefault("annotations", {}).update(
                            body["spec"]["template"]["metadata"]["annotations"]
                        )
                    else:
                        return 415, {"kind": "Status", "message": "unsupported patch"}
                return 200, copy.deepcopy(deployment)
            if _REPLICASETS.fullmatch(path) and method == "GET":
                return 200, {"items": copy.deepcopy(cluster.replicasets)}
            if (found := _POD.fullmatch(path)) and method == "DELETE":
                key = (found.group(1), found.group(2))
                if key not in cluster.pods:
                    return 404, {"kind": "Status", "message": f'pods "{key[1]}" not found'}
                cluster.pods.discard(key)
                return 200, {"kind": "Status", "status": "Success"}
            return 404, {"kind": "Status", "message": f"no route {method} {path}"}

        def do_GET(self) -> None:
            self._handle("GET")

        def do_PATCH(self) -> None:
            self._handle("PATCH")

        def do_DELETE(self) -> None:
            self._handle("DELETE")

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    cluster.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield cluster
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def kubeconfig(url: str) -> str:
    return f"""
apiVersion: v1
kind: Config
current-context: test
clusters:
  - name: local
    cluster: {{server: "{url}"}}
users:
  - name: fireline
    user: {{token: "{TOKEN}"}}
contexts:
  - name: test
    context: {{cluster: local, user: fireline}}
"""
