"""The identity context's service layer: users, login sessions, API keys."""

import hashlib
import secrets
from collections.abc import Callable
from typing import Any
from uuid import UUID, uuid4

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.persistence import IntegrityError

from arqium.domain.identity.domainmodel import (
    ApiKey,
    EmailAlreadyRegistered,
    HandleTaken,
    NO_PASSWORD,
    InvalidCredentials,
    LoginSession,
    RefreshTokenReused,
    SecurityPolicy,
    SessionEnded,
    SessionTimedOut,
    User,
    UserHandle,
    check_email,
    check_handle,
    check_password_strength,
    normalize_email,
    user_id_for,
)
from arqium.domain.journal import Saved, remember
from arqium.domain.shared import (
    Cause,
    Clock,
    NotFound,
    command,
    get_aggregate,
    system_clock,
)

API_KEY_PREFIX = "arq_"
UNKNOWN_SESSION = "no such login session; log in again"
IDLE_TIMEOUT = "idle_timeout"


# How a retry after a crash rebuilds what these commands returned (domain/journal.py):
# the side effects that follow their save (a data key made or destroyed) are repeated,
# as both are idempotent, in case the crash came between the save and them.

def _user_with_key(app: "IdentityApplication", saved: Saved) -> tuple[User, int]:
    user = saved.last(User)
    app.keys.create(str(user.id))
    return user, saved.position


def _user_deleted(app: "IdentityApplication", saved: Saved) -> int:
    app.keys.destroy(str(saved.last(User).id))
    return saved.position


def _session_refreshed(app: "IdentityApplication", saved: Saved
                       ) -> tuple[LoginSession, User, int]:
    session = saved.last(LoginSession)
    if session.end_reason == IDLE_TIMEOUT:  # the first attempt found it idle too long
        raise _timed_out(saved.position)
    if session.ended:  # the first attempt found the token spent and ended the session
        raise _token_reused(saved.position)
    return session, app.repository.get(UUID(session.user_id)), saved.position


def _token_reused(position: int) -> RefreshTokenReused:
    error = RefreshTokenReused("refresh token was already used, so its session has "
                               "ended: log in again")
    error.position = position
    return error


def _timed_out(position: int) -> SessionTimedOut:
    error = SessionTimedOut("this login session went unused for too long; log in again")
    error.position = position
    return error


def _key_issued(app: "IdentityApplication", saved: Saved) -> tuple[ApiKey, str, int]:
    return saved.last(ApiKey), saved.notes["secret"], saved.position


def hash_api_key(key: str) -> str:
    """API keys are long random secrets: a plain SHA-256 is enough to store them."""
    return hashlib.sha256(key.encode()).hexdigest()


