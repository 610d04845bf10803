"""The two clients: the same resources and decisions (the Core), moved by httpx's sync
or async transport."""

import asyncio
import contextlib
import json
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any, Self

import httpx

from arqium_client import _websocket as ws
from arqium_client import resources
from arqium_client._core import Call, Core, RetryPolicy, unavailable
from arqium_client.errors import ArqiumError, AuthFailed


class _Resources:
    def _attach(self) -> None:
        self.auth = resources.Auth(self)
        self.users = resources.Users(self)
        self.memory = resources.Memory(self)
        self.contexts = resources.Contexts(self)
        self.ledger = resources.Ledger(self)
        self.sessions = resources.Sessions(self)
        self.api_keys = resources.ApiKeys(self)
        self.analytics = resources.Analytics(self)
        self.plugins = resources.Plugins(self)

    def chat(self, content: str | list[dict[str, str]], *, chat_id: str | None = None,
             model_id: str | None = None) -> Any:
        """A model's reply as it streams, in text chunks (CEREBRO's /api/chat), with your
        memories in its prompt. `content` is your message, or the whole list of
        `{role, content}` messages; give the same `chat_id` to continue a chat."""
        messages = [{"role": "user", "content": content}] if isinstance(content, str) \
            else content
        body = {"id": chat_id or str(uuid.uuid4()), "messages": messages, "modelId": model_id}
        return self._lines(Call("POST", "/api/chat", model="sse", body={
            k: v for k, v in body.items() if v is not None}))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._core.base_url!r}, {self._core.credentials!r})"


class Arqium(_Resources):
    """ARQIUM over HTTP: `Arqium(url, api_key=...)` or `Arqium(url, email=..., password=...)`.

    Reads see the client's own writes, commands are retried safely (one Idempotency-Key
    per command), and a login's access token is renewed before it runs out."""

    def __init__(self, base_url: str, *, api_key: str | None = None, email: str | None = None,
                 password: str | None = None, timeout: float = 30.0,
                 retry: RetryPolicy | None = None, http: httpx.Client | None = None):
        self._core = Core(base_url, api_key=api_key, email=email, password=password,
                          retry=retry)
        self._http = http or httpx.Client(timeout=timeout)
        self._attach()

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _do(self, call: Call) -> Any:
        return self._core.parse(call, self._send(call))

    def _pages(self, call: Call, per_page: int) -> Iterator[Any]:
        page_number = 1
        while True:
            page = self._do(call.at_page(page_number, per_page))
            yield from page.items
            if not page.followed_by_another(per_page):
                return
            page_number += 1

    def _lines(self, call: Call) -> Iterator[Any]:
        """Records streamed one per line (the token renewed once if refused)."""
        for renewed in (False, True):
            self._fresh_token(call)
            # No Idempotency-Key and no retry: a stream is not resumed, and a retried
            # chat would be a second chat.
            response = self._http.send(self._core.build(call, None), stream=True)
            try:
                if response.status_code >= 400:
                    response.read()
                    if not renewed and self._core.should_renew(call, response):
                        self._renew()
                        continue
                    self._core.parse(call, response)  # raises the server's error
                reader = self._core.reader(call)
                for line in response.iter_lines():
                    yield from reader.feed(line)
                yield from reader.feed("")
                return
            finally:
                response.close()

    def _socket(self, path: str) -> Iterator[dict]:
        """The JSON messages of a WebSocket, until the server closes it."""
        call = Call("GET", path)
        self._fresh_token(call)
        request = self._core.build(call, None)
        request.headers.update(ws.handshake_headers())
        response = self._http.send(request, stream=True)
        try:
            if response.status_code != 101:
                response.read()
                self._core.parse(call, response)  # raises the server's refusal
                raise ArqiumError("the server did not open a WebSocket",
                                  status=response.status_code)
            stream, reader = response.extensions["network_stream"], ws.FrameReader()
            while data := stream.read(65536):
                for opcode, payload in reader.feed(data):
                    if opcode == ws.TEXT:
                        yield json.loads(payload)
                    elif opcode == ws.PING:
                        stream.write(ws.client_frame(ws.PONG, payload))
                    elif opcode == ws.CLOSE:
                        return
        finally:
            with contextlib.suppress(Exception):
                response.extensions["network_stream"].write(ws.client_frame(ws.CLOSE))
            response.close()

    def _fresh_token(self, call: Call) -> None:
        core = self._core
        if call.auth and (core.needs_login() or core.needs_refresh()):
            self._renew()

    def _renew(self) -> None:
        renewal = self._core.renewal()
        try:
            self._do(renewal)
        except AuthFailed:
            if renewal.path.endswith("/login") or not self._core.credentials.password:
                raise
            self._core.forget_tokens()  # the refresh token ended: log in afresh
            self._do(self._core.login_call())

    def _send(self, call: Call) -> httpx.Response:
        """The answer to `call`, after the retries and at most one renewal of the token."""
        self._fresh_token(call)
        key = self._core.idempotency_key(call)
        attempt, renewed = 0, False
        while True:
            try:
                response = self._http.send(self._core.build(call, key))
            except httpx.TransportError as error:
                delay = self._core.retry_delay(call, attempt, None)
                if delay is None:
                    raise unavailable(error) from error
            else:
                if not renewed and self._core.should_renew(call, response):
                    self._renew()
                    renewed = True
                    continue
                delay = self._core.retry_delay(call, attempt, response)
                if delay is None:
                    return response
                key = self._core.key_for_retry(call, key, response)
            time.sleep(delay)
            attempt += 1


