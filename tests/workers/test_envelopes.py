"""What an event's envelope on NATS carries: no secrets, nothing that identifies a
person's device or login, and no personal data a consumer does not need."""

import json
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from uuid import uuid4

from arqium.domain.identity.domainmodel import ApiKey, LoginSession, User, UserHandle
from arqium.workers.event_catalogue import markdown_table, published_events
from arqium.workers.relay import envelope, payload_of

AT = datetime(2026, 1, 1, tzinfo=timezone.utc)
EMAIL, IP, AGENT = "ada@example.com", "203.0.113.7", "Mozilla/5.0 (X11; Linux) Firefox/140"
PASSWORD_HASH, KEY_HASH = "$argon2id$v=19$m=65536,t=3,p=4$c29tZQ$aGFzaA", "k3yh4sh" * 9
TOKEN_IDS = ("first-refresh-token-id", "second-refresh-token-id")
NEVER_PUBLISHED = {"ip_address", "user_agent", "refresh_token_id", "password_hash",
                   "key_hash", "email"}
README = Path(__file__).parents[2] / "README.md"


def identity_events(cause) -> list:
    """One event of each identity type, with identifying values in every field."""
    user = User(email=EMAIL, name="Ada Lovelace", password_hash=PASSWORD_HASH,
                roles=["user"], registered_at=AT)
    user.update_profile(name="Ada L.", preferences={"home": "London"}, at=AT)
    user.grant_role("admin", at=AT)
    user.change_password(password_hash=PASSWORD_HASH, at=AT)
    user.claim_handle("ada", display_name="Ada Lovelace", time_zone="Europe/London", at=AT)
    user.delete(at=AT)
    session = LoginSession(id=uuid4(), user_id=str(user.id), ip_address=IP,
                           user_agent=AGENT, refresh_token_id=TOKEN_IDS[0],
                           remember_me=False, at=AT)
    session.rotate(TOKEN_IDS[0], TOKEN_IDS[1], at=AT)
    session.end(reason="logout", at=AT)
    key = ApiKey(id=uuid4(), user_id=str(user.id), name="ci", scopes=["read"],
                 prefix="arq_Zx9", key_hash=KEY_HASH, at=AT)
    key.revoke(at=AT)
    handle = UserHandle(handle="ada", user_id=str(user.id))
    return [event for aggregate in (user, session, key, handle)
            for event in aggregate.collect_events()]


def published(domain_event) -> str:
    _, body = envelope("identity", domain_event, 1)
    return payload_of(body).decode()


def test_a_payload_writes_decimals_digit_for_digit_and_times_as_the_events_hold_them():
    at = datetime(2026, 1, 1, 12, 0, 0, 5, tzinfo=timezone(timedelta(hours=2)))
    id_ = uuid4()
    payload = payload_of({"amount": Decimal("10.10"), "big": Decimal("1E+2"), "at": at,
                          "id": id_, "counts": {1: "one"}, "text": "naïve"})
    assert b'"amount":10.10' in payload and b'"big":1E+2' in payload
    assert json.loads(payload) == {"amount": 10.1, "big": 100, "at": at.isoformat(),
                                   "id": str(id_), "counts": {"1": "one"}, "text": "naïve"}


def test_a_payload_holding_an_integer_past_64_bits_is_written_whole():
    assert json.loads(payload_of({"content": {"n": 10**30, "amount": Decimal("0.5")}})) \
        == {"content": {"n": 10**30, "amount": 0.5}}


def test_no_identity_envelope_carries_an_address_agent_token_id_hash_or_email(cause):
    events = identity_events(cause)
    assert {type(e).__qualname__ for e in events} >= {
        e.type for e in published_events() if e.subject.startswith("arqium.identity.")
        and e.fields}  # every identity event that carries data is tried
    for domain_event in events:
        text = published(domain_event)
        assert not NEVER_PUBLISHED & set(json.loads(text)["data"]), text
        for secret in (EMAIL, IP, AGENT, PASSWORD_HASH, KEY_HASH, "arq_Zx9", *TOKEN_IDS):
            assert secret not in text, (type(domain_event).__qualname__, secret)


def test_no_published_event_type_carries_a_secret_or_a_login_detail():
    for event in published_events():
        assert not NEVER_PUBLISHED & set(event.fields), event


def test_identity_events_name_users_by_id_not_by_name(cause):
    registered = next(e for e in identity_events(cause) if isinstance(e, User.Registered))
    data = json.loads(published(registered))["data"]
    assert data == {"roles": ["user"], "registered_at": AT.isoformat()}
    assert json.loads(published(registered))["subject"] == str(registered.originator_id)


def test_the_readme_lists_every_event_type_with_the_fields_it_publishes():
    assert markdown_table() in README.read_text(), (
        "README's event table is stale: paste `python -m arqium.workers.event_catalogue`")
