"""Every file under deploy/ parses, and the references between them hold: env names are
settings, ports and paths agree, probes and the webhook are real routes, the demo rules
reach the shipped runbook, RBAC grants exactly what the actions use. The Kubernetes
overlays are rendered by ``kubectl kustomize`` and validated against the Kubernetes
schemas; the receiver snippet is pasted into an Alertmanager config and checked by amtool."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from actions.registry import default_registry
from bot.app.main import create_app
from bot.app.settings import Settings, load_settings
from bot.runbooks.lint import runbook_files
from bot.runbooks.loader import RunbookLibrary
from bot.runbooks.parser import parse_runbook
from bot.runbooks.selection import RunbookIndex, select_runbook

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
K8S = DEPLOY / "kubernetes"
BASE = K8S / "base"
OVERLAYS = K8S / "overlays"
PORT = Settings.model_fields["port"].default


def load(path: Path) -> list[Any]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc is not None]


def k8s(kind: str) -> dict[str, Any]:
    """The base's one manifest of this kind."""
    found: list[dict[str, Any]] = [
        d for f in sorted(BASE.glob("*.yaml")) for d in load(f) if d.get("kind") == kind
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


def test_each_kustomization_lists_every_file_beside_it() -> None:
    dirs = sorted(p.parent for p in K8S.rglob("kustomization.yaml"))
    assert dirs == [
        BASE,
        *(OVERLAYS / name for name in ("postgres", "postgres-in-cluster", "sqlite")),
    ]
    for folder in dirs:
        kustomization = load(folder / "kustomization.yaml")[0]
        listed = [r for r in kustomization["resources"] if not r.startswith("..")]
        listed += [patch["path"] for patch in kustomization.get("patches", [])]
        present = sorted(p.name for p in folder.glob("*.yaml") if p.name != "kustomization.yaml")
        assert sorted(listed) == present, folder
        if folder != BASE:
            assert {"../../base", "../postgres"} & set(kustomization["resources"])


OVERLAY_NAMES = ["sqlite", "postgres", "postgres-in-cluster"]


def kubectl() -> str:
    path = shutil.which("kubectl")
    if path is None:
        pytest.skip("kubectl is not installed: `kubectl kustomize` renders the overlays")
    return path


def render(overlay: str) -> list[dict[str, Any]]:
    """What ``kubectl apply -k deploy/kubernetes/overlays/OVERLAY`` would apply."""
    done = subprocess.run(
        [kubectl(), "kustomize", str(OVERLAYS / overlay)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return [doc for doc in yaml.safe_load_all(done.stdout) if doc is not None]


def one(objects: list[dict[str, Any]], kind: str) -> dict[str, Any]:
    [found] = [o for o in objects if o["kind"] == kind]
    return found


def env_of(container: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {e["name"]: e for e in container["env"]}


@pytest.mark.parametrize("overlay", OVERLAY_NAMES)
def test_each_overlay_renders_objects_the_kubernetes_schemas_accept(overlay: str) -> None:
    kubernetes_validate = pytest.importorskip("kubernetes_validate")
    objects = render(overlay)
    for obj in objects:
        kubernetes_validate.validate(obj, kubernetes_validate.latest_version(), strict=True)
        if obj["kind"] not in {"Namespace", "ClusterRole", "ClusterRoleBinding"}:
            assert obj["metadata"]["namespace"] == "fireline", obj["metadata"]
    names = [(o["kind"], o["metadata"]["name"]) for o in objects]
    assert len(names) == len(set(names)), names
    container = one(objects, "Deployment")["spec"]["template"]["spec"]["containers"][0]
    assert container["image"] == "fireline:0.1.0"


@pytest.mark.parametrize("overlay", OVERLAY_NAMES)
def test_the_deployment_uses_what_the_other_manifests_define(overlay: str, tmp_path: Path) -> None:
    objects = render(overlay)
    deployment = one(objects, "Deployment")
    spec = deployment["spec"]
    pod = spec["template"]["spec"]
    container = pod["containers"][0]
    secrets = {o["metadata"]["name"]: o for o in objects if o["kind"] == "Secret"}
    env = env_of(container)
    assert "FIRELINE_DATABASE_URL" in env
    for entry in env.values():
        ref = entry.get("valueFrom", {}).get("secretKeyRef")
        if ref:
            assert ref["key"] in secrets[ref["name"]]["stringData"]
    maps = {v["name"]: v["configMap"]["name"] for v in pod["volumes"] if "configMap" in v}
    configmaps = [o for o in objects if o["kind"] == "ConfigMap"]
    assert set(maps.values()) == {c["metadata"]["name"] for c in configmaps}
    claims = {
        v["persistentVolumeClaim"]["claimName"]
        for v in pod["volumes"]
        if "persistentVolumeClaim" in v
    }
    assert claims == {
        o["metadata"]["name"] for o in objects if o["kind"] == "PersistentVolumeClaim"
    }
    mounted = {m["name"] for m in container["volumeMounts"]}
    assert mounted == {v["name"] for v in pod["volumes"]}
    assert pod["serviceAccountName"] == one(objects, "ServiceAccount")["metadata"]["name"]
    security = container["securityContext"]
    assert security["readOnlyRootFilesystem"] is True
    assert security["allowPrivilegeEscalation"] is False
    assert pod["securityContext"]["runAsNonRoot"] is True
    # The configuration it mounts loads as Fireline's settings file.
    [config] = [c for c in configmaps if c["metadata"]["name"] == maps["config"]]
    file = tmp_path / "fireline.yaml"
    file.write_text(config["data"]["fireline.yaml"])
    assert env["FIRELINE_CONFIG"]["value"].endswith("fireline.yaml")
    settings = load_settings(config=file, database_url="sqlite:///:memory:")
    assert [p.name for p in settings.escalation.policies] == ["default"]


def test_the_sqlite_overlay_runs_one_replica_on_a_volume() -> None:
    objects = render("sqlite")
    spec = one(objects, "Deployment")["spec"]
    assert spec["replicas"] == 1
    assert spec["strategy"] == {"type": "Recreate"}  # never two pods on one SQLite file
    container = spec["template"]["spec"]["containers"][0]
    url = env_of(container)["FIRELINE_DATABASE_URL"]["value"]
    assert Settings(database_url=url).database_url.startswith("sqlite:////")
    [data] = [m for m in container["volumeMounts"] if m["name"] == "data"]
    assert Path(url.removeprefix("sqlite:///")).parent == Path(data["mountPath"])
    claim = one(objects, "PersistentVolumeClaim")
    assert claim["spec"]["accessModes"] == ["ReadWriteOnce"]
    assert not [o for o in objects if o["kind"] == "PodDisruptionBudget"]


@pytest.mark.parametrize("overlay", ["postgres", "postgres-in-cluster"])
def test_the_postgres_overlays_run_replicas_on_a_database_url_from_a_secret(overlay: str) -> None:
    objects = render(overlay)
    spec = one(objects, "Deployment")["spec"]
    assert spec["replicas"] >= 2
    container = spec["template"]["spec"]["containers"][0]
    ref = env_of(container)["FIRELINE_DATABASE_URL"]["valueFrom"]["secretKeyRef"]
    [secret] = [
        o for o in objects if o["kind"] == "Secret" and o["metadata"]["name"] == ref["name"]
    ]
    url = secret["stringData"][ref["key"]]
    assert url.startswith("postgresql://")
    assert Settings(database_url=url).database_url == url
    selector = one(objects, "PodDisruptionBudget")["spec"]["selector"]["matchLabels"]
    assert selector.items() <= spec["template"]["metadata"]["labels"].items()
    assert one(objects, "PodDisruptionBudget")["spec"]["minAvailable"] < spec["replicas"]


def test_the_in_cluster_postgresql_is_the_one_the_database_url_names() -> None:
    objects = render("postgres-in-cluster")
    url = urlsplit(
        next(o for o in objects if o["metadata"]["name"] == "fireline-database")["stringData"][
            "database-url"
        ]
    )
    service = next(
        o for o in objects if o["kind"] == "Service" and o["metadata"]["name"] == url.hostname
    )
    [port] = service["spec"]["ports"]
    assert port["port"] == url.port
    statefulset = one(objects, "StatefulSet")
    assert statefulset["spec"]["serviceName"] == service["metadata"]["name"]
    assert (
        service["spec"]["selector"].items()
        <= statefulset["spec"]["template"]["metadata"]["labels"].items()
    )
    [container] = statefulset["spec"]["template"]["spec"]["containers"]
    assert port["targetPort"] in {p["name"] for p in container["ports"]}
    env = env_of(container)
    assert env["POSTGRES_USER"]["value"] == url.username
    assert env["POSTGRES_DB"]["value"] == url.path.lstrip("/")
    ref = env["POSTGRES_PASSWORD"]["valueFrom"]["secretKeyRef"]
    [secret] = [
        o for o in objects if o["kind"] == "Secret" and o["metadata"]["name"] == ref["name"]
    ]
    assert secret["stringData"][ref["key"]] == url.password
    assert statefulset["spec"]["volumeClaimTemplates"][0]["metadata"]["name"] in {
        m["name"] for m in container["volumeMounts"]
    }


def test_the_image_ships_the_runbooks_and_the_team_configmap_adds_to_them() -> None:
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    assert "COPY runbooks /app/runbooks" in dockerfile
    assert "FIRELINE_RUNBOOK_DIRS=/app/runbooks" in dockerfile
    container = k8s("Deployment")["spec"]["template"]["spec"]["containers"][0]
    dirs = Settings(
        database_url="sqlite:///:memory:",
        runbook_dirs=env_of(container)["FIRELINE_RUNBOOK_DIRS"]["value"],
    ).runbook_dirs
    [team] = [m for m in container["volumeMounts"] if m["name"] == "runbooks"]
    assert dirs == [Path("/app/runbooks"), Path(team["mountPath"])]


def test_a_configmap_volume_loads_each_runbook_once(tmp_path: Path) -> None:
    """A ConfigMap volume holds each key under a hidden ``..TIMESTAMP`` folder, linked
    through ``..data``; the runbook in it must load once, not three times."""
    shipped = (ROOT / "runbooks" / "demo-service.md").read_text()
    stamp = tmp_path / "..2026_12_02_02_00_00.000000001"
    stamp.mkdir()
    (stamp / "team.md").write_text(shipped.replace("id: demo-service", "id: team-runbook"))
    (tmp_path / "..data").symlink_to(stamp.name)
    (tmp_path / "team.md").symlink_to("..data/team.md")
    assert runbook_files([tmp_path]) == [tmp_path / "team.md"]
    library = RunbookLibrary([tmp_path], registry=default_registry())
    library.reload()
    assert [r.id for r in library.snapshot.runbooks] == ["team-runbook"]
    assert library.snapshot.failures == ()


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


SAMPLE_ALERTMANAGER = """
route:
  receiver: team-email
  group_by: [alertname]
  routes:
    - receiver: team-pager
      matchers: ['team="payments"']
receivers:
  - name: team-email
  - name: team-pager
"""


def pasted(snippet: dict[str, Any]) -> dict[str, Any]:
    """A reader's own Alertmanager config with the snippet pasted as its README says: the
    receiver into ``receivers``, the child route first in the root route's ``routes``."""
    config: dict[str, Any] = yaml.safe_load(SAMPLE_ALERTMANAGER)
    config["receivers"] += snippet["receivers"]
    config["route"]["routes"] = snippet["route"]["routes"] + config["route"]["routes"]
    return config


def test_the_receiver_snippet_is_a_receiver_and_a_child_route_with_the_token_in_a_file() -> None:
    snippet = load(DEPLOY / "alertmanager" / "receiver-example.yml")[0]
    assert set(snippet) == {"route", "receivers"}
    assert set(snippet["route"]) == {"routes"}  # nothing that replaces the reader's root route
    [child] = snippet["route"]["routes"]
    [receiver] = snippet["receivers"]
    assert child["receiver"] == receiver["name"]
    assert child["continue"] is True
    [hook] = receiver["webhook_configs"]
    authorization = hook["http_config"]["authorization"]
    assert "credentials" not in authorization
    assert authorization["credentials_file"].startswith("/")
    config = pasted(snippet)
    assert config["route"]["receiver"] == "team-email"
    assert [r["receiver"] for r in config["route"]["routes"]] == ["fireline", "team-pager"]


def test_amtool_accepts_the_alertmanager_files(tmp_path: Path) -> None:
    amtool = tool("amtool")
    snippet = load(DEPLOY / "alertmanager" / "receiver-example.yml")[0]
    merged = tmp_path / "pasted.yml"
    merged.write_text(yaml.safe_dump(pasted(snippet)))
    for path in (DEPLOY / "alertmanager" / "alertmanager.yml", merged):
        done = subprocess.run(
            [amtool, "check-config", str(path)],
            capture_output=True,
            text=True,
            check=False,
        )
        assert done.returncode == 0, done.stdout + done.stderr
        assert "Found:" in done.stdout
    # The check is real: the snippet alone has no root receiver, and amtool says so.
    alone = subprocess.run(
        [amtool, "check-config", str(DEPLOY / "alertmanager" / "receiver-example.yml")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert alone.returncode != 0


def test_every_compose_service_builds_or_names_a_pinned_image() -> None:
    services = load(DEPLOY / "compose.yaml")[0]["services"]
    built = {s["image"] for s in services.values() if "build" in s}
    assert built == {"fireline:local"}
    for name, service in services.items():
        if "build" in service:
            assert service["build"] == {"context": "..", "dockerfile": "deploy/Dockerfile"}, name
        else:
            image = service["image"]
            assert image not in built, f"{name} uses {image} without building it"
            assert re.fullmatch(r"[a-z0-9./-]+:v?[0-9][\w.-]*", image), (name, image)


def test_the_compose_demo_heals_through_the_shipped_runbook() -> None:
    """The rules' heal_url is the demo service's address on the compose network and passes
    the runbook's parameter pattern; the runbook is promoted by a one-shot service."""
    path = ROOT / "runbooks" / "demo-service.md"
    runbook = parse_runbook(path.read_bytes(), file=str(path)).runbook
    assert runbook is not None
    services = load(DEPLOY / "compose.yaml")[0]["services"]
    demo_port = services["demo"]["entrypoint"][-1]
    pattern = runbook.params["heal_url"].pattern
    assert pattern is not None
    for rule in load(DEPLOY / "prometheus" / "rules.yml")[0]["groups"][0]["rules"]:
        url = rule["annotations"]["heal_url"]
        assert url == f"http://demo:{demo_port}/heal", rule["alert"]
        assert re.fullmatch(pattern, url), (pattern, url)
    # The heal step's POST reaches a private compose address only if it is allowed.
    allowed = Settings(
        database_url="sqlite:///:memory:",
        http_allow=services["fireline"]["environment"]["FIRELINE_HTTP_ALLOW"],
    ).http_allow
    assert any(str(net) == "172.16.0.0/12" for net in allowed)
    promote = services["promote-demo"]
    assert promote["depends_on"] == {"fireline": {"condition": "service_healthy"}}
    source = promote["command"][0]
    compile(source, "promote-demo", "exec")
    assert f"/api/runbooks/{runbook.id}/promote" in source
    assert "/api/runbooks/{runbook_id}/promote" in routes()
