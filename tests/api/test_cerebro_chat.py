"""CEREBRO's chat: SSE replies from an OpenAI-compatible model (a small streaming server
on loopback stands in for it: nothing can run a model here), stored in the chat's
session, with the user's memories in the prompt; and the chat history."""

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from uuid import UUID

import pytest

from arqium.domain.sessions.domainmodel import session_id_for
from tests.conftest import eventually

CHUNKS = ["Hello", "!", " I'm", " fine."]


class FakeModel:
    """An OpenAI-compatible chat-completions endpoint streaming CHUNKS."""

    def __init__(self, pause: float = 0.0):
        self.requests: list[dict] = []
        self.pause = pause
        model = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers["Content-Length"])
                model.requests.append(json.loads(self.rfile.read(length)))
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.end_headers()
                try:
                    for text in CHUNKS:
                        self.write({"choices": [{"delta": {"content": text}}]})
                        time.sleep(model.pause)
                    self.write({"choices": [], "usage": {"total_tokens": 42}})
                    self.wfile.write(b"data: [DONE]\n\n")
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def write(self, payload: dict) -> None:
                self.wfile.write(f"data: {json.dumps(payload)}\n\n".encode())
                self.wfile.flush()

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    def close(self) -> None:
        self.server.shutdown()


@pytest.fixture
def model(settings):
    fake = FakeModel()
    settings.llm_base_url = fake.url
    yield fake
    fake.close()


def events(text: str) -> list[tuple[str, dict]]:
    out = []
    for block in text.strip().split("\n\n"):
        lines = dict(line.split(": ", 1) for line in block.splitlines())
        out.append((lines["event"], json.loads(lines["data"])))
    return out


def chat(client, user, chat_id="chat-1", content="Hello, how are you?", **extra):
    return client.post("/api/chat", headers={**user["headers"], **extra}, json={
        "id": chat_id, "messages": [{"role": "user", "content": content}],
        "modelId": "gpt-4-turbo"})


def test_a_chat_streams_the_seeds_events_and_stores_both_messages(model, client, user,
                                                                  system, workers):
    workers("chat_sessions", "session_messages")
    response = chat(client, user)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    received = events(response.text)
    assert received == [*[("message", {"type": "text", "content": c}) for c in CHUNKS],
                        ("done", {"usage": {"tokens": 42}, "chatId": "chat-1"})]
    assert response.headers["X-Chat-Id"] == "chat-1"
    assert model.requests[0]["model"] == "gpt-4-turbo" and model.requests[0]["stream"]
    session = system.sessions.owned_session(user["user"]["id"],
                                            session_id_for(user["user"]["id"], "chat-1"))
    assert [(m["role"], m["content"], m["incomplete"]) for m in session.active_messages()] == [
        ("user", "Hello, how are you?", False), ("assistant", "".join(CHUNKS), False)]


def test_a_chat_without_an_id_starts_a_new_chat_and_says_which(model, client, user,
                                                               system, workers):
    workers("memory_items", "chat_sessions", "session_messages")
    response = client.post("/api/chat", headers=user["headers"], json={
        "messages": [{"role": "user", "content": "Hello, how are you?"}]})
    assert response.status_code == 200
    chat_id = response.headers["X-Chat-Id"]
    assert events(response.text)[-1] == ("done", {"usage": {"tokens": 42},
                                                  "chatId": chat_id})
    chat(client, user, chat_id=chat_id, content="And tomorrow?")
    session = system.sessions.owned_session(user["user"]["id"], UUID(chat_id))
    assert [m["content"] for m in session.active_messages()] == [
        "Hello, how are you?", "".join(CHUNKS), "And tomorrow?", "".join(CHUNKS)]


def test_two_chats_without_an_id_are_two_chats(model, client, user, workers):
    workers("memory_items", "chat_sessions", "session_messages")
    ids = {client.post("/api/chat", headers=user["headers"], json={
        "messages": [{"role": "user", "content": "Hi"}]}).headers["X-Chat-Id"]
        for _ in range(2)}
    assert len(ids) == 2


