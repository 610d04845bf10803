"""AstralBody chat history (seed 004): /sessions, /sessions/{id}/messages, DELETE."""

import pytest

from tests.api.test_chat_sessions import append, at, new_session


@pytest.fixture(autouse=True)
def projectors(workers):
    workers("chat_sessions", "session_messages")


def get(client, user, path: str, after=None, **params):
    headers = {**user["headers"], **(at(after) if after is not None else {})}
    return client.get(path, headers=headers, params=params)


def test_sessions_answer_the_seed_shape(client, user):
    session_id = new_session(client, user, title="Data analysis session")
    last = append(client, user, session_id, "hi")
    body = get(client, user, "/sessions", last).json()
    assert body["total"] == 1
    [session] = body["sessions"]
    assert set(session) == {"id", "title", "created_at", "updated_at", "message_count",
                            "is_archived"}
    assert (session["id"], session["title"], session["message_count"],
            session["is_archived"]) == (session_id, "Data analysis session", 1, False)


def test_archived_sessions_are_listed_only_when_asked_for(client, user):
    kept, archived = new_session(client, user), new_session(client, user)
    last = client.post(f"/api/v1/sessions/{archived}/archive", headers=user["headers"])
    default = get(client, user, "/sessions", last).json()
    assert [s["id"] for s in default["sessions"]] == [kept] and default["total"] == 1
    everything = get(client, user, "/sessions", last, archived="true").json()
    assert everything["total"] == 2
    assert {s["id"]: s["is_archived"] for s in everything["sessions"]}[archived] is True


def test_limit_and_offset_page_through_sessions(client, user, clock):
    for title in ("a", "b", "c"):
        last = client.post("/api/v1/sessions", headers=user["headers"], json={"title": title})
        clock.advance(seconds=1)
    body = get(client, user, "/sessions", last, limit=1, offset=1).json()
    assert ([s["title"] for s in body["sessions"]], body["total"]) == (["b"], 3)


def test_a_bad_limit_is_400_in_the_astralbody_error_shape(client, user):
    response = get(client, user, "/sessions", limit=0)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "validation_error" and error["timestamp"]
    assert error["details"]["errors"][0]["field"] == "limit"


def test_messages_answer_the_seed_shape(client, user):
    session_id = new_session(client, user)
    last = append(client, user, session_id, "Hello", components=[{"type": "text"}])
    body = get(client, user, f"/sessions/{session_id}/messages", last).json()
    assert (body["session_id"], body["has_more"]) == (session_id, False)
    [message] = body["messages"]
    assert set(message) == {"id", "role", "content", "timestamp", "components"}
    assert (message["role"], message["content"], message["components"]) == (
        "user", "Hello", [{"type": "text"}])


def test_messages_page_backwards_with_before(client, user, clock):
    session_id = new_session(client, user)
    for n in range(3):
        last = append(client, user, session_id, f"m{n}")
        clock.advance(seconds=1)
    newest = get(client, user, f"/sessions/{session_id}/messages", last, limit=2).json()
    assert [m["content"] for m in newest["messages"]] == ["m1", "m2"]
    assert newest["has_more"] is True
    older = get(client, user, f"/sessions/{session_id}/messages",
                before=newest["messages"][0]["timestamp"]).json()
    assert ([m["content"] for m in older["messages"]], older["has_more"]) == (["m0"], False)


def test_messages_of_an_unknown_session_are_404(client, user):
    response = get(client, user, "/sessions/00000000-0000-0000-0000-000000000000/messages")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_delete_answers_204_and_the_session_is_gone_everywhere(client, user):
    session_id = new_session(client, user)
    append(client, user, session_id, "hi")
    response = client.delete(f"/sessions/{session_id}", headers=user["headers"])
    assert response.status_code == 204 and response.content == b""
    assert get(client, user, "/sessions").json() == {"sessions": [], "total": 0}
    assert get(client, user, f"/sessions/{session_id}/messages").status_code == 404
    assert get(client, user, f"/api/v1/sessions/{session_id}").status_code == 404
    again = client.delete(f"/sessions/{session_id}", headers=user["headers"])
    assert again.status_code == 404
