"""Analytics usage (seed 000): requests by face and searches, counted in each API
process's memory and stored at each flush as one event per owner and hour (system/
usage.py), summed by the usage projection."""

import json

import psycopg
import pytest
from fastapi.testclient import TestClient

from arqium.api.app import create_app
from arqium.projections.activity import ACTIVITY_PROJECTIONS, UsageProjection
from arqium.system.bootstrap import open_system
from arqium.workers.rebuild import rebuild
from tests.api.test_analytics import admin, dashboard, second_user, usage
from tests.api.test_graphql import graphql
from tests.conftest import bearer, register

PROJECTORS = [p.name for p in ACTIVITY_PROJECTIONS]
REFUSE_WRITES = """
CREATE FUNCTION refuse_writes() RETURNS trigger LANGUAGE plpgsql AS
$$ BEGIN RAISE EXCEPTION 'writes refused'; END $$;
CREATE TRIGGER refuse_writes BEFORE INSERT ON analytics_events
FOR EACH STATEMENT EXECUTE FUNCTION refuse_writes()"""
ALLOW_WRITES = """
DROP TRIGGER refuse_writes ON analytics_events; DROP FUNCTION refuse_writes()"""
COUNT_USAGE_EVENTS = """
SELECT count(*) FROM analytics_events WHERE topic LIKE '%%Usage.Recorded'"""


@pytest.fixture
def settings(settings):
    """Only the tests flush (an hour apart otherwise), so figures never move between
    two reads."""
    settings.usage_flush_seconds = 3600
    return settings


@pytest.fixture(autouse=True)
def projectors(workers):
    # A user read by GraphQL; a user deleted: its credentials gone.
    workers(*PROJECTORS, "users", "login_sessions", "api_keys")


def search_v1(client, user, q="theme"):
    response = client.get("/api/v1/memory/search", headers=user["headers"],
                          params={"q": q})
    assert response.status_code == 200, response.text


def search_cerebro(client, user, query="theme"):
    response = client.post("/api/memory/search", headers=user["headers"],
                           json={"query": query})
    assert response.status_code == 200, response.text


def logged_in(client, email, password="correct horse") -> dict:
    response = client.post("/api/v1/auth/login", json={"email": email,
                                                       "password": password})
    assert response.status_code == 200, response.text
    return {"headers": bearer(response.json()["data"]["access_token"])}


def flush(client) -> None:
    assert client.app.state.usage.flush()


def hourly_searches(client, user) -> int:
    return sum(interval["platform"]["searches"]
               for interval in dashboard(client, user, interval="hour")["intervals"])


def stored_usage_events(settings) -> int:
    with psycopg.connect(settings.database_url) as conn:
        return conn.execute(COUNT_USAGE_EVENTS).fetchone()[0]


def test_searches_on_two_faces_show_in_the_dashboard_per_interval(client, user):
    search_v1(client, user)
    search_v1(client, user)
    search_cerebro(client, user)
    flush(client)
    intervals = dashboard(client, user, interval="hour")["intervals"]
    assert intervals[-1]["platform"]["searches"] == 3
    assert dashboard(client, user)["totals"]["platform"]["searches"] == 3


def test_each_user_sees_their_own_searches_and_an_admin_everyones(client, user):
    bob = second_user(client)
    search_v1(client, user)
    search_cerebro(client, bob)
    search_cerebro(client, bob)
    flush(client)
    assert (hourly_searches(client, user), hourly_searches(client, bob),
            hourly_searches(client, admin(client))) == (1, 2, 3)


def test_a_failed_search_is_a_request_but_no_search(client, user):
    response = client.post("/api/memory/search", headers=user["headers"],
                           json={"query": ""})
    assert response.status_code == 400
    flush(client)
    assert hourly_searches(client, user) == 0
    assert usage(client, user)["requests_by_face"] == {"cerebro": 1}


def test_usage_counts_the_callers_requests_by_face(client, user):
    search_v1(client, user)
    search_cerebro(client, user)
    graphql(client, "{ user { id } }", user["headers"])
    second_user(client)  # anonymous: counted for nobody
    flush(client)
    assert usage(client, user)["requests_by_face"] == {
        "arqium": 1, "cerebro": 1, "graphql": 1}


def test_rebuilding_the_usage_projection_gives_the_same_figures(client, user, settings):
    search_v1(client, user)
    search_cerebro(client, user)
    flush(client)
    before = (dashboard(client, user, interval="hour"), usage(client, user))
    rebuild(UsageProjection, settings, show_progress=False)
    after = (dashboard(client, user, interval="hour"), usage(client, user))
    for figures in (*before, *after):  # a request's own budget is no figure
        figures.pop("rate_limit", None)
    assert json.dumps(after, sort_keys=True) == json.dumps(before, sort_keys=True)


def test_counts_survive_a_refused_flush_and_are_stored_once(client, user, settings):
    search_cerebro(client, user)
    with psycopg.connect(settings.database_url, autocommit=True) as conn:
        conn.execute(REFUSE_WRITES)
        assert client.app.state.usage.flush() is False
        conn.execute(ALLOW_WRITES)
    search_cerebro(client, user)
    flush(client)
    assert hourly_searches(client, user) == 2
    assert usage(client, user)["requests_by_face"]["cerebro"] == 2
    assert stored_usage_events(settings) == 1


def test_a_flush_stores_one_event_per_owner(client, user, settings):
    bob = second_user(client)
    for caller in (user, user, bob, bob, bob):
        search_v1(client, caller)
    search_cerebro(client, bob)
    flush(client)
    assert stored_usage_events(settings) == 2


def test_a_forgotten_users_usage_is_removed(client, user):
    search_v1(client, user)
    flush(client)
    root = admin(client)
    assert client.delete(f"/api/v1/users/{user['user']['id']}",
                         headers=root["headers"]).status_code == 200
    flush(client)
    assert hourly_searches(client, root) == 0


def test_the_counts_are_flushed_when_the_process_stops(settings, clock):
    app = create_app(settings, lambda s: open_system(s, clock=clock))
    with TestClient(app) as client:
        data = register(client)
        search_v1(client, {"headers": bearer(data["access_token"])})
        assert stored_usage_events(settings) == 0
    assert stored_usage_events(settings) == 1  # the lifespan's end: its last flush


def test_searches_count_in_the_hour_they_were_answered(client, user, clock):
    search_v1(client, user)
    clock.advance(hours=2)
    again = logged_in(client, user["user"]["email"])
    search_v1(client, again)
    flush(client)
    intervals = dashboard(client, again, interval="hour")["intervals"]
    assert [i["platform"]["searches"] for i in intervals[-3:]] == [1, 0, 1]
