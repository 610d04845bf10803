"""The client without I/O: what to send (headers, idempotency keys, positions, tokens),
what an answer means (typed data or an exception) and whether to try again. The sync and
async clients only move bytes."""

import json
import random
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from email.utils import parsedate_to_datetime
from typing import Any

import httpx
from pydantic import TypeAdapter

from arqium_client.errors import ArqiumError, Unavailable, error_for
from arqium_client.models import Login, TokenPair

POSITION_HEADER = "X-Event-Position"
MIN_POSITION_HEADER = "X-Min-Position"
COMMANDS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
RETRIED_STATUSES = frozenset({429, 503})


@dataclass(frozen=True)
class Call:
    """One request to the server and how to read its answer."""

    method: str
    path: str
    params: dict[str, Any] | None = None
    body: Any = None
    model: Any = None  # the type of the answer's `data` (or of each item of a list)
    app: str | None = None  # the application whose writes a read must see
    auth: bool = True
    bare: str | None = None  # a CEREBRO route: the body's key holding the answer
    listed: bool = False  # `data.items`, paged by `meta.pagination`
    then: Callable[[Any], Any] | None = None  # what the client does with the answer

    @property
    def is_command(self) -> bool:
        return self.method in COMMANDS

    def at_page(self, page: int, per_page: int) -> "Call":
        return replace(self, params={**(self.params or {}), "page": page,
                                     "per_page": per_page})


@dataclass
class Page:
    items: list[Any]
    pagination: dict[str, Any] | None

    def followed_by_another(self, per_page: int) -> bool:
        """Whether a next page may hold more (no `meta.pagination`: the list was whole)."""
        if not self.pagination or not self.items:
            return False
        page = self.pagination.get("page", 1)
        total = self.pagination.get("total")
        size = self.pagination.get("per_page", per_page)
        return total is None or page * size < total


@dataclass
class RetryPolicy:
    """Connection errors, 503 and 429 (and a 409 for a command whose first attempt still
    runs) are tried again, with exponential backoff and jitter, honouring Retry-After."""

    attempts: int = 5
    first_delay: float = 0.2
    max_delay: float = 10.0

    def delay(self, attempt: int, retry_after: float | None) -> float | None:
        """Seconds to wait before attempt number `attempt + 1`, or None: give up."""
        if attempt + 1 >= self.attempts:
            return None
        if retry_after is not None:
            return min(retry_after, self.max_delay)
        backoff = min(self.first_delay * 2 ** attempt, self.max_delay)
        return backoff / 2 + random.uniform(0, backoff / 2)


class _Secret(str):
    """A credential: never shown by repr()."""

    def __repr__(self) -> str:
        return "'***'"


@dataclass
class Credentials:
    """What the client authenticates with; repr() shows none of it."""

    api_key: _Secret | None = None
    email: str | None = None
    password: _Secret | None = field(default=None, repr=False)
    access_token: _Secret | None = field(default=None, repr=False)
    refresh_token: _Secret | None = field(default=None, repr=False)
    expires_at: float = 0.0  # time.monotonic() when the access token runs out

    def __repr__(self) -> str:
        kind = "api_key" if self.api_key else "login" if self.email else "anonymous"
        return f"Credentials({kind})"


