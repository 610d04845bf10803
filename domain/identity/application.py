"""The identity context's service layer: register and authenticate users."""

from typing import Any

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.persistence import IntegrityError

from domain.identity.domainmodel import (
    EmailAlreadyRegistered, InvalidCredentials, User, check_email,
    check_password_strength, normalize_email, user_id_for)
from domain.shared import Clock, system_clock


class IdentityApplication(Application):
    name = "identity"

    def __init__(self, env: Any = None, *, clock: Clock = system_clock,
                 passwords: Any = None):
        super().__init__(env)
        self.clock = clock
        self.passwords = passwords

    def register(self, email: str, name: str, password: str) -> tuple[User, int]:
        email = normalize_email(email)
        check_email(email)
        check_password_strength(password)
        if user_id_for(email) in self.repository:
            raise EmailAlreadyRegistered("this e-mail address is already registered",
                                         field="email")
        user = User(email=email, name=name, password_hash=self.passwords.hash(password),
                    roles=["user"], registered_at=self.clock())
        try:
            recordings = self.save(user)
        except IntegrityError:
            raise EmailAlreadyRegistered("this e-mail address is already registered",
                                         field="email") from None
        return user, recordings[-1].notification.id

    def authenticate(self, email: str, password: str) -> User:
        try:
            user: User = self.repository.get(user_id_for(email))
        except AggregateNotFoundError:
            # Spend the same time as a real check so timing does not reveal accounts.
            self.passwords.verify(_DUMMY_HASH, password)
            raise InvalidCredentials("wrong e-mail address or password") from None
        if not self.passwords.verify(user.password_hash, password):
            raise InvalidCredentials("wrong e-mail address or password")
        return user


_DUMMY_HASH = ("$argon2id$v=19$m=65536,t=3,p=4$c29tZXNhbHRzb21lc2FsdA"
               "$zhcwdyBLnsmmyLfvDYx8DXIw6ZXfw0JLiYDzWrMJrx8")
