"""A Grafana OnCall export: one JSON object holding the ``results`` of its API v1 lists,
under ``users`` (``/api/v1/users/``), ``schedules`` (``/api/v1/schedules/``),
``on_call_shifts`` (``/api/v1/on_call_shifts/``), ``escalation_chains``
(``/api/v1/escalation_chains/``) and ``escalation_policies`` (``/api/v1/escalation_policies/``).

Rolling-user shifts become rotation layers (one member per group of ``rolling_users``);
``wait`` steps become the delay of the next level; steps Fireline has no equivalent for are
warned about."""

from __future__ import annotations

from typing import Any

from bot.escalation.importers import Imported, delay_of, handoff_of, person_id, slug

_FREQUENCY = {"daily": 86400, "weekly": 604800, "hourly": 3600}


def convert(export: dict[str, Any]) -> Imported:
    out = Imported()
    taken: set[str] = set()
    ids: dict[str, str] = {}
    for user in export.get("users", []):
        pid = person_id(user.get("email"), user.get("username", user["id"]), taken)
        ids[user["id"]] = pid
        person = {
            "id": pid,
            "name": user.get("username", ""),
            "timezone": user.get("timezone") or "UTC",
        }
        if user.get("email"):
            person["email"] = user["email"]
            person["contact_methods"] = [{"name": "mail", "kind": "email"}]
        out.people.append(person)
    shifts = {s["id"]: s for s in export.get("on_call_shifts", [])}
    schedules: dict[str, str] = {}
    for schedule in export.get("schedules", []):
        name = slug(schedule.get("name", schedule["id"]))
        zone = schedule.get("time_zone") or "UTC"
        layers = [
            layer
            for sid in schedule.get("shifts", [])
            if sid in shifts and (layer := _layer(shifts[sid], zone, ids, out, name))
        ]
        if layers:
            schedules[schedule["id"]] = name
            out.schedules.append({"name": name, "zone": zone, "layers": layers})
        else:
            out.warnings.append(f"schedule {name}: no shift could be imported")
    steps: dict[str, list[dict[str, Any]]] = {}
    for step in sorted(export.get("escalation_policies", []), key=lambda s: s.get("position", 0)):
        steps.setdefault(step["escalation_chain_id"], []).append(step)
    for chain in export.get("escalation_chains", []):
        levels = _levels(chain, steps.get(chain["id"], []), ids, schedules, out)
        if levels:
            out.policies.append({"name": slug(chain.get("name", chain["id"])), "levels": levels})
    return out


def _layer(
    shift: dict[str, Any], zone: str, ids: dict[str, str], out: Imported, schedule: str
) -> dict[str, Any] | None:
    where = f"schedule {schedule}, shift {shift.get('name', shift['id'])}"
    if shift.get("type") != "rolling_users":
        out.warnings.append(f"{where}: a {shift.get('type')} shift is not imported")
        return None
    groups = shift.get("rolling_users") or []
    members = [ids[g[0]] for g in groups if g and g[0] in ids]
    if any(len(g) > 1 for g in groups):
        out.warnings.append(f"{where}: only the first user of each group of rolling_users is kept")
    seconds = _FREQUENCY.get(shift.get("frequency", ""), 0) * int(shift.get("interval") or 1)
    if not members or not seconds:
        out.warnings.append(f"{where}: no members or a frequency Fireline has not; skipped")
        return None
    length = (
        "daily" if seconds == 86400 else "weekly" if seconds == 604800 else f"{seconds // 3600}h"
    )
    handoff, start = handoff_of(
        shift.get("rotation_start") or shift["start"], shift.get("time_zone") or zone
    )
    if shift.get("by_day"):
        out.warnings.append(f"{where}: by_day {shift['by_day']} not imported; add weekdays by hand")
    return {"members": members, "length": length, "handoff": handoff, "start": start}


def _levels(
    chain: dict[str, Any],
    steps: list[dict[str, Any]],
    ids: dict[str, str],
    schedules: dict[str, str],
    out: Imported,
) -> list[dict[str, Any]]:
    levels: list[dict[str, Any]] = []
    wait = 0.0
    for step in steps:
        kind = step.get("type")
        if kind == "wait":
            wait += float(step.get("duration") or 0) / 60
            continue
        if kind in ("notify_persons", "notify_person_next_each_time"):
            targets = [{"person": ids[u]} for u in step.get("persons_to_notify") or [] if u in ids]
        elif (
            kind == "notify_on_call_from_schedule"
            and step.get("notify_on_call_from_schedule") in schedules
        ):
            targets = [{"schedule": schedules[step["notify_on_call_from_schedule"]]}]
        else:
            out.warnings.append(f"chain {chain.get('name')}: step {kind} not imported")
            continue
        if targets:
            if levels:
                levels[-1]["delay"] = delay_of(wait)
            levels.append({"targets": targets, "delay": "5m"})
            wait = 0.0
    return levels