class Core:
    """The state a client keeps between requests, and every decision about them."""

    def __init__(self, base_url: str, *, api_key: str | None = None,
                 email: str | None = None, password: str | None = None,
                 retry: RetryPolicy | None = None, refresh_margin: float = 30.0,
                 clock: Callable[[], float] = time.monotonic):
        if api_key and (email or password):
            raise ValueError("give an api_key, or an email and a password, not both")
        if bool(email) != bool(password):
            raise ValueError("give both email and password")
        self.base_url = base_url.rstrip("/")
        self.credentials = Credentials(api_key=_Secret(api_key) if api_key else None,
                                       email=email,
                                       password=_Secret(password) if password else None)
        self.retry = retry or RetryPolicy()
        self.refresh_margin = refresh_margin
        self.clock = clock
        self.positions: dict[str, int] = {}

    # -- tokens --------------------------------------------------------------------
    def needs_login(self) -> bool:
        return bool(self.credentials.email and self.credentials.password
                    and not self.credentials.access_token)

    def needs_refresh(self) -> bool:
        """A token about to run out is renewed before it is sent: a fifth of its
        lifetime (at most refresh_margin seconds) before the end."""
        return bool(self.credentials.refresh_token) and self.clock() >= (
            self.credentials.expires_at)

    def can_refresh(self) -> bool:
        return bool(self.credentials.refresh_token or self.credentials.password)

    def keep_tokens(self, tokens: TokenPair) -> TokenPair:
        lifetime = tokens.expires_in
        margin = min(self.refresh_margin, lifetime / 5)
        self.credentials.access_token = _Secret(tokens.access_token)
        self.credentials.refresh_token = _Secret(tokens.refresh_token)
        self.credentials.expires_at = self.clock() + lifetime - margin
        return tokens

    def forget_tokens(self, answer: Any = None) -> Any:
        self.credentials.access_token = self.credentials.refresh_token = None
        self.credentials.expires_at = 0.0
        return answer

    def login_call(self) -> Call:
        return Call("POST", "/api/v1/auth/login", auth=False, model=Login,
                    body={"email": self.credentials.email,
                          "password": str(self.credentials.password)},
                    then=self.keep_tokens)

    def refresh_call(self) -> Call:
        return Call("POST", "/api/v1/auth/refresh", auth=False, model=TokenPair,
                    body={"refresh_token": str(self.credentials.refresh_token)},
                    then=self.keep_tokens)

    def renewal(self) -> Call | None:
        """The call that renews the access token: refresh it, else log in again."""
        if self.credentials.refresh_token:
            return self.refresh_call()
        if self.credentials.password:
            return self.login_call()
        return None

    # -- requests ------------------------------------------------------------------
    @staticmethod
    def idempotency_key(call: Call) -> str | None:
        return str(uuid.uuid4()) if call.is_command else None

    def build(self, call: Call, idempotency_key: str | None) -> httpx.Request:
        headers = {"Accept": "application/json"}
        if call.auth:
            headers.update(self._auth_headers())
        if idempotency_key:
            headers["Idempotency-Key"] = idempotency_key
        if not call.is_command and call.app in self.positions:
            headers[MIN_POSITION_HEADER] = f"{call.app}.{self.positions[call.app]}"
        content = None
        if call.body is not None:
            content = json.dumps(call.body).encode()
            headers["Content-Type"] = "application/json"
        return httpx.Request(call.method, self.base_url + call.path, headers=headers,
                             params=_query(call.params), content=content)

    def _auth_headers(self) -> dict[str, str]:
        if self.credentials.api_key:
            return {"X-API-Key": str(self.credentials.api_key)}
        if self.credentials.access_token:
            return {"Authorization": f"Bearer {self.credentials.access_token}"}
        return {}

    # -- answers -------------------------------------------------------------------
    def retry_delay(self, call: Call, attempt: int, response: httpx.Response | None
                    ) -> float | None:
        """Seconds to wait before trying `call` again, or None: do not."""
        if response is None:
            return self.retry.delay(attempt, None)
        status = response.status_code
        still_running = status == 409 and call.is_command and "Retry-After" in response.headers
        if status in RETRIED_STATUSES or still_running:
            return self.retry.delay(attempt, retry_after(response))
        return None

    @staticmethod
    def key_for_retry(call: Call, key: str | None, response: httpx.Response | None
                      ) -> str | None:
        """The same key, so a command whose answer was lost is answered again rather
        than run twice; but a new one after a 429: the limit refused the command before
        it ran (and servers before 2026-12 kept that refusal as the key's answer)."""
        if key and response is not None and response.status_code == 429:
            return str(uuid.uuid4())
        return key

    def should_renew(self, call: Call, response: httpx.Response) -> bool:
        return response.status_code == 401 and call.auth and self.can_refresh() and not (
            self.credentials.api_key)

    def record_position(self, response: httpx.Response) -> None:
        """Keep the highest position seen of each application (the header may name one,
        or several separated by commas)."""
        for token in response.headers.get(POSITION_HEADER, "").split(","):
            application, _, number = token.strip().replace(":", ".").rpartition(".")
            if application and number.isdigit():
                self.positions[application] = max(int(number),
                                                  self.positions.get(application, 0))

    def parse(self, call: Call, response: httpx.Response) -> Any:
        """The answer's typed data (a Page for a listed call), or the server's error."""
        if response.status_code >= 400:
            raise error_from(response)
        self.record_position(response)
        body = response.json() if response.content else None
        if call.bare is not None:
            answer = _typed(call.model, body[call.bare] if call.bare else body)
        elif call.listed:
            items = TypeAdapter(list[call.model]).validate_python(body["data"]["items"])
            answer = Page(items, (body.get("meta") or {}).get("pagination"))
        else:
            answer = _typed(call.model, body["data"])
        return call.then(answer) if call.then else answer

    def reader(self, call: Call) -> "LineReader":
        """What turns a streamed answer's lines into records (NDJSON) or text (SSE)."""
        return ServerSentText() if call.model == "sse" else JsonLines(call.model)


