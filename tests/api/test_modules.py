"""The Admin API's modules (seed 003 §3): the list, install and uninstall under their
dependencies, the switch and its effect on the routes, settings, the marketplace."""

import pytest
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from arqium.api.app import create_app
from arqium.system.bootstrap import make_admin, open_system
from tests.conftest import SETUP, bearer, eventually, register

ADMIN_EMAIL, ADMIN_PASSWORD = "root@example.com", "admin password"
GRAPHQL_ME = {"query": "{ user { id } }"}


@pytest.fixture(autouse=True)
def projectors(workers):
    workers("login_sessions", "users", "platform_config", "platform_modules")


@pytest.fixture
def admin(client) -> dict:
    make_admin(client.app.state.system, ADMIN_EMAIL, ADMIN_PASSWORD, cause=SETUP)
    response = client.post("/api/v1/auth/login",
                           json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD})
    return {"headers": bearer(response.json()["data"]["access_token"])}


def modules(client, caller) -> dict:
    response = client.get("/api/modules", headers=caller["headers"])
    assert response.status_code == 200, response.text
    return {module["id"]: module for module in response.json()["modules"]}


def switch(client, admin, module_id: str, enabled: bool):
    return client.put(f"/api/modules/{module_id}", headers=admin["headers"],
                      json={"enabled": enabled})


def test_every_signed_in_user_reads_the_modules_in_seed_003s_shape(client, user):
    listed = modules(client, user)
    assert set(listed["graphql"]) >= {"id", "name", "description", "version", "author",
                                      "dependencies", "status", "settings"}
    assert listed["chat"]["dependencies"] == ["cerebro"]
    assert listed["graphql"]["status"] == "installed" and listed["graphql"]["enabled"]


def test_a_module_whose_requirement_is_missing_is_installed_reports_errors_and_is_off(
        client, user):
    chat = modules(client, user)["chat"]
    assert (chat["status"], chat["enabled"]) == ("installed", False)
    assert "ARQIUM_LLM_BASE_URL" in chat["errors"][0]


def test_reading_the_modules_needs_credentials(client):
    response = client.get("/api/modules")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "AUTH_REQUIRED"


@pytest.mark.parametrize("method, path, body", [
    ("POST", "/api/modules/install", {"module_id": "graphql"}),
    ("PUT", "/api/modules/graphql", {"enabled": False}),
    ("DELETE", "/api/modules/graphql", None),
])
def test_changing_a_module_is_for_admins(client, user, method, path, body):
    response = client.request(method, path, headers=user["headers"], json=body)
    assert response.status_code == 403
    assert response.json() == {"error": {"code": "PERMISSION_DENIED", "message":
                                         "this needs the admin role", "details": {}},
                               "status": 403}


def test_an_unknown_module_is_404(client, admin):
    response = switch(client, admin, "webhooks", True)
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "NOT_FOUND"


def test_disabling_graphql_answers_503_in_graphqls_shape_until_enabled_again(
        client, admin, user):
    assert switch(client, admin, "graphql", False).json()["enabled"] is False
    refused = client.post("/graphql", json=GRAPHQL_ME, headers=user["headers"])
    assert refused.status_code == 503
    error = refused.json()["errors"][0]
    assert error["message"] == ("module 'graphql' is disabled: enable it with PUT "
                                '/api/modules/graphql {"enabled": true}')
    assert error["extensions"]["code"] == "SERVICE_UNAVAILABLE"
    switch(client, admin, "graphql", True)
    answered = client.post("/graphql", json=GRAPHQL_ME, headers=user["headers"])
    assert answered.status_code == 200 and "errors" not in answered.json()


def test_disabling_memory_service_v0_answers_503_in_v0s_error_shape(client, admin):
    switch(client, admin, "memory-service-v0", False)
    response = client.get("/v0/users/ada")
    assert response.status_code == 503
    assert response.json() == {
        "error": "Service Unavailable", "code": "SERVICE_UNAVAILABLE",
        "message": "module 'memory-service-v0' is disabled: enable it with PUT "
                   '/api/modules/memory-service-v0 {"enabled": true}'}


@pytest.mark.parametrize("method, path", [
    ("POST", "/upload"), ("GET", "/download/some-id"), ("GET", "/files/some-id"),
    ("POST", "/api/files/upload")])
def test_disabling_files_turns_off_both_faces_uploads_and_downloads(client, admin, user,
                                                                   method, path):
    switch(client, admin, "files", False)
    response = client.request(method, path, headers=user["headers"])
    assert response.status_code == 503
    assert "module 'files' is disabled" in response.text


