"""ARQIUM's resources, written once: each method describes its call; the client it
belongs to (sync or async) runs it, so the same method returns an answer or an
awaitable, an iterator or an async iterator."""

from __future__ import annotations  # methods named `list` shadow the builtin in annotations

from datetime import datetime
from typing import Any, Literal

from arqium_client import models as m
from arqium_client._core import Call

Layer = Literal["context", "temporary", "permanent"]
Mode = Literal["hybrid", "semantic", "keyword"]


def _when(moment: datetime | str | None) -> str | None:
    return moment.isoformat() if isinstance(moment, datetime) else moment


class Resource:
    def __init__(self, client: Any):
        self._client = client

    def _do(self, call: Call) -> Any:
        return self._client._do(call)

    def _pages(self, call: Call, per_page: int) -> Any:
        return self._client._pages(call, per_page)


class Auth(Resource):
    """Register, log in and out: the client keeps the tokens and renews them itself."""

    def register(self, email: str, password: str, name: str) -> m.Login:
        core = self._client._core
        return self._do(Call("POST", "/api/v1/auth/register", auth=False, model=m.Login,
                             body={"email": email, "password": password, "name": name},
                             then=core.keep_tokens))

    def login(self, email: str, password: str) -> m.Login:
        core = self._client._core
        return self._do(Call("POST", "/api/v1/auth/login", auth=False, model=m.Login,
                             body={"email": email, "password": password},
                             then=core.keep_tokens))

    def logout(self) -> m.LoggedOut:
        return self._do(Call("POST", "/api/v1/auth/logout", model=m.LoggedOut,
                             then=self._client._core.forget_tokens))


class Users(Resource):
    def profile(self) -> m.Profile:
        return self._do(Call("GET", "/api/v1/users/profile", model=m.Profile, app="identity"))

    def update_profile(self, *, name: str | None = None,
                       preferences: dict[str, Any] | None = None) -> m.Profile:
        body = {k: v for k, v in (("name", name), ("preferences", preferences)) if v is not None}
        return self._do(Call("PUT", "/api/v1/users/profile", model=m.Profile, body=body))


class Memory(Resource):
    def store(self, content: str | dict | list, *, key: str | None = None,
              layer: Layer = "temporary", tags: list[str] | None = None,
              metadata: dict[str, Any] | None = None, confidence: float | None = None,
              sensitivity: Literal["public", "confidential", "secret", "pii"] = "public",
              session_id: str | None = None, context_id: str | None = None) -> m.Memory:
        body = {"content": content, "key": key, "layer": layer, "tags": tags or [],
                "metadata": metadata or {}, "confidence": confidence,
                "sensitivity": sensitivity, "session_id": session_id,
                "context_id": context_id}
        return self._do(Call("POST", "/api/v1/memory/store", model=m.Memory,
                             body={k: v for k, v in body.items() if v is not None}))

    def search(self, q: str, *, mode: Mode = "hybrid", layer: Layer | None = None,
               tags: list[str] | None = None, limit: int = 10) -> list[m.ScoredMemory]:
        """The best `limit` memories for `q`, best first (one answer, not paged)."""
        call = Call("GET", "/api/v1/memory/search", model=m.ScoredMemory, listed=True,
                    app="memory", params={"q": q, "mode": mode, "layer": layer,
                                          "tags": tags, "limit": limit},
                    then=lambda page: page.items)
        return self._do(call)

    def recent(self, *, per_page: int = 100) -> Any:
        """Every memory, newest first, fetched page by page."""
        return self._pages(Call("GET", "/api/v1/memory/recent", model=m.Memory,
                                listed=True, app="memory"), per_page)

    def get(self, memory_id: str) -> m.Memory:
        return self._do(Call("GET", f"/api/v1/memory/{memory_id}", model=m.Memory,
                             app="memory"))

    def history(self, memory_id: str, *, per_page: int = 100) -> Any:
        """Every version of the memory, oldest first, fetched page by page."""
        return self._pages(Call("GET", f"/api/v1/memory/{memory_id}/history",
                                model=m.MemoryVersion, listed=True, app="memory"), per_page)

    def promote(self, key: str, *, force: bool = False, merge: bool = False,
                reason: str = "requested") -> m.Promoted:
        """Move the memory of `key` one layer up (CEREBRO's route, the only one that
        promotes); `force` skips the confidence rule."""
        return self._do(Call("POST", "/api/memory/promote", model=m.Promoted, bare="memory",
                             body={"key": key, "force": force, "merge": merge,
                                   "reason": reason}))

    def delete(self, memory_id: str) -> m.MemoryDeleted:
        return self._do(Call("DELETE", f"/api/v1/memory/{memory_id}", model=m.MemoryDeleted))

    def clear(self, *, older_than: datetime | str | None = None,
              layer: Layer | None = None) -> m.Cleared:
        body = {"older_than": _when(older_than), "layer": layer}
        return self._do(Call("POST", "/api/v1/memory/clear", model=m.Cleared,
                             body={k: v for k, v in body.items() if v is not None}))


