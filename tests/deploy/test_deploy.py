"""Every file under deploy/ parses, and the references between them hold: env names are
settings, ports and paths agree, probes and the webhook are real routes, the demo rules
reach the shipped runbook, RBAC grants exactly what the actions use."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.app.main import create_app
from bot.app.settings import Settings, load_settings
from bot.runbooks.parser import parse_runbook
from bot.runbooks.selection import RunbookIndex, select_runbook

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
K8S = DEPLOY / "kubernetes"
PORT = Settings.model_fields["port"].default


def load(path: Path) -> list[Any]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc is not None]


def k8s(kind: str) -> dict[str, Any]:
    found: list[dict[str, Any]] = [
        d for f in sorted(K8S.glob("*.yaml")) for d in load(f) if d.get("kind") == kind
    ]
    [manifest] = found
    return manifest


def routes() -> set[str]:
    app = create_app(Settings(database_url="sqlite:///:memory:"))
    return set(app.openapi()["paths"])


def test_every_yaml_file_parses() -> None:
    files = sorted(DEPLOY.rglob("*.yaml")) + sorted(DEPLOY.rglob("*.yml"))
    assert len(files) >= 14
    for path in files:
        assert load(path), path


def firelines_env_names() -> dict[str, set[str]]:
    names: dict[str, set[str]] = {}
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    names["Dockerfile"] = set(re.findall(r"\b(FIRELINE_[A-Z_]+)=", dockerfile))
    compose = load(DEPLOY / "compose.yaml")[0]
    names["compose"] = set(compose["services"]["fireline"]["environment"])
    container = k8s("Deployment")["spec"]["template"]["spec"]["containers"][0]
    names["deployment"] = {e["name"] for e in container["env"]}
    return names


def test_environment_names_are_settings() -> None:
    for where, names in firelines_env_names().items():
        assert names, where
        for name in names:
            assert name.startswith("FIRELINE_"), (where, name)
            field = name.removeprefix("FIRELINE_").lower()
            assert field in Settings.model_fields, f"{where}: {name} is not a setting"


def test_ports_agree() -> None:
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    assert f"EXPOSE {PORT}" in dockerfile
    assert f"FIRELINE_PORT={PORT}" in dockerfile
    compose = load(DEPLOY / "compose.yaml")[0]
    assert compose["services"]["fireline"]["ports"] == [f"{PORT}:{PORT}"]
    container = k8s("Deployment")["spec"]["template"]["spec"]["containers"][0]
    assert container["ports"] == [{"name": "http", "containerPort": PORT}]
    [service_port] = k8s("Service")["spec"]["ports"]
    assert service_port == {"name": "http", "port": PORT, "targetPort": "http"}
    prometheus = load(DEPLOY / "prometheus" / "prometheus.yml")[0]
    targets = {
        job["job_name"]: job["static_configs"][0]["targets"] for job in prometheus["scrape_configs"]
    }
    assert targets["fireline"] == [f"fireline:{PORT}"]
    demo_port = compose["services"]["demo"]["entrypoint"][-1]
    assert targets["demo"] == [f"demo:{demo_port}"]


def test_probes_and_the_webhook_are_real_routes() -> None:
    known = routes()
    container = k8s("Deployment")["spec"]["template"]["spec"]["containers"][0]
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert {"/readyz", "/healthz"} <= known
    assert "/healthz" in (DEPLOY / "Dockerfile").read_text()
    for name in ("alertmanager.yml", "receiver-example.yml"):
        config = load(DEPLOY / "alertmanager" / name)[0]
        [hook] = config["receivers"][0]["webhook_configs"]
        assert hook["url"].endswith("/webhooks/alertmanager")
        assert hook["send_resolved"] is True
        assert hook["http_config"]["authorization"]["type"] == "Bearer"
    assert "/webhooks/alertmanager" in known


def test_the_slack_manifest_points_at_the_events_endpoint() -> None:
    manifest = load(DEPLOY / "slack" / "manifest.yaml")[0]
    urls = [
        manifest["settings"]["interactivity"]["request_url"],
        manifest["settings"]["event_subscriptions"]["request_url"],
        *(c["url"] for c in manifest["features"]["slash_commands"]),
    ]
    assert all(url.endswith("/slack/events") for url in urls)
    assert {"chat:write", "commands"} <= set(manifest["oauth_config"]["scopes"]["bot"])
    [shortcut] = manifest["features"]["shortcuts"]
    assert shortcut["callback_id"] == "add_to_timeline"  # what bot.chat.slack.app listens for
    assert manifest["features"]["slash_commands"][0]["command"] == (
        Settings.model_fields["slack_command"].default
    )


def test_the_demo_rules_are_answered_by_the_shipped_runbook() -> None:
    path = ROOT / "runbooks" / "demo-service.md"
    runbook = parse_runbook(path.read_bytes(), file=str(path)).runbook
    assert runbook is not None
    index = RunbookIndex.build([runbook])
    rules = load(DEPLOY / "prometheus" / "rules.yml")[0]["groups"][0]["rules"]
    assert rules
    for rule in rules:
        assert 'job="demo"' in rule["expr"]
        labels = {"alertname": rule["alert"], "job": "demo", **rule["labels"]}
        selection = select_runbook(index, labels, rule["annotations"])
        assert selection.chosen is not None, rule["alert"]
        assert selection.chosen.id == "demo-service"


def test_kustomization_lists_every_manifest() -> None:
    listed = load(K8S / "kustomization.yaml")[0]["resources"]
    present = sorted(p.name for p in K8S.glob("*.yaml") if p.name != "kustomization.yaml")
    assert sorted(listed) == present


def test_the_deployment_uses_what_the_other_manifests_define(tmp_path: Path) -> None:
    deployment = k8s("Deployment")
    spec = deployment["spec"]
    assert spec["replicas"] == 2
    pod = spec["template"]["spec"]
    container = pod["containers"][0]
    secret = k8s("Secret")
    for env in container["env"]:
        ref = env.get("valueFrom", {}).get("secretKeyRef")
        if ref:
            assert ref["name"] == secret["metadata"]["name"]
            assert ref["key"] in secret["stringData"]
    maps = {v["name"]: v["configMap"]["name"] for v in pod["volumes"] if "configMap" in v}
    configmaps = [
        d for f in sorted(K8S.glob("*.yaml")) for d in load(f) if d.get("kind") == "ConfigMap"
    ]
    assert set(maps.values()) == {c["metadata"]["name"] for c in configmaps}
    assert pod["serviceAccountName"] == k8s("ServiceAccount")["metadata"]["name"]
    selector = k8s("PodDisruptionBudget")["spec"]["selector"]["matchLabels"]
    assert selector.items() <= spec["template"]["metadata"]["labels"].items()
    security = container["securityContext"]
    assert security["readOnlyRootFilesystem"] is True
    assert security["allowPrivilegeEscalation"] is False
    assert pod["securityContext"]["runAsNonRoot"] is True
    # The configuration it mounts loads as Fireline's settings file.
    env = {e["name"]: e.get("value") for e in container["env"]}
    [config] = [c for c in configmaps if c["metadata"]["name"] == maps["config"]]
    file = tmp_path / "fireline.yaml"
    file.write_text(config["data"]["fireline.yaml"])
    assert env["FIRELINE_CONFIG"].endswith("fireline.yaml")
    settings = load_settings(config=file, database_url="sqlite:///:memory:")
    assert [p.name for p in settings.escalation.policies] == ["default"]


def test_rbac_grants_exactly_what_the_kubernetes_actions_use() -> None:
    granted = {
        (group, resource, verb)
        for rule in k8s("ClusterRole")["rules"]
        for group in rule["apiGroups"]
        for resource in rule["resources"]
        for verb in rule["verbs"]
    }
    assert granted == {
        ("apps", "deployments", "get"),
        ("apps", "deployments", "patch"),
        ("apps", "deployments/scale", "get"),
        ("apps", "deployments/scale", "patch"),
        ("apps", "replicasets", "list"),
        ("", "pods", "delete"),
    }
    binding = k8s("ClusterRoleBinding")
    assert binding["roleRef"]["name"] == k8s("ClusterRole")["metadata"]["name"]
    assert binding["subjects"][0]["name"] == k8s("ServiceAccount")["metadata"]["name"]


def tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.skip(f"{name} is not installed (it comes with Debian's prometheus packages)")
    return path


def test_promtool_accepts_the_prometheus_files(tmp_path: Path) -> None:
    promtool = tool("promtool")
    shutil.copytree(DEPLOY / "prometheus", tmp_path, dirs_exist_ok=True)
    done = subprocess.run(
        [promtool, "check", "config", "prometheus.yml"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_amtool_accepts_the_alertmanager_files() -> None:
    amtool = tool("amtool")
    for name in ("alertmanager.yml", "receiver-example.yml"):
        done = subprocess.run(
            [amtool, "check-config", str(DEPLOY / "alertmanager" / name)],
            capture_output=True,
            text=True,
            check=False,
        )
        assert done.returncode == 0, done.stdout + done.stderr
