"""A language model behind an OpenAI-compatible chat-completions endpoint, streamed."""

import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx

from arqium.domain.shared import Unavailable
from arqium.infra.settings import Settings


class ModelUnavailable(Unavailable):
    """No model is configured, or the configured one cannot be reached."""


# What an endpoint's refusal asks of whoever runs ARQIUM. The endpoint's own words stay
# out of answers, events and logs: a provider's 401 quotes the start and end of the key.
REFUSALS = {401: "check ARQIUM_LLM_API_KEY", 403: "check ARQIUM_LLM_API_KEY",
            404: "it knows no such model (ARQIUM_LLM_MODEL, or the request's modelId) "
                 "or path (ARQIUM_LLM_BASE_URL)",
            429: "it is rate-limiting or out of quota; retry later"}


def refused(status: int) -> ModelUnavailable:
    return ModelUnavailable(f"the model endpoint answered HTTP {status}: "
                            f"{REFUSALS.get(status, 'retry shortly')}")


def unreachable(error: httpx.HTTPError) -> ModelUnavailable:
    return ModelUnavailable(f"the model endpoint cannot be reached "
                            f"({type(error).__name__}): check ARQIUM_LLM_BASE_URL")


@dataclass(frozen=True)
class ChatModel:
    base_url: str
    api_key: str | None
    default_model: str
    timeout: float

    async def stream(self, messages: list[dict], model: str | None = None
                     ) -> AsyncIterator[dict]:
        """Text chunks as `{"text": ...}`, then `{"usage": tokens}` if the endpoint
        reports it."""
        body = {"model": model or self.default_model, "messages": messages, "stream": True,
                "stream_options": {"include_usage": True}}
        url = f"{self.base_url.rstrip('/')}/chat/completions"
        try:
            async with httpx.AsyncClient(timeout=self.timeout) as client:
                async with client.stream("POST", url, json=body,
                                         headers=self.headers()) as response:
                    if response.status_code != 200:
                        raise refused(response.status_code)
                    async for line in response.aiter_lines():
                        for chunk in parse_line(line):
                            yield chunk
        except httpx.HTTPError as error:  # before the answer, or cut off in the middle
            raise unreachable(error) from None

    def complete(self, messages: list[dict], model: str | None = None) -> str:
        """The model's whole reply, not streamed."""
        body = {"model": model or self.default_model, "messages": messages}
        try:
            response = httpx.post(f"{self.base_url.rstrip('/')}/chat/completions",
                                  json=body, headers=self.headers(), timeout=self.timeout)
        except httpx.HTTPError as error:
            raise unreachable(error) from None
        if response.status_code != 200:
            raise refused(response.status_code)
        try:
            return response.json()["choices"][0]["message"]["content"] or ""
        except (ValueError, KeyError, IndexError, TypeError):
            raise ModelUnavailable("the model endpoint's answer is not a chat "
                                   "completion") from None

    def reachable(self, timeout: float) -> bool:
        """Whether the endpoint lists its models (GET /models answers 200)."""
        try:
            response = httpx.get(f"{self.base_url.rstrip('/')}/models",
                                 headers=self.headers(), timeout=timeout)
        except httpx.HTTPError:
            return False
        return response.status_code == 200

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}


def parse_line(line: str) -> list[dict]:
    """What one server-sent line of a chat-completions stream carries."""
    if not line.startswith("data:") or line[5:].strip() == "[DONE]":
        return []
    payload = json.loads(line[5:])
    chunks = [{"text": choice["delta"]["content"]} for choice in payload.get("choices", [])
              if (choice.get("delta") or {}).get("content")]
    if payload.get("usage"):
        chunks.append({"usage": payload["usage"].get("total_tokens")})
    return chunks


def chat_model(settings: Settings) -> ChatModel:
    """The configured model; ModelUnavailable when there is none."""
    if not settings.llm_base_url:
        raise ModelUnavailable(
            "no language model is configured: set ARQIUM_LLM_BASE_URL to an OpenAI-"
            "compatible endpoint (and ARQIUM_LLM_API_KEY, ARQIUM_LLM_MODEL)")
    api_key = settings.llm_api_key.get_secret_value() if settings.llm_api_key else None
    return ChatModel(settings.llm_base_url, api_key, settings.llm_model,
                     settings.llm_timeout_seconds)


class ModelProbe:
    """Whether the configured model answers, asked at most once per `ttl` seconds per
    endpoint (agents' statuses are listed far more often than models go down)."""

    def __init__(self, ttl: float = 30.0, timeout: float = 2.0):
        self.ttl, self.timeout = ttl, timeout
        self.checked: dict[str, tuple[float, bool]] = {}

    def online(self, settings: Settings) -> bool:
        if not settings.llm_base_url:
            return False
        checked_at, answered = self.checked.get(settings.llm_base_url, (-self.ttl, False))
        if time.monotonic() - checked_at >= self.ttl:
            answered = chat_model(settings).reachable(self.timeout)
            self.checked[settings.llm_base_url] = (time.monotonic(), answered)
        return answered
