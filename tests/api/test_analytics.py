"""ARQIUM analytics (seed 000): tracking events, the dashboard and usage, all counted by
the activity projections (projections/activity.py) from the events themselves."""

import json
from datetime import timedelta

import pytest

from arqium.projections.activity import ACTIVITY_PROJECTIONS
from arqium.system.bootstrap import make_admin
from arqium.workers.rebuild import rebuild
from tests.api.test_openapi_v0_bodies import assert_documented
from tests.conftest import SETUP, bearer, register

PROJECTORS = [p.name for p in ACTIVITY_PROJECTIONS]


@pytest.fixture(autouse=True)
def projectors(workers):
    # The credentials' too: deleting a user waits until its credentials are gone.
    workers(*PROJECTORS, "memory_items", "ledger_objects", "login_sessions", "api_keys")


def track(client, user, name="clicked", **body):
    return client.post("/api/v1/analytics/event", headers=user["headers"],
                       json={"name": name, **body})


def dashboard(client, user, **params) -> dict:
    response = client.get("/api/v1/analytics/dashboard", headers=user["headers"],
                          params=params)
    assert response.status_code == 200, response.text
    return response.json()["data"]


def usage(client, user, **params) -> dict:
    response = client.get("/api/v1/analytics/usage", headers=user["headers"],
                          params=params)
    assert response.status_code == 200, response.text
    return response.json()["data"]


def field_of(response) -> str:
    details = response.json()["error"]["details"]
    return details["errors"][0]["field"] if "errors" in details else details["field"]


def second_user(client, email="bob@example.com") -> dict:
    data = register(client, email=email, name="Bob")
    return {**data, "headers": bearer(data["access_token"])}


def admin(client) -> dict:
    make_admin(client.app.state.system, "root@example.com", "admin password", cause=SETUP)
    response = client.post("/api/v1/auth/login", json={"email": "root@example.com",
                                                       "password": "admin password"})
    return {"headers": bearer(response.json()["data"]["access_token"])}


def act(client, user) -> None:
    """One memory stored, one ledger object with one transaction, one chat message."""
    headers = user["headers"]
    assert client.post("/api/v1/memory/store", headers=headers, json={
        "key": "trip", "content": "Hiking in the Alps"}).status_code == 201
    created = client.post("/api/ledger/objects", headers=headers, json={
        "typeName": "contract", "data": {"amount": 1}})
    assert client.post("/api/ledger/transactions", headers=headers, json={
        "objectId": created.json()["object"]["id"], "action": "update",
        "data": {"amount": 2}}).status_code == 200
    session = client.post("/api/v1/sessions", headers=headers, json={"title": "t"})
    assert client.post(f"/api/v1/sessions/{session.json()['data']['id']}/messages",
                       headers=headers, json={"role": "user", "content": "hello there"}
                       ).status_code == 201


def test_tracking_an_event_answers_201_with_the_event(client, user):
    response = track(client, user, "signup", properties={"plan": "pro"},
                     session_id="s-1")
    assert response.status_code == 201
    data = response.json()["data"]
    assert (data["name"], data["properties"], data["session_id"]) == (
        "signup", {"plan": "pro"}, "s-1")
    assert {"id", "occurred_at", "created_at"} <= set(data)
    assert response.headers["X-Event-Position"]


@pytest.mark.parametrize(("body", "field"), [
    ({"name": ""}, "name"),
    ({"name": "x" * 101}, "name"),
    ({"name": "   "}, "name"),
    ({"name": "ok", "properties": {"blob": "x" * (32 * 1024)}}, "properties"),
    ({"name": "ok", "properties": [1]}, "properties"),
    ({"name": "ok", "occurred_at": "2026-01-01T10:00:00"}, "occurred_at"),
    ({"name": "ok", "occurred_at": "yesterday"}, "occurred_at"),
    ({"name": "ok", "session_id": ""}, "session_id"),
    ({"name": "ok", "colour": "red"}, "colour"),
])
def test_bad_events_are_400s_naming_the_field_and_store_nothing(client, user, body, field):
    analytics = client.app.state.system.analytics
    before = analytics.recorder.max_notification_id()
    response = client.post("/api/v1/analytics/event", headers=user["headers"], json=body)
    assert response.status_code == 400, response.text
    assert field_of(response) == field
    assert analytics.recorder.max_notification_id() == before


