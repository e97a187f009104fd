"""The database's errors, as the rest of Fireline catches them without knowing the driver."""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError, SQLAlchemyError

__all__ = ["IntegrityError", "SQLAlchemyError"]
