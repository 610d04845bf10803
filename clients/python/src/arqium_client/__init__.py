"""ARQIUM's Python client: `Arqium` and `AsyncArqium`."""

from arqium_client._clients import Arqium, AsyncArqium
from arqium_client._core import RetryPolicy
from arqium_client.errors import (
    ArqiumError,
    AuthFailed,
    Conflict,
    Forbidden,
    NotFound,
    RateLimited,
    Unavailable,
    ValidationFailed,
)

__all__ = ["Arqium", "ArqiumError", "AsyncArqium", "AuthFailed", "Conflict", "Forbidden",
           "NotFound", "RateLimited", "RetryPolicy", "Unavailable", "ValidationFailed"]