class AsyncArqium(_Resources):
    """The same client for asyncio: every method is awaited, lists are async iterators."""

    def __init__(self, base_url: str, *, api_key: str | None = None, email: str | None = None,
                 password: str | None = None, timeout: float = 30.0,
                 retry: RetryPolicy | None = None, http: httpx.AsyncClient | None = None):
        self._core = Core(base_url, api_key=api_key, email=email, password=password,
                          retry=retry)
        self._http = http or httpx.AsyncClient(timeout=timeout)
        self._attach()

    async def close(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def _do(self, call: Call) -> Any:
        return self._core.parse(call, await self._send(call))

    async def _pages(self, call: Call, per_page: int) -> AsyncIterator[Any]:
        page_number = 1
        while True:
            page = await self._do(call.at_page(page_number, per_page))
            for item in page.items:
                yield item
            if not page.followed_by_another(per_page):
                return
            page_number += 1

    async def _lines(self, call: Call) -> AsyncIterator[Any]:
        for renewed in (False, True):
            await self._fresh_token(call)
            response = await self._http.send(self._core.build(call, None), stream=True)
            try:
                if response.status_code >= 400:
                    await response.aread()
                    if not renewed and self._core.should_renew(call, response):
                        await self._renew()
                        continue
                    self._core.parse(call, response)
                reader = self._core.reader(call)
                async for line in response.aiter_lines():
                    for item in reader.feed(line):
                        yield item
                for item in reader.feed(""):
                    yield item
                return
            finally:
                await response.aclose()

    async def _socket(self, path: str) -> AsyncIterator[dict]:
        call = Call("GET", path)
        await self._fresh_token(call)
        request = self._core.build(call, None)
        request.headers.update(ws.handshake_headers())
        response = await self._http.send(request, stream=True)
        try:
            if response.status_code != 101:
                await response.aread()
                self._core.parse(call, response)
                raise ArqiumError("the server did not open a WebSocket",
                                  status=response.status_code)
            stream, reader = response.extensions["network_stream"], ws.FrameReader()
            while data := await stream.read(65536):
                for opcode, payload in reader.feed(data):
                    if opcode == ws.TEXT:
                        yield json.loads(payload)
                    elif opcode == ws.PING:
                        await stream.write(ws.client_frame(ws.PONG, payload))
                    elif opcode == ws.CLOSE:
                        return
        finally:
            with contextlib.suppress(Exception):
                await response.extensions["network_stream"].write(ws.client_frame(ws.CLOSE))
            await response.aclose()

    async def _fresh_token(self, call: Call) -> None:
        core = self._core
        if call.auth and (core.needs_login() or core.needs_refresh()):
            await self._renew()

    async def _renew(self) -> None:
        renewal = self._core.renewal()
        try:
            await self._do(renewal)
        except AuthFailed:
            if renewal.path.endswith("/login") or not self._core.credentials.password:
                raise
            self._core.forget_tokens()
            await self._do(self._core.login_call())

    async def _send(self, call: Call) -> httpx.Response:
        await self._fresh_token(call)
        key = self._core.idempotency_key(call)
        attempt, renewed = 0, False
        while True:
            try:
                response = await self._http.send(self._core.build(call, key))
            except httpx.TransportError as error:
                delay = self._core.retry_delay(call, attempt, None)
                if delay is None:
                    raise unavailable(error) from error
            else:
                if not renewed and self._core.should_renew(call, response):
                    await self._renew()
                    renewed = True
                    continue
                delay = self._core.retry_delay(call, attempt, response)
                if delay is None:
                    return response
                key = self._core.key_for_retry(call, key, response)
            await asyncio.sleep(delay)
            attempt += 1