class Contexts(Resource):
    def create(self, name: str, state: Any = None, *, session_id: str | None = None
               ) -> m.Context:
        body = {"name": name, "state": {} if state is None else state,
                "session_id": session_id}
        return self._do(Call("POST", "/api/v1/contexts", model=m.Context,
                             body={k: v for k, v in body.items() if v is not None}))

    def get(self, context_id: str) -> m.Context:
        return self._do(Call("GET", f"/api/v1/contexts/{context_id}", model=m.Context,
                             app="memory"))

    def list(self, *, per_page: int = 100) -> Any:
        return self._pages(Call("GET", "/api/v1/contexts", model=m.Context, listed=True,
                                app="memory"), per_page)

    def update(self, context_id: str, *, name: str | None = None, state: Any = None,
               version: int | None = None) -> m.Context:
        """Replace the name or state; with `version`, only if nobody changed it since
        (else Conflict)."""
        body = {"name": name, "state": state, "version": version}
        return self._do(Call("PUT", f"/api/v1/contexts/{context_id}", model=m.Context,
                             body={k: v for k, v in body.items() if v is not None}))

    def sync(self, context_id: str, state: dict[str, Any], base_version: int) -> m.Context:
        """Merge the changes made to `state` since `base_version` into the context."""
        return self._do(Call("POST", f"/api/v1/contexts/{context_id}/sync", model=m.Context,
                             body={"state": state, "base_version": base_version}))

    def delete(self, context_id: str) -> m.Deleted:
        return self._do(Call("DELETE", f"/api/v1/contexts/{context_id}", model=m.Deleted))


