"""Users, their login sessions and their API keys."""

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import event

from arqium.domain.shared import (
    ArqiumAggregate,
    AuthenticationFailed,
    Conflict,
    Invalid,
    InvalidToken,
)

EMAIL_PATTERN = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
HANDLE_PATTERN = re.compile(r"^[a-z0-9_]{1,20}$")  # the Memory Service v0 userId
MIN_PASSWORD_LENGTH = 8
SPECIAL_CHARACTER = re.compile(r"[^A-Za-z0-9\s]")


@dataclass(frozen=True)
class SecurityPolicy:
    """What the platform's configuration asks of passwords and login sessions (the
    platform context owns it; identity is handed the current one)."""

    min_password_length: int = MIN_PASSWORD_LENGTH
    require_special: bool = False
    session_timeout: int = 0  # seconds a login session may go unused; 0: no limit

    @property
    def idle_limit(self) -> timedelta | None:
        return timedelta(seconds=self.session_timeout) if self.session_timeout else None


class EmailAlreadyRegistered(Conflict):
    pass


class InvalidCredentials(AuthenticationFailed):
    pass


class SessionEnded(InvalidToken):
    pass


class SessionTimedOut(SessionEnded):
    """Carries the position of the session's end, which the refusal recorded."""

    position: int | None = None


class RefreshTokenReused(InvalidToken):
    """Carries the position of the session's end, which the refusal recorded."""

    position: int | None = None


ROLES = ("user", "admin", "auditor")


class HandleTaken(Conflict):
    pass


# The password hash of an account that no password opens (a v0 user registered by
# `POST /v0/users`, an OIDC user): not an Argon2 hash, so nothing ever verifies against
# it, and making the account costs no hashing.
NO_PASSWORD = "!"


class User(ArqiumAggregate):
    """A person or service that owns data. Its id is derived from its e-mail address."""

    handle: str | None = None  # its Memory Service v0 userId, once claimed

    @staticmethod
    def create_id(email: str) -> UUID:
        return user_id_for(email)

    @event("Registered")
    def __init__(self, email: str, name: str, password_hash: str,
                 roles: list[str], registered_at: datetime):
        self.email = email
        self.name = name
        self.password_hash = password_hash
        self.roles = roles
        self.registered_at = registered_at
        self.preferences: dict[str, Any] = {}
        self.deleted = False

    @event("ProfileUpdated")
    def update_profile(self, name: str, preferences: dict[str, Any], at: datetime) -> None:
        self.name = name
        self.preferences = preferences

    def grant_role(self, role: str, at: datetime) -> None:
        check_role(role)
        if role not in self.roles:
            self._role_granted(role=role, at=at)

    @event("RoleGranted")
    def _role_granted(self, role: str, at: datetime) -> None:
        self.roles = [*self.roles, role]

    @property
    def has_password(self) -> bool:
        return self.password_hash != NO_PASSWORD

    @event("PasswordChanged")
    def change_password(self, password_hash: str, at: datetime) -> None:
        self.password_hash = password_hash

    @event("Deleted")
    def delete(self, at: datetime) -> None:
        self.deleted = True

    def claim_handle(self, handle: str, display_name: str, time_zone: str,
                     at: datetime) -> None:
        if self.handle is not None:
            raise HandleTaken(f"this account is already the v0 user {self.handle!r}",
                              field="userId")
        self._handle_claimed(handle=handle, display_name=display_name,
                             time_zone=time_zone, at=at)

    @event("HandleClaimed")
    def _handle_claimed(self, handle: str, display_name: str, time_zone: str,
                        at: datetime) -> None:
        self.handle = handle


class UserHandle(ArqiumAggregate):
    """Which user a v0 userId names; saved with the user, so a handle names one user."""

    @staticmethod
    def create_id(handle: str) -> UUID:
        return uuid5(NAMESPACE_URL, f"arqium:user-handle:{handle}")

    @event("Claimed")
    def __init__(self, handle: str, user_id: str):
        self.user_id = user_id


class LoginSession(ArqiumAggregate):
    """One login: its refresh token rotates; presenting a spent one ends the session."""

    @event("Started")
    def __init__(self, id: UUID, user_id: str, ip_address: str, user_agent: str,
                 refresh_token_id: str, remember_me: bool, at: datetime):
        self.user_id = user_id
        self.refresh_token_id = refresh_token_id
        self.remember_me = remember_me
        self.last_used = at
        self.ended = False
        self.end_reason: str | None = None

    def rotate(self, presented_token_id: str, new_token_id: str, at: datetime) -> None:
        self.check_active()
        self.check_current(presented_token_id)
        self._refreshed(refresh_token_id=new_token_id, at=at)

    @event("Refreshed")
    def _refreshed(self, refresh_token_id: str, at: datetime) -> None:
        self.refresh_token_id = refresh_token_id
        self.last_used = at

    def idle_too_long(self, limit: timedelta | None, now: datetime) -> bool:
        """Unused (not refreshed since it started or last refreshed) for over `limit`."""
        return limit is not None and not self.ended and now - self.last_used > limit

    def is_spent(self, presented_token_id: str) -> bool:
        return not self.ended and presented_token_id != self.refresh_token_id

    @event("Ended")
    def end(self, reason: str, at: datetime) -> None:
        self.ended = True
        self.end_reason = reason

    def check_active(self) -> None:
        if self.ended:
            raise SessionEnded("this login session has ended; log in again")

    def check_current(self, presented_token_id: str) -> None:
        if presented_token_id != self.refresh_token_id:
            raise RefreshTokenReused("refresh token was already used, so its session has "
                                     "ended: log in again")


class ApiKey(ArqiumAggregate):
    """A secret that authenticates as its owner; only its hash is kept."""

    @event("Issued")
    def __init__(self, id: UUID, user_id: str, name: str, scopes: list[str], prefix: str,
                 key_hash: str, at: datetime):
        self.user_id = user_id
        self.name = name
        self.scopes = scopes
        self.prefix = prefix
        self.created_at = at
        self.revoked = False

    @event("Revoked")
    def revoke(self, at: datetime) -> None:
        self.revoked = True


def check_handle(handle: str) -> None:
    if not HANDLE_PATTERN.match(handle):
        raise Invalid("invalid user ID format: use 1-20 characters of a-z, 0-9 and _",
                      field="userId")


def check_role(role: str) -> None:
    if role not in ROLES:
        raise Invalid(f"role must be one of {', '.join(ROLES)}", field="role")


def user_id_for(email: str) -> UUID:
    return uuid5(NAMESPACE_URL, f"arqium:user:{normalize_email(email)}")


def normalize_email(email: str) -> str:
    return email.strip().lower()


def check_email(email: str) -> None:
    if not EMAIL_PATTERN.match(email):
        raise Invalid("email is not a valid e-mail address", field="email")


def check_password_strength(password: str,
                            policy: SecurityPolicy = SecurityPolicy()) -> None:
    if len(password) < policy.min_password_length:
        raise Invalid(f"password must have at least {policy.min_password_length} "
                      "characters", field="password")
    if policy.require_special and not SPECIAL_CHARACTER.search(password):
        raise Invalid("password must contain a special character (neither a letter, a "
                      "digit nor a space)", field="password")
