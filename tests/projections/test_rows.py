"""A batch's rows go to PostgreSQL as JSON documents of arrays, read back by position:
every value as the column's type, JSON null as SQL NULL, and a batch too large for one
document in several, none of its rows lost or reordered."""

import json
from datetime import UTC, datetime
from uuid import uuid4

import psycopg
from psycopg.rows import dict_row

from arqium.projections import rows as rows_module
from arqium.projections.rows import Rows

SHAPE = Rows(("id", "uuid"), ("name", "text"), ("at", "timestamptz"), ("n", "bigint"),
             ("share", "double precision"), ("doc", "jsonb"), ("flag", "boolean"))


def read_back(settings, shape: Rows, rows: list[dict]) -> list[dict]:
    """The rows as the statements' FROM item gives them, document by document."""
    with psycopg.connect(settings.database_url, row_factory=dict_row) as conn:
        return [row for document in shape.documents(rows)
                for row in conn.execute(f"SELECT *, doc IS NULL AS no_doc, "
                                        f"name IS NULL AS no_name FROM {shape.relation} "
                                        f"AS new", {"rows": document}).fetchall()]


def test_each_value_is_read_back_as_its_columns_type(settings):
    row = {"id": str(uuid4()), "name": 'quote " back\\slash\ttab naïve 中文 \U0001F600',
           "at": "2026-12-04T10:11:12.123456+00:00", "n": 2**63 - 1, "share": 1e-07,
           "doc": {"list": [1, 2.5, None, "x"], "deep": {"k": True}}, "flag": False}
    [back] = read_back(settings, SHAPE, [row])
    assert str(back["id"]) == row["id"] and back["name"] == row["name"]
    assert back["at"] == datetime(2026, 12, 4, 10, 11, 12, 123456, tzinfo=UTC)
    assert (back["n"], back["share"], back["flag"]) == (2**63 - 1, 1e-07, False)
    assert back["doc"] == row["doc"]


def test_a_json_null_is_sql_null_in_every_column(settings):
    row = dict.fromkeys(("id", "name", "at", "n", "share", "doc", "flag"))
    [back] = read_back(settings, SHAPE, [row])
    assert back["no_doc"] and back["no_name"]  # not the jsonb value null, not 'null'
    assert set(back.values()) == {None, True}


def test_text_that_postgres_cannot_hold_is_made_storable(settings):
    row = {"id": str(uuid4()), "name": "a\u0000b\ud800c", "at": None, "n": None,
           "share": None, "doc": {"k\u0000": "v\u0000"}, "flag": None}
    [back] = read_back(settings, SHAPE, [row])
    assert back["name"] == "ab\ufffdc" and back["doc"] == {"k": "v"}


def test_rows_beyond_one_document_go_in_several_in_order(settings, monkeypatch):
    monkeypatch.setattr(rows_module, "MAX_DOCUMENT_CHARS", 1000)
    rows = [{"id": str(uuid4()), "name": "x" * size, "at": None, "n": number,
             "share": None, "doc": None, "flag": None}
            for number, size in enumerate([10] * 30 + [5000] + [300] * 7)]
    documents = SHAPE.documents(rows)
    assert len(documents) > 3
    # Each within the limit, but for a row over it, which goes alone.
    assert all(len(document) <= 1000 or len(json.loads(document)) == 1
               for document in documents)
    assert [row["n"] for row in read_back(settings, SHAPE, rows)] == list(range(38))


def test_a_batch_of_small_rows_is_one_document(settings):
    rows = [{"id": str(uuid4()), "name": f"row {number}", "at": None, "n": number,
             "share": 0.5, "doc": {"n": number}, "flag": True} for number in range(300)]
    [document] = SHAPE.documents(rows)
    assert [row["n"] for row in read_back(settings, SHAPE, rows)] == list(range(300))
    assert json.loads(document)[299][5] == {"n": 299}


def test_no_rows_send_no_statement():
    assert SHAPE.documents([]) == []
