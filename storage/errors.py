"""The database's errors, as the rest of Fireline catches them without knowing the driver."""

from __future__ import annotations

from sqlalchemy.exc import DBAPIError, IntegrityError, SQLAlchemyError

__all__ = ["DBAPIError", "IntegrityError", "SQLAlchemyError"]
