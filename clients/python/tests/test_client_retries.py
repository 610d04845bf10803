"""Safe retries against the real server: a command whose answer was lost, or sent while
the server was down, is stored once; a 429 is waited out; reads see the client's own
writes even when it asks the server not to wait."""

import threading

import httpx
from conftest import PASSWORD
from lossy_proxy import LossyProxy

from arqium_client import Arqium, RetryPolicy

NO_KEEPALIVE = httpx.Limits(max_keepalive_connections=0)


def test_a_command_whose_answer_was_lost_is_retried_and_stored_once(live_api, client,
                                                                    account):
    client.users.profile()  # logged in directly, so the proxy sees only the command
    proxy = LossyProxy(live_api.settings.port, answers_to_lose=1)
    tokens = client._core.credentials
    with Arqium(proxy.url, http=httpx.Client(limits=NO_KEEPALIVE)) as lossy:
        lossy._core.credentials = tokens
        stored = lossy.memory.store("Call the plumber", key="todo")
    proxy.close()
    assert proxy.forwarded == 2
    assert len(list(client.memory.history(stored.id))) == 1


def test_a_command_sent_while_the_server_is_down_lands_once_it_is_back(live_api, client):
    client.users.profile()
    live_api.stop()
    restart = threading.Timer(0.5, live_api.start)
    restart.start()
    try:
        client._core.retry = RetryPolicy(attempts=20, first_delay=0.2, max_delay=1.0)
        stored = client.memory.store("Water the plants", key="plants")
    finally:
        restart.join()
    assert len(list(client.memory.history(stored.id))) == 1


def test_a_rate_limited_call_is_retried_after_retry_after(live_api, account):
    statuses: list[int] = []
    http = httpx.Client(event_hooks={"response": [lambda r: statuses.append(r.status_code)]})
    with Arqium(live_api.url, http=http) as arqium:
        for _ in range(5):  # until the limit's window did not turn between the two logins
            statuses.clear()
            while httpx.post(live_api.url + "/api/v1/auth/login", json={
                    "email": account.email, "password": PASSWORD}).status_code != 429:
                pass
            login = arqium.auth.login(account.email, PASSWORD)
            if statuses[0] == 429:
                break
    assert statuses == [429, 200]
    assert login.user.email == account.email


def test_reads_wait_for_the_clients_writes_even_when_it_prefers_eventual_reads(live_api,
                                                                               account):
    http = httpx.Client(headers={"X-Consistency": "eventual"})
    with Arqium(live_api.url, email=account.email, password=account.password,
                http=http) as arqium:
        for number in range(5):
            stored = arqium.memory.store(f"Dentist appointment {number}", key=f"d{number}")
            assert arqium.memory.get(stored.id).key == f"d{number}"
        assert len(arqium.memory.search("dentist appointment", limit=10)) == 5

