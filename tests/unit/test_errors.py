import pytest

from bot.errors import (
    ConfigError,
    ConflictError,
    FirelineError,
    InvalidInputError,
    NotFoundError,
    PermissionDeniedError,
    StorageUnavailableError,
)


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (InvalidInputError, 422),
        (NotFoundError, 404),
        (ConflictError, 409),
        (PermissionDeniedError, 403),
        (StorageUnavailableError, 503),
        (ConfigError, 500),
    ],
)
def test_each_error_carries_its_http_status(error: type[FirelineError], status: int) -> None:
    assert issubclass(error, FirelineError)
    assert error("refused").http_status == status


def test_a_refusal_is_not_a_value_error() -> None:
    assert not issubclass(InvalidInputError, ValueError)
