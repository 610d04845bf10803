"""A method a path does not serve is a 405 whose Allow header lists exactly the methods
the OpenAPI document gives that path, in the shape of the face the path belongs to."""

import re

from tests.api.test_hostile_routes import caller_for
from tests.api.test_who_acted import world  # noqa: F401 (fixture)

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
ANY_ID = "00000000-0000-0000-0000-000000000001"


def concrete(template: str) -> str:
    return re.sub(r"\{[^}]+\}", ANY_ID, template.replace("{userId}", "ada"))


def documented_methods(world) -> dict[str, set[str]]:
    return {path: {method.upper() for method in operations}
            for path, operations in world.client.app.openapi()["paths"].items()}


def test_every_method_a_path_does_not_serve_is_a_405_listing_those_it_does(world):
    documented = documented_methods(world)
    assert len(documented) >= 100
    wrong = []
    for template, methods in documented.items():
        path = concrete(template)
        for method in sorted(set(METHODS) - methods):
            response = world.client.request(method, path,
                                            headers=caller_for(world, template))
            allowed = set(response.headers.get("Allow", "").replace(" ", "").split(","))
            if response.status_code != 405 or allowed != methods:
                wrong.append((method, template, response.status_code,
                              response.headers.get("Allow")))
    assert wrong == []


def test_a_literal_path_is_not_taken_for_a_parameter_of_a_method_it_lacks(world):
    """`/api/v1/memory/recent` is its own resource (GET only), not a memory whose id is
    "recent" (which DELETE would remove): DELETE is not allowed there, rather than a
    malformed id."""
    response = world.client.delete("/api/v1/memory/recent", headers=world.ada.headers)
    assert response.status_code == 405
    assert response.headers["Allow"] == "GET"
    assert response.json()["error"]["code"] == "METHOD_NOT_ALLOWED"
    assert "GET" in response.json()["error"]["message"]


def test_a_malformed_id_where_no_literal_path_applies_is_still_a_400(world):
    response = world.client.delete("/api/v1/memory/not-an-id", headers=world.ada.headers)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "VALIDATION_ERROR"


def test_a_405_keeps_the_shape_of_the_face_of_its_path(world):
    cerebro = world.client.request("DELETE", "/api/config", headers=world.ada.headers)
    assert cerebro.status_code == 405
    assert cerebro.headers["Allow"] == "GET, PUT"
    assert cerebro.json()["error"]["code"] == "METHOD_NOT_ALLOWED"
    v0 = world.client.request("PUT", "/v0/users/ada/vaults", headers=world.ada.headers)
    assert v0.status_code == 405
    assert v0.headers["Allow"] == "GET, POST"
    assert set(v0.json()) >= {"error", "message", "code"}
