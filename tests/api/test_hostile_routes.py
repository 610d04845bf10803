"""Every route, every parameter, every hostile value: no answer is a 5xx, and what the
boundary refuses stores nothing. The routes come from the app itself (its OpenAPI
document and its command routes), so a new route is covered the day it is added."""

import json
import re
from typing import Any

import pytest

from tests.api.test_who_acted import EXAMPLES, World, heads, world  # noqa: F401 (fixture)
from tests.conftest import bearer

NUMBERS = ["9223372036854775808", "18446744073709551616", "-1", "-9223372036854775809",
           "9" * 5000]
TEXT = ["%00", "%ED%A0%80", "a%00b", "9" * 5000, "%C0%80"]
BIG = 2**64
ANY_ID = "00000000-0000-0000-0000-000000000001"


def parameters(world: World) -> list[tuple[str, str, dict]]:
    """(method, path template, parameter) for each query and path parameter."""
    found = []
    for path, operations in world.client.app.openapi()["paths"].items():
        for method, operation in operations.items():
            found += [(method.upper(), path, parameter)
                      for parameter in operation.get("parameters", ())
                      if parameter["in"] in ("query", "path")]
    return found


def is_integer(parameter: dict) -> bool:
    schema = parameter.get("schema", {})
    return "integer" in {schema.get("type"), *(s.get("type") for s in schema.get(
        "anyOf", ()))}


def url(template: str, parameter: dict, value: str) -> str:
    """The path with the parameter given `value`, as it is (already URL-encoded)."""
    path = template.replace("{userId}", "ada")
    if parameter["in"] == "path":
        path = path.replace("{%s}" % parameter["name"], value)
    path = re.sub(r"\{[^}]+\}", ANY_ID, path)
    return path + (f"?{parameter['name']}={value}" if parameter["in"] == "query" else "")


def test_every_query_and_path_parameter_takes_hostile_values_without_a_5xx(world):
    found = parameters(world)
    assert len(found) >= 40
    before, failures = heads(world.system), []
    for method, template, parameter in found:
        if template.endswith("/logout"):
            continue  # it would end the session every other request uses
        for value in NUMBERS + TEXT if is_integer(parameter) else TEXT + NUMBERS[:1]:
            target = url(template, parameter, value)
            response = world.client.request(method, target, headers=world.ada.headers)
            if response.status_code >= 500:
                failures.append((method, target[:120], response.status_code))
    assert failures == []
    assert heads(world.system) == before


def hostile_strings(value: Any, bad: str) -> Any:
    """Every string of `value`, and every key, with `bad` in it."""
    if isinstance(value, str):
        return value + bad
    if isinstance(value, dict):
        return {key + bad: hostile_strings(item, bad) for key, item in value.items()}
    if isinstance(value, list):
        return [hostile_strings(item, bad) for item in value]
    return value


def deep(value: Any) -> Any:
    body = value if isinstance(value, dict) else {}
    return {**body, "deep": "@@DEEP@@"}


REFUSED_BODIES = {
    "nul": lambda body: json.dumps(hostile_strings(body or {"note": "x"}, "\u0000")),
    "lone surrogate": lambda body: json.dumps(hostile_strings(body or {"note": "x"},
                                                              "\ud800")),
    "NaN": lambda body: json.dumps({**(body or {}), "n": float("nan")}),
    "10,000 levels": lambda body: json.dumps(deep(body)).replace(
        '"@@DEEP@@"', "[" * 10_000 + "]" * 10_000),
}

REFUSED_TEXTS = {
    "nul": lambda text: (text + "\u0000").encode(),
    "lone surrogate": lambda text: text.encode() + b"\xed\xa0\x80",  # not UTF-8
}


@pytest.mark.parametrize("route", EXAMPLES, ids=" ".join)
def test_a_hostile_body_on_a_command_is_refused_and_stores_nothing(world, route):
    method, _ = route
    request = EXAMPLES[route](world)
    text = isinstance(request.json, str)  # a plain-text body (a v0 context)
    headers = {**(request.caller or world.ada).headers, **request.headers,
               "Content-Type": "text/plain" if text else "application/json"}
    for name, hostile in (REFUSED_TEXTS if text else REFUSED_BODIES).items():
        before = heads(world.system)
        response = world.client.request(method, request.path,
                                        content=hostile(request.json), headers=headers)
        assert response.status_code == 400, (name, response.text)
        assert heads(world.system) == before, name


def big_numbers(value: Any) -> list[Any]:
    """`value` once for each of its integers, that one replaced by 2^64."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return []
    if isinstance(value, (int, float)):
        return [BIG]
    if isinstance(value, dict):
        return [{**value, key: variant} for key, item in value.items()
                for variant in big_numbers(item)]
    if isinstance(value, list):
        return [[*value[:i], variant, *value[i + 1:]] for i, item in enumerate(value)
                for variant in big_numbers(item)]
    return []


@pytest.mark.parametrize("route", EXAMPLES, ids=" ".join)
def test_a_command_answers_huge_or_odd_numbers_without_a_5xx(world, route):
    method, _ = route
    request = EXAMPLES[route](world)
    headers = {**(request.caller or world.ada).headers, **request.headers,
               "Content-Type": "application/json"}
    bodies = [json.dumps(variant) for variant in big_numbers(request.json)]
    for body in bodies + ["1" * 5000, "null", "1e400", "-0"]:
        response = world.client.request(method, request.path, content=body,
                                        headers=headers)
        assert response.status_code < 500, (body[:80], response.text)


def caller_for(world: World, template: str) -> dict:
    """Credentials the path takes: the current v0 dialect knows API keys, the modules'
    operations and the ledger's export an administrator's."""
    if template.startswith("/v0/vaults"):
        return bearer(world.ada_key.headers["X-API-Key"])
    if template.startswith(("/api/modules", "/api/v1/plugins", "/api/v1/ledger/export")):
        return world.admin.headers
    return world.ada.headers


def time_parameters(world: World) -> list[tuple[str, str, dict]]:
    def is_time(schema: dict) -> bool:
        return schema.get("format") == "date-time" or any(
            s.get("format") == "date-time" for s in schema.get("anyOf", ()))
    return [(method, path, parameter) for method, path, parameter in parameters(world)
            if is_time(parameter.get("schema", {}))]


def test_a_time_written_as_a_number_is_refused_naming_iso_8601(world):
    """pydantic would read `to=0.5` as a Unix time (1970); every face documents ISO 8601."""
    found = time_parameters(world)
    assert len(found) >= 12
    accepted = []
    for method, template, parameter in found:
        for value in ("0.5", "1700000000000", "-3"):
            response = world.client.request(method, url(template, parameter, value),
                                            headers=caller_for(world, template))
            if response.status_code != 400 or "ISO 8601" not in response.text:
                accepted.append((method, template, parameter["name"], value,
                                 response.status_code))
    assert accepted == []