@pytest.mark.parametrize("module_id, method, path", [
    ("agents", "GET", "/agents"), ("rag", "POST", "/api/memory/rag")])
def test_agents_and_rag_are_modules_of_their_own(client, admin, user, module_id, method,
                                                 path):
    switch(client, admin, module_id, False)
    assert client.request(method, path, headers=user["headers"]).status_code == 503
    switch(client, admin, module_id, True)
    assert client.request(method, path, headers=user["headers"]).status_code != 503
    assert client.get("/api/memory/recent", headers=user["headers"]).status_code != 503


def test_the_knowledge_base_needs_the_files_module(client, admin):
    response = client.delete("/api/modules/files", headers=admin["headers"])
    assert response.status_code == 409
    assert response.json()["error"]["details"]["needed_by"] == ["rag"]


def test_disabling_realtime_sync_closes_a_new_sync_socket_saying_which_module(
        client, admin, user):
    switch(client, admin, "realtime-sync", False)
    with (pytest.raises(WebSocketDisconnect) as closed,
          client.websocket_connect(f"/ws/sync/s-1?token={user['access_token']}") as ws):
        ws.receive_json()
    assert closed.value.code == 1013
    assert "module 'realtime-sync' is disabled" in closed.value.reason


def test_an_uninstalled_face_says_how_to_install_it(client, admin):
    client.delete("/api/modules/astralbody", headers=admin["headers"])
    response = client.get("/user/profile")
    assert response.status_code == 503
    assert response.json()["error"]["message"] == (
        "module 'astralbody' is not installed: install it with POST "
        '/api/modules/install {"module_id": "astralbody"}')


def test_install_is_refused_while_a_dependency_is_not_installed(client, admin):
    client.delete("/api/modules/chat", headers=admin["headers"])
    client.delete("/api/modules/cerebro", headers=admin["headers"])
    response = client.post("/api/modules/install", headers=admin["headers"],
                           json={"module_id": "chat"})
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "MODULE_ERROR"
    assert "needs cerebro" in response.json()["error"]["message"]


def test_uninstall_is_refused_while_an_installed_module_needs_it(client, admin):
    response = client.delete("/api/modules/cerebro", headers=admin["headers"])
    assert response.status_code == 409
    assert response.json()["error"] == {
        "code": "MODULE_ERROR",
        "message": "module 'cerebro' is needed by chat: uninstall chat first",
        "details": {"module": "cerebro", "needed_by": ["chat"]}}


def test_enabling_elasticsearch_search_without_its_url_says_what_to_set(client, admin):
    response = switch(client, admin, "elasticsearch-search", True)
    assert response.status_code == 409
    assert "set ARQIUM_ELASTICSEARCH_URL" in response.json()["error"]["message"]


def test_a_faces_health_check_answers_while_the_face_is_off(client, admin):
    switch(client, admin, "astralbody", False)
    assert client.get("/health").status_code == 200


def test_an_installed_module_installs_again_after_an_uninstall(client, admin):
    assert client.delete("/api/modules/analytics", headers=admin["headers"]).json() == {
        "success": True}
    assert modules(client, admin)["analytics"]["status"] == "available"
    response = client.post("/api/modules/install", headers=admin["headers"],
                           json={"module_id": "analytics", "version": "0.1.0"})
    assert response.status_code == 200
    assert (response.json()["status"], response.json()["enabled"]) == ("installed", True)


def test_settings_are_merged_and_limit_graphql_documents(client, admin, user):
    response = client.put("/api/modules/graphql", headers=admin["headers"],
                          json={"settings": {"max_depth": 1}})
    assert response.json()["settings"]["max_depth"] == 1
    refused = client.post("/graphql", json=GRAPHQL_ME, headers=user["headers"])
    assert refused.status_code == 400
    assert "at most 1 allowed" in refused.json()["errors"][0]["message"]


def test_a_setting_outside_the_modules_schema_is_400_naming_its_path(client, admin):
    response = client.put("/api/modules/graphql", headers=admin["headers"],
                          json={"settings": {"max_depth": "deep"}})
    assert response.status_code == 400
    body = response.json()
    assert body["error"]["code"] == "VALIDATION_ERROR"
    assert body["error"]["details"]["errors"][0]["field"] == "settings.max_depth"


def test_downloads_count_the_installs(client, admin, user):
    for _ in range(2):
        client.delete("/api/modules/analytics", headers=admin["headers"])
        client.post("/api/modules/install", headers=admin["headers"],
                    json={"module_id": "analytics"})
    market = client.get("/api/modules/marketplace", headers=user["headers"]).json()
    analytics = next(m for m in market["modules"] if m["id"] == "analytics")
    assert analytics["downloads"] == 2
    assert "faces" in market["categories"] and "graphql" in market["tags"]


