"""The client's decisions without I/O: what it sends back and when it tries again."""

import httpx

from arqium_client._core import Call, Core, RetryPolicy

STORE = Call("POST", "/api/v1/memory/store", body={"content": "x"})
SEARCH = Call("GET", "/api/v1/memory/search", app="memory")


def answer(status: int, **headers: str) -> httpx.Response:
    return httpx.Response(status, headers=headers)


def test_the_highest_position_of_each_application_is_kept():
    core = Core("http://arqium")
    core.record_position(answer(201, **{"X-Event-Position": "memory.7, identity.3"}))
    core.record_position(answer(201, **{"X-Event-Position": "memory.5"}))
    assert core.positions == {"memory": 7, "identity": 3}


def test_a_read_sends_the_position_of_its_own_application_only():
    core = Core("http://arqium")
    core.positions = {"memory": 7, "identity": 3}
    assert core.build(SEARCH, None).headers["X-Min-Position"] == "memory.7"
    assert "X-Min-Position" not in core.build(STORE, "k").headers


def test_every_command_gets_its_own_idempotency_key_and_reads_none():
    core = Core("http://arqium")
    assert core.idempotency_key(STORE) != core.idempotency_key(STORE)
    assert core.idempotency_key(SEARCH) is None


def test_503_and_429_are_retried_after_retry_after_and_other_4xx_are_not():
    core = Core("http://arqium")
    assert core.retry_delay(STORE, 0, answer(503, **{"Retry-After": "2"})) == 2
    assert core.retry_delay(STORE, 0, answer(429, **{"Retry-After": "1"})) == 1
    assert core.retry_delay(STORE, 0, answer(400)) is None
    assert core.retry_delay(STORE, 0, answer(409)) is None


def test_a_command_still_running_under_its_key_is_waited_for():
    core = Core("http://arqium")
    assert core.retry_delay(STORE, 0, answer(409, **{"Retry-After": "1"})) == 1


def test_the_retries_stop_after_the_last_attempt():
    core = Core("http://arqium", retry=RetryPolicy(attempts=3))
    assert core.retry_delay(STORE, 1, None) is not None
    assert core.retry_delay(STORE, 2, None) is None


def test_a_429_is_retried_under_a_new_key_and_anything_else_under_the_same():
    assert Core.key_for_retry(STORE, "k", answer(503)) == "k"
    assert Core.key_for_retry(STORE, "k", answer(429)) not in ("k", None)


def test_an_api_key_and_a_login_cannot_be_mixed():
    try:
        Core("http://arqium", api_key="ak_1", email="a@b.c", password="p")
        raise AssertionError("both were taken")
    except ValueError as refusal:
        assert "not both" in str(refusal)