class JsonLines:
    """NDJSON: one typed record per non-empty line."""

    def __init__(self, model: Any):
        self.model = model

    def feed(self, line: str) -> list[Any]:
        return [_typed(self.model, json.loads(line))] if line.strip() else []


class ServerSentText:
    """CEREBRO's chat stream: the text of each `message` event; an `error` event raises."""

    def __init__(self) -> None:
        self.event, self.data = "message", ""

    def feed(self, line: str) -> list[str]:
        if line.startswith("event:"):
            self.event = line[6:].strip()
        elif line.startswith("data:"):
            self.data += line[5:].strip()
        elif not line.strip() and self.data:
            event, data = self.event, json.loads(self.data)
            self.event, self.data = "message", ""
            if event == "error":
                raise ArqiumError(data.get("message", "the chat failed"), code="CHAT_ERROR",
                                  status=200)
            if event == "message" and data.get("type") == "text":
                return [data["content"]]
        return []


LineReader = JsonLines | ServerSentText


def _typed(model: Any, data: Any) -> Any:
    return data if model is None else TypeAdapter(model).validate_python(data)


def _query(params: dict[str, Any] | None) -> dict[str, Any] | None:
    """Query parameters without the unset ones."""
    return None if params is None else {
        name: value for name, value in params.items() if value is not None}


def retry_after(response: httpx.Response) -> float | None:
    """Retry-After in seconds (it may be a number of seconds or an HTTP date)."""
    value = response.headers.get("Retry-After")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        try:
            return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
        except (TypeError, ValueError):
            return None


def error_from(response: httpx.Response) -> ArqiumError:
    """The exception for an error answer, in ARQIUM's envelope or a bare face's shape."""
    try:
        body = response.json()
    except ValueError:
        body = {}
    body = body if isinstance(body, dict) else {}
    error = body.get("error")
    if isinstance(error, dict):
        code, message, details = error.get("code"), error.get("message"), error.get("details")
    else:  # CEREBRO: {error: CODE, message, details}
        code, message, details = error, body.get("message"), body.get("details")
    request_id = (body.get("meta") or {}).get("request_id") or response.headers.get(
        "X-Request-ID")
    details = details if isinstance(details, dict) else {}
    if response.status_code == 429 and "retry_after_seconds" not in details:
        details = {**details, "retry_after_seconds": retry_after(response)}
    return error_for(response.status_code)(
        message or response.reason_phrase or "request failed",
        code=code or f"HTTP_{response.status_code}", status=response.status_code,
        details=details, request_id=request_id)


def unavailable(error: Exception) -> ArqiumError:
    """No answer at all, once the retries ran out."""
    return Unavailable(f"no answer from the server: {error}", code="SERVICE_UNAVAILABLE")


__all__ = ["Call", "Core", "Page", "RetryPolicy"]