def test_a_rating_changes_the_marketplace_figure_one_per_user(client, user):
    eve = register(client, email="eve@example.com")
    eve_headers = bearer(eve["access_token"])
    unrated = client.get("/api/modules/marketplace", headers=user["headers"]).json()
    assert next(m for m in unrated["modules"] if m["id"] == "graphql")["rating"] is None
    client.post("/api/modules/graphql/rating", headers=user["headers"], json={"stars": 5})
    client.post("/api/modules/graphql/rating", headers=eve_headers, json={"stars": 2})
    rated = client.post("/api/modules/graphql/rating", headers=eve_headers,
                        json={"stars": 4})
    assert (rated.json()["rating"], rated.json()["ratings"]) == (4.5, 2)


def test_stars_outside_one_to_five_are_400(client, user):
    response = client.post("/api/modules/graphql/rating", headers=user["headers"],
                           json={"stars": 6})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "VALIDATION_ERROR"


def test_the_configurations_modules_disabled_switches_modules_off(client, admin, user):
    response = client.put("/api/config", headers=admin["headers"],
                          json={"config": {"modules": {"disabled": ["analytics"]}}})
    assert "analytics" in response.json()["config"]["modules"]["disabled"]
    assert modules(client, user)["analytics"]["enabled"] is False
    assert client.get("/api/v1/analytics/usage", headers=user["headers"]).status_code == 503


def test_the_configuration_shows_a_module_switched_off_by_its_route(client, admin):
    switch(client, admin, "cerebro", False)
    config = client.get("/api/config", headers=admin["headers"]).json()["config"]
    assert "cerebro" in config["modules"]["disabled"]
    assert "cerebro" not in config["modules"]["enabled"]


def test_an_unknown_module_in_the_configuration_is_400_naming_the_list(client, admin):
    response = client.put("/api/config", headers=admin["headers"],
                          json={"config": {"modules": {"enabled": ["webhooks"]}}})
    assert response.status_code == 400
    assert response.json()["error"]["details"]["errors"][0]["field"] == "modules.enabled"


def test_a_module_command_is_answered_once_under_an_idempotency_key(client, admin):
    headers = {**admin["headers"], "Idempotency-Key": "uninstall-analytics"}
    first = client.delete("/api/modules/analytics", headers=headers)
    again = client.delete("/api/modules/analytics", headers=headers)
    assert (first.status_code, again.status_code) == (200, 200)
    assert again.headers["X-Event-Position"] == first.headers["X-Event-Position"]


@pytest.fixture
def other_instance(settings, clock):
    """A second API process: its own app, its own cache of the module states."""
    app = create_app(settings, open_system=lambda s: open_system(s, clock=clock))
    with TestClient(app, raise_server_exceptions=False) as second:
        yield second


def answers(client, path: str, status: int, within_seconds: float = 10) -> bool:
    """Whether `path` answers `status` within the time (asked every 50 ms)."""
    return eventually(lambda: client.get(path).status_code == status, within_seconds,
                      every=0.05)


def test_another_api_process_follows_a_switch_from_the_read_model(
        client, other_instance, admin):
    before = other_instance.get("/v0/users/ada").status_code  # cached: on
    assert before != 503
    switch(client, admin, "memory-service-v0", False)
    assert answers(other_instance, "/v0/users/ada", 503)
    switch(client, admin, "memory-service-v0", True)
    assert answers(other_instance, "/v0/users/ada", before)


def test_a_route_whose_requirement_is_missing_answers_as_before_saying_what_to_set(
        client, user):
    response = client.post("/api/chat", headers=user["headers"],
                           json={"messages": [{"role": "user", "content": "hi"}]})
    assert response.status_code == 503
    assert "ARQIUM_LLM_BASE_URL" in response.json()["message"]


def test_graphql_subscriptions_close_while_realtime_sync_is_off(client, admin, user):
    switch(client, admin, "realtime-sync", False)
    with (pytest.raises(WebSocketDisconnect) as closed,
          client.websocket_connect("/graphql", subprotocols=["graphql-transport-ws"])
          as socket):
        socket.receive_json()
    assert closed.value.code == 1013
    assert "module 'realtime-sync' is disabled" in closed.value.reason


def test_a_change_that_changes_nothing_answers_the_module_as_it_is(client, admin):
    response = client.put("/api/modules/graphql", headers=admin["headers"], json={})
    assert response.status_code == 200
    assert response.json()["enabled"] is True
