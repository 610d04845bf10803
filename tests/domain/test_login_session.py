from datetime import datetime, timezone
from uuid import uuid4

import pytest

from arqium.domain.identity.domainmodel import (
    LoginSession,
    RefreshTokenReused,
    SessionEnded,
    User,
    check_role,
)
from arqium.domain.shared import Invalid

AT = datetime(2026, 1, 1, tzinfo=timezone.utc)


def new_session() -> LoginSession:
    return LoginSession(id=uuid4(), user_id="u1", ip_address="127.0.0.1", user_agent="test",
                        refresh_token_id="r1", remember_me=False, at=AT)


def test_rotating_replaces_the_current_refresh_token():
    session = new_session()
    session.rotate("r1", "r2", AT)
    assert session.refresh_token_id == "r2"
    assert type(session.collect_events()[-1]).__name__ == "Refreshed"


def test_a_spent_refresh_token_is_recognised_and_refused():
    session = new_session()
    session.rotate("r1", "r2", AT)
    assert session.is_spent("r1")
    with pytest.raises(RefreshTokenReused):
        session.rotate("r1", "r3", AT)


def test_an_ended_session_cannot_be_refreshed():
    session = new_session()
    session.end(reason="logout", at=AT)
    assert not session.is_spent("r1")
    with pytest.raises(SessionEnded):
        session.rotate("r1", "r2", AT)


def test_granting_a_role_twice_records_one_event():
    user = User(email="a@b.co", name="A", password_hash="h", roles=["user"],
                registered_at=AT)
    user.grant_role("admin", AT)
    user.grant_role("admin", AT)
    assert user.roles == ["user", "admin"]
    assert [type(e).__name__ for e in user.collect_events()] == ["Registered", "RoleGranted"]


def test_unknown_roles_are_invalid():
    with pytest.raises(Invalid):
        check_role("emperor")
