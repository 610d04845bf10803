"""CORS (seed 004): browsers of http://localhost:* and https://*.astralbody.com may call
the API; any other origin's preflight is told nothing of what is allowed."""

import pytest

PREFLIGHT = {"Access-Control-Request-Method": "POST",
             "Access-Control-Request-Headers": "Authorization, Content-Type, X-Session-ID"}


def preflight(client, origin: str, **headers):
    return client.options("/components", headers={"Origin": origin, **PREFLIGHT, **headers})


@pytest.mark.parametrize("origin", ["http://localhost:5173", "http://localhost",
                                    "https://app.astralbody.com"])
def test_a_preflight_from_an_allowed_origin_is_allowed_the_seeds_methods_and_headers(
        client, origin):
    response = preflight(client, origin)
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == origin
    allowed_methods = response.headers["Access-Control-Allow-Methods"].split(",")
    methods = {method.strip() for method in allowed_methods}
    assert methods == {"GET", "POST", "PUT", "DELETE", "OPTIONS"}
    allowed = response.headers["Access-Control-Allow-Headers"].lower()
    assert {"authorization", "content-type", "x-session-id"} <= set(allowed.split(", "))


@pytest.mark.parametrize("origin", ["https://evil.example", "https://astralbody.com",
                                    "http://app.astralbody.com",
                                    "https://app.astralbody.com.evil.example",
                                    "http://localhost.evil.example:3000"])
def test_a_preflight_from_any_other_origin_gets_no_allow_headers(client, origin):
    response = preflight(client, origin)
    assert response.status_code == 400
    assert not [h for h in response.headers if h.lower().startswith("access-control-allow")]


def test_an_answer_to_an_allowed_origin_names_it_and_exposes_the_position(client):
    response = client.get("/health", headers={"Origin": "https://app.astralbody.com"})
    assert response.headers["Access-Control-Allow-Origin"] == "https://app.astralbody.com"
    assert "X-Event-Position" in response.headers["Access-Control-Expose-Headers"]
    other = client.get("/health", headers={"Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in other.headers


def test_the_allowed_origins_are_a_setting(settings, clock):
    from fastapi.testclient import TestClient

    from arqium.api.app import create_app
    from arqium.system.bootstrap import open_system

    settings.cors_origins = ["https://*.example.org"]
    app = create_app(settings, open_system=lambda s: open_system(s, clock=clock))
    with TestClient(app) as client:
        assert preflight(client, "https://a.example.org").status_code == 200
        assert preflight(client, "http://localhost:3000").status_code == 400


def test_an_answer_to_a_caller_without_an_origin_varies_by_it_and_allows_none(client):
    """Most callers are not browsers: their answers carry no CORS headers, yet say that
    they vary by Origin (a shared cache must not serve them to a browser), as Starlette's
    CORS does."""
    response = client.get("/health")
    assert response.status_code == 200
    assert response.headers.get_list("Vary") == ["Origin"]
    assert not [h for h in response.headers if h.lower().startswith("access-control-")]
    # An OPTIONS without an Origin is no preflight: the route answers it, as any request.
    options = client.options("/components", headers=PREFLIGHT)
    assert options.status_code == 405
    assert options.headers.get_list("Vary") == ["Origin"]
    assert not [h for h in options.headers if h.lower().startswith("access-control-")]


def test_origin_joins_a_vary_the_answer_already_has():
    from starlette.applications import Starlette
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route
    from starlette.testclient import TestClient

    from arqium.api.cors import allow_browsers

    def varied(request):
        return PlainTextResponse("ok", headers={"Vary": "Accept-Language"})

    app = Starlette(routes=[Route("/", varied)])
    allow_browsers(app, ["https://*.example.org"])
    with TestClient(app) as client:
        assert client.get("/").headers["Vary"] == "Accept-Language, Origin"
        browser = client.get("/", headers={"Origin": "https://a.example.org"})
        assert browser.headers["Vary"] == "Accept-Language, Origin"
        assert browser.headers["Access-Control-Allow-Origin"] == "https://a.example.org"
