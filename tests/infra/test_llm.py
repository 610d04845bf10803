"""The language model endpoint's failures, as ARQIUM reports them: what to check, never
the endpoint's own words (a provider's 401 quotes the start and end of the key)."""

import asyncio
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from arqium.infra.embedded import free_port
from arqium.infra.llm import ChatModel, ModelUnavailable

LEAKY = b'{"error": {"message": "Incorrect API key provided: sk-proj-abc***wxyz."}}'


@pytest.fixture
def refusing():
    """An endpoint answering every request 401 with a body quoting the key."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers["Content-Length"]))
            self.send_response(401)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(LEAKY)))
            self.end_headers()
            self.wfile.write(LEAKY)

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    server.shutdown()


def model(url: str) -> ChatModel:
    return ChatModel(url, "sk-proj-abcdefghijklmnopqrstuvwxyz", "gpt-test", timeout=5)


def streamed(chat: ChatModel) -> list[dict]:
    async def read() -> list[dict]:
        return [chunk async for chunk in chat.stream([{"role": "user", "content": "hi"}])]
    return asyncio.run(read())


def test_a_refusal_says_what_to_check_and_not_what_the_endpoint_said(refusing):
    for call in (lambda: model(refusing).complete([{"role": "user", "content": "hi"}]),
                 lambda: streamed(model(refusing))):
        with pytest.raises(ModelUnavailable) as refused:
            call()
        assert refused.value.message == (
            "the model endpoint answered HTTP 401: check ARQIUM_LLM_API_KEY")


def test_an_endpoint_out_of_reach_names_the_setting_not_its_address():
    url = f"http://127.0.0.1:{free_port()}/v1"  # nobody there
    for call in (lambda: model(url).complete([{"role": "user", "content": "hi"}]),
                 lambda: streamed(model(url))):
        with pytest.raises(ModelUnavailable) as unreachable:
            call()
        assert unreachable.value.message.endswith("check ARQIUM_LLM_BASE_URL")
        assert "127.0.0.1" not in unreachable.value.message
