"""The Admin API's activity log (seed 003 §4): what people did, from the activity
projections (projections/activity.py); users see their own, admins everyone's."""

import pytest

from arqium.projections.activity import ACTIVITY_PROJECTIONS
from arqium.system.bootstrap import make_admin
from tests.api.test_openapi_v0_bodies import assert_documented
from tests.conftest import SETUP, bearer, register


@pytest.fixture(autouse=True)
def projectors(workers):
    # The credentials' too: deleting a user waits until its credentials are gone.
    workers(*(p.name for p in ACTIVITY_PROJECTIONS), "memory_items", "ledger_objects",
            "platform_modules", "platform_config", "login_sessions", "api_keys")


def activity(client, caller, **params):
    return client.get("/api/activity", headers=caller["headers"], params=params)


def types(client, caller, **params) -> list[str]:
    response = activity(client, caller, **params)
    assert response.status_code == 200, response.text
    return [a["type"] for a in response.json()["activities"]]


def second_user(client) -> dict:
    client.app.state.system.clock.advance(seconds=1)
    data = register(client, email="bob@example.com", name="Bob")
    return {**data, "headers": bearer(data["access_token"])}


def admin(client) -> dict:
    make_admin(client.app.state.system, "root@example.com", "admin password", cause=SETUP)
    response = client.post("/api/v1/auth/login", json={"email": "root@example.com",
                                                       "password": "admin password"})
    return {"user": response.json()["data"]["user"],
            "headers": bearer(response.json()["data"]["access_token"])}


def store(client, user, **body):
    client.app.state.system.clock.advance(seconds=1)  # after what came before
    response = client.post("/api/v1/memory/store", headers=user["headers"],
                           json={"key": "diary", "content": "a quiet day", **body})
    assert response.status_code == 201, response.text
    return response.json()["data"]


def test_the_log_answers_the_seed_shape_newest_first(client, user):
    store(client, user)
    response = activity(client, user)
    assert response.status_code == 200
    body = response.json()
    assert (body["total"], body["page"], body["per_page"]) == (3, 1, 20)
    assert [a["type"] for a in body["activities"]] == [
        "memory.stored", "auth.login", "user.registered"]
    first = body["activities"][0]
    assert set(first) == {"id", "type", "user_id", "description", "metadata", "created_at"}
    assert first["user_id"] == user["user"]["id"]
    assert first["metadata"]["layer"]


def test_what_people_do_is_logged(client, user):
    headers = user["headers"]
    memory = store(client, user)
    client.delete(f"/api/v1/memory/{memory['id']}", headers=headers)
    created = client.post("/api/ledger/objects", headers=headers, json={
        "typeName": "invoice", "data": {"total": 3}})
    client.post("/api/ledger/transactions", headers=headers, json={
        "objectId": created.json()["object"]["id"], "action": "pay", "data": {}})
    session = client.post("/api/v1/sessions", headers=headers, json={"title": "x"})
    client.post(f"/api/v1/sessions/{session.json()['data']['id']}/archive", headers=headers)
    client.post("/api/v1/auth/logout", headers=headers)
    again = client.post("/api/v1/auth/login", json={"email": "ada@example.com",
                                                    "password": "correct horse"})
    logged = types(client, {"headers": bearer(again.json()["data"]["access_token"])},
                   per_page=100)
    assert set(logged) == {"user.registered", "auth.login", "auth.logout",
                           "memory.stored", "memory.deleted", "ledger.object_created",
                           "ledger.transaction", "session.created", "session.archived"}


def test_descriptions_hold_no_memory_content_or_key(client, user):
    # Not digits alone: the log's random ids (a login session's) may hold any 4 digits.
    store(client, user, key="pin-code", content="pin 4711", sensitivity="secret")
    store(client, user, key="plain-key", content="plain words")
    log = activity(client, user).json()["activities"]
    text = repr([(a["description"], a["metadata"]) for a in log])
    for secret in ("pin-code", "pin 4711", "plain-key", "plain words"):
        assert secret not in text


def test_filters_by_type_and_pages(client, user):
    for key in ("a", "b", "c"):
        store(client, user, key=key)
    assert types(client, user, type="memory.stored") == ["memory.stored"] * 3
    page = activity(client, user, type="memory.stored", page=2, per_page=2).json()
    assert (len(page["activities"]), page["total"], page["page"], page["per_page"]) == (
        1, 3, 2, 2)


def test_one_users_activity_is_invisible_to_another(client, user):
    store(client, user)
    bob = second_user(client)
    assert types(client, bob) == ["auth.login", "user.registered"]
    assert all(a["user_id"] == bob["user"]["id"]
               for a in activity(client, bob).json()["activities"])


def test_a_user_asking_for_another_users_activity_is_refused(client, user):
    bob = second_user(client)
    response = activity(client, bob, user_id=user["user"]["id"])
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "PERMISSION_DENIED"
    assert response.json()["status"] == 403
    assert activity(client, bob, user_id=bob["user"]["id"]).status_code == 200


def test_an_admin_sees_everyones_activity_or_one_users(client, user):
    store(client, user)
    root = admin(client)
    everyone = activity(client, root, per_page=100).json()["activities"]
    assert {a["user_id"] for a in everyone} == {user["user"]["id"], root["user"]["id"]}
    adas = types(client, root, user_id=user["user"]["id"])
    assert adas == ["memory.stored", "auth.login", "user.registered"]


@pytest.mark.parametrize("params", [{"page": 0}, {"per_page": 101}, {"per_page": "x"},
                                    {"type": ""}])
def test_bad_paging_is_a_400_in_the_admin_shape(client, user, params):
    response = activity(client, user, **params)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "VALIDATION_ERROR"
    assert response.json()["status"] == 400


def test_without_credentials_the_log_is_a_401(client):
    response = client.get("/api/activity")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "AUTH_REQUIRED"


def test_a_deleted_users_activity_is_forgotten(client, user):
    store(client, user)
    root = admin(client)
    assert client.delete(f"/api/v1/users/{user['user']['id']}",
                         headers=root["headers"]).status_code == 200
    assert types(client, root, user_id=user["user"]["id"]) == []


def test_the_success_body_is_the_documented_one(client, user):
    store(client, user)
    assert_documented(client.get("/openapi.json").json(), "/api/activity", "get",
                      activity(client, user))


def test_module_and_config_changes_are_the_activity_of_the_admin_who_made_them(client):
    root = admin(client)
    client.put("/api/modules/graphql", headers=root["headers"],
               json={"settings": {"max_depth": 5}, "enabled": False})
    client.put("/api/config", headers=root["headers"],
               json={"config": {"general": {"site_name": "Acme"}}})
    body = activity(client, root, user_id=root["user"]["id"]).json()
    changes = [(a["type"], a["description"], a["metadata"]) for a in body["activities"]
               if a["type"].startswith(("module.", "config."))]
    assert changes == [
        ("config.updated", "Changed the system configuration", {"sections": ["general"]}),
        ("module.disabled", "Disabled module graphql", {"module_id": "graphql"}),
        ("module.settings_changed", "Changed the settings of module graphql",
         {"module_id": "graphql", "settings": ["max_depth"]})]
