"""Logging in, API keys, and an access token renewed across its expiry (the test server's
tokens live ACCESS_TOKEN_SECONDS)."""

import time

import httpx
import pytest
from conftest import ACCESS_TOKEN_SECONDS

from arqium_client import Arqium, AuthFailed


def test_register_logs_the_client_in(live_api):
    with Arqium(live_api.url) as arqium:
        login = arqium.auth.register(f"grace-{time.time_ns()}@example.com", "long password",
                                     "Grace")
        assert arqium.users.profile().id == login.user.id


def test_a_login_client_logs_in_by_itself_on_its_first_call(client, account):
    assert client.users.profile().email == account.email


def test_a_wrong_password_raises_auth_failed_with_the_servers_code(live_api, account):
    with (Arqium(live_api.url, email=account.email, password="not the password") as arqium,
          pytest.raises(AuthFailed) as raised):
        arqium.users.profile()
    assert (raised.value.code, raised.value.status) == ("AUTH_FAILED", 401)
    assert raised.value.request_id


def test_an_api_key_client_reads_what_the_login_client_stored(client, key_client):
    client.memory.store("Piano lessons on Tuesdays", key="piano")
    assert [hit.key for hit in key_client.memory.search("piano lessons")] == ["piano"]


def test_a_revoked_api_key_is_refused(live_api, client):
    issued = client.api_keys.create("short-lived", scopes=["memory:read"])
    assert [key.name for key in client.api_keys.list()] == ["short-lived"]
    client.api_keys.revoke(issued.id)
    with Arqium(live_api.url, api_key=issued.key) as arqium, pytest.raises(AuthFailed):
        arqium.users.profile()


def test_after_logout_the_old_access_token_is_refused(live_api, client):
    client.users.profile()
    token = str(client._core.credentials.access_token)
    assert client.auth.logout().logged_out
    answer = httpx.get(live_api.url + "/api/v1/users/profile",
                       headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 401


def test_the_access_token_is_renewed_before_it_expires(live_api, client):
    client.users.profile()
    first_token = str(client._core.credentials.access_token)
    time.sleep(ACCESS_TOKEN_SECONDS + 0.5)
    assert client.users.profile().name == "Ada"
    expired = httpx.get(live_api.url + "/api/v1/users/profile",
                        headers={"Authorization": f"Bearer {first_token}"})
    assert expired.status_code == 401


def test_a_token_refused_as_expired_is_renewed_once_and_the_call_repeated(client):
    """A client whose clock stood still (a suspended laptop) learns of the expiry from
    the server's 401."""
    client.users.profile()
    client._core.clock = lambda: 0.0
    time.sleep(ACCESS_TOKEN_SECONDS + 0.5)
    assert client.users.update_profile(name="Ada L.").name == "Ada L."


def test_no_credential_appears_in_the_clients_repr(client, account):
    client.users.profile()
    shown = repr(client) + repr(client._core.credentials)
    assert account.password not in shown
    assert str(client._core.credentials.access_token) not in shown
