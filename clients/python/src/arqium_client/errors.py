"""ARQIUM's errors as exceptions: the server's code, message, details and request id."""

from typing import Any


class ArqiumError(Exception):
    """An answer the server refused, or one the client could not get."""

    def __init__(self, message: str, *, code: str = "CLIENT_ERROR", status: int | None = None,
                 details: dict[str, Any] | None = None, request_id: str | None = None):
        super().__init__(message)
        self.message = message
        self.code = code
        self.status = status
        self.details = details or {}
        self.request_id = request_id

    def __str__(self) -> str:
        return f"{self.code} ({self.status}): {self.message}"


class ValidationFailed(ArqiumError):
    """400/422: the request was malformed or broke a rule."""


class AuthFailed(ArqiumError):
    """401: no, wrong or expired credentials."""


class Forbidden(ArqiumError):
    """403: the caller may not do this (e.g. verifying the ledger without `auditor`)."""


class NotFound(ArqiumError):
    """404."""


class Conflict(ArqiumError):
    """409: a version mismatch, a duplicate, or an idempotency key still in use."""


class RateLimited(ArqiumError):
    """429 after the retries ran out; `retry_after` says how long the server asked."""

    @property
    def retry_after(self) -> float | None:
        return self.details.get("retry_after_seconds")


class Unavailable(ArqiumError):
    """503 or no connection, after the retries ran out."""


BY_STATUS: dict[int, type[ArqiumError]] = {
    400: ValidationFailed, 422: ValidationFailed, 401: AuthFailed, 403: Forbidden,
    404: NotFound, 409: Conflict, 429: RateLimited, 503: Unavailable}


def error_for(status: int) -> type[ArqiumError]:
    return BY_STATUS.get(status, ArqiumError)