class Ledger(Resource):
    """Objects and their transactions, and the audit: history, as-of, verification,
    export."""

    def create(self, type_name: str, data: dict[str, Any]) -> m.LedgerObject:
        """A new object of yours at version 1 (numbers: send Decimal to keep them exact)."""
        return self._do(Call("POST", "/api/v1/ledger/objects", model=m.LedgerObject,
                             body={"type_name": type_name, "data": data}))

    def transact(self, object_id: str, action: str, data: dict[str, Any] | None = None, *,
                 metadata: dict[str, Any] | None = None,
                 expected_version: int | None = None) -> m.LedgerTransaction:
        """Merge `data` into the object's data (null removes a key); with
        `expected_version`, raise Conflict if the object has changed since."""
        body = {"action": action, "data": data or {}, "metadata": metadata or {},
                "expected_version": expected_version}
        return self._do(Call("POST", f"/api/v1/ledger/objects/{object_id}/transactions",
                             model=m.LedgerTransaction,
                             body={k: v for k, v in body.items() if v is not None}))

    def objects(self, *, per_page: int = 100) -> Any:
        """Your objects, oldest first, fetched page by page."""
        return self._pages(Call("GET", "/api/v1/ledger/objects", model=m.LedgerObject,
                                listed=True, app="ledger"), per_page)

    def transactions(self, object_id: str, *, per_page: int = 100) -> Any:
        """The object's transactions, oldest first, fetched page by page."""
        return self._pages(Call("GET", f"/api/v1/ledger/objects/{object_id}/transactions",
                                model=m.LedgerTransaction, listed=True, app="ledger"),
                           per_page)

    def get(self, object_id: str, *, as_of: datetime | str | None = None,
            version: int | None = None) -> m.LedgerObject:
        """The object now, or as it was at `as_of` or at `version`."""
        return self._do(Call("GET", f"/api/v1/ledger/objects/{object_id}",
                             model=m.LedgerObject, app="ledger",
                             params={"as_of": _when(as_of), "version": version}))

    def history(self, object_id: str, *, per_page: int = 100) -> Any:
        """Every event of the object with its hashes, oldest first, page by page."""
        return self._pages(Call("GET", f"/api/v1/ledger/objects/{object_id}/history",
                                model=m.LedgerEvent, listed=True, app="ledger"), per_page)

    def verify(self) -> m.LedgerVerification:
        return self._do(Call("GET", "/api/v1/ledger/verify", model=m.LedgerVerification,
                             app="ledger"))

    def export(self, *, since: datetime | str | None = None,
               until: datetime | str | None = None) -> Any:
        """Every ledger event with its hashes, streamed one record at a time."""
        return self._client._lines(Call("GET", "/api/v1/ledger/export", model=m.LedgerEvent,
                                        app="ledger", params={"from": _when(since),
                                                              "to": _when(until)}))


class ApiKeys(Resource):
    def create(self, name: str, scopes: list[str] | None = None) -> m.IssuedApiKey:
        return self._do(Call("POST", "/api/v1/api-keys", model=m.IssuedApiKey,
                             body={"name": name, "scopes": scopes or []}))

    def list(self, *, per_page: int = 100) -> Any:
        return self._pages(Call("GET", "/api/v1/api-keys", model=m.ApiKey, listed=True,
                                app="identity"), per_page)

    def revoke(self, key_id: str) -> m.Revoked:
        return self._do(Call("DELETE", f"/api/v1/api-keys/{key_id}", model=m.Revoked))


class Sessions(Resource):
    """Chat and agent sessions: messages, checkpoints, resume and archive."""

    def create(self, title: str | None = None, metadata: dict[str, Any] | None = None
               ) -> m.Session:
        body = {"title": title, "metadata": metadata or {}}
        return self._do(Call("POST", "/api/v1/sessions", model=m.Session,
                             body={k: v for k, v in body.items() if v is not None}))

    def list(self, *, per_page: int = 100) -> Any:
        """Your sessions, most recently active first, page by page."""
        return self._pages(Call("GET", "/api/v1/sessions", model=m.Session, listed=True,
                                app="sessions"), per_page)

    def get(self, session_id: str) -> m.SessionWithCheckpoints:
        return self._do(Call("GET", f"/api/v1/sessions/{session_id}",
                             model=m.SessionWithCheckpoints, app="sessions"))

    def add_message(self, session_id: str, role: Literal["user", "assistant", "system",
                                                           "tool"],
                    content: str, components: list | dict | None = None) -> m.Message:
        body = {"role": role, "content": content, "components": components}
        return self._do(Call("POST", f"/api/v1/sessions/{session_id}/messages",
                             model=m.Message,
                             body={k: v for k, v in body.items() if v is not None}))

    def messages(self, session_id: str, *, include_abandoned: bool = False,
                 per_page: int = 100) -> Any:
        """The session's messages, oldest first, page by page."""
        return self._pages(Call("GET", f"/api/v1/sessions/{session_id}/messages",
                                model=m.Message, listed=True, app="sessions",
                                params={"include_abandoned": str(include_abandoned).lower()}),
                           per_page)

    def checkpoint(self, session_id: str, label: str | None = None) -> m.Checkpoint:
        return self._do(Call("POST", f"/api/v1/sessions/{session_id}/checkpoint",
                             model=m.Checkpoint, body={"label": label} if label else {}))

    def resume(self, session_id: str, checkpoint_id: str | None = None
               ) -> m.ResumedSession:
        """Continue from a checkpoint (later messages are abandoned, not erased), or,
        without one, reopen an archived session."""
        body = {"checkpoint_id": checkpoint_id} if checkpoint_id else {}
        return self._do(Call("POST", f"/api/v1/sessions/{session_id}/resume",
                             model=m.ResumedSession, body=body))

    def archive(self, session_id: str) -> m.Session:
        return self._do(Call("POST", f"/api/v1/sessions/{session_id}/archive",
                             model=m.Session))

    def delete(self, session_id: str) -> m.Deleted:
        return self._do(Call("DELETE", f"/api/v1/sessions/{session_id}", model=m.Deleted))

    def stream_sync(self, session_id: str) -> Any:
        """The session's live changes from /ws/sync, as `{event, data}` dicts
        (`memory_added`, `context_updated`, `plugin_event`, `error`, `resumed`), until
        the server closes the socket (code 4401: the credentials ended)."""
        return self._client._socket(f"/ws/sync/{session_id}")