def test_an_idempotency_key_tracks_an_event_once(client, user):
    headers = {**user["headers"], "Idempotency-Key": "track-1"}
    first = client.post("/api/v1/analytics/event", headers=headers, json={"name": "a"})
    again = client.post("/api/v1/analytics/event", headers=headers, json={"name": "a"})
    assert again.json()["data"] == first.json()["data"]
    assert dashboard(client, user)["totals"]["events"] == {"a": 1}


def test_the_dashboard_counts_events_by_name_per_hour(client, user, clock):
    earlier = clock.now - timedelta(hours=2)
    track(client, user, "clicked")
    track(client, user, "clicked")
    track(client, user, "viewed")
    track(client, user, "clicked", occurred_at=earlier.isoformat())
    data = dashboard(client, user, interval="hour",
                     **{"from": (clock.now - timedelta(hours=3)).isoformat()})
    assert (data["scope"], data["interval"]) == ("own", "hour")
    assert len(data["intervals"]) == 4
    assert [i["events"] for i in data["intervals"]] == [
        {}, {"clicked": 1}, {}, {"clicked": 2, "viewed": 1}]
    assert [i["active_users"] for i in data["intervals"]] == [0, 1, 0, 1]
    assert data["totals"]["events"] == {"clicked": 3, "viewed": 1}


def test_the_dashboard_counts_what_the_platform_did(client, user):
    act(client, user)
    data = dashboard(client, user, interval="day")
    today = data["intervals"][-1]["platform"]
    assert (today["memories_stored"], today["ledger_objects"],
            today["ledger_transactions"], today["chat_messages"]) == (1, 1, 1, 1)
    assert today["chat_tokens"] > 0
    assert data["totals"]["platform"]["registrations"] == 1
    assert data["totals"]["active_users"] == 1


def test_a_user_sees_only_their_own_figures_and_an_admin_everyones(client, user):
    bob = second_user(client)
    track(client, user, "clicked")
    track(client, bob, "viewed")
    act(client, bob)
    assert dashboard(client, user)["totals"]["events"] == {"clicked": 1}
    assert dashboard(client, user)["totals"]["platform"]["memories_stored"] == 0
    everyone = dashboard(client, admin(client))
    assert everyone["scope"] == "all"
    assert everyone["totals"]["events"] == {"clicked": 1, "viewed": 1}
    assert everyone["totals"]["active_users"] == 3  # Ada, Bob and the admin logging in


@pytest.mark.parametrize("params", [
    {"interval": "week"},
    {"from": "2026-02-01T00:00:00Z", "to": "2026-01-01T00:00:00Z"},
    {"from": "2025-01-01T00:00:00Z", "to": "2026-06-01T00:00:00Z"},
    {"interval": "hour", "from": "2026-01-01T00:00:00Z", "to": "2026-03-01T00:00:00Z"},
    {"from": "soon"},
])
def test_a_bad_range_or_interval_is_a_400(client, user, params):
    response = client.get("/api/v1/analytics/dashboard", headers=user["headers"],
                          params=params)
    assert response.status_code == 400, response.text
    assert response.json()["error"]["code"] is not None


@pytest.mark.parametrize("interval, end, message", [
    ("day", "2026-06-01", "at most 366 days from `from` to `to`: narrow the range"),
    ("hour", "2025-03-01", "at most 744 hours from `from` to `to`: narrow the range or ask "
                           "for interval=day"),
])
def test_a_range_of_too_many_intervals_says_how_to_fix_it(client, user, interval, end,
                                                          message):
    response = client.get("/api/v1/analytics/dashboard", headers=user["headers"], params={
        "from": "2025-01-01T00:00:00Z", "to": f"{end}T00:00:00Z", "interval": interval})
    assert response.status_code == 400
    assert response.json()["error"]["message"] == message


@pytest.mark.parametrize("params", [
    {"to": "0001-01-01T00:00:00+14:00"},  # before the year 1 in UTC
    {"from": "9999-12-31T23:59:59-14:00"},  # after 9999 in UTC
])
@pytest.mark.parametrize("route", ["dashboard", "usage"])
def test_a_time_that_utc_cannot_hold_is_a_400_naming_it(client, user, params, route):
    response = client.get(f"/api/v1/analytics/{route}", headers=user["headers"],
                          params=params)
    assert response.status_code == 400, response.text
    [field] = params
    assert response.json()["error"]["details"]["errors"][0]["field"] == field


