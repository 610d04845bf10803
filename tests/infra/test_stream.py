"""A NATS URL as logs and screens show it: no password, no token."""

from arqium.infra.stream import shown_nats_url


def test_a_password_in_a_nats_url_is_masked():
    assert shown_nats_url("nats://arqium:s3cret@127.0.0.1:4222") == (
        "nats://arqium:***@127.0.0.1:4222")


def test_a_token_in_a_nats_url_is_masked():
    assert shown_nats_url("nats://t0ken@nats.internal:4222") == (
        "nats://***@nats.internal:4222")


def test_every_server_of_a_list_is_masked():
    assert shown_nats_url("nats://a:p1@h1:4222,nats://a:p2@h2:4222") == (
        "nats://a:***@h1:4222,nats://a:***@h2:4222")


def test_a_url_without_credentials_is_shown_as_it_is():
    assert shown_nats_url("nats://127.0.0.1:4222") == "nats://127.0.0.1:4222"