def test_the_chat_shows_up_in_every_history(model, client, user, system, workers):
    workers("chat_sessions", "session_messages")
    chat(client, user)
    position = f"sessions.{system.sessions.recorder.max_notification_id()}"
    headers = {**user["headers"], "X-Min-Position": position}
    history = client.get("/api/history", headers=headers).json()
    [listed] = history["chats"]
    assert (listed["messageCount"], listed["visibility"], history["total"],
            history["hasMore"]) == (2, "private", 1, False)
    assert {"id", "title", "createdAt"} <= set(listed)
    native = client.get("/api/v1/sessions", headers=headers).json()["data"]["items"]
    astral = client.get("/sessions", headers=headers).json()["sessions"]
    assert [s["id"] for s in native] == [s["id"] for s in astral] == [listed["id"]]


def test_the_prompt_holds_the_session_thread_and_the_users_memories(model, client, user,
                                                                   workers):
    workers("memory_items", "chat_sessions", "session_messages")
    stored = client.post("/api/memory/upsert", headers=user["headers"], json={
        "key": "editor", "content": {"theme": "dark"}, "layer": "permanent"})
    chat(client, user, **{"X-Min-Position": stored.headers["X-Event-Position"]})
    chat(client, user, content="And tomorrow?")
    first, second = model.requests
    assert first["messages"][0]["role"] == "system"
    assert 'editor: {"theme": "dark"}' in first["messages"][0]["content"]
    assert [m["content"] for m in second["messages"][1:]] == [
        "Hello, how are you?", "".join(CHUNKS), "And tomorrow?"]


def test_without_a_model_the_chat_is_a_503_that_says_how_to_fix_it(client, user):
    response = chat(client, user)
    assert response.status_code == 503
    assert response.json()["error"] == "service_unavailable"
    assert "ARQIUM_LLM_BASE_URL" in response.json()["message"]


@pytest.mark.parametrize("messages", [
    [], [{"role": "assistant", "content": "hi"}], [{"role": "robot", "content": "hi"}],
    [{"role": "user"}]])
def test_a_bad_chat_request_is_a_400(model, client, user, messages):
    response = client.post("/api/chat", headers=user["headers"],
                           json={"id": "c", "messages": messages})
    assert response.status_code == 400
    assert response.json()["error"] == "validation_error"


def test_history_limit_is_at_most_100(client, user):
    assert client.get("/api/history", params={"limit": 101},
                      headers=user["headers"]).status_code == 400


def test_a_reply_cut_short_by_the_client_is_stored_incomplete(model, client, user, system):
    model.pause = 0.3
    with client.stream("POST", "/api/chat", headers=user["headers"], json={
            "id": "chat-2", "messages": [{"role": "user", "content": "Tell me a story"}]}
                       ) as response:
        next(response.iter_lines())  # the first event arrives; then the client leaves
    session_id = session_id_for(user["user"]["id"], "chat-2")

    def thread() -> list[dict]:
        owned = system.sessions.owned_session(user["user"]["id"], session_id)
        return owned.active_messages()
    assert eventually(lambda: len(thread()) == 2, every=0.1), thread()
    reply = thread()[-1]
    assert reply["role"] == "assistant" and reply["incomplete"] is True
    assert reply["content"] and reply["content"] != "".join(CHUNKS)


def test_a_chat_sent_with_an_idempotency_key_streams_whole_and_is_replayed(model, client,
                                                                          user):
    key = {"Idempotency-Key": "chat-key-1"}
    first = chat(client, user, **key)
    assert [name for name, _ in events(first.text)][-1] == "done"
    again = chat(client, user, **key)
    assert again.text == first.text and again.headers["Idempotent-Replayed"] == "true"
    assert len(model.requests) == 1  # the model was asked once
