"""Secrets at rest: no table holds a `secret` or `pii` memory's plaintext, nor a
credential an idempotent response carried; data keys are stored wrapped by the master
key, and keys stored raw before it are wrapped by `arqium migrate`."""

import base64

import pytest
from psycopg.types.json import Jsonb

from arqium.domain.memory.application import MemoryApplication
from arqium.domain.memory.domainmodel import memory_id_for
from arqium.projections.catalog import PROJECTIONS
from arqium.projections.memory_items import MemoryItemsProjection
from arqium.system.bootstrap import migrate
from arqium.workers.rebuild import rebuild
from arqium.workers.runner import worker_names
from tests.conftest import bearer, memory_items_applied

MARKER = "quokkazanzibar"  # in the content only: never in a key or a tag
# Digits are a lexeme of their own; eight of them never turn up by chance in a stored
# time's microseconds, an id or a ciphertext (four did: "4321" in "08.432123").
CODE = "90817263"
NOTE = f"the {MARKER} code is {CODE}"
MEMORY_READ_MODELS = [p.name for p in PROJECTIONS if p.application is MemoryApplication]
TEXT_TYPES = ("text", "character varying", "jsonb", "json", "tsvector", "bytea")


@pytest.fixture(autouse=True)
def all_workers(workers):
    workers(*[name for name in worker_names() if name != "nats_relay"])


def store(client, user, key: str, sensitivity: str, tags: list[str]) -> str:
    response = client.post("/api/v1/memory/store", headers=user["headers"], json={
        "key": key, "content": {"note": NOTE},
        "sensitivity": sensitivity, "tags": tags})
    assert response.status_code == 201, response.text
    return response.headers["X-Event-Position"]


def columns_holding(system, needle: str) -> list[str]:
    """Every column of every table (any schema but the catalogs) whose text, JSON,
    tsvector or bytes contain `needle`, as "schema.table.column"."""
    found = []
    with system.pool.get_connection() as conn:
        columns = conn.execute(
            "SELECT c.table_schema, c.table_name, c.column_name, c.data_type "
            "FROM information_schema.columns c JOIN information_schema.tables t "
            "USING (table_schema, table_name) WHERE t.table_type = 'BASE TABLE' "
            "AND c.table_schema NOT IN ('pg_catalog', 'information_schema') "
            "AND (c.data_type = ANY(%s) OR c.udt_name = 'tsvector')",
            (list(TEXT_TYPES),)).fetchall()
        for column in columns:
            schema, table, name, kind = (column[k] for k in (
                "table_schema", "table_name", "column_name", "data_type"))
            cell = (f'position(%s::bytea in "{name}")' if kind == "bytea"
                    else f'strpos(lower("{name}"::text), lower(%s))')
            hit = conn.execute(f'SELECT 1 FROM "{schema}"."{table}" WHERE {cell} > 0 '
                               "LIMIT 1", (needle.encode() if kind == "bytea" else needle,)
                               ).fetchone()
            if hit:
                found.append(f"{schema}.{table}.{name}")
    return found


def test_no_table_holds_a_secret_or_pii_memorys_plaintext(client, user, system):
    store(client, user, "pin", "secret", ["bank"])
    position = store(client, user, "passport", "pii", ["travel"])
    wait = {**user["headers"], "X-Min-Position": position}
    client.get("/api/v1/memory/search", params={"q": "bank"}, headers=wait)
    for name in MEMORY_READ_MODELS:
        system.views[name].wait("memory", int(position.split(".")[1]), timeout=60)
    assert "public.memory_items.key" in columns_holding(system, "passport")  # it sees
    assert columns_holding(system, MARKER) == []
    assert columns_holding(system, CODE) == []


def test_the_owner_reads_and_finds_them_by_key_and_tags(client, user):
    store(client, user, "pin", "secret", ["bank"])
    position = store(client, user, "passport", "pii", ["travel"])
    wait = {**user["headers"], "X-Min-Position": position}
    pin = memory_id_for(user["user"]["id"], "pin")
    read = client.get(f"/api/v1/memory/{pin}", headers=wait).json()["data"]
    assert read["content"] == {"note": NOTE}
    recent = client.get("/api/v1/memory/recent", headers=wait).json()["data"]["items"]
    assert {i["key"]: i["content"]["note"] for i in recent} == {
        "pin": NOTE, "passport": NOTE}

    def found(q: str, mode: str = "keyword") -> list[str]:
        response = client.get("/api/v1/memory/search", headers=wait,
                              params={"q": q, "mode": mode})
        return [item["key"] for item in response.json()["data"]["items"]]

    assert found("pin") == ["pin"] and found("travel") == ["passport"]
    # No word of sealed content finds it: the keyword side has nothing, so a hybrid
    # search ranks exactly as the meaning of keys and tags does.
    assert found(MARKER) == []
    assert found(MARKER, mode="hybrid") == found(MARKER, mode="semantic")
    hit = client.get("/api/v1/memory/search", headers=wait, params={"q": "bank"}
                     ).json()["data"]["items"][0]
    assert hit["content"]["note"] == NOTE


