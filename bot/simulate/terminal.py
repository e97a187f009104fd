"""``fireline simulate`` on a terminal: the payload's text shown, never obeyed.

Alert labels and annotations reach the terminal, so each value is shown with its
control and direction-changing characters spelled out (an escape sequence cannot move
the cursor or recolour the screen, a right-to-left override cannot reorder the line) and
rich's ``[markup]`` escaped.
"""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape as rich_escape
from rich.table import Table

from bot.printable import visible
from bot.simulate.service import Simulation


def shown(value: object) -> str:
    """A value from the payload as inert terminal text."""
    return rich_escape(visible(str(value)))


def print_simulation(console: Console, result: Simulation) -> None:
    console.print(
        f"[bold]group[/bold] {shown(result.receiver)} / {shown(result.group_key)}",
        highlight=False,
    )
    for alert in result.alerts:
        console.print()
        console.print(
            f"[bold]{shown(alert.alertname)}[/bold] ({shown(alert.status)}, "
            f"{shown(alert.fingerprint)}) -> "
            f"incident [{shown(alert.severity)}] {shown(alert.title)}",
            highlight=False,
        )
        facts = [f"service {shown(alert.service)}"] if alert.service else []
        facts += [f"signal {shown(alert.signal)}"] if alert.signal else []
        if alert.triage_rules:
            facts.append(f"rules {shown(', '.join(alert.triage_rules))}")
        if facts:
            console.print("  triage: " + "; ".join(facts), highlight=False)
        console.print(
            f"  runbook: {shown(alert.runbook or 'none')} ({shown(alert.selection)})",
            highlight=False,
        )
        for name, value in alert.params.items():
            console.print(f"    param {shown(name)} = {shown(repr(value))}", highlight=False)
        for name, problem in alert.param_errors.items():
            console.print(
                f"    [red]param {shown(name)} refused: {shown(problem)}[/red]", highlight=False
            )
        if alert.steps:
            table = Table("step", "kind", "action", "gate", "why", "arguments")
            for step in alert.steps:
                args = ", ".join(f"{k}={v}" for k, v in step.args.items())
                table.add_row(
                    *(
                        shown(cell)
                        for cell in (
                            step.step_id,
                            step.kind,
                            step.action,
                            step.gate,
                            step.reason,
                            args,
                        )
                    )
                )
            console.print(table)
        if alert.escalation_policy:
            console.print(
                f"  escalation: policy {shown(alert.escalation_policy)} if nobody acknowledges",
                highlight=False,
            )
            for rung in alert.escalation:
                console.print(
                    f"    +{rung.after:>6}  level {rung.level} (round {rung.round + 1}): "
                    + shown(", ".join(rung.targets)),
                    highlight=False,
                )
        console.print("  slack:")
        for message in alert.slack:
            console.print(f"    {shown(message)}", highlight=False)