class IdentityApplication(Application):
    name = "identity"

    def __init__(self, env: Any = None, *, clock: Clock = system_clock,
                 passwords: Any = None, keys: Any = None,
                 security_policy: Callable[[], SecurityPolicy] = SecurityPolicy,
                 new_id: Callable[[], UUID] = uuid4):
        super().__init__(env)
        self.clock = clock
        self.new_id = new_id  # login sessions', refresh tokens' and API keys' ids
        self.passwords = passwords
        # The platform's current policy, read when a password or session needs it.
        self.security_policy = security_policy
        self.keys = keys  # owners' data-encryption keys, kept apart from the events

    # --- users ------------------------------------------------------------------

    @command(replay=_user_with_key)
    def register(self, email: str, name: str, password: str,
                 roles: tuple[str, ...] = ("user",)) -> tuple[User, int]:
        return self._register(email, name, password, roles)

    @command(replay=_user_with_key)
    def register_without_password(self, email: str, name: str) -> tuple[User, int]:
        """An account no password opens (it signs in through its identity provider)."""
        return self._register(email, name, None, ("user",))

    def _register(self, email: str, name: str, password: str | None,
                  roles: tuple[str, ...]) -> tuple[User, int]:
        email = normalize_email(email)
        check_email(email)
        if password is not None:
            check_password_strength(password, self.security_policy())
        if user_id_for(email) in self.repository:
            raise EmailAlreadyRegistered("this e-mail address is already registered",
                                         field="email")
        user = self._new_user(email, name, password, roles)
        try:
            recordings = self.save(user)
        except IntegrityError:
            raise EmailAlreadyRegistered("this e-mail address is already registered",
                                         field="email") from None
        self.keys.create(str(user.id))
        return user, recordings[-1].notification.id

    @command
    def provision_external(self, email: str, name: str, *, cause: Cause) -> User:
        """The user an external identity provider vouches for, registered on first
        sight (with no usable password: it signs in through its provider)."""
        try:
            user = get_aggregate(self.repository, user_id_for(email), User, NotFound("no such user"))
        except NotFound:
            try:
                user, _ = self.register_without_password(email, name, cause=cause)
            except EmailAlreadyRegistered:  # a concurrent first request provisioned it
                user = get_aggregate(self.repository, user_id_for(email), User, NotFound("no such user"))
        if user.deleted:
            raise InvalidCredentials("this user was deleted")
        return user

    def authenticate(self, email: str, password: str) -> User:
        try:
            user: User = self.repository.get(user_id_for(email))
        except AggregateNotFoundError:
            # Spend the same time as a real check so timing does not reveal accounts.
            self.passwords.verify(_DUMMY_HASH, password)
            raise InvalidCredentials("wrong e-mail address or password") from None
        # An account without a password spends the same time too, and never opens.
        stored = user.password_hash if user.has_password else _DUMMY_HASH
        if not (self.passwords.verify(stored, password) and user.has_password) or \
                user.deleted:
            raise InvalidCredentials("wrong e-mail address or password")
        return user

    def user(self, user_id: str | UUID) -> User:
        user = get_aggregate(self.repository, user_id, User, NotFound("no such user"))
        if user.deleted:
            raise NotFound("no such user")
        return user

    @command(replay=_user_deleted)
    def delete_user(self, user_id: str) -> int:
        """Delete the user and destroy its data key (again, if a first attempt stopped
        between the two): its sensitive history becomes unreadable."""
        user = get_aggregate(self.repository, user_id, User, NotFound("no such user"))
        if user.deleted:
            self.keys.destroy(str(user.id))
            raise NotFound("no such user")
        user.delete(at=self.clock())
        position = self.save(user)[-1].notification.id
        self.keys.destroy(str(user.id))
        return position

    @command
    def change_password(self, user_id: str, current: str, new: str) -> int:
        user = self.user(user_id)
        if not self.passwords.verify(user.password_hash, current):
            raise InvalidCredentials("the current password is wrong")
        check_password_strength(new, self.security_policy())
        user.change_password(password_hash=self.passwords.hash(new), at=self.clock())
        return self.save(user)[-1].notification.id

    @command
    def update_profile(self, user_id: str, name: str | None,
                       preferences: dict | None) -> tuple[User, int]:
        user = self.user(user_id)
        user.update_profile(name=user.name if name is None else name,
                            preferences=user.preferences if preferences is None
                            else preferences, at=self.clock())
        return user, self.save(user)[-1].notification.id

    @command(replay=_user_with_key)
    def claim_handle(self, handle: str, email: str, display_name: str, time_zone: str,
                     user_id: str | None = None, adopt_existing: bool = False
                     ) -> tuple[User, int]:
        """Make `handle` the v0 userId of the user `user_id` or, without one, of a user
        registered now with `email` (and no usable password); `adopt_existing` lets an
        account already registered with `email` take it instead."""
        check_handle(handle)
        if UserHandle.create_id(handle) in self.repository:
            raise HandleTaken(f"user {handle!r} already exists", field="userId")
        email = normalize_email(email)
        check_email(email)
        registered = user_id_for(email) in self.repository
        if user_id is None and registered and not adopt_existing:
            raise EmailAlreadyRegistered("this e-mail address is already registered",
                                         field="email")
        if user_id is None and not registered:
            user = self._new_user(email, display_name, None)
        else:
            user = self.user(user_id or user_id_for(email))
        user.claim_handle(handle, display_name, time_zone, self.clock())
        claim = UserHandle(handle=handle, user_id=str(user.id))
        try:
            position = self.save(user, claim)[-1].notification.id
        except IntegrityError:
            raise HandleTaken(f"user {handle!r} already exists", field="userId") from None
        self.keys.create(str(user.id))
        return user, position

    def _new_user(self, email: str, name: str, password: str | None,
                  roles: tuple[str, ...] = ("user",)) -> User:
        """A new user; without a password, one that no password opens (no hashing)."""
        password_hash = NO_PASSWORD if password is None else self.passwords.hash(password)
        return User(email=email, name=name, password_hash=password_hash,
                    roles=list(roles), registered_at=self.clock())

    def user_of_handle(self, handle: str) -> str:
        """The id of the (live) user a v0 userId names."""
        check_handle(handle)
        missing = NotFound(f"user {handle!r} not found", field="userId")
        claim = get_aggregate(self.repository, UserHandle.create_id(handle), UserHandle,
                              missing)
        if get_aggregate(self.repository, claim.user_id, User, missing).deleted:
            raise missing
        return claim.user_id

    @command
    def grant_role(self, email: str, role: str) -> int | None:
        try:
            user = self.user(user_id_for(email))
        except NotFound:
            raise NotFound(f"no user has the e-mail address {email!r}: register the user "
                           "first") from None
        user.grant_role(role, self.clock())
        recordings = self.save(user)
        return recordings[-1].notification.id if recordings else None

    # --- login sessions -------------------------------------------------------------

    @command
    def start_session(self, user: User, ip_address: str, user_agent: str,
                      remember_me: bool = False) -> tuple[LoginSession, int]:
        session = LoginSession(id=self.new_id(), user_id=str(user.id),
                               ip_address=ip_address, user_agent=user_agent,
                               refresh_token_id=self.new_id().hex, remember_me=remember_me,
                               at=self.clock())
        return session, self.save(session)[-1].notification.id

    @command(replay=_session_refreshed)
    def refresh_session(self, session_id: str, presented_token_id: str
                        ) -> tuple[LoginSession, User, int]:
        """Rotate the refresh token; a spent one ends the whole session (theft), as does
        one unused for longer than the policy's session timeout."""
        session = self._session(session_id)
        if session.idle_too_long(self.security_policy().idle_limit, self.clock()):
            session.end(reason=IDLE_TIMEOUT, at=self.clock())
            raise _timed_out(self.save(session)[-1].notification.id)
        if session.is_spent(presented_token_id):
            session.end(reason="refresh_token_reused", at=self.clock())
            raise _token_reused(self.save(session)[-1].notification.id)
        user = get_aggregate(self.repository, session.user_id, User, SessionEnded("no such user"))
        if user.deleted:
            raise SessionEnded("the user was deleted")
        session.rotate(presented_token_id, self.new_id().hex, self.clock())
        position = self.save(session)[-1].notification.id
        return session, user, position

    @command
    def end_session(self, session_id: str, user_id: str, reason: str) -> int | None:
        """End one of `user_id`'s sessions; ending an ended one changes nothing. An
        unknown id and another user's session are alike not found (no existence oracle)."""
        missing = NotFound("no such session")
        session = get_aggregate(self.repository, session_id, LoginSession, missing)
        if session.user_id != user_id:
            raise missing
        if session.ended:
            return None
        session.end(reason=reason, at=self.clock())
        return self.save(session)[-1].notification.id

    def check_live_session(self, session_id: str, user_id: str) -> None:
        """SessionEnded unless the login session is live and belongs to `user_id`, a
        user not deleted: for a session the read model has not caught up with yet."""
        session = self._session(session_id)
        session.check_active()
        user = get_aggregate(self.repository, user_id, User, SessionEnded(UNKNOWN_SESSION))
        if session.user_id != str(user.id) or user.deleted:
            raise SessionEnded(UNKNOWN_SESSION)

    def _session(self, session_id: str) -> LoginSession:
        return get_aggregate(self.repository, session_id, LoginSession,
                             SessionEnded(UNKNOWN_SESSION))

    # --- API keys --------------------------------------------------------------------

    @command(replay=_key_issued)
    def issue_api_key(self, user_id: str, name: str, scopes: list[str]
                      ) -> tuple[ApiKey, str, int]:
        """A new key: the secret is returned here once and stored only as a hash."""
        secret = remember("secret", API_KEY_PREFIX + secrets.token_urlsafe(32))
        key = ApiKey(id=self.new_id(), user_id=user_id, name=name, scopes=scopes,
                     prefix=secret[:len(API_KEY_PREFIX) + 8], key_hash=hash_api_key(secret),
                     at=self.clock())
        return key, secret, self.save(key)[-1].notification.id

    @command
    def revoke_api_key(self, user_id: str, key_id: str) -> int:
        key = get_aggregate(self.repository, key_id, ApiKey, NotFound("no such API key"))
        if key.user_id != user_id or key.revoked:
            raise NotFound("no such API key")
        key.revoke(at=self.clock())
        return self.save(key)[-1].notification.id


_DUMMY_HASH = ("$argon2id$v=19$m=65536,t=3,p=4$c29tZXNhbHRzb21lc2FsdA"
               "$zhcwdyBLnsmmyLfvDYx8DXIw6ZXfw0JLiYDzWrMJrx8")