def test_data_keys_are_stored_wrapped(client, user, system):
    with system.pool.get_connection() as conn:
        key = conn.execute("SELECT key FROM owner_data_keys WHERE owner_id = %s",
                           (user["user"]["id"],)).fetchone()["key"]
    assert len(key) > 32  # nonce + wrapped key + tag, not the raw AES-256 key


def test_migrate_wraps_a_raw_key_in_place_and_old_events_still_open(
        client, user, system, settings):
    store(client, user, "pin", "secret", ["bank"])  # sealed with the owner's data key
    owner = user["user"]["id"]
    with system.pool.get_connection() as conn:  # as a database from before wrapping
        wrapped = bytes(conn.execute("SELECT key FROM owner_data_keys WHERE owner_id = "
                                     "%s", (owner,)).fetchone()["key"])
        raw = system.master_key().open(wrapped, f"data-key:{owner}")
        conn.execute("UPDATE owner_data_keys SET key = %s WHERE owner_id = %s",
                     (raw, owner))
    migrate(settings)
    migrate(settings)  # idempotent: a wrapped key is left as it is
    with system.pool.get_connection() as conn:
        stored = bytes(conn.execute("SELECT key FROM owner_data_keys WHERE owner_id = %s",
                                    (owner,)).fetchone()["key"])
    assert len(stored) == 60 and raw not in stored
    assert system.master_key().open(stored, f"data-key:{owner}") == raw
    item = system.memory.repository.get(memory_id_for(owner, "pin"))
    assert system.memory.readable_content(item) == {"note": NOTE}


def test_the_idempotency_table_keeps_no_credential_in_clear(client, system):
    def keyed(path: str, key: str, headers: dict | None = None, **body) -> dict:
        response = client.post(path, json=body,
                               headers={"Idempotency-Key": key, **(headers or {})})
        assert response.status_code in (200, 201), response.text
        again = client.post(path, json=body,
                            headers={"Idempotency-Key": key, **(headers or {})})
        assert again.json() == response.json()  # the replay still answers the same
        return response.json()["data"]

    tokens = keyed("/api/v1/auth/register", "r", email="bo@example.com",
                   password="correct horse", name="Bo")
    login = keyed("/api/v1/auth/login", "l", email="bo@example.com",
                  password="correct horse")
    refreshed = keyed("/api/v1/auth/refresh", "f", refresh_token=login["refresh_token"])
    api_key = keyed("/api/v1/api-keys", "k", bearer(login["access_token"]), name="ci")
    secrets = [tokens["access_token"], tokens["refresh_token"], login["access_token"],
               login["refresh_token"], refreshed["access_token"],
               refreshed["refresh_token"], api_key["key"]]
    with system.pool.get_connection() as conn:
        rows = conn.execute("SELECT status, headers::text, body, receipts::text "
                            "FROM idempotent_responses").fetchall()
    assert len(rows) == 4 and all(row["status"] for row in rows)
    stored = " ".join(f"{row['headers']} {bytes(row['body'])!r} {row['receipts']} "
                      f"{base64.b64encode(bytes(row['body']))!r}" for row in rows)
    assert [secret for secret in secrets if secret[-24:] in stored] == []
    assert [secret for secret in secrets if secret[-24:].encode() in
            b"".join(bytes(row["body"]) for row in rows)] == []


def test_migrate_names_the_rebuild_that_seals_what_an_earlier_version_opened(
        client, user, system, settings, caplog):
    position = store(client, user, "pin", "secret", ["bank"])
    items = system.views["memory_items"]
    memory_items_applied(system, int(position.split(".")[1]))
    with system.pool.get_connection() as conn:  # as an earlier version projected it
        conn.execute("UPDATE memory_items SET content = %s WHERE key = 'pin'",
                     (Jsonb({"note": MARKER}),))
    migrate(settings)
    assert "rebuild memory_items" in caplog.text and items.opened_sensitive() == 1
    rebuild(MemoryItemsProjection, settings, show_progress=False)
    assert items.opened_sensitive() == 0 and columns_holding(system, MARKER) == []


def test_opened_content_merely_holding_the_sealed_mark_counts_as_opened(client, user,
                                                                         system):
    """Sealed content is an object with the mark as a key; an array holding the mark
    as a string is content in clear."""
    position = store(client, user, "pin", "secret", ["bank"])
    items = system.views["memory_items"]
    memory_items_applied(system, int(position.split(".")[1]))
    with system.pool.get_connection() as conn:  # as an earlier version projected it
        conn.execute("UPDATE memory_items SET content = %s WHERE key = 'pin'",
                     (Jsonb(["$sealed", MARKER]),))
    assert items.opened_sensitive() == 1
