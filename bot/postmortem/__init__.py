"""Post-mortem drafts rendered from an incident's recorded facts."""

from bot.postmortem.service import postmortem_data, postmortem_json, render_postmortem

__all__ = ["postmortem_data", "postmortem_json", "render_postmortem"]
