"""Fireline's exceptions, in one place."""

from __future__ import annotations


class FirelineError(Exception):
    """Base of every error Fireline raises on purpose."""


class ConfigError(FirelineError):
    """A setting or config file that cannot be used; the message names the key or file:line."""


class NotFoundError(FirelineError):
    """The thing asked for does not exist."""


class ConflictError(FirelineError):
    """The request does not fit the current state, such as acknowledging a resolved incident."""


class StorageUnavailableError(FirelineError):
    """The database cannot be reached; the caller should retry later."""


class PermissionDeniedError(FirelineError):
    """The person may not do this (approve their own run, approve without being listed)."""
