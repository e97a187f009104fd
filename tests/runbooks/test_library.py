"""The shipped library: it lints clean, and realistic alerts select each runbook with the
right parameters."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from actions.registry import default_registry
from bot.app.settings import SHIPPED_RUNBOOKS
from bot.runbooks.lint import LintReport, lint_paths
from bot.runbooks.params import resolve_params
from bot.runbooks.selection import RunbookIndex, select_runbook
from tests.runbooks.catalog import contract_registry

SECTIONS = {
    "Description",
    "Symptoms",
    "Initial Assessment",
    "Resolution Steps",
    "Escalation",
    "Prevention",
}

# (labels as kube-prometheus / the exporters' rules produce them, annotations,
#  expected runbook, expected parameters)
ALERTS: list[tuple[dict[str, str], dict[str, str], str, dict[str, Any]]] = [
    (
        {
            "alertname": "KubePodCrashLooping",
            "namespace": "checkout",
            "pod": "api-6d5f7c9b8-x2x4q",
            "container": "api",
            "job": "kube-state-metrics",
            "reason": "CrashLoopBackOff",
            "severity": "warning",
        },
        {
            "runbook_url": "https://runbooks.prometheus-operator.dev/runbooks/kubernetes/kubepodcrashlooping"
        },
        "kube-pod-crash-looping",
        {"namespace": "checkout", "pod": "api-6d5f7c9b8-x2x4q"},
    ),
    (
        {
            "alertname": "KubeDeploymentReplicasMismatch",
            "namespace": "payments",
            "deployment": "ledger",
            "job": "kube-state-metrics",
            "severity": "warning",
        },
        {},
        "kube-deployment-replicas-mismatch",
        {"namespace": "payments", "deployment": "ledger"},
    ),
    (
        {
            "alertname": "KubePodNotReady",
            "namespace": "search",
            "pod": "indexer-0",
            "severity": "warning",
        },
        {},
        "kube-pod-not-ready",
        {"namespace": "search", "pod": "indexer-0"},
    ),
    (
        {
            "alertname": "TargetDown",
            "job": "node-exporter",
            "namespace": "monitoring",
            "service": "node-exporter",
            "severity": "warning",
        },
        {},
        "target-down",
        {"job": "node-exporter"},
    ),
    (
        {
            "alertname": "NodeFilesystemSpaceFillingUp",
            "instance": "10.0.3.17:9100",
            "device": "/dev/nvme0n1p1",
            "fstype": "ext4",
            "mountpoint": "/var/lib/containerd",
            "job": "node-exporter",
            "severity": "critical",
        },
        {},
        "node-filesystem-space-filling-up",
        {"instance": "10.0.3.17:9100", "mountpoint": "/var/lib/containerd"},
    ),
    (
        {
            "alertname": "NodeMemoryHighUtilization",
            "instance": "ip-10-0-3-17.eu-west-1.compute.internal:9100",
            "job": "node-exporter",
            "severity": "warning",
        },
        {},
        "node-memory-high-utilization",
        {"instance": "ip-10-0-3-17.eu-west-1.compute.internal:9100"},
    ),
    (
        {
            "alertname": "PostgresqlTooManyConnections",
            "instance": "pg-main.db.svc:9187",
            "job": "postgres-exporter",
            "severity": "warning",
        },
        {},
        "postgresql-too-many-connections",
        {"instance": "pg-main.db.svc:9187"},
    ),
    (
        {
            "alertname": "RedisDown",
            "instance": "10.0.5.4:9121",
            "namespace": "cache",
            "pod": "redis-master-0",
            "job": "redis-exporter",
            "severity": "critical",
        },
        {},
        "redis-down",
        {"namespace": "cache", "pod": "redis-master-0"},
    ),
    (
        {
            "alertname": "HighErrorRate",
            "namespace": "shop",
            "deployment": "frontend",
            "service": "frontend",
            "severity": "critical",
        },
        {"summary": "frontend 5xx above 5%"},
        "http-5xx-error-rate",
        {"namespace": "shop", "deployment": "frontend"},
    ),
    (
        {
            "alertname": "ErrorBudgetBurn",
            "slo": "frontend-latency-p99",
            "long": "1h",
            "short": "5m",
            "namespace": "shop",
            "deployment": "frontend",
            "severity": "critical",
        },
        {},
        "latency-slo-burn",
        {"namespace": "shop", "deployment": "frontend"},
    ),
    (
        {
            "alertname": "CertManagerCertExpirySoon",
            "namespace": "ingress",
            "name": "shop-tls",
            "exported_namespace": "shop",
            "severity": "warning",
        },
        {},
        "certificate-expiring-soon",
        {},
    ),
    (
        {"alertname": "Watchdog", "prometheus": "monitoring/k8s", "severity": "none"},
        {"runbook_url": "https://runbooks.prometheus-operator.dev/runbooks/general/watchdog"},
        "watchdog",
        {},
    ),
    (
        {
            "alertname": "KubePersistentVolumeFillingUp",
            "namespace": "db",
            "persistentvolumeclaim": "data-pg-0",
            "severity": "critical",
        },
        {},
        "kube-persistent-volume-filling-up",
        {"namespace": "db", "persistentvolumeclaim": "data-pg-0"},
    ),
    (
        {
            "alertname": "DemoServiceDown",
            "job": "demo",
            "instance": "127.0.0.1:18081",
            "severity": "critical",
        },
        {"heal_url": "http://127.0.0.1:18081/heal"},
        "demo-service",
        {"heal_url": "http://127.0.0.1:18081/heal"},
    ),
    (
        {"alertname": "DemoHighErrorRate", "job": "demo", "severity": "warning"},
        {"heal_url": "http://127.0.0.1:18081/heal"},
        "demo-service",
        {"heal_url": "http://127.0.0.1:18081/heal"},
    ),
]


@pytest.fixture(scope="module")
def library() -> LintReport:
    report = lint_paths([SHIPPED_RUNBOOKS], registry=contract_registry(), trusted_dirs=[])
    assert [str(p) for p in report.problems] == []
    return report


def test_the_library_lints_clean_against_the_catalog_contract(library: LintReport) -> None:
    assert len(library.runbooks) >= 12
    assert not any(Path(f).name == "README.md" for f in library.files)


def test_the_library_lints_clean_against_the_real_catalog() -> None:
    report = lint_paths([SHIPPED_RUNBOOKS], registry=default_registry(), trusted_dirs=[])
    assert [str(p) for p in report.problems] == []


def test_every_runbook_has_the_sections_a_responder_needs(library: LintReport) -> None:
    for runbook in library.runbooks:
        titles = {s.title for s in runbook.sections if s.level == 2}
        assert titles >= SECTIONS, (runbook.file, SECTIONS - titles)
        for step in runbook.steps:
            assert step.description, (runbook.file, step.id)


def test_every_runbook_is_selected_by_a_realistic_alert(library: LintReport) -> None:
    covered = {expected for _, _, expected, _ in ALERTS}
    assert covered == {r.id for r in library.runbooks}


@pytest.mark.parametrize(
    ("labels", "annotations", "expected", "params"), ALERTS, ids=[a[0]["alertname"] for a in ALERTS]
)
def test_realistic_alert_selects_its_runbook(
    library: LintReport,
    labels: dict[str, str],
    annotations: dict[str, str],
    expected: str,
    params: dict[str, Any],
) -> None:
    selection = select_runbook(RunbookIndex.build(library.runbooks), labels, annotations)
    assert selection.chosen is not None, selection.reason
    assert selection.chosen.id == expected
    resolution = resolve_params(selection.chosen.params, labels=labels, annotations=annotations)
    assert resolution.errors == {}
    assert resolution.as_json() == params


def test_the_demo_runbook_refuses_a_heal_url_off_loopback(library: LintReport) -> None:
    demo = next(r for r in library.runbooks if r.id == "demo-service")
    for url in (
        "http://169.254.169.254/heal",
        "http://127.0.0.1:80/heal?x=1",
        "https://127.0.0.1:1/heal",
    ):
        resolution = resolve_params(demo.params, labels={}, annotations={"heal_url": url})
        assert "heal_url" in resolution.errors, url
    heal = demo.step("heal")
    assert heal is not None
    assert (
        heal.resolved_args({"heal_url": "http://127.0.0.1:9/heal"})["url"]
        == "http://127.0.0.1:9/heal"
    )
