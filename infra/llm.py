"""A language model behind an OpenAI-compatible chat-completions endpoint, streamed."""

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx

from arqium.domain.shared import Unavailable


class ModelUnavailable(Unavailable):
    """No model is configured, or the configured one cannot be reached."""


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
        headers = {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}
        async with httpx.AsyncClient(timeout=self.timeout) as client:
            async with client.stream("POST", f"{self.base_url.rstrip('/')}/chat/completions",
                                     json=body, headers=headers) as response:
                if response.status_code != 200:
                    await response.aread()
                    raise ModelUnavailable(f"the model endpoint answered "
                                           f"{response.status_code}: {response.text[:200]}")
                async for line in response.aiter_lines():
                    for chunk in parse_line(line):
                        yield chunk


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
