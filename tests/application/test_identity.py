"""Users, passwords, login sessions and v0 user ids through the identity application
and its read models."""

import hashlib

import pytest

from arqium.domain.identity.domainmodel import (
    EmailAlreadyRegistered,
    HandleTaken,
    InvalidCredentials,
    RefreshTokenReused,
    SessionEnded,
)
from arqium.domain.shared import Invalid, NotFound
from arqium.system.bootstrap import make_admin, open_system
from tests.conftest import SETUP

PASSWORD = "correct horse"


def register(system, email="ada@example.com", password=PASSWORD):
    return system.identity.register(email, "Ada", password, cause=SETUP)


@pytest.fixture
def ada(system):
    return register(system)[0]


def log_in(system, user):
    return system.identity.start_session(user, "127.0.0.1", "tests", cause=SETUP)[0]


def refresh(system, session, token_id):
    return system.identity.refresh_session(str(session.id), token_id, cause=SETUP)


def test_a_registered_user_is_a_plain_user_recorded_as_an_event(system, ada):
    assert (ada.email, ada.roles) == ("ada@example.com", ["user"])
    assert [type(e).__qualname__ for e in system.identity.events.get(ada.id)] == [
        "User.Registered"]


def test_an_email_registered_twice_is_a_conflict_whatever_its_case(system, ada):
    with pytest.raises(EmailAlreadyRegistered):
        register(system, email=" ADA@Example.com ", password="another pass")


@pytest.mark.parametrize("email, password, field", [
    ("not-an-email", PASSWORD, "email"),
    ("ada@example.com", "short", "password"),
])
def test_a_malformed_email_or_a_weak_password_is_invalid_naming_the_field(
        system, email, password, field):
    with pytest.raises(Invalid) as refused:
        register(system, email=email, password=password)
    assert refused.value.details == {"field": field}


def test_the_password_policy_is_configurable(settings, clock):
    settings.password_min_length = 12
    strict = open_system(settings, clock=clock)
    try:
        with pytest.raises(Invalid, match="at least 12 characters"):
            register(strict, password="eleven char")
    finally:
        strict.close()


def test_a_wrong_password_and_an_unknown_email_are_refused_alike(system, ada):
    with pytest.raises(InvalidCredentials) as wrong:
        system.identity.authenticate("ada@example.com", "wrong horse")
    with pytest.raises(InvalidCredentials) as unknown:
        system.identity.authenticate("nobody@example.com", "wrong horse")
    assert wrong.value.message == unknown.value.message


def test_a_changed_password_replaces_the_old_one(system, ada):
    system.identity.change_password(str(ada.id), PASSWORD, "battery staple", cause=SETUP)
    with pytest.raises(InvalidCredentials):
        system.identity.authenticate("ada@example.com", PASSWORD)
    assert system.identity.authenticate("ada@example.com", "battery staple").id == ada.id


def test_changing_the_password_needs_the_current_one(system, ada):
    with pytest.raises(InvalidCredentials):
        system.identity.change_password(str(ada.id), "guess", "battery staple",
                                        cause=SETUP)


def test_make_admin_promotes_an_existing_account_and_keeps_its_password(system, ada):
    make_admin(system, "ada@example.com", "admin password", cause=SETUP)
    assert system.identity.authenticate("ada@example.com", PASSWORD).roles == [
        "user", "admin"]


def test_refreshing_rotates_the_refresh_token(system, ada):
    session = log_in(system, ada)
    first = session.refresh_token_id
    rotated, _, _ = refresh(system, session, first)
    assert rotated.refresh_token_id != first
    assert refresh(system, session, rotated.refresh_token_id)[0].refresh_token_id not in (
        first, rotated.refresh_token_id)


def test_reusing_a_spent_refresh_token_ends_the_whole_session(system, ada, workers):
    workers("login_sessions")
    session = log_in(system, ada)
    spent = session.refresh_token_id
    current = refresh(system, session, spent)[0].refresh_token_id
    with pytest.raises(RefreshTokenReused) as reuse:
        refresh(system, session, spent)
    with pytest.raises(SessionEnded):
        refresh(system, session, current)
    system.read_models.login_sessions.wait("identity", reuse.value.position, timeout=5)
    assert system.read_models.login_sessions.has_ended(str(session.id))


def test_ending_a_session_ends_only_that_one(system, ada, workers):
    workers("login_sessions")
    ended, other = log_in(system, ada), log_in(system, ada)
    position = system.identity.end_session(str(ended.id), str(ada.id), "logout",
                                           cause=SETUP)
    system.read_models.login_sessions.wait("identity", position, timeout=5)
    assert system.read_models.login_sessions.has_ended(str(ended.id))
    assert not system.read_models.login_sessions.has_ended(str(other.id))


def claim(system, handle="ada_1", email="ada@example.com", **options):
    return system.identity.claim_handle(handle, email, "Ada", "Europe/Paris", cause=SETUP,
                                        **options)


def test_a_v0_user_id_names_one_user(system):
    user, _ = claim(system)
    assert system.identity.user_of_handle("ada_1") == str(user.id)
    with pytest.raises(HandleTaken):
        claim(system, email="other@example.com")


@pytest.mark.parametrize("handle", ["Ada", "a-b", "x" * 21, ""])
def test_a_v0_user_id_outside_1_to_20_of_a_z_0_9_and_underscore_is_invalid(system, handle):
    with pytest.raises(Invalid, match="invalid user ID format"):
        claim(system, handle=handle)


def test_a_new_v0_user_never_takes_over_a_registered_account(system, ada):
    with pytest.raises(EmailAlreadyRegistered):
        claim(system, handle="mallory")
    with pytest.raises(NotFound):
        system.identity.user_of_handle("mallory")


def test_an_admin_gives_a_registered_account_its_v0_user_id(system, ada):
    claim(system, adopt_existing=True)
    assert system.identity.user_of_handle("ada_1") == str(ada.id)


def test_an_account_is_one_v0_user_only(system, ada):
    claim(system, user_id=str(ada.id))
    with pytest.raises(HandleTaken):
        claim(system, handle="ada_2", user_id=str(ada.id))


def test_an_api_key_is_stored_only_as_its_hash(system, ada):
    _, secret, _ = system.identity.issue_api_key(str(ada.id), "ci", [], cause=SETUP)
    with system.identity.recorder.datastore.transaction(commit=False) as curs:
        curs.execute("SELECT state FROM identity_events")
        stored = b"".join(bytes(row["state"]) for row in curs.fetchall())
    assert secret.encode() not in stored
    assert hashlib.sha256(secret.encode()).hexdigest().encode() in stored
