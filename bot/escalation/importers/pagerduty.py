"""A PagerDuty export: one JSON object holding what its REST API v2 lists, the results of
``GET /users``, ``GET /schedules/{id}`` (each schedule with its ``schedule_layers``) and
``GET /escalation_policies``, under ``users``, ``schedules`` and ``escalation_policies``.

PagerDuty returns a schedule's layers with the highest priority first; Fireline's later
layers win, so their order is reversed. Layer restrictions and rotation lengths Fireline
cannot express are warned about."""

from __future__ import annotations

from typing import Any

from bot.escalation.importers import Imported, delay_of, handoff_of, length_of, person_id, slug


def convert(export: dict[str, Any]) -> Imported:
    out = Imported()
    taken: set[str] = set()
    ids: dict[str, str] = {}
    for user in export.get("users", []):
        pid = person_id(user.get("email"), user.get("name", user["id"]), taken)
        ids[user["id"]] = pid
        person = {"id": pid, "name": user.get("name", ""), "timezone": user.get("time_zone", "UTC")}
        if user.get("email"):
            person["email"] = user["email"]
            person["contact_methods"] = [{"name": "mail", "kind": "email"}]
        out.people.append(person)
    schedules: dict[str, str] = {}
    for schedule in export.get("schedules", []):
        name = slug(schedule.get("name", schedule["id"]))
        schedules[schedule["id"]] = name
        zone = schedule.get("time_zone", "UTC")
        layers = []
        for layer in reversed(schedule.get("schedule_layers", [])):
            converted = _layer(layer, zone, ids, out, name)
            if converted:
                layers.append(converted)
        if layers:
            out.schedules.append({"name": name, "zone": zone, "layers": layers})
        else:
            out.warnings.append(f"schedule {name}: no layer could be imported")
    for policy in export.get("escalation_policies", []):
        levels = []
        for rule in policy.get("escalation_rules", []):
            targets = []
            for target in rule.get("targets", []):
                kind = target.get("type", "")
                if kind.startswith("user") and target["id"] in ids:
                    targets.append({"person": ids[target["id"]]})
                elif kind.startswith("schedule") and target["id"] in schedules:
                    targets.append({"schedule": schedules[target["id"]]})
                else:
                    out.warnings.append(
                        f"policy {policy.get('name')}: target {kind} {target.get('id')} skipped"
                    )
            if targets:
                delay = delay_of(rule.get("escalation_delay_in_minutes", 30))
                levels.append({"targets": targets, "delay": delay})
        if levels:
            out.policies.append(
                {
                    "name": slug(policy.get("name", policy["id"])),
                    "levels": levels,
                    "repeat": int(policy.get("num_loops", 0)),
                }
            )
    return out


def _layer(
    layer: dict[str, Any], zone: str, ids: dict[str, str], out: Imported, schedule: str
) -> dict[str, Any] | None:
    where = f"schedule {schedule}, layer {layer.get('name', '?')}"
    members = [ids[u["user"]["id"]] for u in layer.get("users", []) if u["user"]["id"] in ids]
    length = length_of(int(layer.get("rotation_turn_length_seconds", 0)))
    if not members or length is None:
        out.warnings.append(f"{where}: no members or a turn length Fireline has not; skipped")
        return None
    handoff, start = handoff_of(layer["rotation_virtual_start"], zone)
    if layer.get("restrictions"):
        out.warnings.append(f"{where}: restrictions not imported; add between/weekdays by hand")
    if layer.get("end"):
        out.warnings.append(f"{where}: its end ({layer['end']}) is not imported")
    return {"members": members, "length": length, "handoff": handoff, "start": start}
