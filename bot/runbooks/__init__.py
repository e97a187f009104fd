"""Runbooks: the markdown format, its parser and lint, selection for an alert, loading."""
