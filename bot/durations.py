"""Durations for config and runbooks; they live in ``actions`` so the catalog shares them."""

from actions.durations import Duration, format_duration, parse_duration

__all__ = ["Duration", "format_duration", "parse_duration"]