@pytest.mark.parametrize("params", [
    {"to": "0001-01-01T01:00:00Z"},  # its default start would be before the year 1
    {"from": "9999-12-31T00:00:00Z", "to": "9999-12-31T23:59:59Z"},  # the last day
])
def test_a_range_at_the_ends_of_time_is_answered(client, user, params):
    for route in ("dashboard", "usage"):
        response = client.get(f"/api/v1/analytics/{route}", headers=user["headers"],
                              params=params)
        assert response.status_code == 200, response.text
        assert response.json()["data"]["to"] == params["to"].replace("+00:00", "Z")


def test_an_event_tracked_at_a_time_utc_cannot_hold_is_a_400_and_not_stored(
        client, user, system):
    stored = system.analytics.recorder.max_notification_id()
    response = client.post("/api/v1/analytics/event", headers=user["headers"],
                           json={"name": "x", "occurred_at": "9999-12-31T23:59:59-14:00"})
    assert response.status_code == 400, response.text
    assert response.json()["error"]["details"]["errors"][0]["field"] == "occurred_at"
    assert system.analytics.recorder.max_notification_id() == stored


def test_usage_reports_what_the_caller_stored_and_their_budget(client, user):
    act(client, user)
    track(client, user, "clicked")
    data = usage(client, user)
    memories = data["memories"]
    assert memories["total"] == 1
    assert set(memories["by_layer"]) == {"context", "temporary", "permanent"}
    assert memories["storage_bytes"] > len("Hiking in the Alps")
    assert data["ledger"] == {"objects": 1, "transactions": 1}
    assert (data["chat"]["sessions"], data["chat"]["messages"]) == (1, 1)
    assert data["chat"]["tokens"] > 0
    assert data["events"] == {"tracked": 1}
    assert data["rate_limit"]["limit"] == "1000 per 1 minute"
    assert 0 <= data["rate_limit"]["remaining"] < 1000


def test_usage_of_one_user_holds_nothing_of_another(client, user):
    act(client, user)
    bob = usage(client, second_user(client))
    assert (bob["memories"]["total"], bob["ledger"], bob["chat"]["messages"]) == (
        0, {"objects": 0, "transactions": 0}, 0)


def test_rebuilding_the_read_models_gives_the_same_figures(client, user, settings, clock):
    act(client, user)
    track(client, user, "clicked", occurred_at=(clock.now - timedelta(hours=5)).isoformat())
    track(client, user, "viewed")
    before = (dashboard(client, user, interval="hour"), usage(client, user))
    for projection in ACTIVITY_PROJECTIONS:
        rebuild(projection, settings, show_progress=False)
    after = (dashboard(client, user, interval="hour"), usage(client, user))
    for figures in (*before, *after):  # a request's own budget and clock are no figures
        figures.pop("rate_limit", None)
        figures.pop("requests_by_face", None)  # these reads are counted, and flushed
    assert json.dumps(after, sort_keys=True) == json.dumps(before, sort_keys=True)


def test_each_success_body_is_the_documented_one(client, user):
    document = client.get("/openapi.json").json()
    act(client, user)
    assert_documented(document, "/api/v1/analytics/event", "post",
                      track(client, user, "clicked", properties={"a": [1]}))
    for interval in ("hour", "day"):
        assert_documented(document, "/api/v1/analytics/dashboard", "get", client.get(
            "/api/v1/analytics/dashboard", headers=user["headers"],
            params={"interval": interval}))
    assert_documented(document, "/api/v1/analytics/usage", "get", client.get(
        "/api/v1/analytics/usage", headers=user["headers"]))


def test_a_deleted_users_figures_are_forgotten(client, user):
    track(client, user, "clicked")
    act(client, user)
    root = admin(client)
    assert client.delete(f"/api/v1/users/{user['user']['id']}",
                         headers=root["headers"]).status_code == 200
    totals = dashboard(client, root)["totals"]
    assert totals["events"] == {}
    assert (totals["platform"]["memories_stored"], totals["platform"]["chat_messages"]) == (
        0, 0)
