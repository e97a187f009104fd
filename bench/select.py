"""Runbook selection among 1,000 generated runbooks.

    .venv/bin/python bench/select.py [--runbooks 1000] [--alerts 20000] [--seed 1]

Generates runbook files the way teams write them (most pin an alertname, some use a
regex alternation, some match on team and severity only, a few are named by annotation),
parses them with the real parser, builds the index, then selects a runbook for a stream
of realistic alerts. Prints the mean and p99 time per alert, and how the answers split.
Target: under 100 µs per alert.
"""

from __future__ import annotations

import sys
from pathlib import Path

# Run as a script, this file's folder comes first on sys.path and its name hides the
# standard library's ``select`` module: take the folder off, and put the repository on.
if sys.path and Path(sys.path[0]).resolve() == Path(__file__).resolve().parent:
    sys.path[0] = str(Path(__file__).resolve().parent.parent)

import argparse
import random
import statistics
import time
from collections import Counter

from bot.runbooks.parser import parse_runbook
from bot.runbooks.selection import RunbookIndex, select_runbook

NAMESPACES = [f"team-{i}" for i in range(40)]
SEVERITIES = ["critical", "warning", "info", "page"]


REGEX_ONLY = [  # how teams write a runbook for a family of alerts; {ns} is a team
    '  alertname: =~"Kube.*(Crash|Restart).*"\n  namespace: =~"{ns}(-.*)?"\n',
    '  alertname: =~"Node(Filesystem|Disk).*"\n  severity: =~"critical|page"\n'
    '  namespace: =~"{ns}.*"\n',
    '  namespace: =~"{ns}(-canary)?"\n  alertname: \'!~"Watchdog|InfoInhibitor|Alert0.*"\'\n',
    '  cluster: =~"eu-.*"\n  severity: \'!="info"\'\n  namespace: =~"{ns}"\n'
    '  job: =~".*-state-metrics"\n',
    '  alertname: =~".*Latency.*"\n  namespace: \'!~"team-3.*"\'\n  team: =~"t{t}|t{t}0"\n',
]


def runbook_text(i: int, rng: random.Random, alertnames: list[str], regex_share: float) -> str:
    shape = rng.random()
    if shape < regex_share:
        match = rng.choice(REGEX_ONLY).format(ns=rng.choice(NAMESPACES), t=rng.randrange(50))
    elif shape < regex_share + 0.75:
        match = (
            f"  alertname: {rng.choice(alertnames)}\n"
            f'  namespace: =~"{rng.choice(NAMESPACES)}(-canary)?"\n'
            f"  severity: '!=\"info\"'\n"
        )
    elif shape < regex_share + 0.90:
        names = "|".join(rng.sample(alertnames, 3))
        match = f'  alertname: =~"{names}"\n  cluster: =~"eu-.*"\n'
    else:
        match = f'  team: t{rng.randrange(50)}\n  severity: =~"critical|page"\n'
    return (
        f"---\nid: rb-{i:04d}\ntitle: Generated runbook {i}\nmatch:\n{match}"
        f"priority: {rng.randrange(5)}\n"
        "params:\n  namespace: {from: labels.namespace, type: k8s_name}\n---\n"
        f"# Runbook {i}\n\n## Description\n\nGenerated.\n"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runbooks", type=int, default=1000)
    parser.add_argument("--alerts", type=int, default=20000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--regex-share",
        type=float,
        default=0.11,
        help="runbooks matched only by regexes and negative matchers (unindexable)",
    )
    args = parser.parse_args()
    rng = random.Random(args.seed)
    families = [
        "KubePodCrashLooping",
        "KubeContainerRestarting",
        "NodeFilesystemFull",
        "ApiLatencyHigh",
    ]
    alertnames = [f"Alert{n:03d}" for n in range(300)] + [
        f"{f}{n}" for f in families for n in range(5)
    ]

    started = time.perf_counter()
    runbooks = []
    for i in range(args.runbooks):
        result = parse_runbook(
            runbook_text(i, rng, alertnames, args.regex_share).encode(), file=f"rb-{i:04d}.md"
        )
        assert result.runbook is not None, result.problems
        runbooks.append(result.runbook)
    parsed = time.perf_counter() - started
    index = RunbookIndex.build(runbooks)

    alerts = []
    for _ in range(args.alerts):
        labels = {
            "alertname": rng.choice(alertnames),
            "namespace": rng.choice(NAMESPACES) + rng.choice(["", "-canary"]),
            "severity": rng.choice(SEVERITIES),
            "cluster": rng.choice(["eu-west-1", "us-east-1"]),
            "team": f"t{rng.randrange(50)}",
            "pod": f"pod-{rng.randrange(10_000)}",
            "job": "kube-state-metrics",
        }
        annotations = {"summary": "generated"}
        if rng.random() < 0.05:
            annotations["runbook_url"] = (
                f"https://git.example.com/rb-{rng.randrange(args.runbooks):04d}.md"
            )
        alerts.append((labels, annotations))

    for labels, annotations in alerts[:500]:
        select_runbook(index, labels, annotations)
    outcomes: Counter[str] = Counter()
    samples = []
    clock = time.perf_counter_ns
    for labels, annotations in alerts:
        t0 = clock()
        selection = select_runbook(index, labels, annotations)
        samples.append(clock() - t0)
        outcomes[
            "annotation"
            if selection.by_annotation
            else "chosen"
            if selection.chosen
            else "tie"
            if selection.tie
            else "none"
        ] += 1
    samples.sort()
    mean_us = statistics.fmean(samples) / 1000
    p99_us = samples[int(len(samples) * 0.99) - 1] / 1000
    # The baseline: every runbook checked against every alert, as without the index.
    flat = RunbookIndex(
        runbooks=index.runbooks,
        unindexed=index.unindexed + tuple(e for bucket in index.buckets.values() for e in bucket),
    )
    base = []
    for labels, annotations in alerts[:1000]:
        t0 = clock()
        select_runbook(flat, labels, annotations)
        base.append(clock() - t0)
    base_us = statistics.fmean(base) / 1000
    print(f"runbooks: {args.runbooks} (parsed in {parsed * 1000:.0f} ms), alerts: {args.alerts}")
    print(
        f"index: {len(index.buckets)} buckets, {len(index.unindexed)} unindexed runbooks "
        f"({len(index.unindexed) / max(1, len(runbooks)):.0%}, matched only by regexes "
        "or negative matchers)"
    )
    verdict = "met" if mean_us < 100 else "missed"
    print(
        f"selection per alert: mean {mean_us:.1f} µs, p99 {p99_us:.1f} µs "
        f"(target < 100 µs: {verdict})"
    )
    print(f"baseline, every runbook checked (no index): mean {base_us:.1f} µs")
    print("outcomes: " + ", ".join(f"{k} {v}" for k, v in sorted(outcomes.items())))


if __name__ == "__main__":
    main()
