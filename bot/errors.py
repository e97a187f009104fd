"""Fireline's exceptions, in one place."""

from __future__ import annotations


class FirelineError(Exception):
    """Base of every error Fireline raises on purpose.

    ``http_status`` is the status the API answers with when this error escapes a route;
    each subclass sets its own.
    """

    http_status: int = 500


class InvalidInputError(FirelineError):
    """The request is well formed but its content is refused (422)."""

    http_status = 422


class ConfigError(FirelineError):
    """A setting or config file that cannot be used; the message names the key or file:line."""

    http_status = 500


class NotFoundError(FirelineError):
    """The thing asked for does not exist."""

    http_status = 404


class ConflictError(FirelineError):
    """The request does not fit the current state, such as acknowledging a resolved incident."""

    http_status = 409


class StorageUnavailableError(FirelineError):
    """The database cannot be reached; the caller should retry later."""

    http_status = 503


class PermissionDeniedError(FirelineError):
    """The person may not do this (approve their own run, approve without being listed)."""

    http_status = 403
