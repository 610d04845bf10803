"""Users: registration and credentials."""

import re
from datetime import datetime
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import event

from domain.shared import ArqiumAggregate, AuthenticationFailed, Conflict, Invalid

EMAIL_PATTERN = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MIN_PASSWORD_LENGTH = 8


class EmailAlreadyRegistered(Conflict):
    pass


class InvalidCredentials(AuthenticationFailed):
    pass


class User(ArqiumAggregate):
    """A person or service that owns data. Its id is derived from its e-mail address."""

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


def user_id_for(email: str) -> UUID:
    return uuid5(NAMESPACE_URL, f"arqium:user:{normalize_email(email)}")


def normalize_email(email: str) -> str:
    return email.strip().lower()


def check_email(email: str) -> None:
    if not EMAIL_PATTERN.match(email):
        raise Invalid("email is not a valid e-mail address", field="email")


def check_password_strength(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise Invalid(f"password must have at least {MIN_PASSWORD_LENGTH} characters",
                      field="password")