class Plugins(Resource):
    """ARQIUM's modules as plugins: everyone lists them; installing, switching and
    configuring them takes an admin."""

    def list(self, *, per_page: int = 100) -> Any:
        return self._pages(Call("GET", "/api/v1/plugins", model=m.Plugin, listed=True,
                                app="platform"), per_page)

    def install(self, plugin_id: str, *, version: str | None = None) -> m.Plugin:
        body = {"module_id": plugin_id, "version": version}
        return self._do(Call("POST", "/api/v1/plugins/install", model=m.Plugin,
                             body={k: v for k, v in body.items() if v is not None}))

    def uninstall(self, plugin_id: str) -> m.PluginUninstalled:
        return self._do(Call("DELETE", f"/api/v1/plugins/{plugin_id}",
                             model=m.PluginUninstalled))

    def enable(self, plugin_id: str) -> m.Plugin:
        return self._do(Call("POST", f"/api/v1/plugins/{plugin_id}/enable", model=m.Plugin))

    def disable(self, plugin_id: str) -> m.Plugin:
        """Switch the plugin off: its routes answer Unavailable until it is enabled."""
        return self._do(Call("POST", f"/api/v1/plugins/{plugin_id}/disable",
                             model=m.Plugin))

    def config(self, plugin_id: str, settings: dict[str, Any]) -> m.Plugin:
        """Change the plugin's settings (checked against its schema: ValidationFailed)."""
        return self._do(Call("POST", f"/api/v1/plugins/{plugin_id}/config", model=m.Plugin,
                             body={"config": settings}))


class Analytics(Resource):
    """Events your application tracks, the dashboard and your usage. Reads send no
    position: they count every application's events, and the server waits for all of
    them by default."""

    def track(self, name: str, properties: dict[str, Any] | None = None, *,
              occurred_at: datetime | str | None = None, session_id: str | None = None
              ) -> m.TrackedEvent:
        body = {"name": name, "properties": properties, "occurred_at": _when(occurred_at),
                "session_id": session_id}
        return self._do(Call("POST", "/api/v1/analytics/event", model=m.TrackedEvent,
                             body={k: v for k, v in body.items() if v is not None}))

    def dashboard(self, *, since: datetime | str | None = None,
                  until: datetime | str | None = None,
                  interval: Literal["hour", "day"] = "day") -> m.Dashboard:
        return self._do(Call("GET", "/api/v1/analytics/dashboard", model=m.Dashboard,
                             params={"from": _when(since), "to": _when(until),
                                     "interval": interval}))

    def usage(self, *, since: datetime | str | None = None,
              until: datetime | str | None = None) -> m.Usage:
        return self._do(Call("GET", "/api/v1/analytics/usage", model=m.Usage,
                             params={"from": _when(since), "to": _when(until)}))
